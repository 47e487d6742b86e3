"""A GPU network's step as one CUDA graph (or one launch list): the same bits as the per-object runners and NumPy.

``Network.compile`` on a GPU records one step of a network whose objects all
run kernels and captures it as a CUDA graph (``gpunet.network.device_loop``);
where capture fails it replays the launch list.  The step counter lives on the
device, so the graph is valid for every step; a load or a reseed that replaces
arrays or keys makes it record again, and learning switched off runs the
per-object runners until it is switched on again.  Run on the CuPy stand-in in
CI (its ``Stream.begin_capture`` records raw kernels, ``Graph.launch`` replays them).
"""
import logging

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN
from gpunet.testing.host_state import assert_same_arrays, host_arrays

pytestmark = pytest.mark.gpu


def build(backend, noise=0.0, seed=21):
    net = gn.Network(dt=0.5, seed=seed, backend=backend)
    pre = net.create(80, gn.Izhikevich, name="pre")
    post = net.create(40, gn.Izhikevich, name="post")
    pre.i_offset = np.linspace(3.0, 15.0, pre.size)
    pre.noise = noise
    post.noise = noise
    net.connect(pre, post, "exc", gn.STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525), name="stdp").connect_fixed_probability(
        0.4, weights=gn.Uniform(0.0, 1.5), delays=gn.Uniform(0.5, 5.0))
    net.connect(post, pre, "inh", name="back").connect_fixed_probability(0.2, weights=gn.Uniform(0.0, 0.5), delays=1.0)
    return net


def test_compile_installs_the_step_graph_and_says_so(caplog):
    net = build("cupy")
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    assert net.step_loop.kind == "graph" and net.step_loop.graph.mode == "graph"
    # the reference network's two spiking projections have two synapse models: one merged launch each; the two
    # populations' spike-ring writes are one launch, their updates (one model) another
    assert any(r.getMessage() == "steps: CUDA graph of one step (10 kernels, one graph launch per step; "
               "neuron updates: 1 merged launch(es) for 2 population(s); "
               "spike propagation: 2 merged launch(es) for 2 spiking projection(s))"
               for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_without_stream_capture_the_launch_list_runs_and_the_log_says_why(caplog, monkeypatch):
    import cupy

    def no_capture(self, mode=None):
        raise cupy.cuda.runtime.CUDARuntimeError("cudaErrorStreamCaptureUnsupported: not on this device")
    monkeypatch.setattr(cupy.cuda.Stream, "begin_capture", no_capture)
    net = build("cupy")
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    assert net.step_loop.graph.mode == "launch list" and net.step_loop.graph.graph is None
    messages = [r.getMessage() for r in caplog.records]
    assert "steps: launch list of 10 kernels per step (no CUDA graph: CUDARuntimeError: "\
           "cudaErrorStreamCaptureUnsupported: not on this device; neuron updates: 1 merged launch(es) for "\
           "2 population(s); spike propagation: 2 merged launch(es) for 2 spiking projection(s))" in messages, messages
    reference = build("numpy")
    net.simulate(150.0)
    reference.simulate(150.0)
    assert_same_arrays(host_arrays(reference), host_arrays(net))
    if STANDIN:
        cupy.launches.reset()
        net.simulate(10.0)
        assert cupy.launches.graphs == 0 and cupy.launches.issued == 20 * 10


def switch_learning(net):
    net.simulate(40.0)
    net.disable_learning()
    net.simulate(30.0)
    net.enable_learning()
    net.simulate(40.0)


def test_learning_switched_off_runs_the_per_object_runners_then_the_graph_again():
    # the reference: the per-object runners (against NumPy, both differ in the last bit of a trace after the
    # switch, through the array code's frozen rules: not the step loop's doing)
    net, reference = build("cupy"), build("cupy")
    net.compile()
    reference.compile()
    reference.use_step_loop(None)
    replays = []
    graph = net.step_loop.graph
    original = graph.replay
    graph.replay = lambda *args: (replays.append(net.get_current_step()), original(*args))
    switch_learning(net)
    switch_learning(reference)
    assert_same_arrays(host_arrays(reference), host_arrays(net))
    # steps 80-139 (learning off) ran without the graph, the others with it
    assert replays == list(range(0, 80)) + list(range(140, 220))


def test_a_reseed_and_a_reset_are_followed():
    """Noise keys change on reseed (the graph records again); reset() sets the step counter back (the device
    clock follows).  Compared with the per-object kernel runners, whose step and keys are passed by value."""
    results = []
    for loop in ("graph", "runners"):
        net = build("cupy", noise=2.0)
        net.compile()
        if loop == "runners":
            net.use_step_loop(None)
        net.simulate(30.0)
        net.reseed(77)
        net.simulate(30.0)
        first = host_arrays(net)
        net.reset()
        net.simulate(20.0)
        results.append((first, host_arrays(net), net.get_current_step()))
    (first_graph, after_graph, step_graph), (first_runners, after_runners, step_runners) = results
    assert_same_arrays(first_runners, first_graph)
    assert_same_arrays(after_runners, after_graph)
    assert step_graph == step_runners == 40


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("name", ["reference", "rate"])
def test_the_graph_gives_the_per_object_runners_bits(name, precision):
    """Spiking (noise, STDP) and rate-coded (input sums zeroed in the graph, weighted sums, Oja) networks."""
    from gpunet.testing import parity
    results = []
    for loop in ("graph", "runners"):
        net = parity.NETWORKS[name]("cupy", precision)
        net.kernels = "auto"  # the parity networks attach their kernels themselves: here compile() does
        net.compile(silent=True)
        assert net.step_loop.kind == "graph" and net.step_loop.graph.mode == "graph"
        if loop == "runners":
            net.use_step_loop(None)
        net.simulate(60.0)
        results.append(host_arrays(net))
    assert_same_arrays(results[1], results[0])


def test_a_network_with_an_input_runs_the_per_object_runners_and_the_log_names_the_input(caplog):
    from gpunet.network.inputs import TimedArray
    net = gn.Network(dt=0.5, seed=3, backend="cupy")
    TimedArray(np.arange(20.0).reshape(2, 10), schedule=5.0, name="timed", network=net)
    net.create(10, gn.Izhikevich, name="izh")
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net.compile()
    assert net.step_loop.kind != "graph"
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("steps: ")]
    assert len(messages) == 1 and "has no clocked kernels" in messages[0], messages
