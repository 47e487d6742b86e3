"""Functions declared once for every model (ANNarchy's ``add_function`` / ``functions``), and ``clear``."""
import numpy as np
import pytest
import sympy

import gpunet as gn
from gpunet.codegen.cuda.neuron import neuron_unit
from gpunet.errors import ModelError

PIECEWISE = """
    piecewise(x, a, b) = if x < a:
            a
        else: if x > b :
            b
        else:
            x
"""


def test_a_global_function_serves_every_model_and_numpy():
    gn.add_function(PIECEWISE)
    gn.add_function("logistic(x) = 1 / (1 + exp(-x))")
    assert gn.functions("piecewise")(np.array([-1.0, 0.5, 3.0]), 0.0, 1.0).tolist() == [0.0, 0.5, 1.0]
    neuron = gn.Neuron(parameters="low = 0.2\nhigh = 0.6", equations="r = piecewise(logistic(t - 2.0), low, high)",
                       name="Squashed")
    net = gn.Network(dt=1.0, backend="numpy")
    pop = net.create(1, neuron)
    monitor = net.monitor(pop, "r")
    net.simulate(6.0)
    t = np.arange(6.0)
    assert np.array_equal(monitor.get("r")[:, 0], np.clip(1 / (1 + np.exp(-(t - 2.0))), 0.2, 0.6))
    assert "logistic" not in neuron_unit(neuron.spec).source  # inlined into the kernel, as into the array code
    synapse = gn.Synapse(equations="dw/dt = logistic(pre.r) - w", name="Logistic")
    pre_r, w = sympy.Symbol("_pre_r"), sympy.Symbol("w")
    assert synapse.spec.equations[0].expr == 1 / (1 + sympy.exp(-pre_r)) - w


def test_a_models_own_function_wins_and_redefinitions_are_refused():
    gn.add_function("twice(x) = 2 * x")
    gn.add_function("twice(x) = 2 * x")  # the same text again: nothing to do
    own = gn.Neuron(equations="r = twice(t)", functions="twice(x) = 3 * x")
    assert str(own.spec.equations[0].expr) == "3*t"
    with pytest.raises(ModelError, match="'twice' is already declared"):
        gn.add_function("twice(x) = x + x")
    with pytest.raises(ModelError, match="'exp' is a function of the model language"):
        gn.add_function("exp(x) = x")
    with pytest.raises(ModelError, match="add_function: .*undefined name 'y'"):
        gn.add_function("broken(x) = x + y")
    with pytest.raises(ModelError, match="no global function of that name"):
        gn.functions("missing")


def test_clear_forgets_functions_and_on_request_constants():
    gn.add_function("thrice(x) = 3 * x")
    gn.Constant("clear_demo", 2.0)
    gn.clear()
    with pytest.raises(ModelError, match="unknown function 'thrice'"):
        gn.Neuron(equations="r = thrice(t)")
    assert str(gn.Neuron(equations="r = clear_demo * t").spec.equations[0].expr) == "2.0*t"
    gn.clear(constants=True)
    with pytest.raises(ModelError, match="undefined name 'clear_demo'"):
        gn.Neuron(equations="r = clear_demo * t")
