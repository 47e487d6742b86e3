"""Monitors on population views and projections, monitor names and period offsets, and notebook summaries."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def plastic(net):
    pop = net.create(8, gn.Izhikevich, name="exc")
    pop.i_offset = np.linspace(0.0, 20.0, 8)
    proj = net.connect(pop, pop, "exc", gn.STDP, name="rec")
    proj.connect_fixed_probability(0.5, weights=0.3, delays=1.0)
    return pop, proj


def test_a_projection_monitor_records_weights_over_time_as_the_projection_holds_them(numpy_net):
    pop, proj = plastic(numpy_net)
    weights = numpy_net.monitor(proj, ["w", "A_plus"], period=4.0, period_offset=3.0)
    seen = []
    for _ in range(20):
        numpy_net.step()
        seen.append(np.concatenate([np.asarray(row) for row in proj.w]))
    assert weights.times("w").tolist() == [3, 7, 11, 15, 19]
    recorded = weights.get("w")
    assert recorded.shape == (5, proj.nb_synapses)
    assert np.array_equal(recorded, np.stack(seen)[[3, 7, 11, 15, 19]])
    assert not np.array_equal(recorded[0], recorded[-1])  # the weights moved: STDP at work
    assert weights.get("A_plus").tolist() == [0.01] * 5 and weights.size == proj.nb_synapses
    with pytest.raises(StructureError, match="emits no spikes"):
        numpy_net.monitor(proj, "spike")
    with pytest.raises(AttributeError, match="projection 'rec' has no attribute 'v'"):
        numpy_net.monitor(proj, "v")


def test_a_view_monitor_records_its_neurons_in_the_view_order(numpy_net):
    pop, _ = plastic(numpy_net)
    whole = numpy_net.monitor(pop, ["spike", "v"])
    view = numpy_net.monitor(pop[[6, 1, 7]], ["spike", "v"])
    numpy_net.simulate(60.0)
    everything, some = whole.get(), view.get()
    assert np.array_equal(some["v"], everything["v"][:, [6, 1, 7]])
    assert some["spike"] == {rank: everything["spike"][rank] for rank in (6, 1, 7)} and some["spike"][7]


def test_names_are_unique_and_offsets_within_the_period(numpy_net):
    pop, proj = plastic(numpy_net)
    first, second = numpy_net.monitor(pop, "v"), numpy_net.monitor(pop, "u")
    assert (first.name, second.name) == ("Monitor_exc", "Monitor_exc_1")
    assert numpy_net.monitor(proj, "w", name="weights").name == "weights"
    with pytest.raises(StructureError, match="'weights' is already used"):
        numpy_net.monitor(pop, "v", name="weights")
    with pytest.raises(StructureError, match="invalid monitor name"):
        numpy_net.monitor(pop, "v", name="a b")
    with pytest.raises(ValueError, match="period_offset must be"):
        numpy_net.monitor(pop, "v", period=2.0, period_offset=2.0)


def test_notebook_summaries_show_the_objects(numpy_net):
    pop, proj = plastic(numpy_net)
    monitor = numpy_net.monitor(pop[0:3], ["spike", "v"], period=2.0)
    numpy_net.simulate(10.0)
    page = numpy_net._repr_html_()
    for text in ("<strong>Network</strong>", "<td style=\"text-align:left\">exc</td>",
                 "<td style=\"text-align:left\">exc -&gt; exc</td>", f">{proj.nb_synapses}<", ">Monitor_exc<",
                 ">10 ms (step 10)<"):
        assert text in page
    assert ">8<" in pop._repr_html_() and "I, v, u, r, g_exc, g_inh" in pop._repr_html_()
    assert f">{proj.nb_synapses} (" in proj._repr_html_() and ">STDP<" in proj._repr_html_()
    html = monitor._repr_html_()
    assert ">5 steps recorded<" in html and "spikes recorded" in html and "3 neurons of a view" in html
    assert repr(monitor) == "<Monitor 'Monitor_exc' of 'exc': ['spike', 'v'], period 2 ms, recording>"
    assert repr(numpy_net).endswith("1 populations, 1 projections, 1 monitors, step 10>")
    unconnected = gn.Network(backend="numpy")
    lone = unconnected.create(2, gn.Izhikevich)
    assert "not connected" in unconnected.connect(lone, lone, "exc")._repr_html_()
