"""ANNarchy 5's model syntax: Parameter / Variable / Constant objects, dicts and lists, conditionals.

The expected values were measured with ANNarchy 5.0.4.1 (dt = 1.0): the very
model below, written with ``ann.Parameter`` / ``ann.Variable`` / ``net.constant("k", 0.2)``,
in ``net.create(3, neuron)`` with ``pop.baseline = [0.0, 0.5, 2.0]``, then
``net.step()`` twelve times reading ``pop.v``, ``pop.r``, ``pop.s``, ``pop.g``.
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import ModelError

# ANNarchy 5.0.4.1: v, r, s after steps 1..6 (g is 20.0 throughout, tau a global 10.0, baseline local)
ANNARCHY_V = [[0.11, 0.16, 0.31], [0.119, 0.214, 0.499], [0.1271, 0.2626, 0.6691],
              [0.13439, 0.30634, 0.82219], [0.140951, 0.345706, 0.959971], [0.1468559, 0.3811354, 1.0839739]]
ANNARCHY_R = [[0.0, 0.0, 1.0]] * 3 + [[0.0, 1.0, 1.0]] * 9
ANNARCHY_S = [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]] + [[0.0, 0.0, 2.0]] * 3 + [[0.0, 1.0, 2.0]] * 5 + \
    [[0.0, 2.0, 2.0]] * 2


def measured_model():
    gn.Constant("k", 0.2)
    return gn.Neuron(
        parameters=dict(tau=10.0, baseline=gn.Parameter(0.5, locality="local"), flag=gn.Parameter(True, type=bool),
                        count=gn.Parameter(3, locality="local", type=int)),
        equations=[gn.Variable("tau * dv/dt + v = baseline + k", init=0.1, min=-1.0, max=2.0),
                   "r = if v > 0.3: 1.0 else: 0.0",
                   gn.Variable("s = if v > 0.5: 2.0 else: if v > 0.35: 1.0 else: 0.0"),
                   gn.Variable("g = tau * 2", locality="global")])


def test_object_syntax_runs_like_annarchy():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pop = net.create(3, measured_model())
    assert pop.parameters == ["tau", "baseline", "flag", "count"] and pop.variables == ["v", "r", "s", "g"]
    assert pop.tau == 10.0 and pop.flag is True and pop.g == 0.0  # dict values and locality="global": scalars
    assert pop.count.tolist() == [3, 3, 3] and pop.baseline.tolist() == [0.5] * 3
    pop.baseline = [0.0, 0.5, 2.0]
    v, r, s = [], [], []
    for _ in range(12):
        net.step()
        v.append(pop.v.tolist())
        r.append(pop.r.tolist())
        s.append(pop.s.tolist())
    assert np.allclose(v[:6], ANNARCHY_V, rtol=0, atol=1e-12)
    assert r == ANNARCHY_R and s == ANNARCHY_S and pop.g == 20.0


def test_then_spelling_and_flags_after_a_conditional():
    colon = gn.Neuron(parameters="x = 1.0", equations="y = if x > 0: 2.0 else: -1.0 : init = 5.0\nr = y")
    then = gn.Neuron(parameters="x = 1.0", equations="y = if x > 0 then 2.0 else -1.0 : init = 5.0\nr = y")
    for model in (colon, then):
        assert model.spec.attributes["y"].init == 5.0
    assert str(colon.spec.equations[0].expr) == str(then.spec.equations[0].expr) == "ite(x > 0, 2.0, -1.0)"
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pop = net.create(2, then)
    pop.x = [1.0, -1.0]
    net.step()
    assert pop.y.tolist() == [2.0, -1.0]
    with pytest.raises(ModelError, match="needs 'else'"):
        gn.Neuron(parameters="x = 1.0", equations="r = if x > 0: 2.0")


def test_synapse_dict_parameters_are_projection_globals():
    synapse = gn.Synapse(parameters=dict(eta=0.1, scale=gn.Parameter(1.0, locality="local")),
                         equations=[gn.Variable("dw/dt = eta * scale", min=0.0)])
    assert synapse.spec.attributes["eta"].is_global and not synapse.spec.attributes["scale"].is_global
    assert str(synapse.spec.attributes["w"].min) == "0.0"


def test_constant_is_read_when_the_model_is_defined():
    tau = gn.Constant("tau_const", 20.0)
    assert tau == 20.0 and tau.name == "tau_const"
    before = gn.Neuron(equations="tau_const * dr/dt + r = 1.0")
    tau.set(10.0)
    after = gn.Neuron(equations="tau_const * dr/dt + r = 1.0")
    assert str(before.spec.equations[0].expr) == "0.05 - 0.05*r"
    assert str(after.spec.equations[0].expr) == "0.1 - 0.1*r"


def test_unsupported_object_syntax_is_named():
    with pytest.raises(ModelError, match="'semiglobal'.*exists only in synapses"):
        gn.Neuron(parameters=dict(a=gn.Parameter(1.0, locality="semiglobal")), equations="r = a")
    with pytest.raises(ModelError, match="locality 'postsynapse' is not supported"):
        gn.Synapse(parameters=dict(a=gn.Parameter(1.0, locality="postsynapse")))
    with pytest.raises(ModelError, match="must be a number or a boolean.*gn.Uniform"):
        gn.Neuron(parameters=dict(a=gn.Parameter(gn.Uniform(0.0, 1.0), locality="local")),
                  equations="r = a")
    with pytest.raises(ModelError, match="holds strings and Variable objects"):
        gn.Neuron(equations=["r = 1.0", 3.0])
    with pytest.raises(ModelError, match="method 'backward' is not supported"):
        gn.Neuron(equations=[gn.Variable("dr/dt = 1.0", method="backward")])


@pytest.mark.parametrize("method", ["rk4", "implicit", "semiimplicit", "midpoint", "exponential"])
def test_variable_objects_take_every_integration_method(method):
    neuron = gn.Neuron(parameters=dict(tau=10.0), equations=[gn.Variable("tau * dr/dt + r = 1.0", method=method)])
    assert neuron.spec.equations[0].method == method
