import pytest
import sympy

import gpunet as gn
from gpunet.errors import ModelError


def test_izhikevich_has_annarchy_attribute_names_and_locality():
    spec = gn.Izhikevich.spec
    assert spec.parameters == ["noise", "a", "b", "c", "d", "v_thresh", "i_offset", "tau_refrac"]
    assert spec.variables == ["I", "v", "u", "r", "g_exc", "g_inh"]
    assert spec.global_names == []  # every parameter is per neuron, as in ANNarchy 5


def test_constructor_overrides_change_defaults_and_dependent_inits():
    model = gn.Izhikevich(a=0.1, d=2.0, c=-50.0)
    assert model.spec.attributes["a"].init == 0.1
    assert model.spec.attributes["d"].init == 2.0
    net = gn.Network(backend="numpy")
    pop = net.create(2, model)
    assert pop.v.tolist() == [-50.0, -50.0]
    assert pop.u.tolist() == [0.2 * -50.0] * 2
    assert gn.Izhikevich.spec.attributes["a"].init == 0.02  # the original is unchanged


def test_unknown_override_is_model_error():
    with pytest.raises(ModelError, match="unknown parameter.*'alpha'"):
        gn.Izhikevich(alpha=1.0)


def test_ode_in_implicit_form_is_solved_for_the_derivative():
    model = gn.Neuron(parameters="tau = 10.0", equations="tau * dr/dt + r = 1.0")
    tau, r = sympy.symbols("tau r")
    assert sympy.simplify(model.spec.equations[0].expr - (1.0 - r) / tau) == 0


def test_caret_is_power_and_names_like_I_E_beta_are_plain_symbols():
    model = gn.Neuron(parameters="beta = 2.0\nE = 1.0", equations="I = E + beta^2\nr = I")
    expr = model.spec.equations[0].expr
    assert expr == sympy.Symbol("E") + sympy.Symbol("beta") ** 2


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(equations="r = x + 1"), "undefined name 'x'"),
    (dict(equations="r = (1 + "), "syntax error"),
    (dict(parameters="a = 1.0\na = 2.0", equations="r = a"), "duplicate name 'a'"),
    (dict(parameters="a = 1.0", equations="da/dt = -a\nr = a"), "an ODE on parameter 'a'"),
    (dict(parameters="a = 1.0 : globall", equations="r = a"), "unknown flag 'globall'"),
    (dict(parameters="a = 1.0 : projection", equations="r = a"), "flag 'projection' is for synapses"),
    (dict(equations="r = foo(1.0)"), "unknown function 'foo'"),
    (dict(equations="r = 1.0\nr = 2.0"), "duplicate definition of variable 'r'"),
    (dict(parameters="a = x", equations="r = a"), "undefined name 'x'"),
    (dict(equations="dv/dt = -v : exponential\nx = v"), "must define the variable 'r'"),
])
def test_bad_models_raise_model_error_naming_model_line_and_text(kwargs, fragment):
    with pytest.raises(ModelError) as info:
        gn.Neuron(name="Bad", **kwargs)
    message = str(info.value)
    assert fragment in message
    assert "'Bad'" in message


def test_model_error_names_the_line_number():
    with pytest.raises(ModelError, match=r"equations line 3.*'r = v \+ q'"):
        gn.Neuron(name="L", equations="dv/dt = -v\n\nr = v + q")


def test_event_driven_is_only_for_synapses():
    with pytest.raises(ModelError, match="only valid in synapses"):
        gn.Neuron(equations="dv/dt = -v : event-driven\nr = v")


def test_event_driven_must_have_an_exact_solution():
    for equation in ("tau * dx/dt = -x * x", "tau * dx/dt = y - x"):
        with pytest.raises(ModelError, match="linear in its variable with parameters as coefficients"):
            gn.Synapse(parameters="tau = 1.0 : projection",
                       equations=f"{equation} : event-driven\ndy/dt = 0.0 : event-driven", pre_spike="x += 1")


def test_cannot_assign_a_parameter_in_reset():
    with pytest.raises(ModelError, match="cannot assign parameter 'c'"):
        gn.Neuron(parameters="c = 1.0", equations="dv/dt = 1", spike="v > 1", reset="c = 0")


def test_noise_is_only_allowed_in_equations():
    with pytest.raises(ModelError, match="only supported in equations"):
        gn.Neuron(equations="dv/dt = 1", spike="v > 1", reset="v = Uniform(0, 1)")


def test_user_functions_are_inlined():
    model = gn.Neuron(equations="r = sigmoid(2.0)", functions="sigmoid(x) = 1.0 / (1.0 + exp(-x))")
    assert float(model.spec.equations[0].expr) == pytest.approx(1 / (1 + 2.718281828459045 ** -2.0))


def test_flags_int_bool_min_max_init():
    model = gn.Neuron(parameters="n = 3 : int, population\nflag = True : bool",
                      equations="dv/dt = 1 : init = 0.5, min = 0.0, max = 2.0\nr = v")
    attributes = model.spec.attributes
    assert (attributes["n"].kind, attributes["n"].is_global, attributes["n"].init) == ("int", True, 3)
    assert (attributes["flag"].kind, attributes["flag"].init) == ("bool", True)
    assert attributes["v"].init == 0.5
    assert (float(attributes["v"].min), float(attributes["v"].max)) == (0.0, 2.0)


def test_stdp_model_matches_design():
    spec = gn.STDP.spec
    assert spec.parameters == ["tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"]
    assert spec.variables == ["x", "y", "w"]
    assert set(spec.global_names) == set(spec.parameters)
    assert [s.method for s in spec.event_driven] == ["event-driven", "event-driven"]


def test_random_distributions_in_synapses_are_refused_with_the_line():
    """Neither code generator draws per-synapse streams: the model is refused when it is defined."""
    with pytest.raises(ModelError, match=r"equations line 2: random distributions are only supported in neuron "
                                         r"equations in 'x = Normal\(0, 1\)'"):
        gn.Synapse(equations="y = 1.0\nx = Normal(0, 1)")
    with pytest.raises(ModelError, match="psp: random distributions are only supported in neuron equations"):
        gn.Synapse(psp="w * pre.r * Uniform(0.0, 1.0)")
