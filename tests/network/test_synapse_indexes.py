"""Per-synapse index memory: int32 indexes below 2**31, the array code's event ranks only when it runs."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.examples import reference_network


def network(backend="numpy"):
    net = reference_network(60, backend=backend, seed=7, kernels="off")
    back = net.connect(net.populations[1], net.populations[0], "exc", gn.STDP, name="back")
    back.connect_fixed_probability(0.2, weights=0.1, delays=gn.Uniform(1.0, 4.0))  # several delay groups
    return net


def event_index_bytes(projection):
    """Bytes of the array code's event ranks (post and, when the model reads ``pre.``, pre per group)."""
    return sum(a.nbytes for pair in (projection._group_ranks or []) for a in pair if a is not None)


def test_pre_major_synapse_indexes_and_delays_are_int32():
    net = network()
    net.compile()
    for projection in net.projections:
        groups = projection.step_arrays().groups
        assert len(groups) >= 1
        assert all(synapses.dtype == np.int32 and pre_ptr.dtype == np.int64 for _d, pre_ptr, synapses in groups)
        assert projection._host_delays.dtype == np.int32
        assert projection.step_arrays().state["_delays"].dtype == np.int32
    assert len(net.projections[1].step_arrays().groups) == 4


def test_the_array_code_builds_its_event_ranks_at_first_use_with_the_same_results():
    net, reference = network(), network()
    for each in (net, reference):
        each.runner = "numpy"  # the array code (the compiled runner reads the pre-major index only)
        each.compile()
    assert all(p._group_ranks is None for p in net.projections)  # nothing before a step needs them
    net.simulate(40.0, progress=False)
    reference.simulate(40.0, progress=False)
    back = net.projections[1]
    sizes = [(len(post), pre) for post, pre in back._group_ranks]
    assert sum(size for size, _pre in sizes) == back.nb_synapses
    assert all(pre is None for _size, pre in sizes)  # STDP reads no pre. attribute: no pre ranks kept
    assert event_index_bytes(back) == 4 * back.nb_synapses
    for a, b in zip(net.projections, reference.projections):
        np.testing.assert_array_equal(np.concatenate(a.w), np.concatenate(b.w))


@pytest.mark.skipif(find_compiler() is None, reason="needs a host C++ compiler")
def test_kernels_run_without_the_array_code_index_and_match_the_array_code():
    fused_net, array_net = network(), network()
    fused_net.compile()
    array_net.compile()
    attachment = fused.attach(fused_net, lambda unit: HostLauncher.from_source(unit.source))
    assert sorted(attachment.fused) == ["back", "pop0", "pop1", "proj0"]
    fused_net.simulate(40.0, progress=False)
    array_net.simulate(40.0, progress=False)
    assert all(p._group_ranks is None for p in fused_net.projections)
    for a, b in zip(fused_net.projections, array_net.projections):
        np.testing.assert_allclose(np.concatenate(a.w), np.concatenate(b.w), rtol=0, atol=1e-12)
