"""Ordered spike propagation on the GPU path: one launch per projection and step, whatever the delays.

The fused kernels (``kernels="ordered"``) must give the NumPy path's bits in
float64, which fixes the order of the additions to each post neuron's
conductance: one delay value after the other (ascending), each over the pre
neurons in ascending rank.  The networks have no noise (CUDA's ``log``/``cos``
differ from NumPy's in the last bit), and every array is compared bit for bit
(on the CuPy stand-in the kernels run as host C++; on a GPU the STDP traces'
``exp`` may differ from NumPy's in the last bit, so there these comparisons
hold for the models without ``exp``).  The launches per step are counted on
the stand-in.
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN
from gpunet.testing.host_state import assert_same_arrays, host_arrays

pytestmark = pytest.mark.gpu

STEPS = 300
DELAYS = {
    "uniform": 2.0,
    "per-synapse": gn.Uniform(0.5, 12.0),  # dt 0.5: 24 distinct delay values (1 to 24 steps)
    "per-projection": None,                 # three projections onto one target, delays 1, 3.5, 6 ms
}

# v integrates its conductance: the order of the additions to g_exc shows in v's bits.
ACCUMULATOR = gn.Neuron(equations="v = v + g_exc", spike="v > 1e30", name="accumulator")


def build(backend, delays, synapse=None, seed=11, mode="ordered"):
    net = gn.Network(dt=0.5, seed=seed, backend=backend, kernels=mode)
    pre = net.create(120, gn.Izhikevich, name="pre")
    post = net.create(60, gn.Izhikevich, name="post")
    sink = net.create(60, ACCUMULATOR, name="sink")
    pre.i_offset = np.linspace(3.0, 15.0, pre.size)
    pre.noise = 0.0
    post.noise = 0.0
    synapse = synapse or gn.STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525)
    if delays is None:
        for k, delay in enumerate((1.0, 3.5, 6.0)):
            net.connect(pre, post, "exc", synapse, name=f"p{k}").connect_fixed_probability(
                0.3, weights=gn.Uniform(0.0, 1.0), delays=delay)
    else:
        net.connect(pre, post, "exc", synapse, name="p0").connect_fixed_probability(
            0.3, weights=gn.Uniform(0.0, 1.5), delays=delays)
    net.connect(pre, sink, "exc", name="to_sink").connect_fixed_probability(
        0.5, weights=gn.Uniform(-1e3, 1e3), delays=delays if delays is not None else 2.5)
    net.compile()
    return net


def fused(net):
    assert net.fused is not None
    return sorted(net.fused.fused)


@pytest.mark.parametrize("form", sorted(DELAYS))
def test_ordered_propagation_gives_the_numpy_bits(form):
    reference, device = build("numpy", DELAYS[form]), build("cupy", DELAYS[form])
    assert [p.name for p in device.projections if p.runner.kind == "kernels"] == [p.name for p in device.projections]
    reference.simulate(STEPS * 0.5)
    device.simulate(STEPS * 0.5)
    expected = host_arrays(reference)
    assert np.count_nonzero(expected["sink", "v"]) > 0 and np.any(expected["post", "v"] != -65.0)
    assert_same_arrays(expected, host_arrays(device), equal_nan=True)


def test_the_order_of_delays_decides_the_last_bits():
    """A row whose storage order (by pre rank) differs from the arrival order (by delay, then pre rank).

    Pre 0 reaches the sink with delay 3 and weight 1, pres 1 and 2 with delay 1 and weights 1e16, -1e16:
    all three spikes arrive at the same step.  By delay, ((0 + 1e16) - 1e16) + 1 = 1; in storage order
    ((0 + 1) + 1e16) - 1e16 = 0.
    """
    results = {}
    for backend in ("numpy", "cupy"):
        net = gn.Network(dt=1.0, seed=1, backend=backend, kernels="ordered")
        source = gn.SpikeSourceArray([[2.0], [4.0], [4.0]], name="source", network=net)
        sink = net.create(1, ACCUMULATOR, name="sink")
        net.connect(source, sink, "exc", name="p").connect_from_list(
            [(0, 0, 1.0, 3.0), (1, 0, 1e16, 1.0), (2, 0, -1e16, 1.0)])
        net.compile()
        net.simulate(8.0)
        results[backend] = net.backend.to_host(sink.device_view("v"))
    assert results["numpy"].tolist() == [1.0]
    assert results["cupy"].tolist() == [1.0]


def launches_per_step(net, steps=20):
    """Kernels run per step by name, and launches the host issued per step (a graph launch counts once)."""
    import cupy
    net.simulate(2.0)  # first launches, argument checks
    cupy.launches.reset()
    net.simulate(steps * net.dt)
    return {name: count / steps for name, count in cupy.launches.by_kernel.items()}, cupy.launches.issued / steps


@pytest.mark.skipif(not STANDIN, reason="counting launches needs the CuPy stand-in")
@pytest.mark.parametrize("loop", ["graph", "per-object runners"])
def test_launches_per_step_do_not_grow_with_the_number_of_delay_values(loop):
    counts = []
    for delays in (2.0, gn.Uniform(0.5, 1.5), DELAYS["per-synapse"]):
        net = build("cupy", delays)
        assert net.step_loop.kind == "graph"
        if loop != "graph":
            net.use_step_loop(None)
        distinct = max(len(np.unique(p.synapse_arrays()[2])) for p in net.projections)
        counts.append((distinct, *launches_per_step(net)))
    assert [distinct for distinct, _kernels, _issued in counts] == [1, 3, 24]
    kernels = [k for _distinct, k, _issued in counts]
    assert kernels[0] == kernels[1] == kernels[2], kernels
    # one spike-propagation launch per synapse unit and step: p0 (STDP) and to_sink (the default synapse); the
    # graph runs each unit's merged kernel (one projection each here)
    suffix = "_pre_events_merged_clocked" if loop == "graph" else "_pre_events_ordered"
    assert sorted(n for name, n in kernels[0].items() if name.endswith(suffix)) == [1.0, 1.0], kernels[0]
    # the graph: 9 kernels (2 updates: "pre" and "post" share one merged Izhikevich launch, the sink its own; the
    # 2 spike-list kernels of "pre", whose lists both projections share, 2 deliveries, 1 spike-ring write for the
    # 3 populations, post events, the clock) in 1 launch; the
    # per-object runners list the ring for each projection (13 launches)
    issued = {distinct: i for distinct, _kernels, i in counts}
    assert issued == ({1: 1.0, 3: 1.0, 24: 1.0} if loop == "graph" else {1: 13.0, 3: 13.0, 24: 13.0}), issued
    assert sum(kernels[0].values()) == (9.0 if loop == "graph" else 13.0)


def test_a_load_continues_bit_identically_and_follows_a_new_connectivity(tmp_path):
    """Per-synapse delays saved mid-run; loaded into a network built with one uniform delay (another
    connectivity, so the row walk is made again), the run continues as if never interrupted."""
    original = build("cupy", DELAYS["per-synapse"])
    original.simulate(100 * 0.5)
    gn.save(tmp_path / "state.npz", network=original)
    original.simulate(150 * 0.5)
    expected = host_arrays(original)
    restored = build("cupy", 2.0, seed=99)
    restored.simulate(10 * 0.5)  # its own walk (storage order) is in use before the load
    restored.load(tmp_path / "state.npz")
    assert restored.get_current_step() == 100
    restored.simulate(150 * 0.5)
    assert_same_arrays(expected, host_arrays(restored), equal_nan=True)
    reference = build("numpy", DELAYS["per-synapse"])
    reference.simulate(250 * 0.5)
    assert_same_arrays(host_arrays(reference), expected, equal_nan=True)


@pytest.mark.parametrize("loop", ["graph", "per-object runners"])
def test_atomic_propagation_is_one_launch_per_projection_too(loop):
    """``kernels="atomic"``: one warp per (delay group, pre neuron) in one launch.  Its additions race on a GPU
    (last bits vary); run sequentially on the stand-in they come in the NumPy path's order."""
    reference = build("numpy", DELAYS["per-synapse"])
    device = build("cupy", DELAYS["per-synapse"], mode="atomic")
    assert device.step_loop.kind == "graph"
    if loop != "graph":
        device.use_step_loop(None)
    reference.simulate(STEPS * 0.5)
    device.simulate(STEPS * 0.5)
    expected, found = host_arrays(reference), host_arrays(device)
    if STANDIN:
        assert_same_arrays(expected, found, equal_nan=True)
    else:
        assert max(float(np.max(np.abs(expected[k] - found[k]))) for k in expected if expected[k].size) < 1e-6
    if STANDIN:
        kernels, _issued = launches_per_step(device)
        suffix = "_pre_events_atomic_groups" + ("_clocked" if loop == "graph" else "")
        assert sorted(n for name, n in kernels.items() if name.endswith(suffix)) == [1.0, 1.0], kernels
        # (the neuron updates' own merged kernel, gn_Izhikevich_f64_merged_clocked, runs in the graph)
        assert not any(name.endswith(("_atomic", "_atomic_clocked", "_ordered", "_ordered_clocked",
                                      "_pre_events_merged_clocked")) for name in kernels), kernels
