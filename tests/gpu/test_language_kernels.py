"""Generated CUDA kernels for the model language of issue 20: semiglobal (``postsynaptic``) synaptic variables,
``pre.sum()``/``post.sum()`` in synapse equations, every integration method (explicit, midpoint, rk4, implicit,
semiimplicit, exponential, event-driven with and without a pure decay, STP), global variables of a neuron and of a
synapse model.

Network ``language`` of :mod:`gpunet.testing.parity`, on CuPy with fused kernels against the NumPy backend,
straight and continued after a save and a load.  On the CuPy stand-in the kernels run as host C++ calling
NumPy's own ``exp``: every value is the same bits as the NumPy path's.  On a GPU, CUDA's ``exp`` differs in the
last bit, so the bound there is the one of ``test_fused_kernels.py``.  Each test also checks that the kernels ran
(launches counted per phase) and that no projection was left on the array code.
"""
import numpy as np
import pytest

from gpunet.backend.cupy_backend import STANDIN
from gpunet.codegen.runtime import fused
from gpunet.testing import parity

pytestmark = pytest.mark.gpu
BOUND = 0.0 if STANDIN else 1e-9
STEPS = 300  # dt = 0.5 ms
NETWORK = parity.NETWORKS["language"]
PHASES = {"neuron_update", "neuron_globals", "synapse_globals", "semiglobal", "continuous", "rate_sum",
          "pre_events_ordered", "post_events"}


class CountingLaunchers:
    """cupy_kernels.launcher_for, counting the launches of each kernel phase."""

    def __init__(self):
        self.calls = {}

    def __call__(self, unit):
        from gpunet.codegen.runtime.cupy_kernels import launcher_for
        inner = launcher_for(unit)

        def launch(kernel, values):
            self.calls[kernel.phase] = self.calls.get(kernel.phase, 0) + 1
            inner(kernel, values)
        return launch


def attach(network, launchers):
    with network.backend.activate():
        attachment = fused.attach(network, launchers)
    # every object but the spike source (an update of its own) runs generated kernels
    assert set(attachment.array_code) == {"source"}, attachment.array_code
    for projection in network.projections:
        assert projection.runner.kind == "kernels", projection.name
    phases = {p.name: p.runner.phases for p in network.projections}
    assert "continuous" in phases["semiglobal"] and "continuous" in phases["sums"] and "transmit" in phases["sums"]
    assert {"pre_events", "post_events"} <= set(phases["gain"])
    return attachment


def full_state(network):
    state = {}
    for population in network.populations:
        for key, value in population.state_dict(network.get_current_step()).items():
            state[(population.name, key)] = network.backend.to_host(value) if hasattr(value, "shape") else value
    for projection in network.projections:
        for key, value in projection.state_dict().items():
            state[(projection.name, key)] = network.backend.to_host(value) if hasattr(value, "shape") else value
    return state


def assert_within(reference, other, bound):
    assert reference.keys() == other.keys()
    worst = {}
    for key, expected in reference.items():
        expected, found = np.asarray(expected), np.asarray(other[key])
        assert expected.shape == found.shape, key
        if expected.dtype.kind == "f":
            worst[key] = float(np.max(np.abs(expected - found), initial=0.0))
        else:
            assert np.array_equal(expected, found), key
    assert {k: v for k, v in worst.items() if v > bound} == {}


def test_fused_kernels_record_what_numpy_records_bit_for_bit():
    reference = parity.record(NETWORK("numpy", "float64"), STEPS * 0.5)
    launchers = CountingLaunchers()
    device = parity.record(NETWORK("cupy", "float64"), STEPS * 0.5, lambda net: attach(net, launchers))
    assert PHASES <= set(launchers.calls), launchers.calls
    assert launchers.calls["semiglobal"] == 2 * STEPS   # per step, per projection with semiglobal equations
    result = parity.compare(reference, device)
    assert result.different_spikes == [], result.summary()
    assert result.worst() <= BOUND, result.summary()
    spikes = sum(len(train) for train in reference.spikes["cells"].values())
    assert spikes > 100
    assert reference.synapses[("semiglobal", "scale")] > 1.4   # the global equation of a synapse model ran
    for key in [("semiglobal", "alpha"), ("sums", "s"), ("gain", "gain"), ("gain", "x"), ("stp", "u")]:
        assert np.ptp(reference.synapses[key]) > 0, key   # the variables move: the comparison means something
    for variable in ["x", "y", "z", "u", "q", "p", "gm"]:
        assert np.ptp(reference.variables[("hidden", variable)]) > 0.1, variable


def test_a_fused_run_saved_and_loaded_continues_as_one_numpy_run(tmp_path):
    straight = NETWORK("numpy", "float64")
    straight.compile()
    straight.simulate(STEPS * 0.5)

    first = NETWORK("cupy", "float64")
    first.compile()
    attach(first, CountingLaunchers())
    first.simulate(STEPS * 0.25)
    first.save(tmp_path / "half.npz")

    launchers = CountingLaunchers()
    resumed = NETWORK("cupy", "float64")
    resumed.compile()
    attach(resumed, launchers)
    resumed.load(tmp_path / "half.npz")
    resumed.simulate(STEPS * 0.25)
    assert launchers.calls.get("semiglobal") == STEPS and launchers.calls.get("continuous", 0) > 0
    assert resumed.get_current_step() == straight.get_current_step() == STEPS
    assert_within(full_state(straight), full_state(resumed), BOUND)
