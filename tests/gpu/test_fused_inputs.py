"""The inputs' generated CUDA kernels on CuPy against the NumPy backend (run on the CuPy stand-in in CI).

TimedArray, TimedPoissonPopulation, HomogeneousCorrelatedSpikeTrains and CurrentInjection run through
the kernels of gpunet.codegen.cuda.inputs (their schedule, global-variable and neuron kernels, or the
current injection kernel), draw the counter-based RNG's numbers, and give the NumPy path's bits in
float64, also across a save and a load into a fresh network.  Their networks use no exp, log or cos
but in the normal draws of HomogeneousCorrelatedSpikeTrains: on a real GPU CUDA's log/cos may differ
from NumPy's in the last bit (tests/gpu/test_fused_kernels.py), so its rate x is compared within
1e-12 there; on the stand-in (host C++ with the C library) every input is compared bit for bit.
"""
from collections import Counter

import numpy as np
import pytest

from gpunet.backend.cupy_backend import STANDIN
from gpunet.testing import parity

pytestmark = pytest.mark.gpu
INPUTS = sorted(parity.INPUT_NETWORKS)
STEPS = 300
#: The phases (kernels of the unit) each input runs per step.
KERNELS = {"TimedArray": ["schedule"], "TimedPoissonPopulation": ["schedule", "neuron_update"],
           "HomogeneousCorrelatedSpikeTrains": ["schedule", "neuron_globals", "neuron_update"],
           "CurrentInjection": ["current_injection"]}


def _exact(name):
    return STANDIN or name != "HomogeneousCorrelatedSpikeTrains"


def _build(name, backend, kernels="off"):
    net = parity.INPUT_NETWORKS[name](backend, "float64")
    net.setup(kernels=kernels)
    return net


def _duration(net, steps=STEPS):
    return steps * net.dt


def _assert_same(name, expected, found, what):
    if _exact(name):
        assert np.array_equal(found, expected), what
    else:
        np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-12, err_msg=what)


def _states(net):
    """Every saved array of every population and projection, on the host."""
    states = {}
    step = net.get_current_step()
    for obj in net.populations + net.projections:
        arrays = obj.state_dict(step) if obj in net.populations else obj.state_dict()
        for key, value in arrays.items():
            states[(obj.name, key)] = net.backend.to_host(value)
    return states


@pytest.mark.parametrize("name", INPUTS)
def test_input_kernels_match_numpy_bit_for_bit(name):
    reference = parity.record(_build(name, "numpy"), _duration(_build(name, "numpy")))
    device_net = _build(name, "cupy", kernels="auto")  # compile() attaches the kernels, as on a user's GPU
    device = parity.record(device_net, _duration(device_net))
    assert device.spikes == reference.spikes
    for key, values in reference.variables.items():
        _assert_same(name, values, device.variables[key], key)
    for key, values in reference.synapses.items():
        _assert_same(name, values, device.synapses[key], key)


@pytest.mark.parametrize("name", INPUTS)
def test_input_kernels_continue_bit_for_bit_after_save_and_load(name, tmp_path):
    """NumPy for 2T straight; on the device T, save, load into a fresh network (kernels attached), T more."""
    straight = _build(name, "numpy")
    half = _duration(straight) / 2
    straight.compile()
    straight.simulate(2 * half)
    first = _build(name, "cupy", kernels="auto")
    first.compile()
    first.simulate(half)
    first.save(tmp_path / "half.npz")
    resumed = _build(name, "cupy", kernels="auto")
    resumed.load(tmp_path / "half.npz")
    assert resumed.get_current_step() == STEPS // 2 and resumed.fused is not None
    assert resumed.fused.array_code == {}
    resumed.simulate(half)
    expected, found = _states(straight), _states(resumed)
    assert found.keys() == expected.keys()
    for key, values in expected.items():
        _assert_same(name, values, found[key], key)


@pytest.mark.parametrize("name", INPUTS)
def test_the_generated_kernels_run_not_the_array_code(name):
    net = _build(name, "cupy", kernels="auto")
    net.compile()
    inputs = [obj for obj in net.populations + net.projections if obj.name != "post"]
    for obj in inputs:
        assert obj.runner is not obj.array_runner and obj.runner.kind == "kernels", obj.name
        assert obj.name in net.fused.fused
    assert net.fused.array_code == {}
    if not STANDIN:
        return
    from gpunet.testing import cupy_standin
    names = []
    for obj in inputs:
        runner, phases = obj.runner, KERNELS[type(obj).__name__]
        if phases == ["current_injection"]:
            names.append(runner.bound.kernel.name)
            continue
        names.append(runner.schedule.kernel.name)
        if "neuron_globals" in phases:
            names.append(runner.kernels.globals_bound.kernel.name)
        if "neuron_update" in phases:
            names.append(runner.kernels.kernel.name)
        else:
            assert runner.kernels is None
    assert len(names) == sum(len(KERNELS[type(obj).__name__]) for obj in inputs)
    before = {kernel: cupy_standin.launches.by_kernel[kernel] for kernel in names}
    net.simulate(_duration(net, 20))
    launched = {kernel: cupy_standin.launches.by_kernel[kernel] - count for kernel, count in before.items()}
    assert launched == {kernel: 20 * count for kernel, count in Counter(names).items()}
