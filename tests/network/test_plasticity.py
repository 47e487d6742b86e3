"""Plasticity against hand computations: STDP spike pairs (event-driven traces), bounds, Hebb and Oja."""
from fractions import Fraction

import numpy as np
import pytest

import gpunet as gn

# Shows what arrives on each target in the step it is computed; spikes when g_exc > 0.5.
Probe = gn.Neuron(equations="v = g_exc\ns = g_inh", spike="v > 0.5", name="Probe")
Fixed = gn.Neuron(parameters="baseline = 0.0", equations="r = baseline", name="Fixed")
Summer = gn.Neuron(equations="r = sum(exc)", name="Summer")

STDP_PARAMETERS = dict(tau_plus=16.0, tau_minus=33.0, A_plus=0.05, A_minus=0.04, w_min=0.0, w_max=2.0)


def decay(elapsed_steps: int, tau: float, dt: float = 1.0) -> float:
    """exp(-dt * elapsed / tau) (NumPy's exp, as the simulator uses it)."""
    return float(np.exp(np.array([-elapsed_steps * dt / tau]))[0])


def stdp_pair(pre_step, post_step, delay, w0=0.5, steps=40, **parameters):
    """One pre spike (emitted at ``pre_step``) and one post spike (at ``post_step``) on one STDP synapse.

    The post neuron is made to spike by a driver spike sent with a one-step
    delay.  The STDP projection feeds ``inh`` so that it cannot trigger the
    post spike itself.  Returns the projection and the Probe's monitor.
    """
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = gn.SpikeSourceArray([[float(pre_step)]], network=net, name="pre")
    driver = gn.SpikeSourceArray([[float(post_step - 1)]], network=net, name="driver")
    post = net.create(1, Probe, name="post")
    net.connect(driver, post, "exc").connect_one_to_one(weights=1.0, delays=1.0)
    proj = net.connect(pre, post, "inh", gn.STDP, name="stdp")
    proj.connect_one_to_one(weights=w0, delays=float(delay))
    for name, value in {**STDP_PARAMETERS, **parameters}.items():
        setattr(proj, name, value)
    monitor = net.monitor(post, ["spike", "s"])
    net.simulate(float(steps))
    return proj, monitor


@pytest.mark.parametrize("pre_step, delay, post_step", [(3, 2, 9), (5, 4, 10), (2, 1, 20), (4, 3, 7)])
def test_pre_before_post_potentiates_by_the_decayed_pre_trace(pre_step, delay, post_step):
    proj, monitor = stdp_pair(pre_step, post_step, delay)
    p = STDP_PARAMETERS
    arrival = pre_step + delay
    assert monitor.get("spike") == {0: [post_step]}
    assert np.nonzero(monitor.get("s")[:, 0])[0].tolist() == [arrival]  # the spike arrives after its delay
    # pre event at `arrival`: x += A_plus * w_max, w += y (y is 0); post event: x decays over post - arrival
    x = (0.0 + p["A_plus"] * p["w_max"]) * decay(post_step - arrival, p["tau_plus"])
    w = min(max(0.5 + x, p["w_min"]), p["w_max"])
    assert proj.w == [[w]]
    assert proj.x == [[x]]
    assert proj.y == [[-p["A_minus"] * p["w_max"]]]
    assert w > 0.5


@pytest.mark.parametrize("pre_step, delay, post_step", [(8, 2, 6), (10, 1, 4), (6, 5, 3)])
def test_post_before_pre_depresses_by_the_decayed_post_trace(pre_step, delay, post_step):
    proj, _ = stdp_pair(pre_step, post_step, delay)
    p = STDP_PARAMETERS
    arrival = pre_step + delay
    # post event: y = -A_minus * w_max, w += x (x is 0); pre event: y decays over arrival - 1 - post
    y = -p["A_minus"] * p["w_max"] * decay(arrival - 1 - post_step, p["tau_minus"])
    w = min(max(0.5 + y, p["w_min"]), p["w_max"])
    assert proj.w == [[w]]
    assert proj.y == [[y]]
    assert proj.x == [[p["A_plus"] * p["w_max"]]]
    assert w < 0.5


def test_pre_and_post_in_the_same_step_potentiate_by_the_full_increment():
    proj, _ = stdp_pair(pre_step=4, post_step=6, delay=2)
    p = STDP_PARAMETERS
    assert proj.w == [[0.5 + p["A_plus"] * p["w_max"]]]


def test_weights_saturate_exactly_at_the_bounds():
    # pre 0 always 1 step before post 0 (potentiation), pre 1 always 1 step after post 1 (depression)
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre_times = [[float(t) for t in range(2, 60, 6)], [float(t) for t in range(4, 60, 6)]]
    pre = gn.SpikeSourceArray(pre_times, network=net)
    driver = gn.SpikeSourceArray([[t + 1.0 for t in pre_times[0]], [t - 3.0 for t in pre_times[1]]], network=net)
    post = net.create(2, Probe)
    net.connect(driver, post, "exc").connect_one_to_one(weights=1.0, delays=1.0)
    proj = net.connect(pre, post, "inh", gn.STDP).connect_one_to_one(weights=0.5, delays=1.0)
    proj.A_plus, proj.A_minus, proj.w_min, proj.w_max = 0.2, 0.2, 0.1, 0.9
    seen = []
    for _ in range(64):
        net.step()
        seen.append(proj.device_view("w").copy())
    seen = np.array(seen)
    assert seen.min() >= 0.1 and seen.max() <= 0.9
    assert proj.w == [[0.9], [0.1]]


def test_random_spike_trains_keep_every_weight_within_bounds():
    rng = np.random.default_rng(5)
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = gn.SpikeSourceArray([sorted(rng.choice(100, 30, replace=False).astype(float)) for _ in range(6)],
                              network=net)
    driver = gn.SpikeSourceArray([sorted(rng.choice(100, 30, replace=False).astype(float)) for _ in range(5)],
                                 network=net)
    post = net.create(5, Probe)
    net.connect(driver, post, "exc").connect_one_to_one(weights=1.0, delays=1.0)
    proj = net.connect(pre, post, "inh", gn.STDP).connect_all_to_all(weights=gn.Uniform(0.2, 0.8),
                                                                   delays=gn.DiscreteUniform(1, 4))
    proj.A_plus, proj.A_minus, proj.w_min, proj.w_max = 0.3, 0.35, 0.05, 0.95
    lowest, highest = 1.0, 0.0
    for _ in range(110):
        net.step()
        w = proj.device_view("w")
        lowest, highest = min(lowest, w.min()), max(highest, w.max())
    assert lowest >= 0.05 and highest <= 0.95
    assert lowest == 0.05 and highest == 0.95  # both bounds were reached


def run_rate_rule(synapse, parameters, steps, pre_rates, w0):
    """Simulate Fixed -> Summer with a rate-coded learning rule; return the weights (post x pre)."""
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    pre = net.create(len(pre_rates), Fixed, name="pre")
    post = net.create(w0.shape[0], Summer, name="post")
    proj = net.connect(pre, post, "exc", synapse).connect_from_matrix(w0)
    for name, value in parameters.items():
        setattr(proj, name, value)
    pre.baseline = np.asarray(pre_rates, dtype=float)
    net.simulate(float(steps))
    return np.array(proj.w)


def hand_rate_rule(rule, steps, pre_rates, w0):
    """Exact rational arithmetic of the step: sums from the old rates, neurons, then the rule (Euler, dt = 1)."""
    w = [[Fraction(v) for v in row] for row in w0]
    rates = [Fraction(v) for v in pre_rates]
    pre_r = [Fraction(0)] * len(rates)
    for _ in range(steps):
        post_r = [sum(wi * r for wi, r in zip(row, pre_r)) for row in w]
        pre_r = rates
        w = [[max(wij + rule(pre_r[j], post_r[i], wij), Fraction(0)) for j, wij in enumerate(row)]
             for i, row in enumerate(w)]
    return w


def as_floats(exact):
    values = np.array([[float(v) for v in row] for row in exact])
    assert all(Fraction(float(v)) == v for row in exact for v in row), "the test values must be exact in float64"
    return values


def test_hebb_matches_the_hand_computation_and_stays_non_negative():
    w0 = np.array([[0.25, 0.5, 0.125], [1.0, 0.0, 0.75]])
    rates = [1.0, 0.5, -2.0]  # the negative rate drives one weight to the bound 0
    eta = 0.125
    got = run_rate_rule(gn.Hebb, {"eta": eta}, 4, rates, w0)
    expected = as_floats(hand_rate_rule(lambda pre, post, w: Fraction(eta) * pre * post, 4, rates, w0))
    assert np.array_equal(got, expected)
    assert got.min() == 0.0 and not np.array_equal(got, w0)


def test_oja_matches_the_hand_computation():
    w0 = np.array([[0.5, 0.25], [0.75, 1.0], [0.0, 0.5]])
    rates = [1.0, 0.5]
    eta, alpha = 0.125, 0.5
    got = run_rate_rule(gn.Oja, {"eta": eta, "alpha": alpha}, 3, rates, w0)

    def oja(pre: Fraction, post: Fraction, w: Fraction) -> Fraction:
        return Fraction(eta) * (pre * post - Fraction(alpha) * post * post * w)

    expected = as_floats(hand_rate_rule(oja, 3, rates, w0))
    assert np.array_equal(got, expected)
    assert not np.array_equal(got, w0)
