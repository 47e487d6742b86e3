"""The compiled CPU runner (runner="compiled"): whole chunks of steps in generated C++, bitwise equal to NumPy.

The parity networks use every built-in model (Izhikevich with noise, IF_cond_exp, IF_curr_exp, Poisson,
SpikeSourceArray, LeakyIntegrator), synapse model (static, STDP, Hebb, Oja), connector and delay form
(uniform, per synapse, one step); runs are compared with the NumPy runner bit for bit in float64.
"""
import logging

import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime.host_build import find_compiler
from gpunet.codegen.runtime.host_loop import library_source
from gpunet.network.compiled_loop import bind
from gpunet.testing import parity

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")


#: The parity networks the compiled loop runs whole ("models" holds every input: their kernels run in the loop).
COMPILED = sorted(parity.NETWORKS)


def _build(name, runner, precision="float64"):
    net = parity.NETWORKS[name]("numpy", precision)
    net.runner = runner
    return net


def _full_state(net):
    """Every live array of every object (variables, parameters, refractory, last spikes, spike history)."""
    state = {}
    for pop in net.populations:
        for key, value in pop.state_dict(net.get_current_step()).items():
            state[(pop.name, key)] = np.array(value)
    for proj in net.projections:
        for key, value in proj.state_dict().items():
            state[(proj.name, key)] = np.array(value)
    return state


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    different = [key for key in a if not np.array_equal(a[key], b[key], equal_nan=True)]
    assert different == []


@pytest.mark.parametrize("name", COMPILED)
def test_recorded_runs_are_bit_identical_to_numpy(name):
    """Monitors on every variable and spikes: every recorded value of every step is the same bits."""
    reference = parity.record(_build(name, "numpy"), 120.0)
    net = _build(name, "compiled")
    compiled = parity.record(net, 120.0)
    assert net.runner_in_use == "compiled"
    result = parity.compare(reference, compiled)
    assert result.different_spikes == []
    assert {key: value for key, value in result.max_abs.items() if value != 0.0} == {}
    spikes = sum(len(t) for trains in reference.spikes.values() for t in trains.values())
    assert spikes > 0 if name != "rate" else all(np.ptp(v) > 0 for (_, var), v in reference.variables.items()
                                                 if var == "r")


@pytest.mark.parametrize("name", COMPILED)
def test_long_chunks_leave_the_same_state_as_numpy(name):
    """Without monitors a simulate() call is one compiled chunk; split calls continue bit-identically."""
    reference, net = _build(name, "numpy"), _build(name, "compiled")
    for each in (reference, net):
        each.compile()
        each.simulate(37.0, progress=False)
        each.simulate(150.0, progress=False)
    assert net.runner_in_use == "compiled" and reference.runner_in_use == "numpy"
    assert net.get_current_step() == reference.get_current_step()
    _assert_same_state(_full_state(reference), _full_state(net))


def test_chunks_end_at_snapshots_not_at_monitor_records(tmp_path, monkeypatch):
    """Periodic snapshots cut the chunks exactly where they act; a variable monitor with a period does not (the
    chunks record it), and its recordings and the snapshots equal the NumPy runner's."""
    chunks = []
    results = {}
    for runner in ("numpy", "compiled"):
        net = _build("reference", runner)
        monitor = net.monitor(net.get_population("pop1"), ["v", "u"], period=7.0)
        net.compile()
        if runner == "compiled":
            original = net._compiled.run
            monkeypatch.setattr(net._compiled, "run", lambda first, count: (chunks.append((first, count)),
                                                                       original(first, count)))
        net.simulate(60.0, progress=False, snapshot_every=25.0, snapshot_dir=tmp_path / runner, keep_last=5)
        results[runner] = (monitor.get("v"), monitor.times("v"), _full_state(net),
                           sorted(p.name.rsplit("-", 1)[1] for p in (tmp_path / runner).glob("*.npz")))
    assert np.array_equal(results["numpy"][0], results["compiled"][0])
    assert np.array_equal(results["numpy"][1], results["compiled"][1])
    _assert_same_state(results["numpy"][2], results["compiled"][2])
    assert results["numpy"][3] == results["compiled"][3] == ["000000000025.npz", "000000000050.npz"]
    ends = [first + count for first, count in chunks]
    assert ends == [25, 50, 60]  # snapshots at 25, 50; records at steps 0, 7, ... inside the chunks


@pytest.mark.parametrize("name", ["spiking", "language"])  # language: semiglobal variables, pre.sum(), methods
def test_a_snapshot_of_a_compiled_run_restores_and_continues_bit_identically(tmp_path, name):
    straight = _build(name, "numpy")
    straight.compile()
    straight.simulate(100.0)
    first = _build(name, "compiled")
    first.compile()
    first.simulate(40.0)
    first.save(tmp_path / "state.npz")
    second = _build(name, "compiled")
    second.compile()
    second.simulate(5.0, progress=False)  # arrays bound, then replaced by the load: the loop must rebind
    second.load(tmp_path / "state.npz")
    second.simulate(60.0, progress=False)
    assert second.runner_in_use == "compiled"
    _assert_same_state(_full_state(straight), _full_state(second))


def test_steps_with_learning_disabled_run_the_array_code_and_stay_identical():
    reference, net = _build("reference", "numpy"), _build("reference", "compiled")
    for each in (reference, net):
        each.compile()
        each.simulate(30.0, progress=False)
        each.disable_learning()
        each.simulate(20.0, progress=False)
        each.enable_learning()
        each.simulate(30.0, progress=False)
    _assert_same_state(_full_state(reference), _full_state(net))


def test_step_and_simulate_until_run_compiled_steps():
    reference, net = _build("rate", "numpy"), _build("rate", "compiled")
    for each in (reference, net):
        each.compile()
        for _ in range(5):
            each.step()
        each.simulate(10.0)
    _assert_same_state(_full_state(reference), _full_state(net))


def test_float32_within_documented_tolerance():
    reference = parity.record(_build("spiking", "numpy", "float32"), 100.0)
    compiled = parity.record(_build("spiking", "compiled", "float32"), 100.0)
    result = parity.compare(reference, compiled)
    assert result.different_spikes == [], result.summary()
    assert result.worst() < 0.05, result.summary()


def test_unsupported_model_falls_back_with_one_log_line(caplog):
    net = gn.Network(seed=2, backend="numpy", runner="compiled")
    # a neuron-wise equation reads the global m before m's own equation: the CUDA generator does not split that
    model = gn.Neuron(parameters="tau = 10.0 : population", equations="r = m\ndm/dt = (1 - m) / tau : population",
                      name="GlobalVar")
    pop = net.create(3, model, name="g")
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runner:")]
    assert len(lines) == 1 and lines[0].startswith("runner: numpy") and "GlobalVar" in lines[0]
    assert net.runner_in_use == "numpy"
    net.simulate(5.0)
    assert np.all(pop.m > 0)


def test_compiled_runner_logs_its_choice(caplog):
    net = _build("rate", "compiled")
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runner:")]
    assert len(lines) == 1 and lines[0].startswith("runner: compiled")


def test_the_default_runner_is_compiled_with_a_compiler_and_numpy_without(caplog, monkeypatch):
    """``"auto"`` (the default): the compiled loop when a C++ compiler is found, else the array code; one log
    line each way, and both leave the same state."""
    from gpunet.network import compiled_loop
    monkeypatch.delenv("GPUNET_RUNNER", raising=False)
    states = []
    for compiler in (True, False):
        if not compiler:
            monkeypatch.setattr(compiled_loop, "find_compiler", lambda: None)
        net = parity.NETWORKS["rate"]("numpy", "float64")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gpunet"):
            net.compile()
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runner:")]
        assert net.runner == "auto" and len(lines) == 1
        assert net.runner_in_use == ("compiled" if compiler else "numpy")
        assert lines[0].startswith("runner: compiled" if compiler else "runner: numpy")
        assert compiler or "no host C++ compiler found" in lines[0]
        net.simulate(25.0, progress=False)
        states.append(_full_state(net))
    _assert_same_state(*states)


def test_the_library_source_depends_on_the_structure_not_the_sizes():
    """Networks of another size reuse the compiled library (cached on disk by source hash)."""
    from gpunet.examples import reference_network
    sources = []
    for neurons in (20, 50):
        net = reference_network(neurons, backend="numpy", seed=3)
        net.compile()
        sources.append(library_source(bind(net))[0])
    assert sources[0] == sources[1]


def test_runner_names_are_checked():
    with pytest.raises(ValueError, match="runner must be one of"):
        gn.Network(backend="numpy", runner="fast")


def test_spike_monitors_record_inside_compiled_chunks():
    """Spike-only monitors (whole populations, a view, one paused for a while) do not cut the chunks."""
    results = {}
    for runner in ("numpy", "compiled"):
        net = _build("spiking", runner)
        monitors = [net.monitor(pop, "spike") for pop in net.populations]
        izh = net.get_population("izh")
        view = net.monitor(izh[np.array([3, 4, 10, 11, 12, 20])], ["spike"])
        paused = net.monitor(net.get_population("curr"), ["spike", "v"], period=5.0)
        net.compile()
        net.simulate(60.0, progress=False)
        paused.pause()
        net.simulate(50.0, progress=False)
        paused.resume()
        net.simulate(90.0, progress=False)
        results[runner] = ([m.get("spike") for m in monitors + [view]], paused.get("spike"), paused.get("v"),
                           _full_state(net))
    numpy_run, compiled_run = results["numpy"], results["compiled"]
    assert numpy_run[0] == compiled_run[0] and numpy_run[1] == compiled_run[1]
    assert np.array_equal(numpy_run[2], compiled_run[2])
    _assert_same_state(numpy_run[3], compiled_run[3])
    assert sum(len(t) for t in numpy_run[0][-1].values()) > 0


def test_a_spike_monitor_chunk_runs_many_steps(monkeypatch):
    net = _build("reference", "compiled")
    monitor = net.monitor(net.get_population("pop0"), "spike")
    net.compile()
    counts = []
    original = net._compiled.run
    monkeypatch.setattr(net._compiled, "run", lambda first, count: (counts.append(count), original(first, count)))
    net.simulate(100.0, progress=False)
    assert counts == [100]
    counts.clear()
    net.simulate(1000.0)  # no terminal to draw a bar on: one chunk
    assert counts == [1000]
    counts.clear()
    net.simulate(1000.0, progress=True)  # a bar shows: chunks of a hundredth, doubled while they take < 50 ms
    assert counts[0] == 10 and sum(counts) == 1000
    assert all(count in (previous, 2 * previous) for previous, count in zip(counts[:-2], counts[1:-1]))
    assert sum(len(t) for t in monitor.get("spike").values()) > 0


def test_gpunet_runner_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.delenv("GPUNET_RUNNER", raising=False)
    assert gn.Network(backend="numpy").runner == "auto"
    monkeypatch.setenv("GPUNET_RUNNER", "compiled")
    assert gn.Network(backend="numpy").runner == "compiled"
    monkeypatch.setenv("GPUNET_RUNNER", "turbo")
    with pytest.raises(ValueError, match="runner must be one of"):
        gn.Network(backend="numpy")


def test_per_object_kernels_attached_after_compile_take_precedence(monkeypatch):
    from gpunet.codegen.runtime import fused
    from gpunet.codegen.runtime.host_build import HostLauncher
    net = _build("rate", "compiled")
    net.compile()
    calls = []
    monkeypatch.setattr(net._compiled, "run", lambda first, count: calls.append(count))
    fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    net.simulate(5.0)
    assert calls == [] and net.get_current_step() == 5


@pytest.mark.parametrize("lists", [True, False])
def test_spike_arrival_over_spiking_ranks_and_over_whole_masks_agree_with_numpy(monkeypatch, lists):
    """The driver walks each history row's spiking ranks; above a size bound it calls the atomic kernel."""
    from gpunet.codegen.runtime import host_loop
    if not lists:
        monkeypatch.setattr(host_loop, "MAX_SPIKE_LIST_ENTRIES", 0)
    reference, net = _build("spiking", "numpy"), _build("spiking", "compiled")
    for each in (reference, net):
        each.compile()
        each.simulate(150.0, progress=False)
    assert ("over the spiking ranks" in net._compiled.loop.source) == lists
    _assert_same_state(_full_state(reference), _full_state(net))


@pytest.mark.parametrize("name", sorted(parity.INPUT_NETWORKS))
def test_inputs_run_compiled_and_resume_bit_identically(name, tmp_path):
    """Each input's network runs in the compiled loop with NumPy's bits, also saved, loaded and continued."""
    build = parity.INPUT_NETWORKS[name]
    reference = build("numpy", "float64")
    reference.runner = "numpy"
    reference.compile()
    reference.simulate(240 * reference.dt)
    first = build("numpy", "float64")
    first.runner = "compiled"
    first.compile()
    first.simulate(120 * first.dt)
    first.save(tmp_path / "half.npz")
    resumed = build("numpy", "float64")
    resumed.runner = "compiled"
    resumed.load(tmp_path / "half.npz")
    resumed.simulate(120 * resumed.dt)
    assert first.runner_in_use == resumed.runner_in_use == "compiled"
    _assert_same_state(_full_state(reference), _full_state(resumed))


def test_rate_sums_taken_with_the_synaptic_update_stay_bit_identical():
    """Plastic rate-coded projections take the next step's weighted sums in their update's pass (not across a
    chunk's end): records every 7 steps and weights and rates changed between calls match NumPy bit for bit."""
    results = {}
    for runner in ("numpy", "compiled"):
        net = _build("rate", runner)
        monitor = net.monitor(net.get_population("output"), "r", period=7.0)
        net.compile()
        net.simulate(30.0, progress=False)
        net.get_projection("oja").w = np.asarray(net.get_projection("oja").w) * 0.5
        net.get_population("hidden").r = np.linspace(0.0, 1.0, 40)
        net.simulate(41.0, progress=False)
        results[runner] = (monitor.get("r"), _full_state(net), net)
    source = results["compiled"][2]._compiled.loop.source
    assert source.count("row sums taken by the last step's synaptic update") == 2  # hebb and oja
    assert source.count("synaptic update row by row") == 2
    assert np.array_equal(results["numpy"][0], results["compiled"][0])
    _assert_same_state(results["numpy"][1], results["compiled"][1])


def test_synaptic_updates_without_row_order_call_the_kernel():
    """Synapses not stored row by row (post index out of row order) keep the one-thread-per-synapse kernel."""
    from gpunet.codegen.runtime import host_loop
    net = _build("rate", "compiled")
    net.compile()
    binding = bind(net)
    oja = next(p for p in binding.projections if p.name == "oja")
    assert host_loop._rows(oja) is not None
    state = dict(oja.state)
    state["_post_idx"] = state["_post_idx"][::-1].copy()
    oja.state = state
    assert host_loop._rows(oja) is None
    source, _slots = library_source(binding)
    assert source.count("synaptic update row by row") == 1 and source.count("row sums taken") == 1


def test_row_loop_pointers_are_restrict_only_when_written_arrays_overlap_nothing():
    """One local per distinct array; ``__restrict__`` unless a written array overlaps another bound one."""
    from types import SimpleNamespace

    from gpunet.codegen.runtime.host_loop import _restricted, _Slots
    slots = _Slots()
    w, r, whole = np.zeros(4), np.zeros(3), np.zeros(8)
    written = SimpleNamespace(ctype="double*", base_type="double")
    read = SimpleNamespace(ctype="const double*", base_type="double")
    uses = [(written, f"(double*)P[{slots.pointer(w)}]"), (read, f"(double*)P[{slots.pointer(r)}]"),
            (read, "(double*)P[0]")]  # the same array read by a second element function
    local, declarations = _restricted(uses, slots)
    assert local == {"(double*)P[0]": "v0", "(double*)P[1]": "v1"}
    assert declarations == ["double* __restrict__ v0 = (double*)P[0];",
                            "const double* __restrict__ v1 = (const double*)P[1];"]
    overlapping = [(written, f"(double*)P[{slots.pointer(whole[:4])}]"),
                   (read, f"(double*)P[{slots.pointer(whole[2:])}]")]
    _local, declarations = _restricted(overlapping, slots)
    assert declarations == ["double* v0 = (double*)P[2];", "const double* v1 = (const double*)P[3];"]


def test_float32_rate_sums_taken_with_the_synaptic_update_stay_close():
    """float32: the one-pass update and sums (long chunks) agree with the array code within float32 rounding."""
    reference, net = _build("rate", "numpy", "float32"), _build("rate", "compiled", "float32")
    for each in (reference, net):
        each.compile()
        each.simulate(60.0, progress=False)
    assert "row sums taken" in net._compiled.loop.source
    for a, b in zip(reference.populations, net.populations):
        np.testing.assert_allclose(np.asarray(b.r), np.asarray(a.r), rtol=1e-4, atol=1e-6)
    for a, b in zip(reference.projections, net.projections):
        np.testing.assert_allclose(np.concatenate(b.w), np.concatenate(a.w), rtol=1e-4, atol=1e-6)


def test_the_default_runner_on_a_gpu_says_the_gpu_backend_runs(caplog):
    """On a GPU backend "auto" keeps the backend's own step code, and the log line names that backend."""
    from types import SimpleNamespace

    from gpunet.network.compiled_loop import select
    network = SimpleNamespace(backend=SimpleNamespace(is_gpu=True, name="cupy"), populations=[], projections=[])
    with caplog.at_level(logging.INFO, logger="gpunet"):
        assert select(network, "auto") is None
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("runner:")]
    assert lines == ["runner: cupy (the GPU backend's kernels or array code; the compiled runner is for the CPU)"]
