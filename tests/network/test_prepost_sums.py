"""``pre.sum(exc)`` and ``post.sum(exc)`` inside synapse equations: the summed inputs of the pre/post neurons.

The array code, the generated kernels (host build) and the compiled CPU runner give the same bits; GPU parity:
``tests/gpu/test_language_kernels.py``.
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.cuda.synapse import synapse_unit
from gpunet.codegen.runtime import fused
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler
from gpunet.errors import ModelError

LEVEL = gn.Neuron(parameters="level = 0.0", equations="r = level + sum(exc)", name="LevelPlusInput")
READS_SUMS = gn.Synapse(parameters="eta = 0.5 : projection",
                        equations="s = pre.sum(exc) + 2 * post.sum(exc)\ndw/dt = eta * s : min = 0.0",
                        name="ReadsSums")


def test_synapses_read_the_summed_inputs_of_their_pre_and_post_neurons():
    net = gn.Network(dt=1.0, backend="numpy")
    source = net.create(2, LEVEL, name="source")
    source.level = [0.3, 0.6]
    pre = net.create(3, LEVEL, name="pre")
    pre.level = [1.0, 2.0, 3.0]
    post = net.create(2, LEVEL, name="post")
    net.connect(source, pre, "exc", name="feed").connect_all_to_all(weights=0.5)
    projection = net.connect(pre, post, "exc", READS_SUMS, name="proj")
    projection.connect_all_to_all(weights=0.1)
    projection.eta = 0.0  # weights fixed: the sums stay constant
    net.simulate(5.0)
    # from step 2 on every rate is constant: source r = level, pre r = level + 0.45, sums as below
    pre_sum = 0.5 * (0.3 + 0.6)
    post_sum = 0.1 * sum(level + pre_sum for level in (1.0, 2.0, 3.0))
    s = np.array(projection.s)
    np.testing.assert_allclose(s, np.full((2, 3), pre_sum + 2 * post_sum), rtol=1e-14)
    assert post.r.tolist() == pytest.approx([post_sum] * 2, rel=1e-14)


def test_the_cuda_generator_reads_the_sums_of_the_populations():
    unit = synapse_unit(READS_SUMS.spec)
    params = {p.name: (p.role, p.key, p.ctype) for p in unit.kernels["continuous"].params}
    assert params["pre_sum_exc"] == ("pre_sum", "exc", "const double*")
    assert params["post_sum_exc"] == ("post_sum", "exc", "const double*")
    assert "l_s = 2*post_sum_exc[post] + pre_sum_exc[pre];" in unit.body   # each at its own side's rank


@pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler")
def test_the_generated_kernels_and_the_compiled_runner_give_the_array_codes_sums():
    def build(runner):
        net = gn.Network(dt=1.0, backend="numpy", runner=runner)
        source = net.create(2, LEVEL, name="source")
        source.level = [0.3, 0.6]
        pre = net.create(3, LEVEL, name="pre")
        pre.level = [1.0, 2.0, 3.0]
        post = net.create(2, LEVEL, name="post")
        net.connect(source, pre, "exc", name="feed").connect_all_to_all(weights=0.5)
        projection = net.connect(pre, post, "exc", READS_SUMS, name="proj")
        projection.connect_all_to_all(weights=0.1)
        net.compile()
        return net, projection

    reference, expected = build("numpy")
    reference.simulate(8.0)
    kernels, by_kernels = build("numpy")
    attachment = fused.attach(kernels, lambda unit: HostLauncher.from_source(unit.source))
    assert "proj" in attachment.fused and by_kernels.runner.phases == ("continuous", "transmit")
    kernels.simulate(8.0)
    compiled, by_loop = build("compiled")
    compiled.simulate(8.0)
    assert compiled.runner_in_use == "compiled"
    assert by_kernels.s == expected.s and by_loop.s == expected.s
    assert by_kernels.w == expected.w and by_loop.w == expected.w


def test_a_sum_the_population_does_not_compute_is_refused():
    net = gn.Network(dt=1.0, backend="numpy")
    pre = net.create(2, gn.LeakyIntegrator)
    post = net.create(2, gn.Neuron(equations="r = 1.0", name="NoInput"))
    with pytest.raises(ModelError, match=r"uses post.sum\(exc\) but the equations of population"):
        net.connect(pre, post, "exc", READS_SUMS)
    with pytest.raises(ModelError, match="only valid in synapses"):
        gn.Neuron(equations="r = pre.sum(exc)")


def test_the_sums_are_annarchys():
    """ANNarchy's own values of ``pre.sum(exc) + 2 * post.sum(exc)`` (fixture ``inputs/recording.json``)."""
    import json
    from pathlib import Path
    fixture = Path(__file__).resolve().parents[1] / "data" / "annarchy" / "inputs" / "recording.json"
    expected = json.loads(fixture.read_text())["prepost_sums"]
    net = gn.Network(dt=1.0, backend="numpy")
    inp = net.create(2, gn.LeakyIntegrator, name="inp")
    pre = net.create(5, gn.LeakyIntegrator, name="pre")
    post = net.create(3, gn.LeakyIntegrator, name="post")
    projection = net.connect(pre, post, "exc", gn.Synapse(equations="s = pre.sum(exc) + 2 * post.sum(exc)"))
    projection.connect_all_to_all(weights=0.1)
    net.connect(inp, pre, "exc").connect_all_to_all(weights=0.5)
    pre.B = np.linspace(0.2, 1.0, 5)
    inp.B = np.array([0.3, 0.6])
    values = []
    for _ in range(5):
        net.simulate(1.0)
        values.append(projection.s[0][0])
    np.testing.assert_allclose(values, expected, rtol=1e-15, atol=0)
    assert expected[-1] > 0.3
