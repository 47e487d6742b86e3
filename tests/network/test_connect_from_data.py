"""connect_from_matrix / from_sparse / from_list round-trip to connectivity() and w; the ANNarchy fixture."""
import pickle

import numpy as np
import pytest
import scipy.sparse

import gpunet as gn
from gpunet.errors import StructureError

NAN = float("nan")
# (post, pre) = (3, 4); post 1 has no synapse
MATRIX = np.array([[0.5, NAN, 0.25, NAN],
                   [NAN, NAN, NAN, NAN],
                   [1.0, 0.0, NAN, 2.0]])
EXPECTED_CONNECTIVITY = ([0, 2], [0, 2, 5], [0, 2, 0, 1, 3])
EXPECTED_W = [[0.5, 0.25], [1.0, 0.0, 2.0]]


def make(pre_size=4, post_size=3):
    net = gn.Network(dt=1.0, seed=3, backend="numpy")
    pre = net.create(pre_size, gn.Izhikevich, name="pre")
    post = net.create(post_size, gn.Izhikevich, name="post")
    return net, net.connect(pre, post, "exc", name="proj")


def connectivity_lists(proj):
    return tuple(array.tolist() for array in proj.connectivity())


def test_from_matrix_round_trips_with_nan_as_no_synapse():
    _, proj = make()
    proj.connect_from_matrix(MATRIX, delays=2.0)
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY
    assert proj.w == EXPECTED_W and proj.delays == 2.0


def test_from_matrix_accepts_none_as_no_synapse():
    rows = [[0.5, None, 0.25, None], [None] * 4, [1.0, 0.0, None, 2.0]]
    _, proj = make()
    proj.connect_from_matrix(rows)
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY
    assert proj.w == EXPECTED_W


def test_from_matrix_object_array_mixing_none_and_float32_nan():
    matrix = np.array([[0.5, None, 0.25, np.float32("nan")], [None, np.float32("nan"), None, None],
                       [1.0, 0.0, np.nan, np.float32(2.0)]], dtype=object)
    _, proj = make()
    proj.connect_from_matrix(matrix)
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY
    assert proj.w == EXPECTED_W


def test_from_matrix_reads_per_synapse_delays_from_a_matrix():
    delays = np.full(MATRIX.shape, NAN)
    delays[0, 0], delays[0, 2], delays[2, 0], delays[2, 1], delays[2, 3] = 1.0, 2.0, 3.0, 4.0, 5.0
    _, proj = make()
    proj.connect_from_matrix(MATRIX, delays=delays)
    assert proj.delays == [[1.0, 2.0], [3.0, 4.0, 5.0]]


def test_from_matrix_pre_post_orientation_is_transposed():
    _, proj = make()
    proj.connect_from_matrix(MATRIX.T, pre_post=True)
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY


def test_from_matrix_with_a_delay_distribution():
    _, proj = make()
    proj.connect_from_matrix(MATRIX, delays=gn.DiscreteUniform(1, 3))
    assert set(np.concatenate(proj.delays).tolist()) <= {1.0, 2.0, 3.0}


def test_from_matrix_of_the_wrong_shape_raises():
    _, proj = make()
    with pytest.raises(StructureError, match=r"expected a \(post, pre\) = \(3, 4\) matrix, got \(4, 3\)"):
        proj.connect_from_matrix(MATRIX.T)


def test_from_sparse_round_trips_and_keeps_explicit_zeros():
    post, pre = np.nonzero(~np.isnan(MATRIX))
    # stored entries include the explicit zero at (pre 1, post 2): it is a synapse; (pre, post) orientation
    sparse = scipy.sparse.csr_matrix((MATRIX[post, pre], (pre, post)), shape=MATRIX.T.shape)
    assert sparse.nnz == 5
    _, proj = make()
    proj.connect_from_sparse(sparse, delays=1.0)
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY
    assert proj.w == EXPECTED_W


def test_from_sparse_does_not_modify_the_callers_matrix():
    # unsorted column indices: connecting must sort a copy, not the caller's arrays
    sparse = scipy.sparse.csc_matrix((np.array([0.25, 0.5]), np.array([2, 0]), np.array([0, 2, 2, 2])),
                                     shape=(4, 3))  # (pre, post): column 0 = post 0
    _, proj = make()
    proj.connect_from_sparse(sparse)
    assert sparse.indices.tolist() == [2, 0] and sparse.data.tolist() == [0.25, 0.5]
    assert proj.w == [[0.5, 0.25]]


def test_from_sparse_reads_per_synapse_delays():
    weights = scipy.sparse.csr_matrix(np.array([[1.0, 0.0, 2.0, 0.0], [0.0] * 4, [0.0, 3.0, 0.0, 0.0]]).T)
    delays = scipy.sparse.csr_matrix(np.array([[4.0, 0.0, 2.0, 0.0], [0.0] * 4, [0.0, 3.0, 0.0, 0.0]]).T)
    _, proj = make()
    proj.connect_from_sparse(weights, delays=delays)
    assert proj.delays == [[4.0, 2.0], [3.0]]


def test_from_sparse_needs_a_sparse_matrix_of_the_right_shape():
    _, proj = make()
    with pytest.raises(TypeError, match="expects a scipy.sparse matrix"):
        proj.connect_from_sparse(MATRIX)
    with pytest.raises(StructureError, match=r"\(pre, post\) = \(4, 3\) matrix .*got \(3, 4\)"):
        proj.connect_from_sparse(scipy.sparse.csr_matrix((3, 4)))


def test_from_list_round_trips_in_post_major_order():
    _, proj = make()
    proj.connect_from_list([(3, 2, 2.0, 3.0), (0, 0, 0.5, 1.0), (1, 2, 0.0, 2.0), (2, 0, 0.25, 1.0),
                            (0, 2, 1.0, 1.0)])
    assert connectivity_lists(proj) == EXPECTED_CONNECTIVITY
    assert proj.w == EXPECTED_W
    assert proj.delays == [[1.0, 1.0], [1.0, 2.0, 3.0]]


def test_from_list_rejects_duplicates_and_ranks_outside_the_populations():
    _, proj = make()
    with pytest.raises(StructureError, match=r"\(pre 1, post 0\) is listed twice"):
        proj.connect_from_list([(1, 0, 1.0), (1, 0, 2.0)])
    with pytest.raises(StructureError, match="pre rank 4 outside the pre-synaptic population"):
        proj.connect_from_list([(4, 0, 1.0)])
    with pytest.raises(StructureError, match="post rank -1 outside the post-synaptic population"):
        proj.connect_from_list([(0, -1, 1.0)])
    with pytest.raises(ValueError, match="all of the same length"):
        proj.connect_from_list([(0, 0, 1.0, 2.0), (1, 0, 1.0)])


def test_fixture_connectivity_reproduces_synapse_count_and_weight_sum(fixtures_dir):
    with open(fixtures_dir / "data.txt", "rb") as handle:
        state = pickle.load(handle)  # a trusted fixture written by ANNarchy 5.0.4.1
    saved = state["PFC_exc_to_inh"]
    synapses = [(pre, post, w, 2.0) for post, pres, weights in zip(saved["post_ranks"], saved["pre_ranks"],
                                                                   saved["w"]) for pre, w in zip(pres, weights)]
    net = gn.Network(dt=1.0, seed=2024, backend="numpy")
    exc = net.create(50, gn.Izhikevich, name="PFC_exc")
    inh = net.create(30, gn.Izhikevich(a=0.1, d=2.0), name="PFC_inh")
    proj = net.connect(exc, inh, "exc", gn.STDP, name="PFC_exc_to_inh").connect_from_list(synapses)
    assert proj.nb_synapses == 275  # describe.txt
    assert proj.post_ranks == list(saved["post_ranks"])
    assert float(sum(sum(row) for row in proj.w)) == 67.199999999999989  # describe.txt, same row-wise sum
    assert [proj.dendrite(r).pre_ranks for r in proj.post_ranks] == [list(row) for row in saved["pre_ranks"]]
    assert proj.delays == 2.0
