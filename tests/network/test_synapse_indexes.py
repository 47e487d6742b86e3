"""Per-synapse memory: int32 indexes below 2**31, pre ranks and delays built only where read, files unchanged."""
import gzip
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import gpunet as gn
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.examples import reference_network
from gpunet.network import projection as projection_module
from gpunet.network import synapse_index
from gpunet.network.synapse_index import (INT32_LIMIT, SynapseState, delays_from_groups, index_dtype,
                                          pre_major_groups, pre_ranks_from_groups)

DATA = Path(__file__).resolve().parents[1] / "data" / "synapse_indexes"
needs_compiler = pytest.mark.skipif(find_compiler() is None, reason="needs a host C++ compiler")
#: float64 STDP: w, x, y (8 B each), the last event (int64), the post rank and the pre-major index (int32).
STDP_BYTES = 8 + 8 + 8 + 8 + 4 + 4


def network(runner="numpy", kernels="off"):
    """The reference STDP network (uniform delay) and a second STDP projection with four delay values."""
    net = reference_network(40, probability=0.2, backend="numpy", seed=5, kernels=kernels)
    back = net.connect(net.populations[1], net.populations[0], "exc", gn.STDP, name="back")
    back.connect_fixed_probability(0.2, weights=0.1, delays=gn.Uniform(1.0, 4.0))
    net.runner = runner
    return net


def kept_arrays(projection):
    """Every array the projection keeps alive, by name: its state as built, its pre-major index, host arrays."""
    arrays = {f"state {key}": array for key, array in projection._state.items()}
    for k, (_delay, pre_ptr, pre_syn) in enumerate(projection._groups):
        arrays[f"pre_ptr {k}"], arrays[f"pre_syn {k}"] = pre_ptr, pre_syn
    arrays["host row_ptr"] = projection._host_row_ptr
    for name in ("_delay_steps", "_host_pre"):
        if getattr(projection, name) is not None:
            arrays[f"host {name}"] = getattr(projection, name)
    arrays.update({f"cache {key}": ref() for key, ref in projection._host_cache.items() if ref() is not None})
    return arrays


def per_synapse_bytes(projection):
    """Bytes of the arrays that grow with the synapses, per synapse (exact: sums of ``nbytes``)."""
    arrays = kept_arrays(projection)
    # what does not grow with the synapses: 0-d globals, row pointers (post + 1), pre pointers per delay
    fixed = {key: a for key, a in arrays.items() if a.ndim == 0 or "row_ptr" in key or "pre_ptr" in key}
    assert sum(a.nbytes for a in fixed.values()) <= 8 * len(fixed) + 12 * (projection.post.size + 1) \
        + 8 * (projection.pre.size + 1) * len(projection._groups)
    return sum(a.nbytes for key, a in arrays.items() if key not in fixed) / projection.nb_synapses


def test_index_dtype_is_int32_below_two_to_the_31_and_int64_from_there():
    assert index_dtype(INT32_LIMIT - 1, 10, 20) == np.int32
    assert index_dtype(0) == np.int32
    assert index_dtype(INT32_LIMIT, 10, 20) == np.int64  # 2**31 synapses: no allocation, only the rule
    assert index_dtype(5, INT32_LIMIT) == np.int64        # a population of 2**31 neurons
    assert index_dtype(3 * 10 ** 9, 77_000, 77_000) == np.int64


@pytest.mark.parametrize("runner", ["numpy", pytest.param("compiled", marks=needs_compiler)])
def test_an_stdp_synapse_keeps_40_bytes_after_compile_and_simulate(runner):
    net = network(runner)
    net.compile()
    net.simulate(30.0, progress=False)
    assert net.runner_in_use == runner
    for projection in net.projections:
        assert per_synapse_bytes(projection) == STDP_BYTES, kept_arrays(projection).keys()
        assert not projection._state.built("_pre_idx") and not projection._state.built("_delays")
        groups = projection.step_arrays().groups
        assert all(s.dtype == np.int32 and p.dtype == np.int64 for _d, p, s in groups)
        assert projection._state["_post_idx"].dtype == np.int32
    assert len(net.projections[1].step_arrays().groups) == 4


def test_pre_ranks_and_delays_are_built_from_the_index_at_their_first_read_and_equal_the_connectors():
    net = network()
    back = net.projections[1]
    post, pre, steps = (a.copy() for a in back.synapse_arrays())  # before compile: kept as connected
    assert back._state.built("_pre_idx")
    net.compile()
    assert not back._state.built("_pre_idx") and back._delay_steps is None  # four delays: from the groups
    again = back.synapse_arrays()
    assert [a.dtype for a in again] == [np.int64, np.int64, np.int32]
    for a, b in zip(again, (post, pre, steps)):
        np.testing.assert_array_equal(a, b)
    assert back.synapse_arrays()[1] is again[1]  # shared while held
    np.testing.assert_array_equal(back._state["_pre_idx"], pre)  # a read builds it, int32
    assert back._state["_pre_idx"].dtype == np.int32 and back._state.built("_pre_idx")
    np.testing.assert_array_equal(back._state["_delays"], steps)
    assert "_delays" in back._state and "_other" not in back._state
    with pytest.raises(KeyError):
        back._state["_other"]


def test_the_index_functions_invert_each_other():
    generator = np.random.default_rng(3)
    pre = generator.integers(0, 50, 400)
    delays = generator.integers(1, 6, 400).astype(np.int32)
    groups = list(pre_major_groups(pre, delays, 50, np.int32))
    assert [d for d, _p, _s in groups] == sorted(set(delays.tolist()))
    np.testing.assert_array_equal(pre_ranks_from_groups(groups, 400), pre)
    np.testing.assert_array_equal(delays_from_groups(groups, 400), delays)
    uniform = list(pre_major_groups(pre, np.asarray(2), 50, np.int64))
    assert len(uniform) == 1 and uniform[0][2].dtype == np.int64
    np.testing.assert_array_equal(pre_ranks_from_groups(uniform, 400), pre)
    assert list(pre_major_groups(pre[:0], np.asarray(1), 50, np.int32)) == []
    state = SynapseState({"a": 1}, ("b",), lambda key: key * 2)
    assert "b" in state and not state.built("b") and list(state) == ["a"]
    assert state["b"] == "bb" and state.get("b") == "bb" and state.built("b") and state.get("c", 0) == 0


@pytest.mark.parametrize("runner", ["numpy", pytest.param("compiled", marks=needs_compiler)])
def test_a_model_reading_pre_builds_its_pre_ranks_where_read_with_the_same_results(runner):
    model = gn.Synapse(parameters="eta = 0.001 : projection", pre_spike="g_target += w\nw += eta * pre.v",
                       name="PreReader")
    nets = []
    for _ in range(2):
        net = reference_network(30, probability=0.3, backend="numpy", seed=2, kernels="off")
        reader = net.connect(net.populations[0], net.populations[1], "exc", model, name="reader")
        reader.connect_fixed_probability(0.3, weights=0.1, delays=gn.Uniform(1.0, 3.0))
        net.runner = "numpy"
        nets.append(net)
    nets[0].runner = runner
    nets[0].compile()
    nets[0].simulate(40.0, progress=False)
    assert nets[0].runner_in_use == runner
    reader = nets[0].projections[1]
    # the array code gathers pre.v at each event synapse's pre rank; the compiled runner passes the spiking rank
    assert reader._state.built("_pre_idx") == (runner == "numpy")
    assert not nets[0].projections[0]._state.built("_pre_idx")  # STDP reads no pre.
    nets[1].compile()
    pre = nets[1].projections[1].synapse_arrays()[1]
    np.testing.assert_array_equal(reader._state["_pre_idx"], pre)
    nets[1].simulate(40.0, progress=False)
    for a, b in zip(nets[0].projections, nets[1].projections):
        np.testing.assert_array_equal(np.concatenate(a.w), np.concatenate(b.w))


@needs_compiler
def test_int64_indexes_give_the_same_bits_on_the_array_code_and_the_compiled_runner(monkeypatch):
    reference = network()
    reference.compile()
    reference.simulate(30.0, progress=False)
    monkeypatch.setattr(projection_module, "index_dtype", lambda *counts: np.dtype(np.int64))
    for runner in ("numpy", "compiled"):
        net = network(runner)
        net.compile()
        net.simulate(30.0, progress=False)
        for a, b in zip(net.projections, reference.projections):
            assert a._state["_post_idx"].dtype == np.int64 and a.step_arrays().groups[0][2].dtype == np.int64
            for name in ("w", "x", "y", "_last_event"):
                np.testing.assert_array_equal(a._state[name], b._state[name])


@pytest.mark.parametrize("runner", ["numpy", pytest.param("compiled", marks=needs_compiler)])
def test_files_written_before_load_the_same_save_the_same_bytes_and_continue_bit_identically(runner, tmp_path):
    straight = network(runner)
    straight.compile()
    straight.simulate(50.0, progress=False)
    for suffix in ("npz", "gz", "mat"):
        resumed = network(runner)
        resumed.compile()
        resumed.load(DATA / f"state.{suffix}")
        if suffix == "npz":  # the native file carries everything a continuation needs
            resumed.simulate(20.0, progress=False)
            for a, b in zip(resumed.projections, straight.projections):
                for name in ("w", "x", "y", "_last_event"):
                    np.testing.assert_array_equal(a._state[name], b._state[name])
            assert per_synapse_bytes(resumed.projections[0]) == STDP_BYTES
            continue
        resumed.save(tmp_path / f"again.{suffix}")
        if suffix == "gz":
            assert gzip.decompress((tmp_path / "again.gz").read_bytes()) == gzip.decompress(
                (DATA / "state.gz").read_bytes())
        else:
            before, after = scipy.io.loadmat(DATA / "state.mat"), scipy.io.loadmat(tmp_path / "again.mat")
            keys = sorted(k for k in before if not k.startswith("__"))
            assert keys == sorted(k for k in after if not k.startswith("__")) and "back" in keys
            for key in keys:
                assert_same_content(before[key], after[key], key)


def assert_same_content(a, b, where):
    """Equal values, dtypes and shapes all the way down a loaded ``.mat`` structure."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype.names:
            for name in a.dtype.names:
                for k, (x, y) in enumerate(zip(a[name].ravel(), b[name].ravel())):
                    assert_same_content(x, y, f"{where}.{name}[{k}]")
        elif a.dtype == object:
            for k, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same_content(x, y, f"{where}[{k}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


def test_the_native_file_of_a_simulated_network_is_byte_for_byte_the_one_written_before(tmp_path):
    net = network()
    net.compile()
    net.simulate(30.0, progress=False)
    net.save(tmp_path / "state.npz")
    net.save(tmp_path / "state.gz")
    assert (tmp_path / "state.npz").read_bytes() == (DATA / "state.npz").read_bytes()
    assert (tmp_path / "state.gz").read_bytes() == (DATA / "state.gz").read_bytes()
    assert all(ref() is None for p in net.projections for ref in p._host_cache.values())  # nothing kept


@needs_compiler
def test_kernels_run_without_the_pre_ranks_and_match_the_array_code():
    fused_net, array_net = network(), network()
    fused_net.compile()
    array_net.compile()
    attachment = fused.attach(fused_net, lambda unit: HostLauncher.from_source(unit.source))
    assert sorted(attachment.fused) == ["back", "pop0", "pop1", "proj0"]
    fused_net.simulate(40.0, progress=False)
    array_net.simulate(40.0, progress=False)
    for a, b in zip(fused_net.projections, array_net.projections):
        np.testing.assert_allclose(np.concatenate(a.w), np.concatenate(b.w), rtol=0, atol=1e-12)


def test_an_asynchronous_save_makes_the_pre_ranks_on_the_writer_thread(tmp_path, monkeypatch):
    import threading
    net = network()
    net.compile()
    net.simulate(30.0, progress=False)
    threads = []
    made = projection_module.pre_ranks_from_groups

    def recorded(*args):
        threads.append(threading.current_thread().name)
        return made(*args)
    monkeypatch.setattr(projection_module, "pre_ranks_from_groups", recorded)
    monkeypatch.setattr(synapse_index, "pre_ranks_from_groups", recorded)
    net.save(tmp_path / "state.npz", blocking=False).result(timeout=60)
    assert len(threads) == 2 and all(name.startswith("gpunet-save") for name in threads)  # one per projection
    assert (tmp_path / "state.npz").read_bytes() == (DATA / "state.npz").read_bytes()
    held = net.projections[1].frozen_state()["_pre_ranks"]  # held: the next save shares it, makes nothing
    threads.clear()
    net.save(tmp_path / "again.npz", blocking=False).result(timeout=60)
    assert len(threads) == 1 and held is net.projections[1].synapse_arrays()[1]
    assert (tmp_path / "again.npz").read_bytes() == (DATA / "state.npz").read_bytes()
