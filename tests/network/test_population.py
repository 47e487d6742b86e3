import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def test_attribute_returns_host_copy_shaped_like_geometry(numpy_net):
    pop = numpy_net.create((4, 5), gn.Izhikevich)
    assert pop.size == 20 and pop.geometry == (4, 5)
    v = pop.v
    assert isinstance(v, np.ndarray) and v.shape == (4, 5) and np.all(v == -65.0)
    v[...] = 0.0
    assert np.all(pop.v == -65.0)  # a copy


def test_globals_are_python_scalars(numpy_net):
    pop = numpy_net.create(3, gn.LeakyIntegrator)
    assert pop.tau == 10.0 and isinstance(pop.tau, float)
    pop.tau = 0.1
    assert pop.tau == 0.1


def test_set_scalar_array_and_distribution(numpy_net):
    pop = numpy_net.create((2, 3), gn.Izhikevich)
    pop.v = -70.0
    assert np.all(pop.v == -70.0)
    pop.i_offset = np.arange(6.0).reshape(2, 3)
    assert pop.i_offset.tolist() == [[0, 1, 2], [3, 4, 5]]
    pop.i_offset = np.arange(6.0)  # flat is accepted too
    pop.v = gn.Uniform(-70.0, -60.0)
    assert np.all((pop.v >= -70.0) & (pop.v < -60.0)) and len(np.unique(pop.v)) == 6


def test_wrong_shape_raises_value_error_naming_expected_shape(numpy_net):
    pop = numpy_net.create((2, 3), gn.Izhikevich, name="grid")
    with pytest.raises(ValueError, match=r"grid\.v: expected an array of shape \(2, 3\) or \(6,\), got shape \(5,\)"):
        pop.v = np.zeros(5)
    assert np.all(pop.v == -65.0)


def test_global_rejects_differing_array(numpy_net):
    pop = numpy_net.create(3, gn.LeakyIntegrator)
    with pytest.raises(ValueError, match="is global"):
        pop.tau = [0.1, 0.2, 0.3]
    pop.tau = [0.3, 0.3, 0.3]
    assert pop.tau == 0.3


def test_izhikevich_parameters_take_one_value_per_neuron(numpy_net):
    """The Izhikevich (2003) recipe gives each neuron its own c and d, as ANNarchy allows."""
    pop = numpy_net.create(3, gn.Izhikevich)
    assert pop.c.tolist() == [-65.0] * 3
    pop.c = [-65.0, -60.0, -50.0]
    pop.d = gn.Uniform(2.0, 8.0)
    assert pop.c.tolist() == [-65.0, -60.0, -50.0] and len(np.unique(pop.d)) == 3


def test_bad_attribute_name_lists_valid_names(numpy_net):
    pop = numpy_net.create(3, gn.Izhikevich, name="exc")
    with pytest.raises(AttributeError, match=r"no attribute 'vv'.*noise, a, b, c, d"):
        pop.vv
    with pytest.raises(AttributeError, match="no attribute 'vv'"):
        pop.vv = 1.0


def test_names_default_and_must_be_unique(numpy_net):
    first = numpy_net.create(2, gn.Izhikevich)
    second = numpy_net.create(2, gn.Izhikevich)
    assert (first.name, second.name) == ("pop0", "pop1")
    with pytest.raises(StructureError, match="'pop0' is already used"):
        numpy_net.create(2, gn.Izhikevich, name="pop0")


def test_rank_and_coordinates(numpy_net):
    pop = numpy_net.create((3, 4), gn.Izhikevich)
    assert pop.rank_from_coordinates((2, 1)) == 9
    assert pop.coordinates_from_rank(9) == (2, 1)
    with pytest.raises(IndexError):
        pop.coordinates_from_rank(12)
    with pytest.raises(IndexError):
        pop.rank_from_coordinates((3, 0))


def test_view_reads_and_sets_a_subset(numpy_net):
    pop = numpy_net.create(30, gn.Izhikevich)
    view = pop[10:20]
    assert view.size == 10 and view.ranks.tolist() == list(range(10, 20))
    view.v = -50.0
    v = pop.v
    assert np.all(v[10:20] == -50.0) and np.all(v[:10] == -65.0) and np.all(v[20:] == -65.0)
    assert np.all(view.v == -50.0)
    view.a = 0.1
    assert np.all(pop.a[10:20] == 0.1) and np.all(pop.a[:10] == 0.02) and np.all(pop.a[20:] == 0.02)
    rates = numpy_net.create(30, gn.LeakyIntegrator)
    with pytest.raises(ValueError, match="global"):
        rates[10:20].tau = 3.0


def test_device_view_is_the_state_itself(numpy_net):
    pop = numpy_net.create(5, gn.Izhikevich)
    array = pop.device_view("v")
    array[2] = 12.0
    assert pop.v[2] == 12.0
    with pytest.raises(AttributeError, match="no attribute 'q'"):
        pop.device_view("q")


def test_values_can_be_set_before_and_after_compile(numpy_net):
    pop = numpy_net.create(5, gn.Izhikevich)
    pop.i_offset = 5.0
    numpy_net.compile()
    assert np.all(pop.i_offset == 5.0)
    pop.i_offset = 6.0
    numpy_net.simulate(1.0)
    assert np.all(pop.i_offset == 6.0)


def test_objects_cannot_be_added_after_compile(numpy_net):
    numpy_net.create(5, gn.Izhikevich)
    numpy_net.compile()
    with pytest.raises(StructureError, match="already compiled"):
        numpy_net.create(5, gn.Izhikevich)


def test_int_attribute_rejects_fractions(numpy_net):
    model = gn.Neuron(parameters="n = 2 : int", equations="r = n")
    pop = numpy_net.create(2, model)
    pop.n = 3
    assert pop.n.tolist() == [3, 3]
    with pytest.raises(ValueError, match="integers"):
        pop.n = 2.5


def test_module_level_functions_act_on_default_network():
    pop = gn.Population(3, gn.Izhikevich, name="a")
    gn.compile()
    gn.simulate(10.0)
    assert gn.get_current_step() == 10 and gn.get_time() == 10.0
    gn.step()
    assert gn.get_current_step() == 11
    gn.reset()
    assert gn.get_current_step() == 0 and np.all(pop.v == -65.0)
    gn.clear()
    assert gn.default_network().populations == []


def test_reset_restores_initial_values(numpy_net):
    pop = numpy_net.create(3, gn.Izhikevich)
    pop.i_offset = 10.0
    numpy_net.simulate(20.0)
    assert not np.all(pop.v == -65.0)
    numpy_net.reset()
    assert np.all(pop.v == -65.0) and numpy_net.get_time() == 0.0


def test_progress_bar_draws_when_forced_and_stays_silent_otherwise(numpy_net, capsys):
    import io
    from gpunet.network.progress import ProgressBar
    numpy_net.create(3, gn.Izhikevich)
    numpy_net.simulate(10.0, progress=False)
    assert capsys.readouterr().err == ""
    stream = io.StringIO()
    bar = ProgressBar(10, 1.0, enabled=True, stream=stream)
    for done in range(1, 11):
        bar.update(done)
    bar.close()
    text = stream.getvalue()
    assert "100%" in text and "10/10 ms" in text and text.endswith("\n")
    quiet = io.StringIO()
    bar = ProgressBar(10, 1.0, enabled=None, stream=quiet)  # not a terminal: silent
    bar.update(10)
    bar.close()
    assert quiet.getvalue() == ""
