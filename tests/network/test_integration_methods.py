"""Integration methods rk4, implicit, semiimplicit and midpoint, and event-driven ODEs that are not pure decays.

Each is checked against an independent solution: the closed form of one step of the method on a linear ODE,
an integration loop written here, or the exact solution of the ODE between events.
"""
import math

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import ModelError


def _run(neuron, steps, dt, variables, **values):
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    pop = net.create(1, neuron)
    for name, value in values.items():
        setattr(pop, name, value)
    monitor = net.monitor(pop, variables)
    net.simulate(steps * dt)
    return {name: monitor.get(name)[:, 0] for name in variables}


def test_rk4_on_a_decay_multiplies_by_the_fourth_order_taylor_polynomial():
    dt, tau = 0.5, 3.0
    neuron = gn.Neuron(parameters="tau = 3.0 : population",
                       equations="tau * dr/dt = -r : rk4, init = 1.0", name="decay_rk4")
    r = _run(neuron, 40, dt, ["r"])["r"]
    h = dt / tau
    factor = 1 - h + h ** 2 / 2 - h ** 3 / 6 + h ** 4 / 24
    np.testing.assert_allclose(r, factor ** np.arange(1, 41), rtol=1e-13)
    # fourth order: far closer to exp(-t / tau) than explicit Euler's (1 - h)^n
    exact = np.exp(-dt * np.arange(1, 41) / tau)
    assert np.max(np.abs(r - exact)) < 1e-3 * np.max(np.abs((1 - h) ** np.arange(1, 41) - exact))


def test_rk4_moves_a_coupled_system_together():
    """A harmonic oscillator: the classic RK4 for systems, written out here step by step."""
    dt, omega = 0.1, 2.0
    neuron = gn.Neuron(parameters="omega = 2.0 : population",
                       equations="dx/dt = y : rk4, init = 1.0\ndy/dt = -omega * omega * x : rk4\nr = x",
                       name="oscillator")
    recorded = _run(neuron, 100, dt, ["x", "y"])

    def f(state):
        return np.array([state[1], -omega * omega * state[0]])

    state, expected = np.array([1.0, 0.0]), []
    for _ in range(100):
        k1 = f(state)
        k2 = f(state + 0.5 * dt * k1)
        k3 = f(state + 0.5 * dt * k2)
        k4 = f(state + dt * k3)
        state = state + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        expected.append(state)
    expected = np.array(expected)
    np.testing.assert_allclose(recorded["x"], expected[:, 0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(recorded["y"], expected[:, 1], rtol=1e-12, atol=1e-13)
    t = dt * np.arange(1, 101)
    assert np.max(np.abs(recorded["x"] - np.cos(omega * t))) < 1e-3  # global error O(dt^4); Euler's is O(1) here


def test_implicit_euler_is_backward_euler():
    dt, tau, target = 2.0, 5.0, 3.0
    neuron = gn.Neuron(parameters="tau = 5.0 : population\nE = 3.0",
                       equations="tau * dv/dt = E - v : implicit, init = -1.0\nr = v", name="backward")
    v = _run(neuron, 30, dt, ["v"])["v"]
    expected, value = [], -1.0
    for _ in range(30):
        value = (value + dt * target / tau) / (1 + dt / tau)  # v_new = v + dt (E - v_new) / tau
        expected.append(value)
    np.testing.assert_allclose(v, expected, rtol=1e-13)


def test_implicit_euler_stays_stable_where_explicit_euler_diverges():
    neuron = gn.Neuron(parameters="tau = 0.1 : population",
                       equations="tau * dv/dt = -v : implicit, init = 1.0\nr = v", name="stiff")
    v = _run(neuron, 20, 1.0, ["v"])["v"]
    np.testing.assert_allclose(v, (1 / 11.0) ** np.arange(1, 21), rtol=1e-12)


def test_implicit_needs_a_linear_ode():
    with pytest.raises(ModelError, match="implicit method needs an ODE linear in v"):
        gn.Neuron(equations="dv/dt = -v * v : implicit\nr = v")


def test_midpoint_is_the_second_order_taylor_polynomial_on_a_decay():
    dt, tau = 0.5, 2.0
    neuron = gn.Neuron(parameters="tau = 2.0 : population",
                       equations="tau * dr/dt = -r : midpoint, init = 1.0", name="decay_midpoint")
    r = _run(neuron, 20, dt, ["r"])["r"]
    h = dt / tau
    np.testing.assert_allclose(r, (1 - h + h * h / 2) ** np.arange(1, 21), rtol=1e-13)


def test_equations_may_continue_on_the_next_line():
    neuron = gn.Neuron(parameters="a = 1.0\nb = 2.0",
                       equations="dv/dt = a\n    + b : init = 1.0, exponential\nr = v")
    ode = next(s for s in neuron.spec.equations if s.target == "v")
    assert str(ode.expr) == "a + b" and ode.method == "exponential" and neuron.spec.attributes["v"].init == 1.0


# -- event-driven ODEs with a steady state other than zero ----------------------------------------------------
RECOVERY = gn.Synapse(
    parameters="tau_rec = 30.0 : projection\nx_inf = 0.8",
    equations="tau_rec * dx/dt = x_inf - x : init = 0.8, event-driven",
    pre_spike="g_target += w * x\nx -= 0.5 * x",
    name="Recovery")


def test_event_driven_recovery_follows_its_exact_solution():
    """x relaxes to x_inf between spikes: x_inf + (x - x_inf) exp(-elapsed / tau_rec), ANNarchy's timing."""
    dt, times, delay = 0.5, [2.0, 5.0, 6.0, 20.0, 21.5, 60.0], 1.0
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([times], network=net)
    target = net.create(1, gn.Izhikevich)
    net.connect(source, target, "exc", RECOVERY).connect_all_to_all(weights=2.0, delays=delay)
    monitor = net.monitor(target, "I")
    net.simulate(80.0)
    current = monitor.get("I")[:, 0]
    x, last, expected = 0.8, -10000, {}
    for time in times:
        step = round(time / dt) + round(delay / dt)  # the step at which the spike arrives
        x = 0.8 + (x - 0.8) * math.exp(dt * (last - (step - 1)) / 30.0)  # decayed to the event
        expected[step] = 2.0 * x
        x -= 0.5 * x
        last = step
    for step, value in expected.items():
        assert current[step] == pytest.approx(value, rel=1e-14), step
    assert np.count_nonzero(current) == len(times)


def test_rk4_implicit_and_midpoint_give_annarchys_numbers():
    """ANNarchy's own run of one ODE per method (``inputs/recording.json``, written by ``make_fixtures.py``)."""
    import json
    from pathlib import Path
    fixture = Path(__file__).resolve().parents[1] / "data" / "annarchy" / "inputs" / "recording.json"
    expected = json.loads(fixture.read_text())["methods"]
    equations = {"rk4": "tau * dv/dt = E - v + 0.5 * sin(v) : rk4, init = 0.3",
                 "implicit": "tau * dv/dt = E - v : implicit, init = -1.0",
                 "midpoint": "dv/dt = 1.0 - 0.1 * v * v : midpoint, init = 0.5"}
    net = gn.Network(dt=0.5, seed=1, backend="numpy")
    monitors = {}
    for method, equation in equations.items():
        pop = net.create(2, gn.Neuron(parameters="tau = 7.0 : population\nE = 2.0", equations=f"{equation}\nr = v"))
        pop.E = np.array([2.0, -3.0])
        monitors[method] = net.monitor(pop, "v")
    net.simulate(20.0)
    for method, monitor in monitors.items():
        theirs = np.asarray(expected[method])
        assert theirs.shape == (40, 2)
        np.testing.assert_allclose(monitor.get("v"), theirs, rtol=1e-13, atol=1e-14, err_msg=method)


# -- semiimplicit: implicit for the linear part, explicit for the rest -----------------------------------------
def test_semiimplicit_is_implicit_for_the_linear_part_and_explicit_for_the_rest():
    """v_new = v + dt (E - v_new + 0.3 exp(-v)) / tau: backward Euler on -v / tau, exp(-v) at the old value."""
    dt, tau = 0.5, 7.0
    neuron = gn.Neuron(parameters="tau = 7.0 : population\nE = 2.0",
                       equations="tau * dv/dt = E - v + 0.3 * exp(-v) : semiimplicit, init = 0.3\nr = v")
    v = _run(neuron, 40, dt, ["v"], E=-3.0)["v"]
    value, expected = 0.3, []
    for _ in range(40):
        value = (value + dt * (-3.0 + 0.3 * math.exp(-value)) / tau) / (1 + dt / tau)
        expected.append(value)
    np.testing.assert_allclose(v, expected, rtol=1e-13)
    # stiff: where explicit Euler's factor 1 - dt / tau is below -1, the method stays stable
    stiff = gn.Neuron(parameters="tau = 0.1 : population",
                      equations="tau * dv/dt = -v + 0.01 * sin(v) : semiimplicit, init = 1.0\nr = v")
    v = _run(stiff, 30, 1.0, ["v"])["v"]
    assert np.all(np.abs(np.diff(np.abs(v))) <= np.abs(v[:-1])) and abs(v[-1]) < 1e-20


def test_semiimplicit_refuses_powers_of_the_variable():
    with pytest.raises(ModelError, match="semiimplicit method needs an ODE whose terms are proportional to v"):
        gn.Neuron(equations="dv/dt = 0.04 * v^2 + 5 * v + 140 : semiimplicit\nr = v")


def test_semiimplicit_gives_annarchys_numbers():
    """ANNarchy's own run (``methods/semiimplicit.json``, written by ``make_fixtures.py semiimplicit``).

    The same formula as ANNarchy's (its ``dt/tau / (1 + dt/tau) * (steady state - v)``), rounded in another
    order: equal within a few ulp.
    """
    import json
    from pathlib import Path
    fixture = Path(__file__).resolve().parents[1] / "data" / "annarchy" / "methods" / "semiimplicit.json"
    expected = json.loads(fixture.read_text())
    net = gn.Network(dt=expected["dt"], seed=1, backend="numpy")
    monitors = {}
    for name, equation in expected["equations"].items():
        pop = net.create(2, gn.Neuron(parameters="tau = 7.0 : population\nE = 2.0", equations=f"{equation}\nr = v"))
        pop.E = np.array([2.0, -3.0])
        monitors[name] = net.monitor(pop, "v")
    net.simulate(20.0)
    for name, monitor in monitors.items():
        theirs = np.asarray(expected["v"][name])
        assert theirs.shape == (40, 2) and np.ptp(theirs) > 1.0
        np.testing.assert_allclose(monitor.get("v"), theirs, rtol=1e-13, atol=1e-14, err_msg=name)
