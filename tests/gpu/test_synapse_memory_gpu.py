"""Device memory per STDP synapse with the fused kernels (on the CuPy stand-in in CI): exact sums of ``nbytes``."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.examples import reference_network

pytestmark = pytest.mark.gpu


def device_bytes_per_synapse(projection):
    """Bytes of the device arrays that grow with the synapses (state as built, pre-major index), per synapse."""
    count = projection.nb_synapses
    arrays = list(projection._state.values()) + [s for _d, _p, s in projection._groups]
    assert all(not isinstance(a, np.ndarray) for a in arrays)  # all on the device
    return sum(a.nbytes for a in arrays if a.ndim == 1 and a.shape[0] not in (projection.pre.size + 1,
                                                                                 projection.post.size + 1)) / count


@pytest.mark.parametrize("mode", ["ordered", "atomic"])
def test_fused_kernels_keep_40_device_bytes_and_4_host_bytes_per_stdp_synapse(mode):
    net = reference_network(40, probability=0.2, backend="cupy", seed=5, kernels=mode)
    back = net.connect(net.populations[1], net.populations[0], "exc", gn.STDP, name="back")
    back.connect_fixed_probability(0.2, weights=0.1, delays=gn.Uniform(1.0, 4.0))
    net.compile()
    net.simulate(20.0, progress=False)
    proj0 = net.projections[0]
    assert proj0.runner.kind != "array"
    # w, x, y, last event (32 B), post rank and pre-major index (int32: 8 B): both propagation kernels walk the
    # pre-major index from the spike lists, and STDP's post-synaptic events read no pre rank
    assert device_bytes_per_synapse(proj0) == 40
    assert device_bytes_per_synapse(back) == 40  # four delay values: four groups, still one index per synapse
    assert not proj0._state.built("_pre_idx") and not proj0._state.built("_delays")
    assert proj0._host_pre.dtype == np.int32 and proj0._host_pre.nbytes == 4 * proj0.nb_synapses
    assert proj0._delay_steps.ndim == 0  # a uniform delay: no host array per synapse
    assert back._delay_steps.nbytes == 4 * back.nb_synapses  # four delays: kept beside the host pre ranks
    post, pre, steps = back.synapse_arrays()  # a save reads these host arrays without a transfer
    assert not back._state.built("_pre_idx") and not back._state.built("_delays")
    np.testing.assert_array_equal(pre, back._host_pre)
    np.testing.assert_array_equal(steps, back._delay_steps)
