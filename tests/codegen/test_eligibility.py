"""One rule decides what runs as generated kernels: the GPU's fused attach and the compiled CPU loop use it."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.cuda.common import UnsupportedByCuda
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.eligibility import kernel_unit, own_step_reason
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.network import compiled_loop


def network_with_inputs():
    net = gn.Network(dt=0.5, seed=3, backend="numpy", runner="numpy")
    level = net.create(2, gn.Neuron(parameters="level = 0.0", equations="r = level", name="Level"), name="level")
    source = gn.SpikeSourceArray([[1.0], [2.0]], name="source", network=net)
    izh = net.create(2, gn.Izhikevich, name="izh")
    gn.CurrentInjection(level, izh, "exc", name="injection", network=net).connect_current()
    net.connect(source, izh, "inh", name="spikes").connect_all_to_all(weights=1.0, delays=1.0)
    net.compile()
    return net


def test_the_rule_names_the_objects_whose_step_is_their_own_code():
    net = network_with_inputs()
    reasons = {obj.name: own_step_reason(obj) for obj in net.populations + net.projections}
    assert reasons == {"level": None, "source": "population 'source' (SpikeSourceArray) has its own update",
                       "izh": None, "injection": None, "spikes": None}
    with pytest.raises(UnsupportedByCuda, match="'source' \\(SpikeSourceArray\\) has its own update"):
        kernel_unit(net.get_population("source"), "float64")
    # a current injection's own transmission has a generated kernel of its own
    assert "current_injection" in kernel_unit(net.get_projection("injection"), "float64").kernels
    unit = kernel_unit(net.get_projection("spikes"), "float64")
    assert unit.index == np.dtype(net.get_projection("spikes").step_arrays().state["_pre_idx"].dtype).name


@pytest.mark.skipif(find_compiler() is None, reason="needs a host C++ compiler")
def test_the_fused_attach_and_the_compiled_loop_give_the_same_reason():
    net = network_with_inputs()
    attachment = fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    assert attachment.array_code == {"source": "population 'source' (SpikeSourceArray) has its own update"}
    assert "injection" in attachment.fused
    # the compiled loop replays spike sources itself, so nothing stops it
    assert compiled_loop.unsupported_reason(net) is None
