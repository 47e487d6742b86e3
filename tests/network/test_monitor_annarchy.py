"""Spike monitors answer as ANNarchy 5.0.4.1's do.

The expected values below were measured with ANNarchy 5.0.4.1: a network with
dt = 0.1 ms holding ``PoissonPopulation(20, rates=300.0)`` monitored by
``net.monitor(P, ["spike"])`` and by ``net.monitor(P, ["spike", "p"], period=1.0)``,
``net.simulate(10.0)``, then ``m.get("spike")``, ``m.times()``,
``m.raster_plot(spikes)``, ``m.mean_fr(spikes)``, ``m.population_rate(spikes)``,
``m.population_rate(spikes, smooth=2.0)``, ``m.histogram(spikes)`` and
``m.histogram(spikes, bins=1.0)``.  Here the same spike trains are replayed by a
SpikeSourceArray, so both monitors see the same spikes.
"""
import numpy as np
import pytest

import gpunet as gn
from gpunet.network.spike_events import BLOCK_STEPS
from gpunet.errors import StructureError
from gpunet.network import spike_statistics

# ANNarchy 5.0.4.1: get("spike") of the 300 Hz Poisson population (steps; every rank a key, 13 silent)
ANNARCHY_SPIKES = {
    0: [16, 17], 1: [2, 38, 55, 94], 2: [6, 24, 26, 82, 91], 3: [74, 92, 98], 4: [7, 22, 42, 79],
    5: [24, 51, 98], 6: [56, 57], 7: [89, 91], 8: [45, 58], 9: [7, 9, 15, 25], 10: [5, 56, 64, 81],
    11: [53, 65, 71], 12: [26, 36, 65, 81], 13: [], 14: [1, 5, 48, 60], 15: [2, 21, 93],
    16: [21, 25, 47, 69], 17: [7, 38, 66, 88], 18: [8, 46, 50, 61, 95], 19: [11, 39, 55, 62, 89]}
# ANNarchy 5.0.4.1: mean_fr(spikes) = 67 spikes / 20 neurons / 100 steps / dt * 1000
ANNARCHY_MEAN_FR = 335.0
# ANNarchy 5.0.4.1: histogram(spikes, bins=1.0) (10 steps per bin from the first spike, step 1)
ANNARCHY_HISTOGRAM_1MS = [11, 4, 9, 4, 6, 9, 7, 3, 6, 8]
# ANNarchy 5.0.4.1: population_rate(spikes)[:12] (Hz; 101 values, steps 0..100) and with smooth=2.0
ANNARCHY_POPULATION_RATE = [0.0, 500.0, 1000.0, 0.0, 0.0, 1000.0, 500.0, 1500.0, 500.0, 500.0, 0.0, 500.0]
ANNARCHY_POPULATION_RATE_SMOOTH = [0.0, 25.0, 73.750001, 70.062501, 66.559376, 113.231408, 132.569838,
                                   200.941347, 215.89428, 230.099566, 218.594587, 232.664858]


def replay(spikes, dt=0.1, **monitor_options):
    net = gn.Network(dt=dt, seed=1, backend="numpy")
    source = net.create(gn.SpikeSourceArray([[s * dt for s in spikes[r]] for r in sorted(spikes)]))
    monitor = net.monitor(source, "spike", **monitor_options)
    return net, monitor


def test_get_spike_returns_steps_for_every_rank_like_annarchy():
    net, monitor = replay(ANNARCHY_SPIKES)
    net.simulate(10.0)
    spikes = monitor.get("spike")
    assert spikes == ANNARCHY_SPIKES
    assert all(type(step) is int for train in spikes.values() for step in train)
    assert monitor.get("spike") == {rank: [] for rank in range(20)}  # handed over: the monitor is empty again


def test_helpers_give_annarchys_numbers():
    net, monitor = replay(ANNARCHY_SPIKES)
    net.simulate(10.0)
    spikes = monitor.get("spike")
    times, ranks = monitor.raster_plot(spikes)
    assert ranks.tolist() == [r for r in ANNARCHY_SPIKES for _ in ANNARCHY_SPIKES[r]]
    assert np.allclose(times, [0.1 * s for r in ANNARCHY_SPIKES for s in ANNARCHY_SPIKES[r]], rtol=0, atol=1e-12)
    assert monitor.mean_fr(spikes) == pytest.approx(ANNARCHY_MEAN_FR, rel=1e-12)
    assert monitor.histogram(spikes, bins=1.0).tolist() == ANNARCHY_HISTOGRAM_1MS
    per_step = monitor.histogram(spikes)
    assert len(per_step) == 98 and per_step.sum() == 67 and per_step[:6].tolist() == [1, 2, 0, 0, 2, 1]
    rates = monitor.population_rate(spikes)
    assert len(rates) == 101 and rates[:12].tolist() == ANNARCHY_POPULATION_RATE
    # ANNarchy filters with a single-precision dt / smooth: equal to about 1e-7
    assert np.allclose(monitor.population_rate(spikes, smooth=2.0)[:12], ANNARCHY_POPULATION_RATE_SMOOTH,
                       rtol=1e-6, atol=1e-6)


def test_helpers_without_spikes_call_get_and_use_the_recording_window():
    net, monitor = replay(ANNARCHY_SPIKES)
    net.simulate(10.0)
    assert monitor.mean_fr() == pytest.approx(ANNARCHY_MEAN_FR, rel=1e-12)
    net.simulate(5.0)  # 50 steps without a spike: a new window, empty
    spikes = monitor.get("spike")
    assert monitor.mean_fr(spikes) == 0.0
    rates = monitor.population_rate(spikes)
    assert len(rates) == 51 and not rates.any()
    assert len(monitor.population_rate()) == 1  # get() again: a window of no step (ANNarchy: stop - start + 1)


def test_period_never_drops_spikes():
    net = gn.Network(dt=0.1, seed=3, backend="numpy")
    pop = net.create(50, gn.Izhikevich)
    pop.i_offset = np.linspace(5.0, 30.0, 50)
    every = net.monitor(pop, ["spike", "v"])
    periodic = net.monitor(pop, ["spike", "v"], period=1.0)
    net.simulate(200.0)
    all_spikes, periodic_spikes = every.get("spike"), periodic.get("spike")
    assert sum(map(len, all_spikes.values())) > 400
    assert periodic_spikes == all_spikes
    assert periodic.times("v").tolist() == list(range(0, 2000, 10))
    v, sampled = every.get("v"), periodic.get("v")
    assert v.shape == (2000, 50) and sampled.shape == (200, 50)
    assert np.array_equal(sampled, v[::10])


def test_spike_storage_grows_with_spikes_not_with_steps():
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    silent = net.create(gn.SpikeSourceArray([[] for _ in range(20000)]))
    monitor = net.monitor(silent, "spike")
    net.simulate(500.0)
    staged = BLOCK_STEPS * 20000  # the device block of spike masks, turned into events once full
    assert monitor.nbytes == staged  # 20,000 silent neurons over 500 steps: no event, no byte more
    net.simulate(4500.0)
    assert monitor.nbytes == staged  # ten times the steps, the same memory
    assert sum(map(len, monitor.get("spike").values())) == 0
    net2 = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = net2.create(gn.SpikeSourceArray([[float(t % 100)] for t in range(3000)]))
    counted = net2.monitor(source, "spike")
    net2.simulate(100.0)
    spikes = counted.get("spike", keep=True)  # turns the staged block into events
    events = counted.nbytes - BLOCK_STEPS * 3000
    assert 3000 * 16 <= events <= 2 * 3000 * 16  # two int64 per event, grown by doubling
    assert spikes[2999] == [99] and sum(map(len, spikes.values())) == 3000


def test_monitor_of_a_view_records_its_ranks():
    # ANNarchy 5.0.4.1: net.monitor(src[[1, 3]], ["spike"]) of these sources gives {1: [2], 3: [4]}
    net = gn.Network(dt=1.0, seed=1, backend="numpy")
    source = net.create(gn.SpikeSourceArray([[1.0], [2.0], [3.0], [4.0]]))
    monitor = net.monitor(source[[1, 3]], ["spike", "r"])
    net.simulate(6.0)
    assert monitor.get("spike") == {1: [2], 3: [4]}
    assert monitor.get("r").shape == (6, 2)


def test_module_helpers_match_annarchys_module_functions():
    times, ranks = spike_statistics.raster_plot({2: [3, 1], 0: [5]}, dt=0.5)
    assert times.tolist() == [1.5, 0.5, 2.5] and ranks.tolist() == [2, 2, 0]
    # ANNarchy's mean_fr(spikes, duration=None, dt): duration first to last spike, in steps
    assert spike_statistics.mean_fr({0: [10, 30], 1: [20]}, dt=0.5) == 3 / 2 / 20 / 0.5 * 1000.0
    assert spike_statistics.histogram({0: [0, 3], 1: [4]}, bins=2.0, per_neuron=True).tolist() == [[1, 1, 0],
                                                                                                    [0, 0, 1]]
    with pytest.raises(StructureError, match="does not record spikes"):
        net = gn.Network(backend="numpy")
        net.monitor(net.create(2, gn.Izhikevich), "v").mean_fr()
