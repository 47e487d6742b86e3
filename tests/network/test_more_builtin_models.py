"""IF_curr_alpha, IF_cond_alpha, EIF_cond_exp_isfa_ista (AdEx), HH_cond_exp and STP against independent solutions.

Each model is run alone and compared with its published equations integrated here, step by step, by a plain
Python loop (the integration method ANNarchy uses for it), or with a closed form; the comparison with ANNarchy's own
output is ``tests/network/test_annarchy_fixtures.py`` on the ``models`` fixture.
"""
import math

import numpy as np
import pytest

import gpunet as gn


def _exp_euler(x, a, b, dt):
    """One exponential-Euler step of dx/dt = a + b x (ANNarchy's ``exponential``)."""
    return x + (1 - math.exp(b * dt)) * ((a + b * x) / -b)


def test_alpha_current_peaks_at_tau_syn_with_the_synaptic_weight():
    """Published property of the alpha synapse: after a spike of weight w, alpha peaks at tau_syn with value ~w."""
    dt, tau, w = 0.01, 5.0, 2.0
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([[1.0]], network=net)
    neuron = net.create(1, gn.IF_curr_alpha(tau_syn_E=tau, v_thresh=1000.0))
    net.connect(source, neuron, "exc").connect_all_to_all(weights=w, delays=dt)
    monitor = net.monitor(neuron, ["alpha_exc", "g_exc", "v"])
    net.simulate(30.0)
    alpha = monitor.get("alpha_exc")[:, 0]
    arrival = round(1.0 / dt) + 1
    peak = int(np.argmax(alpha))
    assert (peak + 1 - arrival) * dt == pytest.approx(tau, abs=2 * dt)  # the arrival step integrates once already
    assert alpha[peak] == pytest.approx(w, rel=1e-3)
    t = (np.arange(arrival, len(alpha)) + 1 - arrival) * dt
    np.testing.assert_allclose(alpha[arrival:], w * t / tau * np.exp(1 - t / tau), atol=5e-3 * w)


def test_if_curr_alpha_and_if_cond_alpha_follow_their_equations():
    dt, steps = 0.5, 200
    times = [3.0, 4.0, 20.0, 21.0, 22.0, 60.0]
    for model, conductance in ((gn.IF_curr_alpha, False), (gn.IF_cond_alpha, True)):
        net = gn.Network(dt=dt, seed=1, backend="numpy")
        source = gn.SpikeSourceArray([times], network=net)
        neuron = net.create(1, model(i_offset=0.6 if not conductance else 0.7))
        w = 6.0 if not conductance else 0.3
        net.connect(source, neuron, "exc").connect_all_to_all(weights=w, delays=1.0)
        monitor = net.monitor(neuron, ["v", "alpha_exc", "spike"])
        net.simulate(steps * dt)
        v, g, alpha = -65.0, 0.0, 0.0
        gmax = math.exp((5.0 - dt / 2.0) / 5.0)
        arrivals = {round(t / dt) + 2 for t in times}  # emitted at round(t / dt), 1 ms = 2 steps of delay
        expected_v, spikes = [], []
        for step in range(steps):
            g += w if step in arrivals else 0.0
            if conductance:  # cm = 1: dv/dt = (v_rest - v) / tau_m + alpha (e_rev_E - v) + i_offset
                a_v, b_v = -65.0 / 20.0 + alpha * 0.0 + 0.7, -1.0 / 20.0 - alpha
            else:
                a_v, b_v = -65.0 / 20.0 + alpha + 0.6, -1.0 / 20.0
            new_v = _exp_euler(v, a_v, b_v, dt)
            new_g = _exp_euler(g, 0.0, -1.0 / 5.0, dt)
            new_alpha = _exp_euler(alpha, gmax * g / 5.0, -1.0 / 5.0, dt)
            v, g, alpha = new_v, new_g, new_alpha
            if v > -50.0:
                spikes.append(step)
                v = -65.0
            expected_v.append(v)
        np.testing.assert_allclose(monitor.get("v")[:, 0], expected_v, rtol=1e-12, atol=1e-12)
        assert monitor.get("spike")[0] == spikes and len(spikes) > 2, model.name


def test_adex_follows_its_equations_and_adapts():
    dt, steps, current = 0.1, 3000, 0.8
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    neuron = net.create(1, gn.EIF_cond_exp_isfa_ista(tau_refrac=0.0))
    neuron.i_offset = current
    monitor = net.monitor(neuron, ["v", "w", "spike"])
    net.simulate(steps * dt)
    p = dict(v_rest=-70.6, cm=0.281, tau_m=9.3667, tau_w=144.0, a=4.0, b=0.0805, delta_T=2.0, v_thresh=-50.4,
             v_reset=-70.6, v_spike=-40.0)
    v, w, spikes, trace = p["v_reset"], 0.0, [], []
    for step in range(steps):
        current_in = current
        dv = ((p["v_rest"] - v + p["delta_T"] * math.exp((v - p["v_thresh"]) / p["delta_T"]))
              + p["tau_m"] / p["cm"] * (current_in - w)) / p["tau_m"]
        dw = (p["a"] * (v - p["v_rest"]) / 1000.0 - w) / p["tau_w"]
        v, w = v + dt * dv, w + dt * dw
        if v > p["v_spike"]:
            spikes.append(step)
            v, w = p["v_reset"], w + p["b"]
        trace.append((v, w))
    assert monitor.get("spike")[0] == spikes
    np.testing.assert_allclose(monitor.get("v")[:, 0], [x[0] for x in trace], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(monitor.get("w")[:, 0], [x[1] for x in trace], rtol=1e-9, atol=1e-12)
    intervals = np.diff(spikes)
    assert len(spikes) > 4 and intervals[-1] > intervals[0]  # spike-frequency adaptation


def test_hodgkin_huxley_follows_its_equations():
    dt, steps, current = 0.05, 1000, 3.0
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    neuron = net.create(1, gn.HH_cond_exp)
    neuron.i_offset = current
    monitor = net.monitor(neuron, ["v", "n", "m", "h", "spike"])
    net.simulate(steps * dt)
    off, gna, gk, gl, cm = -63.0, 20.0, 6.0, 0.01, 0.2
    v, n, m, h = -65.0, 0.0, 0.0, 1.0
    trace, spikes = [], []
    for step in range(steps):
        previous = v
        an = 0.032 * (15.0 - v + off) / (math.exp((15.0 - v + off) / 5.0) - 1.0)
        am = 0.32 * (13.0 - v + off) / (math.exp((13.0 - v + off) / 4.0) - 1.0)
        ah = 0.128 * math.exp((17.0 - v + off) / 18.0)
        bn = 0.5 * math.exp((10.0 - v + off) / 40.0)
        bm = 0.28 * (v - off - 40.0) / (math.exp((v - off - 40.0) / 5.0) - 1.0)
        bh = 4.0 / (1.0 + math.exp(10.0 - v + off))
        conductance = gl + gk * n ** 4 + gna * m ** 3 * h
        drive = gl * -65.0 + gk * n ** 4 * -90.0 + gna * m ** 3 * h * 50.0 + current
        new = (_exp_euler(n, an, -(an + bn), dt), _exp_euler(m, am, -(am + bm), dt),
               _exp_euler(h, ah, -(ah + bh), dt), _exp_euler(v, drive / cm, -conductance / cm, dt))
        n, m, h, v = new
        if v > 0.0 and previous <= 0.0:
            spikes.append(step)
        trace.append(new)
    trace = np.array(trace)
    for column, name in enumerate(("n", "m", "h", "v")):
        np.testing.assert_allclose(monitor.get(name)[:, 0], trace[:, column], rtol=1e-8, atol=1e-9, err_msg=name)
    assert monitor.get("spike")[0] == spikes and len(spikes) >= 1 and np.max(trace[:, 3]) > 0.0


def test_stp_follows_the_tsodyks_markram_solution():
    """u and x relax exactly between spikes; each spike transmits w u x, then depresses x and facilitates u."""
    dt, times, delay = 1.0, [5.0, 10.0, 15.0, 20.0, 25.0, 100.0, 105.0, 300.0], 1.0
    tau_rec, tau_facil, big_u, w = 120.0, 40.0, 0.15, 3.0
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    source = gn.SpikeSourceArray([times], network=net)
    target = net.create(1, gn.Izhikevich)
    projection = net.connect(source, target, "exc", gn.STP(tau_rec=tau_rec, tau_facil=tau_facil, U=big_u))
    projection.connect_all_to_all(weights=w, delays=delay)
    assert projection.u == [[big_u]] and projection.x == [[1.0]]
    monitor = net.monitor(target, "I")
    net.simulate(320.0)
    current = monitor.get("I")[:, 0]
    x, u, last = 1.0, big_u, -10000
    for time in times:
        step = round((time + delay) / dt)
        elapsed = dt * (step - 1 - last)
        x = 1.0 + (x - 1.0) * math.exp(-elapsed / tau_rec)
        u = big_u + (u - big_u) * math.exp(-elapsed / tau_facil)
        assert current[step] == pytest.approx(w * u * x, rel=1e-13), step
        x *= 1 - u
        u += big_u * (1 - u)
        last = step
    assert projection.x[0][0] == pytest.approx(x, rel=1e-13) and projection.u[0][0] == pytest.approx(u, rel=1e-13)
    amounts = current[[round(t + delay) for t in times[:5]]]
    assert amounts[1] > amounts[0] and amounts[4] < amounts[1]  # facilitation, then depression
