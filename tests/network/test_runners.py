"""Step runners: the step loop calls each object's runner; runners are installed, never methods replaced."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.codegen.runtime.runners import KernelPopulationRunner, KernelProjectionRunner
from gpunet.errors import StructureError
from gpunet.network.runners import StepLoop

STEP_METHODS = {"_update", "_transmit", "_pre_events", "_post_events", "_update_continuous", "_reset_inputs",
                "_push_spikes"}
needs_compiler = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler")


def _network(seed=3):
    net = gn.Network(dt=1.0, seed=seed, backend="numpy")
    pre = gn.PoissonPopulation(40, rates=80.0, name="pre", network=net)
    post = net.create(20, gn.Izhikevich, name="post")
    post.i_offset = 10.0  # post spikes: STDP changes weights
    proj = net.connect(pre, post, "exc", gn.STDP, name="stdp")
    proj.connect_fixed_probability(0.5, weights=gn.Uniform(0.0, 1.0), delays=2.0)
    return net, pre, post, proj


class Recorder:
    """Wraps a runner and records which phase ran at which step."""

    def __init__(self, inner, phases):
        self.calls = []
        for phase in phases:
            setattr(self, phase, self._wrap(phase, getattr(inner, phase)))

    def _wrap(self, phase, method):
        def call(step):
            self.calls.append((phase, step))
            method(step)
        return call


def test_objects_start_with_their_array_code_runner():
    net, pre, post, proj = _network()
    net.compile()
    for obj in (pre, post, proj):
        assert obj.runner is obj.array_runner and obj.runner.kind == "array"
    assert isinstance(net.step_loop, StepLoop)


def test_the_step_loop_calls_the_installed_runners_in_phase_order_and_results_stay_bit_identical():
    reference, *_ = _network()
    reference.compile()
    reference.simulate(6.0)
    net, pre, post, proj = _network()
    net.compile()
    post_recorder = Recorder(post.array_runner, ["update"])
    proj_recorder = Recorder(proj.array_runner, ["transmit", "pre_events", "continuous", "post_events"])
    post.set_runner(post_recorder)
    proj.set_runner(proj_recorder)
    net.simulate(3.0)
    assert post_recorder.calls == [("update", t) for t in range(3)]
    assert proj_recorder.calls == [(phase, t) for t in range(3) for phase in ("transmit", "continuous", "post_events")]
    post.set_runner(None)
    proj.set_runner(None)
    assert post.runner is post.array_runner and proj.runner is proj.array_runner
    net.simulate(3.0)
    assert len(post_recorder.calls) == 3  # the recorder is out of the loop again
    assert np.array_equal(net.get_projection("stdp").w[0], reference.get_projection("stdp").w[0])
    for name in ("v", "u"):
        assert np.array_equal(getattr(post, name), getattr(reference.get_population("post"), name))


def test_set_runner_checks_the_network_and_the_runner():
    net, pre, post, proj = _network()
    with pytest.raises(StructureError, match="population 'post': set_runner\\(\\) needs a compiled network"):
        post.set_runner(post.array_runner)
    net.compile()
    with pytest.raises(TypeError, match="population 'post': a runner needs the methods update; object has no update"):
        post.set_runner(object())
    with pytest.raises(TypeError, match="projection 'stdp'.*Recorder has no pre_events, continuous, post_events"):
        proj.set_runner(Recorder(proj.array_runner, ["transmit"]))
    assert post.runner is post.array_runner and proj.runner is proj.array_runner


def test_a_network_level_step_loop_runs_whole_steps():
    net, pre, post, proj = _network()
    with pytest.raises(StructureError, match="compiled"):
        net.use_step_loop(StepLoop(net))
    net.compile()

    class Counting:
        def __init__(self, inner):
            self.inner, self.counts = inner, []

        def run(self, count):
            self.counts.append(count)
            self.inner.run(count)
    loop = Counting(StepLoop(net))
    net.use_step_loop(loop)
    assert net.step_loop is loop
    net.simulate(4.0)
    net.step()
    assert loop.counts == [1] * 5 and net.get_current_step() == 5
    post.set_runner(None)  # a loop without invalidate() is fine
    with pytest.raises(TypeError, match="run\\(count\\)"):
        net.use_step_loop(object())
    net.use_step_loop(None)
    assert isinstance(net.step_loop, StepLoop) and net.step_loop is not loop.inner


@needs_compiler
def test_attach_installs_kernel_runners_and_replaces_no_method():
    net, pre, post, proj = _network()
    net.compile()
    before = {obj.name: dict(vars(obj)) for obj in (pre, post, proj)}
    attachment = fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    assert set(attachment.fused) == {"pre", "post", "stdp"}
    for obj in (pre, post, proj):
        assert not STEP_METHODS & set(vars(obj)), obj.name
        changed = {key for key, value in vars(obj).items() if before[obj.name].get(key) is not value}
        assert changed == {"_runner"}, obj.name  # the runner, and nothing else of the object
    assert isinstance(post.runner, KernelPopulationRunner) and post.runner.kind == "kernels"
    assert isinstance(proj.runner, KernelProjectionRunner)
    assert set(proj.runner.phases) == {"pre_events", "post_events"}  # STDP: event-driven, no continuous kernel
    assert proj.runner.continuous == proj.array_runner.continuous  # the phase without a kernel: array code


@needs_compiler
def test_learning_off_runs_the_array_code_with_frozen_weights_and_back():
    net, pre, post, proj = _network()
    fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    kernels = proj.runner
    net.simulate(20.0)
    proj.disable_learning()
    assert proj.runner is proj.array_runner
    weights = np.concatenate([np.asarray(row) for row in proj.w])
    net.simulate(20.0)
    assert np.array_equal(np.concatenate([np.asarray(row) for row in proj.w]), weights)
    proj.enable_learning()
    assert proj.runner is kernels
    net.simulate(20.0)
    assert not np.array_equal(np.concatenate([np.asarray(row) for row in proj.w]), weights)
