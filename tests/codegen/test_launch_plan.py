"""Kernel launch plans: arguments checked once per array, never because the step counter moved."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.cuda.codegen import RNG_KERNELS
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.codegen.runtime.launch_plan import BoundKernel, check_arguments, kernel_plan
from gpunet.examples import reference_network

NORMAL = RNG_KERNELS["normal"]  # (n, key, step, mean, std, out)


class RecordingLauncher:
    """A launcher with ``bind``: records the values of each unchecked launch."""

    def __init__(self):
        self.launches = []

    def bind(self, kernel):
        return lambda values: self.launches.append((kernel.name, list(values)))

    def __call__(self, kernel, values):  # pragma: no cover - BoundKernel uses bind
        raise AssertionError("a bound kernel must not go through the checking call")


def context(out, step):
    return {"n": len(out), "key": 7, "step": step, "mean": 0.0, "std": 1.0, "out": out}


def test_the_plan_of_a_kernel_is_made_once_and_knows_its_types():
    plan = kernel_plan(NORMAL)
    assert kernel_plan(NORMAL) is plan
    assert plan.pointers == (5,) and plan.dtypes == (np.dtype(np.float64),)
    assert plan.scalar_types[:5] == (np.int64, np.uint64, np.int64, np.float64, np.float64)
    assert plan.scalar_types[5] is None


def test_a_bound_kernel_checks_its_arrays_once_whatever_the_step():
    launcher = RecordingLauncher()
    bound = BoundKernel(NORMAL, launcher)
    out = np.zeros(4)
    for step in range(5):
        bound(context(out, step))
    assert bound.checks == 1
    assert [values[2] for _name, values in launcher.launches] == [0, 1, 2, 3, 4]
    assert all(values[5] is out for _name, values in launcher.launches)


def test_a_replaced_array_is_checked_again_and_a_wrong_one_refused_before_launching():
    launcher = RecordingLauncher()
    bound = BoundKernel(NORMAL, launcher)
    bound(context(np.zeros(4), 0))
    bound(context(np.zeros(4), 1))  # another array of the right type: checked, launched
    assert bound.checks == 2 and len(launcher.launches) == 2
    with pytest.raises(TypeError, match="out .*float64"):
        bound(context(np.zeros(4, dtype=np.float32), 2))
    with pytest.raises(TypeError, match="C-contiguous"):
        bound(context(np.zeros(8)[::2], 3))
    assert len(launcher.launches) == 2


def test_check_arguments_refuses_wrong_count_and_dtype():
    with pytest.raises(TypeError, match="6 arguments expected, got 5"):
        check_arguments(NORMAL, [1, 2, 3, 4.0, 5.0])
    with pytest.raises(TypeError, match="must be a float64 array"):
        check_arguments(NORMAL, [1, 2, 3, 4.0, 5.0, np.zeros(1, dtype=np.int64)])
    check_arguments(NORMAL, [1, 2, 3, 4.0, 5.0, np.zeros(1)])


@pytest.mark.skipif(find_compiler() is None, reason="needs a host C++ compiler")
def test_fused_steps_check_arguments_once_and_again_after_a_load(tmp_path):
    net = reference_network(neurons=50, backend="numpy", seed=5, kernels="off")
    net.compile()
    fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    net.simulate(20.0, progress=False)
    population, projection = net.populations[0], net.projections[0]
    update = population.runner.kernels.bound
    pre = projection.runner.kernels.bound["pre_events_ordered"]
    post = projection.runner.kernels.bound["post_events"]
    assert (update.checks, pre.checks, post.checks) == (1, 1, 1)
    gn.save(tmp_path / "state.npz", network=net)
    reference = {name: population.get(name) for name in ("v", "u")}
    net.simulate(10.0, progress=False)
    expected = {name: population.get(name) for name in ("v", "u")}
    net.load(tmp_path / "state.npz")  # a load may install new arrays: the runners must follow them
    np.testing.assert_array_equal(population.get("v"), reference["v"])
    net.simulate(10.0, progress=False)
    for name in ("v", "u"):
        np.testing.assert_array_equal(population.get(name), expected[name])
    assert update.checks <= 2 and pre.checks <= 2
