"""A step graph delivers the spikes of all the projections of a synapse unit in one launch, with NumPy's bits.

The NumPy path adds the projections onto one post population and target one
after the other, in network order.  The merged kernel walks, per slice of post
neurons, the projections of its table in that order, and projections of other
units onto the same conductance split the launches into rounds
(:func:`gpunet.codegen.runtime.merged_propagation.merge_rounds`).  Compared bit
for bit on the CuPy stand-in (the kernels run as host C++), in float64.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN
from gpunet.codegen.runtime.kernel_calls import POST_SLICE
from gpunet.codegen.runtime.merged_propagation import merge_rounds
from gpunet.testing.host_state import assert_same_arrays, host_arrays

pytestmark = pytest.mark.gpu

# v integrates both conductances: the order of the additions to g_exc and g_inh shows in v's bits.
TWO_TARGETS = gn.Neuron(equations="v = v + g_exc - 0.25 * g_inh", spike="v > 1e30", name="two_targets")
SINK = POST_SLICE + 44  # two slices


def merged_network(backend, seed=11, extra=0):
    """Two Izhikevich populations and a sink; static and STDP projections onto one population and target, onto
    two targets, onto three post populations, with uniform and per-synapse delays.  ``extra`` static projections
    are added onto (sink, exc) after the others."""
    net = gn.Network(dt=0.5, seed=seed, backend=backend)
    a = net.create(POST_SLICE + 44, gn.Izhikevich, name="a")  # two chunks, two slices
    b = net.create(90, gn.Izhikevich, name="b")
    sink = net.create(SINK, TWO_TARGETS, name="sink")
    a.i_offset = np.linspace(3.0, 15.0, a.size)
    b.i_offset = np.linspace(5.0, 12.0, b.size)
    a.noise = b.noise = 0.0
    big = gn.Uniform(-1e3, 1e3)
    stdp = gn.STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525)
    net.connect(a, sink, "exc", name="s1").connect_fixed_probability(0.3, weights=big, delays=1.0)
    net.connect(b, sink, "exc", name="s2").connect_fixed_probability(0.3, weights=big, delays=gn.Uniform(0.5, 6.0))
    net.connect(a, sink, "exc", stdp, name="stdp").connect_fixed_probability(
        0.3, weights=gn.Uniform(0.0, 1.5), delays=gn.Uniform(0.5, 4.0))
    net.connect(b, sink, "exc", name="s4").connect_fixed_probability(0.2, weights=big, delays=3.0)
    net.connect(a, sink, "inh", name="s5").connect_fixed_probability(0.3, weights=big, delays=gn.Uniform(0.5, 5.0))
    net.connect(a, b, "exc", name="s6").connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 0.5),
                                                                   delays=gn.Uniform(0.5, 3.0))
    net.connect(b, a, "inh", name="s7").connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 0.5), delays=2.0)
    for k in range(extra):
        net.connect(a, sink, "exc", name=f"x{k}").connect_fixed_probability(0.1, weights=big, delays=1.5 + k)
    net.compile()
    return net


def merged_members(net):
    return [[proj.name for proj, _runner in launch.members] for launch in net.step_loop.graph.merged]


def test_the_rounds_keep_network_order_on_each_conductance():
    """Runs of one unit onto a (population, target) share a launch; another unit in between starts a round."""
    post, other = object(), object()

    def projection(name, unit, target="exc", onto=post):
        return (SimpleNamespace(name=name, post=onto, target=target),
                SimpleNamespace(kernels=SimpleNamespace(unit=SimpleNamespace(source=unit))))
    projections = [projection("s1", "static"), projection("s2", "static"), projection("p", "stdp"),
                   projection("s3", "static"), projection("i1", "static", "inh"), projection("o1", "stdp", onto=other),
                   projection("s4", "static"), projection("p2", "stdp")]
    rounds = [[proj.name for proj, _runner in launch] for launch in merge_rounds(projections)]
    assert rounds == [["s1", "s2", "i1"], ["o1"], ["p"], ["s3", "s4"], ["p2"]]


def test_one_launch_per_unit_and_round_with_numpy_bits():
    device, reference = merged_network("cupy"), merged_network("numpy")
    assert device.step_loop.kind == "graph"
    graph = device.step_loop.graph
    assert graph.merge_reason is None
    # (sink, exc): s1 s2 static, stdp, s4 static: three rounds; s5, s6, s7 join s1's launch (other conductances)
    assert merged_members(device) == [["s1", "s2", "s5", "s6", "s7"], ["stdp"], ["s4"]]
    # block items (first row, end row, first post neuron): a block walks the rows onto one conductance array,
    # (sink, exc) s1 s2, (sink, inh) s5, (b, exc) s6, (a, inh) s7, slice by slice
    items = device.backend.to_host(graph.merged[0].items).tolist()
    assert items == [[0, 2, 0], [0, 2, POST_SLICE], [2, 3, 0], [2, 3, POST_SLICE], [3, 4, 0], [4, 5, 0],
                     [4, 5, POST_SLICE]]
    assert device.backend.to_host(graph.merged[0].table).shape[0] == 5
    device.simulate(150.0)
    reference.simulate(150.0)
    expected, found = host_arrays(reference), host_arrays(device)
    assert np.count_nonzero(expected["sink", "v"]) == SINK
    assert_same_arrays(expected, found)
    # every projection's own work counters, as its own launches would count them
    for proj in device.projections:
        visited, delivered = device.backend.to_host(graph.runner_of(proj).work).tolist()
        assert visited > 0 and delivered > 0 and visited % -(-proj.post.size // POST_SLICE) == 0, proj.name


def test_a_load_into_the_merged_graph_continues_bit_identically(tmp_path):
    original = merged_network("cupy")
    original.simulate(50.0)
    gn.save(tmp_path / "state.npz", network=original)
    original.simulate(75.0)
    expected = host_arrays(original)
    restored = merged_network("cupy", seed=99)  # another connectivity: the tables are made again
    restored.simulate(5.0)
    restored.load(tmp_path / "state.npz")
    restored.simulate(75.0)
    assert_same_arrays(expected, host_arrays(restored))
    reference = merged_network("numpy")
    reference.simulate(125.0)
    assert_same_arrays(host_arrays(reference), expected)


def kernels_per_step(net, steps=10):
    """Kernels the step graph runs per step, by name (the stand-in counts them)."""
    import cupy
    net.simulate(2.0)
    cupy.launches.reset()
    net.simulate(steps * net.dt)
    return {name: count / steps for name, count in cupy.launches.by_kernel.items()}


@pytest.mark.skipif(not STANDIN, reason="counting the graph's kernels by name needs the CuPy stand-in")
def test_the_graph_kernels_do_not_grow_with_the_projections_that_merge():
    """Six more static projections onto (sink, exc) join the first static launch: the same kernels per step."""
    counts, members = {}, {}
    for extra in (0, 6):
        net = merged_network("cupy", extra=extra)
        counts[extra] = kernels_per_step(net)
        members[extra] = sum(len(launch.members) for launch in net.step_loop.graph.merged)
    assert members == {0: 7, 6: 13}
    assert counts[0] == counts[6]
    merged = {name: n for name, n in counts[0].items() if "_pre_events_" in name}
    assert merged == {"gn_DefaultSpiking_f64_i32_pre_events_merged_clocked": 2.0,
                      "gn_STDP_f64_i32_pre_events_merged_clocked": 1.0,
                      # the rings of a and b listed together (s1 and s2, the first projections from them, list)
                      "gn_DefaultSpiking_f64_i32_pre_events_spike_count_merged_clocked": 1.0,
                      "gn_DefaultSpiking_f64_i32_pre_events_spike_list_merged_clocked": 1.0}, counts[0]
    # 2 updates (a and b: one merged Izhikevich launch; the sink's model its own), 1 spike-ring write (all 3
    # populations), 2 spike-list kernels, 3 merged launches, stdp's post events, the clock (the per-object runners:
    # 3 launches per projection for the deliveries alone)
    assert sum(counts[0].values()) == 2 + 1 + 2 + 3 + 1 + 1
    assert counts[0]["gn_step_push_spikes_merged"] == 1.0 and counts[0]["gn_Izhikevich_f64_merged_clocked"] == 1.0
    assert len(net.step_loop.graph.launches) == 10
    listing = net.step_loop.graph.listings[0]
    assert net.backend.to_host(listing.items).tolist() == [[0, 0, 0], [0, 0, 1], [1, 0, 0]]  # a: 2 chunks, b: 1


# Spikes at steps 1, 3, 5...
TICKER = gn.Neuron(equations="v = v + 1.0", spike="v > 1.5", reset="v = 0.0", name="ticker")


def order_network(backend, weights, mode="ordered"):
    """One spiking neuron onto one accumulator through one static projection per weight, in that order."""
    net = gn.Network(dt=1.0, seed=3, backend=backend, kernels=mode)
    source = net.create(1, TICKER, name="source")
    sink = net.create(1, TWO_TARGETS, name="sink")
    for k, weight in enumerate(weights):
        net.connect(source, sink, "exc", name=f"p{k}").connect_from_list([(0, 0, weight, 1.0)])
    net.compile()
    return net


@pytest.mark.parametrize("weights, total", [((1e16, -1e16, 1.0), 1.0), ((1.0, 1e16, -1e16), 0.0)])
def test_projections_onto_one_conductance_add_in_network_order(weights, total):
    """(1e16 + -1e16) + 1 = 1 but (1 + 1e16) + -1e16 = 0: the merged launch adds the projections in their order."""
    device, reference = order_network("cupy", weights), order_network("numpy", weights)
    assert merged_members(device) == [["p0", "p1", "p2"]]
    device.simulate(6.0)
    reference.simulate(6.0)
    assert reference.populations[1].v.tolist() == [2 * total]  # two arrivals (the spikes of steps 1 and 3)
    assert device.backend.to_host(device.populations[1].device_view("v")).tolist() == [2 * total]


def test_the_atomic_mode_keeps_one_launch_per_projection_and_says_why():
    net = order_network("cupy", (1.0, 2.0), mode="atomic")
    graph = net.step_loop.graph
    assert graph.merged == [] and "atomic" in graph.merge_reason


def microcircuit_shaped(backend, size=24):
    """The cortical microcircuit's shape at a small scale: 8 populations, all 64 projections between them (static,
    per-synapse delays), excitatory from the first 4, inhibitory from the others."""
    net = gn.Network(dt=0.5, seed=21, backend=backend)
    pops = []
    for k in range(8):
        pop = net.create(size, gn.Izhikevich, name=f"L{k}")
        pop.i_offset = np.linspace(4.0, 12.0 + k, size)
        pop.noise = 0.0
        pops.append(pop)
    for i, pre in enumerate(pops):
        for post in pops:
            net.connect(pre, post, "exc" if i < 4 else "inh", name=f"{pre.name}_{post.name}").connect_fixed_probability(
                0.2, weights=gn.Uniform(0.0, 0.5), delays=gn.Uniform(0.5, 4.0))
    net.compile()
    return net


def test_a_microcircuit_shaped_network_steps_in_6_kernels_with_numpy_bits():
    """64 static projections onto 8 populations of one model: one update launch, one propagation launch, two
    spike-list launches, one spike-ring write (on the stand-in
    counted, then the network reset: the lists of every ring are made again from the clock)."""
    device, reference = microcircuit_shaped("cupy"), microcircuit_shaped("numpy")
    assert merged_members(device) == [[proj.name for proj in device.projections]]
    if STANDIN:
        counts = kernels_per_step(device)
        # 1 merged update (the 8 populations: 13 kernels before it merged them), 1 spike-ring write, 2 spike-list
        # kernels, 1 propagation, the clock
        assert sum(counts.values()) == 6, counts
        assert counts["gn_Izhikevich_f64_merged_clocked"] == 1.0
        device.reset(populations=True, projections=True)
        for k, pop in enumerate(device.populations):
            pop.i_offset = np.linspace(4.0, 12.0 + k, pop.size)
    device.simulate(30.0)
    reference.simulate(30.0)
    assert_same_arrays(host_arrays(reference), host_arrays(device))
    graph = device.step_loop.graph
    delivered = [int(device.backend.to_host(graph.runner_of(proj).work)[1]) for proj in device.projections]
    assert min(delivered) > 0  # every projection delivered spikes through the merged launch


READS_INH = gn.Synapse(parameters="w = 1.0", pre_spike="g_target += w * (1.0 + 0.001 * post.g_inh)", name="reads_inh")


@pytest.mark.parametrize("reader_first", [False, True])
def test_a_synapse_reading_a_conductance_keeps_one_launch_per_projection_in_network_order(reader_first):
    """Its delivery reads g_inh, which the other projection's adds to in the same phase: no merge (the reason says
    which projection), each projection its own launch in network order, NumPy's bits either way."""
    def build(backend):
        net = gn.Network(dt=1.0, seed=3, backend=backend)
        source = net.create(1, TICKER, name="source")
        sink = net.create(1, gn.Izhikevich, name="sink")
        connections = [("i", "inh", None), ("r", "exc", READS_INH)]
        for name, target, synapse in connections[::-1] if reader_first else connections:
            net.connect(source, sink, target, synapse, name=name).connect_from_list([(0, 0, 2.0, 1.0)])
        net.compile()
        return net
    device, reference = build("cupy"), build("numpy")
    graph = device.step_loop.graph
    assert graph.merged == [] and graph.listings == []
    assert graph.merge_reason.startswith("projection 'r' reads post 'g_inh'")
    assert graph.propagation_description().startswith("spike propagation: one launch per projection (projection 'r'")
    device.simulate(8.0)
    reference.simulate(8.0)
    assert_same_arrays(host_arrays(reference), host_arrays(device))
