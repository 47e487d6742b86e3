"""Monitors of variables recorded inside compiled chunks: the same bits as the NumPy runner, chunks not cut.

Each test runs one scenario on the NumPy runner and on the compiled runner and
compares every recording (values, dtypes, steps) exactly; the compiled run also
counts its chunks (calls of the C++ loop).
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime.host_build import find_compiler
from gpunet.codegen.runtime.host_monitors import RecordTable, ValueRecord
from gpunet.model.description import Neuron
from gpunet.network import compiled_monitors
from gpunet.network.compiled_monitors import records_between
from gpunet.testing import parity

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")


def _build(name, runner):
    net = parity.NETWORKS[name]("numpy", "float64")
    net.runner = runner
    return net


def _count_chunks(net, monkeypatch):
    """The (first, count) of every call of the compiled loop from now on."""
    chunks = []
    original = net._compiled.run
    monkeypatch.setattr(net._compiled, "run", lambda first, count: (chunks.append((first, count)),
                                                               original(first, count)))
    return chunks


def _gets(monitor):
    """Everything ``monitor`` holds (handed over): values and steps of each variable, spikes."""
    out = {}
    for variable in monitor.variables:
        if variable != "spike":
            out[(monitor.name, variable, "steps")] = monitor.times(variable)
    for variable, values in monitor.get().items():
        out[(monitor.name, variable)] = values
    return out


def _assert_identical(reference, compiled):
    assert reference.keys() == compiled.keys()
    for key, value in reference.items():
        if isinstance(value, dict):  # spikes
            assert value == compiled[key], key
            continue
        assert value.dtype == compiled[key].dtype, key
        assert value.shape == compiled[key].shape, key
        assert np.array_equal(value, compiled[key], equal_nan=True), key


def _run_both(scenario, monkeypatch):
    """``scenario(net)`` -> (recordings, compiled?) on both runners; returns both recordings and the chunks."""
    results, chunks = {}, None
    for runner in ("numpy", "compiled"):
        net, monitors, steps = scenario(runner)
        net.compile()
        if runner == "compiled":
            assert net.runner_in_use == "compiled"
            chunks = _count_chunks(net, monkeypatch)
        results[runner] = steps(net, monitors)
    _assert_identical(results["numpy"], results["compiled"])
    return results["compiled"], chunks


def test_spiking_monitors_views_globals_periods_pauses_and_mid_run_gets(monkeypatch):
    """Whole populations, an unsorted view with a repeated rank, a period not a multiple of dt with an offset,
    a monitor started late, one paused and resumed, a projection's weights and traces and a global, gets
    between calls: every row the same bits, and no chunk cut at a record step."""
    def scenario(runner):
        net = _build("spiking", runner)  # dt = 0.5
        izh, cond = net.get_population("izh"), net.get_population("cond")
        monitors = [net.monitor(izh, ["spike", "v", "u", "g_exc", "r"], name="izh_all"),
                    net.monitor(izh[np.array([20, 3, 4, 4, 11])], ["v", "I"], period=1.3, period_offset=0.5,
                                name="izh_view"),
                    net.monitor(cond, ["v", "g_inh"], period=2.0, start=False, name="cond_late"),
                    net.monitor(net.get_projection("p_curr"), ["w", "x", "y", "tau_plus"], period=2.5,
                                name="stdp")]
        return net, monitors, steps

    def steps(net, monitors):
        izh_all, view, late, stdp = monitors
        got = {}
        net.simulate(30.0, progress=False)
        late.resume()
        net.simulate(17.5, progress=False)
        view.pause()
        got["mid"] = _gets(izh_all)
        net.simulate(11.0, progress=False)
        view.resume()
        got["mid_stdp"] = _gets(stdp)
        net.simulate(41.5, progress=False)
        flat = {}
        for label, part in got.items():
            flat.update({(label,) + key: value for key, value in part.items()})
        for monitor in monitors:
            flat.update(_gets(monitor))
        return flat

    compiled, chunks = _run_both(scenario, monkeypatch)
    assert [count for _first, count in chunks] == [60, 35, 22, 83]  # one chunk per simulate() call
    assert compiled[("izh_view", "v")].shape[1] == 5 and compiled[("stdp", "tau_plus")].ndim == 1
    assert len(compiled[("cond_late", "v", "steps")]) > 0 and compiled[("cond_late", "v", "steps")][0] == 60


def test_semiglobal_and_global_variables_of_projections_and_populations(monkeypatch):
    """The language network: a population's global variable, semiglobal and global synaptic variables, an
    event-driven trace, each with its own period and offset."""
    def scenario(runner):
        net = _build("language", runner)  # dt = 0.5
        monitors = [net.monitor(net.get_population("hidden"), ["gm", "x", "r", "p"]),
                    net.monitor(net.get_projection("semiglobal"), ["alpha", "scale", "w"], period=1.5),
                    net.monitor(net.get_projection("gain"), ["gain", "x", "w"], period=3.0, period_offset=1.0),
                    net.monitor(net.get_population("cells"), ["spike", "v", "g_exc"], period=0.5)]
        return net, monitors, lambda net, monitors: _simulate_and_get(net, monitors, 80.0)

    compiled, chunks = _run_both(scenario, monkeypatch)
    assert chunks == [(0, 160)]
    assert compiled[("Monitor_hidden", "gm")].shape == (160,)
    assert compiled[("Monitor_semiglobal", "alpha")].shape == (54, 12)


def test_integer_boolean_and_global_attributes_keep_their_dtypes(monkeypatch):
    neuron = Neuron(parameters="k = 3 : int\nflag = True : bool\ntau = 5.0 : population",
                    equations="tau * dv/dt = k - v\nc = c + 1 : int\nr = v", name="IntegerNeuron")

    def scenario(runner):
        net = gn.Network(dt=1.0, seed=3, backend="numpy", runner=runner)
        pop = net.create(7, neuron, name="p")
        pop.k = np.arange(7)
        monitors = [net.monitor(pop, ["v", "k", "flag", "tau", "c"]),
                    net.monitor(pop[np.array([5, 1, 1, 3])], ["c", "v", "tau"], period=1.5)]
        return net, monitors, lambda net, monitors: _simulate_and_get(net, monitors, 25.0)

    compiled, chunks = _run_both(scenario, monkeypatch)
    assert chunks == [(0, 25)]
    assert [compiled[("Monitor_p", name)].dtype for name in ("k", "flag", "c")] == [np.int64, np.bool_, np.int64]
    assert np.array_equal(compiled[("Monitor_p_1", "c")][:, 0], np.arange(1, 26, 2))


def _simulate_and_get(net, monitors, duration):
    net.simulate(duration, progress=False)
    flat = {}
    for monitor in monitors:
        flat.update(_gets(monitor))
    return flat


def test_a_thousand_steps_with_a_per_step_monitor_run_as_one_chunk(monkeypatch):
    """The chunk is not cut per record step: simulate(1000) with ``v`` every step is one call of the C++ loop."""
    def scenario(runner):
        net = _build("reference", runner)
        return net, [net.monitor(net.get_population("pop1"), ["v", "spike"])], \
            lambda net, monitors: _simulate_and_get(net, monitors, 1000.0)

    compiled, chunks = _run_both(scenario, monkeypatch)
    assert chunks == [(0, 1000)]
    assert compiled[("Monitor_pop1", "v")].shape == (1000, 100)
    assert np.array_equal(compiled[("Monitor_pop1", "v", "steps")], np.arange(1000))


def test_chunk_buffers_stay_within_the_memory_bound(monkeypatch):
    """A small bound: chunks are shortened so that the buffers of one chunk never exceed it, with the same bits;
    a row larger than the bound leaves one-step chunks that the network records itself."""
    prepared = []
    original = compiled_monitors.ValueRecorder.prepare

    def prepare(self, first, count):
        original(self, first, count)
        prepared.append(sum(buffer.nbytes for _m, _v, buffer, _f, _c in self._pending))

    monkeypatch.setattr(compiled_monitors.ValueRecorder, "prepare", prepare)
    for bound, most in ((16_000, 9), (500, 1)):  # v and u of 100 neurons: 1,600 bytes a step
        monkeypatch.setattr(compiled_monitors, "CHUNK_RECORD_BYTES", bound)
        prepared.clear()

        def scenario(runner):
            net = _build("reference", runner)
            return net, [net.monitor(net.get_population("pop1"), ["v", "u"])], \
                lambda net, monitors: _simulate_and_get(net, monitors, 50.0)

        compiled, chunks = _run_both(scenario, monkeypatch)
        assert max(count for _first, count in chunks) == most and sum(count for _f, count in chunks) == 50
        assert prepared and max(prepared) <= bound
        assert compiled[("Monitor_pop1", "u")].shape == (50, 100)


def test_recordings_saved_mid_run_resume_bit_identically(tmp_path):
    """simulate, save with monitors=True, load into a fresh compiled network, continue: the recordings equal
    those of one uninterrupted NumPy run."""
    def monitors_of(net):
        return [net.monitor(net.get_population("pop1"), ["spike", "v"], period=3.0, period_offset=1.0),
                net.monitor(net.get_projection("proj0"), ["w"], period=7.0)]

    straight = _build("reference", "numpy")
    expected = monitors_of(straight)
    straight.compile()
    straight.simulate(100.0, progress=False)
    first = _build("reference", "compiled")
    monitors_of(first)
    first.compile()
    first.simulate(40.0, progress=False)
    first.save(tmp_path / "state.npz", monitors=True)
    second = _build("reference", "compiled")
    resumed = monitors_of(second)
    second.compile()
    second.load(tmp_path / "state.npz", monitors=True)
    second.simulate(60.0, progress=False)
    assert second.runner_in_use == "compiled"
    reference, result = {}, {}
    for monitor in expected:
        reference.update(_gets(monitor))
    for monitor in resumed:
        result.update(_gets(monitor))
    _assert_identical(reference, result)
    assert len(reference[("Monitor_proj0", "w", "steps")]) == 15


def test_a_monitor_added_after_compile_is_recorded_in_the_chunks(monkeypatch):
    results = {}
    for runner in ("numpy", "compiled"):
        net = _build("rate", runner)
        net.compile()
        net.simulate(20.0, progress=False)
        monitor = net.monitor(net.get_projection("oja"), ["w"], period=4.0, period_offset=2.0)
        if runner == "compiled":
            chunks = _count_chunks(net, monkeypatch)
        net.simulate(30.0, progress=False)
        results[runner] = _gets(monitor)
    _assert_identical(results["numpy"], results["compiled"])
    assert chunks == [(20, 30)]
    assert np.array_equal(results["compiled"][("Monitor_oja", "w", "steps")], np.arange(22, 50, 4))


@pytest.mark.parametrize("first,stop,period,offset", [(0, 10, 1, 0), (3, 17, 4, 1), (5, 6, 3, 2), (7, 7, 2, 0),
                                                      (11, 40, 7, 6), (0, 1, 5, 0), (1, 5, 5, 0)])
def test_records_between_counts_the_record_steps(first, stop, period, offset):
    assert records_between(first, stop, period, offset) == sum(1 for s in range(first, stop) if s % period == offset)


def test_the_record_table_refuses_arrays_the_driver_cannot_copy():
    table = RecordTable()
    source = np.zeros(4)
    for record in (ValueRecord(source, None, np.zeros((2, 4), np.float32), 1, 0),        # dtype differs
                   ValueRecord(source[::2], None, np.zeros((2, 2)), 1, 0),               # not contiguous
                   ValueRecord(source, np.array([0, 4]), np.zeros((2, 2)), 1, 0),        # rank outside
                   ValueRecord(source, np.array([0, 1], np.int32), np.zeros((2, 2)), 1, 0),  # not int64
                   ValueRecord(source, None, np.zeros((2, 4)), 3, 3)):                   # offset >= period
        with pytest.raises(ValueError):
            table.set([record])
    table.set([ValueRecord(source, np.array([3, 0]), np.zeros((2, 2)), 2, 1)])
    assert list(table.header) == [table._table.ctypes.data, 1] and table.rows() == [0]


def test_snapshots_with_recordings_taken_inside_a_call_hold_the_same_rows(tmp_path):
    """Periodic snapshots with monitors=True in the middle of one simulate() call: the recordings each holds (rows
    the compiled chunks copied before it) load back equal to the NumPy runner's."""
    held = {}
    for runner in ("numpy", "compiled"):
        net = _build("reference", runner)
        net.monitor(net.get_population("pop1"), ["v", "spike"], period=2.0, period_offset=1.0)
        net.monitor(net.get_projection("proj0"), ["w"], period=5.0)
        net.compile()
        net.simulate(60.0, progress=False, snapshot_every=25.0, snapshot_dir=tmp_path / runner, keep_last=5,
                     monitors=True)
        for snapshot in sorted((tmp_path / runner).glob("*.npz")):
            fresh = _build("reference", runner)
            monitors = [fresh.monitor(fresh.get_population("pop1"), ["v", "spike"], period=2.0, period_offset=1.0),
                        fresh.monitor(fresh.get_projection("proj0"), ["w"], period=5.0)]
            fresh.compile()
            fresh.load(snapshot, monitors=True)
            for monitor in monitors:
                held.setdefault(runner, {}).update({(snapshot.name.rsplit("-", 1)[1],) + key: value
                                                    for key, value in _gets(monitor).items()})
    _assert_identical(held["numpy"], held["compiled"])
    assert len(held["compiled"][("000000000050.npz", "Monitor_pop1", "v", "steps")]) == 25
