"""from_sparse / from_matrix build the synapses ANNarchy 5.0.4.1 builds from the same data.

Measured with ANNarchy 5.0.4.1 (dt = 0.1): populations A (3), B (3), C (4) of
``ann.Izhikevich``; each projection connected as below, then ``net.compile()``
and ``proj.post_ranks``, ``proj.pre_ranks``, ``proj.w``, ``proj.delay`` read back.
"""
import numpy as np
import scipy.sparse

import gpunet as gn

NAN = float("nan")


def network():
    net = gn.Network(dt=0.1, seed=1, backend="numpy")
    a = net.create(3, gn.Izhikevich, name="A")
    b = net.create(3, gn.Izhikevich, name="B")
    c = net.create(4, gn.Izhikevich, name="C")
    return net, a, b, c


def synapses(proj):
    return proj.post_ranks, [proj.dendrite(r).pre_ranks for r in proj.post_ranks], proj.w


def test_from_sparse_reads_pre_post_like_annarchy():
    net, a, b, c = network()
    matrix = scipy.sparse.lil_matrix((3, 3))
    matrix[0, 1], matrix[2, 0] = 1.0, 2.0
    proj = net.connect(a, b, "exc").from_sparse(matrix)
    # ANNarchy: post_ranks [0, 1], pre_ranks [[2], [0]], w [[2.0], [1.0]], delay 0.1 (= dt)
    assert synapses(proj) == ([0, 1], [[2], [0]], [[2.0], [1.0]])
    assert proj.delay == 0.1


def test_from_sparse_rectangular_with_a_delay_like_annarchy():
    net, a, b, c = network()
    matrix = scipy.sparse.lil_matrix((3, 4))
    matrix[0, 3], matrix[2, 1], matrix[1, 1] = 1.5, 2.5, 0.5
    proj = net.connect(a, c, "exc").connect_from_sparse(matrix, delays=2.0)
    # ANNarchy: post_ranks [1, 3], pre_ranks [[1, 2], [0]], w [[0.5, 2.5], [1.5]], delay 2.0
    assert synapses(proj) == ([1, 3], [[1, 2], [0]], [[0.5, 2.5], [1.5]])
    assert proj.delay == 2.0


def test_from_matrix_reads_post_pre_like_annarchy():
    net, a, b, c = network()
    weights = np.array([[None, 1.0, None], [None, None, None], [2.0, None, None]], dtype=object)
    proj = net.connect(a, b, "inh").from_matrix(weights)
    # ANNarchy: post_ranks [0, 2], pre_ranks [[1], [0]], w [[1.0], [2.0]]
    assert synapses(proj) == ([0, 2], [[1], [0]], [[1.0], [2.0]])


def test_from_matrix_pre_post_like_annarchy():
    net, a, b, c = network()
    weights = np.array([[NAN, 3.0, 0.0, 1.0], [4.0, NAN, NAN, NAN], [NAN, NAN, 5.0, NAN]])  # (pre 3, post 4)
    proj = net.connect(a, c, "inh").from_matrix(weights, pre_post=True)
    # ANNarchy 5.0.4.1 skips only None: it builds every pair, NaN included, i.e.
    # post_ranks [0, 1, 2, 3], w [[nan, 4.0, nan], [3.0, nan, nan], [0.0, nan, 5.0], [1.0, nan, nan]].
    # gpunet reads NaN as "no synapse" (documented difference); the other synapses are ANNarchy's:
    assert synapses(proj) == ([0, 1, 2, 3], [[1], [0], [0, 2], [0]], [[4.0], [3.0], [0.0, 5.0], [1.0]])


def test_from_matrix_per_synapse_delays_like_annarchy():
    net, a, b, c = network()
    weights = np.arange(1.0, 10.0).reshape(3, 3)
    delays = np.array([[1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])
    proj = net.connect(b, a, "exc").from_matrix(weights, delays=delays)
    # ANNarchy: w [[1, 2, 3], [4, 5, 6], [7, 8, 9]], delay [[1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]]
    assert proj.w == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    assert np.allclose(proj.delay, [[1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]], rtol=0, atol=1e-12)
