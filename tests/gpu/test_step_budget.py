"""Budgets of the GPU step loop that the CuPy stand-in counts: synchronisations and kernel launches per step.

On the 2 x 10,000 STDP benchmark network (about 1M synapses) with the fused
kernels (``kernels="auto"``): the steady-state loop never waits for the
device (monitors fetch when asked; a ``save(blocking=False)`` adds event
records and a wait on the copy stream in the writer thread only).  Each step
is one launch of the step's CUDA graph (``gpunet.network.device_loop``),
which runs 7 kernels: one merged neuron update for both populations (one
model), one spike-ring write for both populations, 4 for the projection (the spike list of the newest row
read, in two kernels, pre and post events) and the step counter's; the
per-object runners (``use_step_loop(None)``) issue 8 launches per step
instead (the same work, the step counter kept on the host).  Each recorded
monitor variable adds one copy per step (a spike monitor stages the step's
mask in a device block that it reads back once per block of steps).  A
change that adds a synchronisation or a launch to the step loop fails here.
The counts need the stand-in (a GPU cannot count them): elsewhere these tests
skip.
"""
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN
from gpunet.examples import reference_network
from gpunet.network.spike_events import BLOCK_STEPS

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not STANDIN, reason="counting syncs needs the CuPy stand-in "
                                                                        "(GPUNET_CUPY_STANDIN=1)")]
# 2 populations x 2 + 1 projection x 4 (the budget: at most 2 per population, 4 per projection whatever its delays)
LAUNCHES_PER_STEP = 8
# the same kernels in the graph less two (the two spike-ring writes are one merged launch, the two neuron updates
# of one model another), and the step counter's
GRAPH_KERNELS = LAUNCHES_PER_STEP - 2 + 1


@pytest.fixture(scope="module")
def network():
    net = reference_network(neurons=10_000, backend="cupy", seed=42)
    net.monitor(net.populations[0], ["spike"])
    net.monitor(net.populations[1], ["spike", "v"])
    net.compile()
    net.simulate(10.0)  # warm-up: first launches, monitor lists
    return net


def counted(run):
    import cupy
    cupy.syncs.reset()
    cupy.launches.reset()
    run()
    return cupy.syncs, cupy.launches


def test_steady_state_steps_never_wait_for_the_device(network):
    assert network.fused is not None and sorted(network.fused.fused) == ["pop0", "pop1", "proj0"]
    assert network.step_loop.kind == "graph"
    syncs, launches = counted(lambda: network.simulate(20.0))
    assert syncs.total == 0, dict(syncs.by_kind)
    recorded = 3  # per step the monitors stage pop0.spike and pop1.spike (a row of their block) and copy pop1.v
    assert launches.by_kernel["copy"] == 20
    assert launches.by_kernel["setitem"] == 20 * 2  # two staged spike masks
    assert launches.graphs == 20 and launches.graph_kernels == 20 * GRAPH_KERNELS
    assert launches.issued == 20 * (1 + recorded), dict(launches.by_kernel)
    assert launches.total == 20 * (GRAPH_KERNELS + recorded), dict(launches.by_kernel)


def test_the_per_object_runners_launch_each_kernel_from_the_host(network):
    graph_loop = network.step_loop
    network.use_step_loop(None)
    try:
        network.simulate(1.0)  # the per-object runner's first step makes its spike lists and group table
        syncs, launches = counted(lambda: network.simulate(20.0))
    finally:
        network.use_step_loop(graph_loop)
    assert syncs.total == 0, dict(syncs.by_kind)
    assert launches.graphs == 0
    assert launches.by_kernel["setitem"] == 20 * (2 + 2)  # two spike-ring writes, two staged spike masks
    assert launches.issued == launches.total == 20 * (LAUNCHES_PER_STEP + 3), dict(launches.by_kernel)


def test_spike_monitors_read_back_once_per_block_of_steps(network):
    network.monitors[0].get("spike")  # empty the blocks: the next one starts now
    network.monitors[1].get("spike")
    syncs, _launches = counted(lambda: network.simulate(float(BLOCK_STEPS)))
    assert syncs.total == 2 and dict(syncs.by_kind) == {"get": 2}  # one full block per spike monitor


def test_an_asynchronous_save_adds_no_synchronisation_of_the_compute_stream(network, tmp_path):
    compute, copy = network.backend.compute_stream.label, network.backend.copy_stream.label

    def save_and_run():
        handle = gn.save(tmp_path / "s.npz", network=network, blocking=False)
        network.simulate(5.0)
        handle.result()
    syncs, _launches = counted(save_and_run)
    assert syncs.by_stream[compute] == 0
    assert dict(syncs.by_stream) == {copy: 1} and dict(syncs.by_kind) == {"event.synchronize": 1}


def test_monitors_fetch_only_when_asked(network):
    monitor = network.monitors[1]
    syncs, _launches = counted(lambda: monitor.get())
    assert syncs.total == 2  # one read-back per recorded variable


def test_the_budget_sees_a_synchronisation_added_to_the_step_loop(network, monkeypatch):
    population = network.populations[0]
    graph = network.step_loop.graph
    original = graph.replay

    def replay_and_peek(*args):
        original(*args)
        float(population.device_view("v")[0])  # the kind of read-back that would stall a GPU every step
    monkeypatch.setattr(graph, "replay", replay_and_peek)
    syncs, _launches = counted(lambda: network.simulate(5.0))
    assert syncs.total == 5 and syncs.by_kind["scalar"] == 5
