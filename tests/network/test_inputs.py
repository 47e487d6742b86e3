"""TimedArray, TimedPoissonPopulation, PoissonPopulation with a rate expression or a target, CurrentInjection.

Each against an independent computation written here (ANNarchy's counter-and-block logic of timed inputs, the
rate expression evaluated by NumPy, an Izhikevich loop) and against ANNarchy's own recording of the same inputs
(``tests/data/annarchy/inputs/recording.json``, written by ``make_fixtures.py``).
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError

FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "data" / "annarchy" / "inputs" / "recording.json")
                     .read_text())


def annarchy_timed_rows(schedule_steps, period_steps, steps, rows):
    """ANNarchy's timed-input loop: a counter _t, a block index, a reset at the period (its C++, in Python)."""
    t, block, value, out = 0, 0, np.zeros(rows.shape[1]), []
    for _ in range(steps):
        if t == schedule_steps[block]:
            value = rows[block]
            block = 0 if block + 1 == len(schedule_steps) else block + 1
        if period_steps > -1 and t == period_steps - 1:
            block, t = 0, -1
        t += 1
        out.append(value)
    return np.array(out)


def build_inputs(network):
    """The fixture's network, in gpunet."""
    rows = np.arange(9.0).reshape(3, 3)
    scheduled = gn.TimedArray(rows, schedule=[0.0, 1.0, 3.0], period=5.0, name="scheduled", network=network)
    currents = np.array([[4.0, 8.0, 12.0], [0.0, 20.0, 6.0], [10.0, 10.0, 10.0]])
    stepwise = gn.TimedArray(currents, schedule=10.0, name="stepwise", network=network)
    poisson = gn.PoissonPopulation(4, rates="amp * (1.0 + sin(2.0 * pi_ * f * t / 1000.0)) / 2.0",
                                   parameters={"amp": 80.0, "f": 25.0, "pi_": 3.141592653589793},
                                   name="poisson_expr", network=network)
    izh = network.create(3, gn.Izhikevich, name="izh")
    gn.CurrentInjection(stepwise, izh, "exc", name="injection", network=network).connect_current()
    return {"scheduled": scheduled, "stepwise": stepwise, "poisson_expr": poisson, "izh": izh}


def test_inputs_reproduce_annarchys_recording():
    dt, steps = FIXTURE["dt"], FIXTURE["steps"]
    net = gn.Network(dt=dt, seed=3, backend="numpy")
    pops = build_inputs(net)
    variables = {"scheduled": "r", "stepwise": "r", "poisson_expr": "rates"}
    monitors = {name: net.monitor(pops[name], variable) for name, variable in variables.items()}
    izh = net.monitor(pops["izh"], ["v", "spike"])
    net.simulate(steps * dt)
    for name, variable in variables.items():
        expected = np.asarray(FIXTURE["traces"][name])
        np.testing.assert_allclose(monitors[name].get(variable), expected, rtol=1e-14, err_msg=name)
    assert {str(k): v for k, v in izh.get("spike").items()} == FIXTURE["izh_spikes"]
    assert sum(map(len, FIXTURE["izh_spikes"].values())) > 3
    np.testing.assert_allclose(izh.get("v"), FIXTURE["izh_v"], rtol=1e-12)


@pytest.mark.parametrize("schedule, period", [(0.0, -1.0), (2.0, -1.0), ([0.0, 1.5, 4.0], 6.0), (1.0, 3.0),
                                              ([1.0, 3.0, 5.0, 7.0], -1.0)])
def test_timed_array_follows_annarchys_schedule_logic(schedule, period):
    dt, steps = 0.5, 60
    rows = np.arange(20.0).reshape(5, 4)
    net = gn.Network(dt=dt, backend="numpy")
    timed = gn.TimedArray(rows, schedule=schedule, period=period, network=net)
    monitor = net.monitor(timed, "r")
    net.simulate(steps * dt)
    if np.ndim(schedule) == 0:
        times = (schedule if schedule > 0 else dt) * np.arange(len(rows))
    else:
        times = np.asarray(schedule)
    expected = annarchy_timed_rows(list(np.rint(times / dt).astype(int)),
                                   int(np.rint(period / dt)) if period > 0 else -1, steps, rows)
    assert np.array_equal(monitor.get("r"), expected)


def test_timed_array_update_and_reset_restart_the_schedule():
    net = gn.Network(dt=1.0, backend="numpy")
    timed = gn.TimedArray(np.eye(3), network=net)
    net.simulate(5.0)
    assert timed.r.tolist() == [0.0, 0.0, 1.0]  # the last row stays
    timed.update(2.0 * np.eye(3)[::-1])
    net.simulate(2.0)
    assert timed.r.tolist() == [0.0, 2.0, 0.0]
    timed.reset()
    net.simulate(1.0)
    assert timed.r.tolist() == [0.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="row 0 has 2 values for 3 neurons"):
        timed.update(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must increase"):
        gn.TimedArray(np.eye(3), schedule=[0.0, 0.2, 1.0], network=gn.Network(dt=1.0, backend="numpy"))
    with pytest.raises(StructureError, match="give rates or geometry"):
        gn.TimedArray(network=net)


def test_poisson_rate_expression_and_hybrid_target():
    dt = 1.0
    net = gn.Network(dt=dt, seed=5, backend="numpy")
    wave = gn.PoissonPopulation(2000, rates="base + amp * sin(2.0 * 3.141592653589793 * t / 100.0)",
                                parameters={"base": 60.0, "amp": 40.0}, network=net)
    drive = net.create(3, gn.LeakyIntegrator)
    drive.B = [100.0, 300.0, 0.0]
    hybrid = gn.PoissonPopulation(3, target="exc", network=net)
    net.connect(drive, hybrid, "exc").connect_one_to_one(weights=2.0)
    rates = net.monitor(wave, "rates")
    spikes = net.monitor(wave, "spike")
    hybrid_rates = net.monitor(hybrid, "rates")
    net.simulate(200.0)
    t = np.arange(200) * dt
    expected = 60.0 + 40.0 * np.sin(2.0 * math.pi * t / 100.0)
    np.testing.assert_allclose(rates.get("rates")[:, 0], expected, rtol=1e-13, atol=1e-12)
    counts = np.bincount([s for steps in spikes.get("spike").values() for s in steps], minlength=200)
    # spikes per step ~ N * rate * dt / 1000, within 5 binomial standard deviations over 50-step windows
    mean = 2000 * expected * dt / 1000.0
    for window in range(0, 200, 50):
        observed, wanted = counts[window:window + 50].sum(), mean[window:window + 50].sum()
        assert abs(observed - wanted) < 5 * math.sqrt(wanted)
    leaky = 1.0 - np.exp(-np.arange(1, 200) / 10.0)  # r of the LeakyIntegrator (tau 10, exponential)
    np.testing.assert_allclose(hybrid_rates.get("rates")[1:, 1], 2.0 * 300.0 * leaky, rtol=1e-12)
    assert wave.amp == 40.0 and "rates" in wave.variables


def test_timed_poisson_population_rates_follow_the_schedule():
    net = gn.Network(dt=1.0, seed=9, backend="numpy")
    timed = gn.TimedPoissonPopulation(1000, rates=[20.0, 200.0, 0.0], schedule=[0.0, 100.0, 200.0], period=300.0,
                                      network=net)
    spikes = net.monitor(timed, "spike")
    net.simulate(600.0)
    counts = np.bincount([s for steps in spikes.get("spike").values() for s in steps], minlength=600)
    for start, rate in ((0, 20.0), (100, 200.0), (200, 0.0), (300, 20.0), (400, 200.0), (500, 0.0)):
        wanted = 1000 * rate * 100 / 1000.0
        assert abs(counts[start:start + 100].sum() - wanted) <= 5 * math.sqrt(wanted), start


def test_current_injection_drives_like_an_input_current():
    net = gn.Network(dt=0.5, backend="numpy")
    source = net.create(2, gn.Neuron(parameters="level = 0.0", equations="r = level", name="Level"))
    source.level = [6.0, 12.0]
    target = net.create(2, gn.Izhikevich)
    other = net.create(3, gn.Izhikevich)
    gn.CurrentInjection(source, target, "exc", network=net).connect_current()
    monitor = net.monitor(target, ["v", "spike"])
    net.simulate(100.0)
    recorded = monitor.get()  # get() empties the monitor, as ANNarchy's
    for rank, current in enumerate((6.0, 12.0)):
        v, u, vs, spikes = -65.0, -13.0, [], []
        for step in range(200):
            drive = current if step > 0 else 0.0  # r is 0 before the first update of the source
            dv = 0.04 * v * v + 5.0 * v + 140.0 - u + drive
            du = 0.02 * (0.2 * v - u)
            v, u = v + 0.5 * dv, u + 0.5 * du
            if v > 30.0:
                spikes.append(step)
                v, u = -65.0, u + 8.0
            vs.append(v)
        assert recorded["spike"][rank] == spikes and len(spikes) >= 2
        np.testing.assert_allclose(recorded["v"][:, rank], vs, rtol=1e-12)
    with pytest.raises(StructureError, match="must be rate-coded"):
        gn.CurrentInjection(target, target, "exc", network=net)
    with pytest.raises(StructureError, match="same size"):
        gn.CurrentInjection(source, other, "exc", network=net)


@pytest.mark.parametrize("rate, corr, tau", [(20.0, 0.3, 10.0), (20.0, 0.01, 10.0), (5.0, 0.9, 50.0)])
def test_correlated_trains_parameters_give_the_wanted_rectified_moments(rate, corr, tau):
    """max(0, X), X ~ Normal(mu, sigma): mean ``rate`` and standard deviation sqrt(corr rate / (2 tau)), by quadrature."""
    from scipy import integrate, stats
    from gpunet.network.inputs import correlated_rate_parameters
    mu, sigma = correlated_rate_parameters(rate, corr, tau)
    density = stats.norm(mu, sigma).pdf
    mean = integrate.quad(lambda v: v * density(v), 0.0, np.inf)[0]
    second = integrate.quad(lambda v: v * v * density(v), 0.0, np.inf)[0]
    assert mean == pytest.approx(rate, rel=1e-8)
    assert math.sqrt(second - mean * mean) == pytest.approx(math.sqrt(corr * rate / (2 * tau / 1000.0)), rel=1e-8)


def test_homogeneous_correlated_spike_trains_share_one_fluctuating_rate():
    dt, tau, steps, n = 1.0, 10.0, 2000, 200
    net = gn.Network(dt=dt, seed=4, backend="numpy")
    trains = gn.HomogeneousCorrelatedSpikeTrains(n, rates=20.0, corr=0.3, tau=tau, network=net)
    monitor = net.monitor(trains, ["x", "spike"])
    net.simulate(steps * dt)
    recorded = monitor.get()
    x = np.asarray(recorded["x"]).ravel()
    # x is one AR(1) process for the population: stationary mean mu, variance sigma^2 / (2 - dt / tau)
    assert abs(x[200:].mean() - trains.mu) < 4.0
    assert x[200:].std() == pytest.approx(trains.sigma / math.sqrt(2 - dt / tau), rel=0.15)
    counts = np.zeros(steps)
    for times in recorded["spike"].values():
        np.add.at(counts, times, 1)
    # every neuron spikes with probability max(x, 0) dt / 1000 in each step
    assert counts.sum() == pytest.approx(n * np.maximum(x, 0.0).sum() * dt / 1000.0, rel=0.03)
    # the trains are correlated: population counts in 50 ms windows vary far beyond Poisson's variance
    windows = counts[200:].reshape(-1, 50).sum(axis=1)
    assert windows.var() > 5 * windows.mean()


@pytest.mark.annarchy
def test_correlated_trains_parameters_are_annarchys():
    """The installed ANNarchy's own mu and sigma (its ``_rectify``), where ANNarchy is importable."""
    import os
    import subprocess
    import sys
    from gpunet.network.inputs import correlated_rate_parameters
    python = os.environ.get("GPUNET_ANNARCHY_PYTHON") or sys.executable
    script = ("import json; from ANNarchy.inputs.SpikeTrains import _rectify; "
              "print(json.dumps([list(map(float, _rectify(r, c, t))) for r, c, t in "
              "[(20.0, 0.3, 10.0), (20.0, 0.01, 10.0), (5.0, 0.9, 50.0)]]))")
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "No module named 'ANNarchy'" in done.stderr:
        pytest.skip("ANNarchy is not importable (set GPUNET_ANNARCHY_PYTHON to an interpreter that has it)")
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    for (rate, corr, tau), (mu, sigma) in zip([(20.0, 0.3, 10.0), (20.0, 0.01, 10.0), (5.0, 0.9, 50.0)], theirs):
        ours = correlated_rate_parameters(rate, corr, tau)
        assert ours == pytest.approx((mu, sigma), rel=1e-9)  # ANNarchy's secant stops at its tolerance
