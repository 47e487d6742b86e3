import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def test_records_variables_every_step_and_with_period(numpy_net):
    pop = numpy_net.create(4, gn.Izhikevich)
    every = numpy_net.monitor(pop, "v")
    sparse = numpy_net.monitor(pop, ["v"], period=5.0)
    numpy_net.simulate(20.0)
    v = every.get("v")
    assert v.shape == (20, 4)
    assert np.array_equal(v[-1], pop.v)
    assert sparse.get("v").shape == (4, 4)
    assert np.array_equal(sparse.get("v", keep=True), np.zeros((0, 4)))


def test_pause_and_resume(numpy_net):
    pop = numpy_net.create(2, gn.Izhikevich)
    monitor = numpy_net.monitor(pop, "v", start=False)
    numpy_net.simulate(5.0)
    monitor.resume()
    numpy_net.simulate(3.0)
    monitor.pause()
    numpy_net.simulate(2.0)
    assert monitor.get("v", keep=True).shape == (3, 2)
    assert monitor.times("v").tolist() == [5, 6, 7]


def test_spikes_are_returned_per_rank(numpy_net):
    pop = numpy_net.create(3, gn.Izhikevich)
    pop.i_offset = [0.0, 10.0, 20.0]
    monitor = numpy_net.monitor(pop, "spike")
    numpy_net.simulate(100.0)
    spikes = monitor.get("spike")
    assert spikes[0] == [] and len(spikes[2]) > len(spikes[1]) > 0
    times, ranks = monitor.raster_plot(spikes)
    assert len(times) == len(ranks) == len(spikes[1]) + len(spikes[2])


def test_monitor_rejects_unknown_variables_and_rate_spikes(numpy_net):
    pop = numpy_net.create(2, gn.Izhikevich)
    with pytest.raises(AttributeError, match="no attribute 'q'"):
        numpy_net.monitor(pop, "q")
    rate = numpy_net.create(2, gn.LeakyIntegrator)
    with pytest.raises(StructureError, match="rate-coded"):
        numpy_net.monitor(rate, "spike")
