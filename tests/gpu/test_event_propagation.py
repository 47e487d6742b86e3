"""The fused spike propagation works in proportion to the spikes that arrive, and keeps the NumPy path's bits.

The propagation kernels (``kernels="ordered"`` and ``"atomic"``) walk lists of
the spiking ranks of each spike-ring row and count their work on the device
(``SpikeLists.work``: events x post slices visited, synapses delivered).  These
tests compute that work from the spikes and the connectivity, show it does not
grow with synapses of silent neurons, and check the bits against NumPy where
the lists must be made again (a reset, a jump of the step, several post slices).
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime.kernel_calls import POST_SLICE

pytestmark = pytest.mark.gpu

ACCUMULATOR = gn.Neuron(equations="v = v + g_exc", spike="v > 1e30", name="accumulator")
SPIKES = {0: [1.0, 7.0, 8.0], 3: [2.0, 7.0], 5: [4.0], 9: [3.0, 11.0, 12.0, 13.0]}  # ms (dt 1): steps
POST = 2 * POST_SLICE + 40  # three slices of post neurons


def spiking_network(backend, synapses, mode="ordered", pre_size=200):
    """A spike source of ``pre_size`` neurons (those of SPIKES fire) onto POST accumulators, from ``synapses``."""
    net = gn.Network(dt=1.0, seed=3, backend=backend, kernels=mode)
    times = [SPIKES.get(rank, []) for rank in range(pre_size)]
    source = gn.SpikeSourceArray(times, name="source", network=net)
    sink = net.create(POST, ACCUMULATOR, name="sink")
    net.connect(source, sink, "exc", name="p").connect_from_list(synapses)
    net.compile()
    return net


def synapse_list(rng, ranks, probability, delays=(1.0, 2.0, 5.0)):
    """``(pre, post, weight, delay)`` from each of ``ranks`` to each post neuron with ``probability``."""
    rows = []
    for pre in ranks:
        for post in np.flatnonzero(rng.random(POST) < probability):
            rows.append((int(pre), int(post), float(rng.uniform(-1e3, 1e3)), float(rng.choice(delays))))
    return rows


def expected_work(synapses, steps):
    """(events x slices, synapses delivered) of ``steps`` steps: each spike of pre p at step s reaches, at step
    s + d < steps, the list of each delay group d (an event per slice) and p's synapses of that delay."""
    delays = sorted({int(d) for _pre, _post, _w, d in synapses})
    slices = -(-POST // POST_SLICE)
    events = delivered = 0
    for pre, times in SPIKES.items():
        for time in times:
            for delay in delays:
                if int(time) + delay < steps:
                    events += slices
                    delivered += sum(1 for p, _post, _w, d in synapses if p == pre and int(d) == delay)
    return events, delivered


def work_of(net):
    projection = net.projections[0]
    return tuple(int(v) for v in net.backend.to_host(projection.runner.work))


@pytest.mark.parametrize("mode", ["ordered", "atomic"])
def test_the_work_is_the_arriving_spikes_not_the_synapses(mode):
    rng = np.random.default_rng(7)
    firing = synapse_list(rng, sorted(SPIKES), 0.3)
    silent = synapse_list(rng, [r for r in range(200) if r not in SPIKES], 0.3)
    work = {}
    for name, synapses in (("firing only", firing), ("with silent neurons", firing + silent)):
        net = spiking_network("cupy", synapses, mode)
        assert net.projections[0].runner.kind == "kernels"
        net.simulate(16.0)
        work[name] = work_of(net)
        reference = spiking_network("numpy", synapses)
        reference.simulate(16.0)
        np.testing.assert_array_equal(net.backend.to_host(net.populations[1].device_view("v")),
                                      reference.populations[1].v)
    assert len(firing + silent) > 10 * len(firing)
    events, delivered = expected_work(firing, 16)
    assert events > 0 and delivered > 0
    if mode == "ordered":
        assert work["firing only"] == work["with silent neurons"] == (events, delivered)
    else:  # one worker per event, not per slice
        assert work["firing only"] == work["with silent neurons"] == (events // 3, delivered)


def test_a_silent_network_does_no_propagation_work():
    rng = np.random.default_rng(8)
    synapses = synapse_list(rng, range(0, 200, 2), 0.5)
    net = gn.Network(dt=1.0, seed=3, backend="cupy")
    source = gn.SpikeSourceArray([[] for _ in range(200)], name="source", network=net)
    sink = net.create(POST, ACCUMULATOR, name="sink")
    net.connect(source, sink, "exc", name="p").connect_from_list(synapses)
    net.compile()
    net.simulate(30.0)
    assert net.projections[0].nb_synapses > 10_000
    assert work_of(net) == (0, 0)


def izhikevich_network(backend, seed=5):
    """Izhikevich neurons driving more than two slices of accumulators through many delay values (graph path)."""
    net = gn.Network(dt=0.5, seed=seed, backend=backend)
    pre = net.create(150, gn.Izhikevich, name="pre")
    pre.i_offset = np.linspace(4.0, 14.0, pre.size)
    pre.noise = 0.0
    sink = net.create(POST, ACCUMULATOR, name="sink")
    net.connect(pre, sink, "exc", name="p").connect_fixed_probability(  # no exp: the bits hold on a GPU too
        0.2, weights=gn.Uniform(0.0, 2.0), delays=gn.Uniform(0.5, 9.0))
    net.compile()
    return net


def host_state(net):
    arrays = {("sink", "v"): net.backend.to_host(net.populations[1].device_view("v"))}
    for name, array in net.projections[0].state_dict().items():
        arrays["p", name] = net.backend.to_host(array)
    return arrays


def test_graph_steps_after_a_reset_and_a_jump_list_the_rings_again():
    """A reset zeroes the spike rings in place and moves the step back: the lists are made again from them;
    the per-object runners then make their own lists from every row."""
    device, reference = izhikevich_network("cupy"), izhikevich_network("numpy")
    assert device.step_loop.kind == "graph"
    for net in (device, reference):
        net.simulate(40.0)
        net.reset(populations=True, projections=True)
        net.populations[0].i_offset = np.linspace(4.0, 14.0, 150)  # a reset restores the initial values
        net.simulate(25.0)
        net.use_step_loop(None) if net is device else None
        net.simulate(10.0)  # the per-object runners: their own lists, made from every row first
    graph_loop = device.step_loop
    assert graph_loop.kind != "graph"
    expected, found = host_state(reference), host_state(device)
    assert np.count_nonzero(expected["sink", "v"]) > POST // 2
    assert [k for k in expected if not np.array_equal(expected[k], found[k])] == []


def test_the_graph_does_the_work_of_the_per_object_runners():
    """Same steps, same events and synapses delivered, whether the step graph or the per-object runners run them
    (the graph lists the ring once per step from the clock, the runners from the step they are given)."""
    graph_net, runners_net = izhikevich_network("cupy"), izhikevich_network("cupy")
    runners_net.use_step_loop(None)
    graph_net.simulate(30.0)
    runners_net.simulate(30.0)
    graph_runner = graph_net.step_loop.graph.runner_of(graph_net.projections[0])
    graph_work = graph_net.backend.to_host(graph_runner.work).tolist()
    runners_work = runners_net.backend.to_host(runners_net.projections[0].runner.work).tolist()
    assert graph_work == runners_work
    events, delivered = graph_work
    assert events > 0 and events % -(-POST // POST_SLICE) == 0 and delivered > 0
    found, expected = host_state(graph_net), host_state(runners_net)
    assert [k for k in expected if not np.array_equal(expected[k], found[k])] == []
