"""Connection patterns: exact structure, statistics, reproducibility and ANNarchy 5 spellings."""
import math

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import StructureError


def make(pre_size=20, post_size=30, seed=42, same=False):
    net = gn.Network(dt=1.0, seed=seed, backend="numpy")
    pre = net.create(pre_size, gn.Izhikevich, name="pre")
    post = pre if same else net.create(post_size, gn.Izhikevich, name="post")
    return net, net.connect(pre, post, "exc", name="proj")


def pairs(proj):
    """Set of (pre, post) pairs of a projection, from its connectivity()."""
    post_ranks, row_ptr, pre_ranks = proj.connectivity()
    return {(int(pre_ranks[k]), int(post)) for i, post in enumerate(post_ranks)
            for k in range(row_ptr[i], row_ptr[i + 1])}


def assert_post_major(proj):
    post_ranks, row_ptr, pre_ranks = proj.connectivity()
    assert np.all(np.diff(post_ranks) > 0)
    for i in range(len(post_ranks)):
        assert np.all(np.diff(pre_ranks[row_ptr[i]:row_ptr[i + 1]]) > 0), "rows ascending, no duplicates"


def test_fixed_probability_count_is_within_five_sigma():
    _, proj = make(200, 300)
    proj.connect_fixed_probability(0.1, weights=0.5)
    n, p = 200 * 300, 0.1
    assert abs(proj.nb_synapses - p * n) < 5 * math.sqrt(n * p * (1 - p))
    assert_post_major(proj)


def test_fixed_probability_within_one_population_has_no_self_connections():
    _, proj = make(150, same=True)
    proj.connect_fixed_probability(0.3)
    n, p = 150 * 149, 0.3
    assert all(pre != post for pre, post in pairs(proj))
    assert abs(proj.nb_synapses - p * n) < 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("probability", [-0.1, 1.5])
def test_fixed_probability_rejects_probabilities_outside_unit_interval(probability):
    _, proj = make()
    with pytest.raises(ValueError, match="probability must be in"):
        proj.connect_fixed_probability(probability)


def test_one_to_one_is_exact():
    _, proj = make(25, 25)
    proj.connect_one_to_one(weights=0.25)
    assert pairs(proj) == {(i, i) for i in range(25)}
    assert proj.w == [[0.25]] * 25


def test_one_to_one_needs_equal_sizes():
    _, proj = make(20, 30)
    with pytest.raises(StructureError, match="same size"):
        proj.connect_one_to_one()


def test_all_to_all_is_exact():
    _, proj = make(4, 3)
    proj.connect_all_to_all(weights=1.0)
    assert pairs(proj) == {(i, j) for i in range(4) for j in range(3)}
    assert proj.nb_synapses == 12


@pytest.mark.parametrize("allow", [False, True])
def test_all_to_all_within_one_population_and_self_connections(allow):
    _, proj = make(5, same=True)
    proj.connect_all_to_all(allow_self_connections=allow)
    expected = {(i, j) for i in range(5) for j in range(5) if allow or i != j}
    assert pairs(proj) == expected


def test_fixed_number_pre_gives_each_post_exactly_n_distinct_pre():
    _, proj = make(40, 30)
    proj.connect_fixed_number_pre(7)
    assert proj.post_ranks == list(range(30))
    assert proj.nb_synapses_per_dendrite() == [7] * 30
    assert_post_major(proj)


def test_fixed_number_pre_within_one_population_avoids_self():
    _, proj = make(10, same=True)
    proj.connect_fixed_number_pre(9)
    assert pairs(proj) == {(i, j) for i in range(10) for j in range(10) if i != j}


def test_fixed_number_post_gives_each_pre_exactly_n_distinct_post():
    _, proj = make(40, 30)
    proj.connect_fixed_number_post(5)
    found = pairs(proj)
    assert len(found) == proj.nb_synapses == 40 * 5
    per_pre = np.bincount([pre for pre, _ in found], minlength=40)
    assert per_pre.tolist() == [5] * 40
    assert_post_major(proj)


@pytest.mark.parametrize("method, number", [("connect_fixed_number_pre", 21), ("connect_fixed_number_post", 31),
                                            ("connect_fixed_number_pre", -1)])
def test_fixed_number_rejects_impossible_numbers(method, number):
    _, proj = make(20, 30)
    with pytest.raises(ValueError, match="number must be in"):
        getattr(proj, method)(number)


def test_connectivity_is_reproducible_from_the_network_seed():
    def build(seed):
        _, proj = make(100, 100, seed=seed)
        proj.connect_fixed_probability(0.1, weights=gn.Uniform(0.0, 1.0), delays=gn.DiscreteUniform(1, 5))
        return proj.connectivity(), proj.w, proj.delays

    first, second, other = build(7), build(7), build(8)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))
    assert first[1] == second[1] and first[2] == second[2]
    assert not np.array_equal(first[0][2], other[0][2])


def test_fixed_number_pre_is_reproducible_from_the_seed():
    def build(seed):
        _, proj = make(50, 20, seed=seed)
        proj.connect_fixed_number_pre(5)
        return proj.connectivity()[2]

    assert np.array_equal(build(3), build(3))
    assert not np.array_equal(build(3), build(4))


@pytest.mark.parametrize("alias, original, args", [
    ("fixed_probability", "connect_fixed_probability", (0.2,)),
    ("fixed_number_pre", "connect_fixed_number_pre", (3,)),
    ("fixed_number_post", "connect_fixed_number_post", (3,)),
    ("all_to_all", "connect_all_to_all", ()),
])
def test_annarchy5_aliases_build_the_same_network(alias, original, args):
    _, proj_a = make(seed=11)
    getattr(proj_a, alias)(*args, weights=0.5, delays=2.0)
    _, proj_b = make(seed=11)
    getattr(proj_b, original)(*args, weights=0.5, delays=2.0)
    assert pairs(proj_a) == pairs(proj_b) and proj_a.nb_synapses > 0
    assert proj_a.w == proj_b.w and proj_a.delays == 2.0


def test_one_to_one_alias():
    _, proj = make(6, 6)
    proj.one_to_one(weights=2.0)
    assert pairs(proj) == {(i, i) for i in range(6)}


def test_weights_as_number_array_and_distribution():
    _, proj = make(3, 2)
    proj.connect_all_to_all(weights=0.5)
    assert proj.w == [[0.5] * 3, [0.5] * 3]

    _, proj = make(3, 2)
    proj.connect_all_to_all(weights=np.arange(6.0))  # one value per synapse, post-major
    assert proj.w == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]

    _, proj = make(30, 40)
    proj.connect_all_to_all(weights=gn.Uniform(0.2, 0.3))
    flat = np.concatenate(proj.w)
    assert np.all((flat >= 0.2) & (flat < 0.3)) and len(np.unique(flat)) == flat.size


def test_delays_as_number_array_and_distribution():
    _, proj = make(3, 2)
    proj.connect_all_to_all(delays=3.0)
    assert proj.delays == 3.0 and proj.max_delay == 3

    _, proj = make(3, 2)
    proj.connect_all_to_all(delays=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert proj.delays == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] and proj.max_delay == 6

    _, proj = make(30, 30)
    proj.connect_all_to_all(delays=gn.DiscreteUniform(1, 4))
    flat = np.concatenate(proj.delays)
    assert set(flat.tolist()) == {1.0, 2.0, 3.0, 4.0}


def test_delays_are_rounded_to_whole_steps():
    net = gn.Network(dt=0.5, seed=1, backend="numpy")
    pre, post = net.create(2, gn.Izhikevich), net.create(1, gn.Izhikevich)
    proj = net.connect(pre, post, "exc")
    proj.connect_all_to_all(delays=np.array([1.2, 1.3]))
    assert proj.delays == [[1.0, 1.5]]


def test_wrong_number_of_weights_raises_value_error():
    _, proj = make(3, 2)
    with pytest.raises(ValueError, match=r"proj\.w: expected an array of shape \(6,\), got shape \(5,\)"):
        proj.connect_all_to_all(weights=np.zeros(5))


def test_negative_delay_raises():
    _, proj = make(3, 2)
    with pytest.raises(StructureError, match="delays must be finite and non-negative"):
        proj.connect_all_to_all(delays=-1.0)


def test_connecting_twice_raises():
    _, proj = make()
    proj.connect_all_to_all()
    with pytest.raises(StructureError, match="already connected"):
        proj.connect_one_to_one()


def test_compile_refuses_an_unconnected_projection():
    net, _ = make()
    with pytest.raises(StructureError, match="is not connected"):
        net.compile()
