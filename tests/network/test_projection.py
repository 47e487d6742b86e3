"""Projection attribute access: per-row weights, dendrites, post_ranks, connectivity() and delays."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError

# (pre, post, w): post 0 has pre 2 and 0, post 2 has pre 1, post 1 and 3 have none
SYNAPSES = [(2, 0, 0.5), (1, 2, 0.25), (0, 0, 0.75)]


@pytest.fixture
def proj(numpy_net):
    pre = numpy_net.create(3, gn.Izhikevich, name="pre")
    post = numpy_net.create(4, gn.Izhikevich, name="post")
    projection = numpy_net.connect(pre, post, "exc", gn.STDP, name="stdp")
    projection.connect_from_list(SYNAPSES)
    return projection


def test_rows_hold_only_post_neurons_with_synapses(proj):
    assert proj.post_ranks == [0, 2]
    assert proj.size == len(proj) == 2
    assert proj.nb_synapses == 3
    assert proj.nb_synapses_per_dendrite() == [2, 1]


def test_connectivity_is_post_major_with_ascending_pre_ranks(proj):
    post_ranks, row_ptr, pre_ranks = proj.connectivity()
    assert post_ranks.tolist() == [0, 2]
    assert row_ptr.tolist() == [0, 2, 3]
    assert pre_ranks.tolist() == [0, 2, 1]


def test_w_is_one_list_per_dendrite(proj):
    assert proj.w == [[0.75, 0.5], [0.25]]
    assert isinstance(proj.w[0], list)


def test_dendrite_gives_pre_ranks_and_weights(proj):
    dendrite = proj.dendrite(0)
    assert dendrite.pre_ranks == [0, 2]
    assert dendrite.w.tolist() == [0.75, 0.5]
    assert dendrite.size == 2
    assert proj.dendrite(1).pre_ranks == []
    assert [d.post_rank for d in proj.dendrites] == [0, 2]


def test_setting_a_dendrite_changes_only_its_synapses(proj):
    proj.dendrite(0).w = [0.1, 0.2]
    assert proj.w == [[0.1, 0.2], [0.25]]
    with pytest.raises(IndexError, match="outside population 'post' of size 4"):
        proj.dendrite(4)


def test_set_w_from_a_scalar(proj):
    proj.w = 0.3
    assert proj.w == [[0.3, 0.3], [0.3]]


def test_set_w_from_a_flat_array_in_post_major_order(proj):
    proj.w = np.array([1.0, 2.0, 3.0])
    assert proj.w == [[1.0, 2.0], [3.0]]


def test_set_w_from_per_row_lists_and_an_object_array_of_rows(proj):
    proj.w = [[0.4, 0.6], [0.8]]
    assert proj.w == [[0.4, 0.6], [0.8]]
    rows = np.empty(2, dtype=object)
    rows[0], rows[1] = [0.1, 0.2], [0.3]  # the layout of ANNarchy's pickled state
    proj.w = rows
    assert proj.w == [[0.1, 0.2], [0.3]]


@pytest.mark.parametrize("value, message", [
    (np.zeros(4), r"stdp\.w: expected an array of shape \(3,\), got shape \(4,\)"),
    ([[0.1, 0.2]], r"stdp\.w: expected 2 rows .* of lengths \[2, 1\]; got 1 rows"),
    ([[0.1], [0.2]], r"row 0 has 1 values instead of 2"),
    ([[0.1, 0.2], [0.3, 0.4]], r"row 1 has 2 values instead of 1"),
    (np.zeros((3, 1)), r"got 3 rows"),
])
def test_w_of_the_wrong_shape_raises_value_error(proj, value, message):
    with pytest.raises(ValueError, match=message):
        proj.w = value
    assert proj.w == [[0.75, 0.5], [0.25]]


def test_globals_are_scalars_and_locals_are_rows(proj):
    assert proj.tau_plus == 20.0 and isinstance(proj.tau_plus, float)
    proj.tau_plus = 25.0
    assert proj.tau_plus == 25.0
    assert proj.x == [[0.0, 0.0], [0.0]]
    with pytest.raises(ValueError, match="is global"):
        proj.tau_plus = [1.0, 2.0, 3.0]


def test_unknown_attribute_lists_the_model_attributes(proj):
    with pytest.raises(AttributeError, match="no attribute 'weights'.*tau_plus"):
        proj.weights


def test_device_view_is_the_live_array(proj):
    view = proj.device_view("w")
    view[0] = 0.9
    assert proj.w[0][0] == 0.9


def test_uniform_delay_is_one_float_and_per_synapse_delays_are_rows(numpy_net):
    pre = numpy_net.create(3, gn.Izhikevich)
    post = numpy_net.create(2, gn.Izhikevich)
    uniform = numpy_net.connect(pre, post, "exc").connect_all_to_all(delays=2.0)
    varied = numpy_net.connect(pre, post, "inh").connect_from_list([(0, 1, 1.0, 3.0), (2, 1, 1.0, 1.0)])
    assert uniform.delays == 2.0
    assert varied.delays == [[3.0, 1.0]]


def test_attributes_need_a_connection_first(numpy_net):
    pre = numpy_net.create(3, gn.Izhikevich)
    projection = numpy_net.connect(pre, pre, "exc", name="loose")
    with pytest.raises(StructureError, match="'loose' is not connected"):
        projection.w
    assert projection.nb_synapses == 0


def test_connect_and_create_share_the_network_objects(numpy_net):
    pre = numpy_net.create(3, gn.Izhikevich)
    projection = gn.Projection(pre, pre, "exc", name="p", network=numpy_net)
    assert numpy_net.get_projection("p") is projection
    other = gn.Network(backend="numpy", seed=1).create(3, gn.Izhikevich)
    with pytest.raises(StructureError, match="same network"):
        gn.Projection(pre, other, "exc")
