"""The inputs' generated kernels, compiled as host C++, against the NumPy array code (no GPU needed).

The same sources run on a GPU (tests/gpu/test_fused_inputs.py runs them through CuPy, on the stand-in in CI).
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.cuda.codegen import model_unit
from gpunet.codegen.cuda.common import UnsupportedByCuda
from gpunet.codegen.cuda.inputs import current_injection_unit, input_unit, schedule_width, timed_input_unit
from gpunet.codegen.runtime.fused import attach
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.testing import parity

pytestmark = pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")


def host_attach(network):
    return attach(network, lambda unit: HostLauncher.from_source(unit.source))


def _assert_equal(reference, other):
    assert other.spikes == reference.spikes
    for key, values in reference.variables.items():
        assert np.array_equal(other.variables[key], values), key


@pytest.mark.parametrize("name", sorted(parity.INPUT_NETWORKS))
def test_input_kernels_match_the_array_code_bit_for_bit(name):
    build = parity.INPUT_NETWORKS[name]
    reference = parity.record(build("numpy", "float64"), 150.0)
    attachments = []
    kernels = parity.record(build("numpy", "float64"), 150.0, lambda net: attachments.append(host_attach(net)))
    assert attachments[0].array_code == {}
    _assert_equal(reference, kernels)
    assert any(len(train) for trains in reference.spikes.values() for train in trains.values()) or \
        name == "TimedArray"


def _timed_array_run(mode: str):
    net = gn.Network(dt=1.0, seed=3, backend="numpy", runner="compiled" if mode == "compiled" else "numpy")
    rows = np.arange(12.0).reshape(4, 3)
    late = gn.TimedArray(rows, schedule=[5.0, 9.0, 12.0, 40.0], period=20.0, name="late", network=net)
    late.r = -1.0  # before the first time of the schedule r keeps its value
    changed = gn.TimedArray(rows, schedule=2.0, name="changed", network=net)
    monitors = [net.monitor(late, "r"), net.monitor(changed, "r")]
    net.compile()
    if mode == "kernels":
        assert host_attach(net).fused == ["late", "changed"]
    assert net.runner_in_use == ("compiled" if mode == "compiled" else "numpy")
    net.simulate(21.0)
    late.r = 100.0  # in its second period, before the period's first row: the last row is shown again
    changed.update(-rows[::-1], schedule=[0.0, 1.0, 3.0, 6.0], period=5.0, reset=False)
    net.simulate(13.0)
    late.reset()  # its first row 5 steps from now; r keeps its value until then
    changed.update(rows[:2] + 0.5, schedule=3.0)
    net.simulate(10.0)
    return [m.get("r") for m in monitors]


def test_schedules_follow_reset_and_update_like_the_array_code():
    """A schedule starting late, a period shorter than the last time, reset() and update() mid-run: the
    kernels attached one by one, and the compiled loop (which rebinds the replaced schedule arrays)."""
    reference = _timed_array_run("numpy")
    for mode in ("kernels", "compiled"):
        for expected, found in zip(reference, _timed_array_run(mode)):
            assert np.array_equal(found, expected), mode
    late = reference[0]
    assert late[0].tolist() == [-1.0, -1.0, -1.0] and late[5].tolist() == [0.0, 1.0, 2.0]
    assert late[21].tolist() == [6.0, 7.0, 8.0] and late[38].tolist() == late[34].tolist() == [6.0, 7.0, 8.0]
    assert late[39].tolist() == [0.0, 1.0, 2.0]


def test_global_variables_run_in_a_kernel_of_their_own_before_the_neurons():
    """A model whose global variable has a population-wide noise draw: host kernels and the compiled loop."""
    model = gn.Neuron(parameters="tau = 10.0 : population\nsigma = 0.5 : population",
                      equations="dm/dt = (1 - m) / tau + sigma * Normal(0.0, 1.0) : population\n"
                                "r = m + Uniform(0.0, 0.1)", name="GlobalNoise")

    def run(runner, kernels=False):
        net = gn.Network(dt=1.0, seed=9, backend="numpy", runner=runner)
        pop = net.create(5, model, name="g")
        monitor = net.monitor(pop, ["m", "r"])
        net.compile()
        if kernels:
            assert host_attach(net).fused == ["g"]
        net.simulate(50.0)
        return monitor.get(), net.runner_in_use

    (reference, _), (kernels, _), (compiled, runner) = run("numpy"), run("numpy", True), run("compiled")
    assert runner == "compiled"
    for name in ("m", "r"):
        assert np.array_equal(kernels[name], reference[name]) and np.array_equal(compiled[name], reference[name])
    assert len(np.unique(reference["m"])) == 50  # one draw per step moved m


def test_schedule_kernel_metadata_and_refusals():
    net = gn.Network(backend="numpy")
    correlated = gn.HomogeneousCorrelatedSpikeTrains(7, rates=10.0, corr=0.1, tau=10.0, network=net)
    unit = input_unit(correlated)
    assert list(unit.kernels) == ["schedule", "neuron_globals", "neuron_update"]
    assert schedule_width(correlated.spec, ("mu", "sigma"), 7) == 2
    assert "if (i == 1) { a_sigma[0] = rows[row * n + 1]; }" in unit.body
    poisson = gn.TimedPoissonPopulation(7, rates=[1.0], schedule=[0.0], network=net)
    assert schedule_width(poisson.spec, ("proba",), 7) == 7
    with pytest.raises(UnsupportedByCuda, match="one neuron-wise attribute"):
        timed_input_unit(poisson.spec, ("proba", "p"), equations=True)
    with pytest.raises(UnsupportedByCuda, match="one neuron-wise attribute"):
        timed_input_unit(poisson.spec, ("missing",), equations=True)
    assert input_unit(net.create(2, gn.Izhikevich)) is None
    injection = current_injection_unit("float32", "int64")
    assert injection.prefix == "gn_CurrentInjection_f32_i64" and "const gn_i64* row_ptr" in injection.body
    # the model's own unit has the step graph's merged update; the input's (above) does not
    assert model_unit(correlated.spec).kernels.keys() == {"neuron_globals", "neuron_update", "neuron_update_merged"}
