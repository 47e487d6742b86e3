"""Connectors and draws made for one block of post rows (networks under comm) equal the whole build's part.

In one process: the connectors' ``*_rows`` functions against the whole ones for every split into N = 1..4
blocks, ``Distribution.draw_part`` against ``draw``, and projections of a network under ``MPI.COMM_SELF`` (or a
stand-in communicator of rank r of N, for what happens before any collective).  The runs by several processes
are in test_mpi_block_build.py (under mpiexec).
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import gpunet as gn
from gpunet.errors import StructureError
from gpunet.io.pipeline.partition import block_bounds
from gpunet.network import connectors
from gpunet.network.distributions import (Binomial, DiscreteUniform, Exponential, Gamma, LogNormal, Normal,
                                          Uniform)

sys.path.insert(0, str(Path(__file__).with_name("mpi")))
from block_network import every_connector, matrices  # noqa: E402


def rng(seed=11):
    return np.random.default_rng([seed, 3, 5])


def blocks(n_post):
    for nprocs in (1, 2, 3, 4):
        bounds = block_bounds(n_post, nprocs)
        yield [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


RANDOM = {
    "fixed_probability": lambda n_pre, n_post, same, allow, g, lo, hi: connectors.fixed_probability_rows(
        0.3, n_pre, n_post, same, allow, g, lo, hi),
    "fixed_probability_to_row_hi": lambda n_pre, n_post, same, allow, g, lo, hi: connectors.fixed_probability_rows(
        0.3, n_pre, n_post, same, allow, g, lo, hi, count_all=False),
    "fixed_number_pre": lambda n_pre, n_post, same, allow, g, lo, hi: connectors.fixed_number_pre_rows(
        4, n_pre, n_post, same, allow, g, lo, hi),
    "fixed_number_post": lambda n_pre, n_post, same, allow, g, lo, hi: connectors.fixed_number_post_rows(
        4, n_pre, n_post, same, allow, g, lo, hi),
    "all_to_all": lambda n_pre, n_post, same, allow, g, lo, hi: connectors.all_to_all_rows(
        n_pre, n_post, same, allow, lo, hi),
}
WHOLE = {
    "fixed_probability": lambda n_pre, n_post, same, allow, g: connectors.fixed_probability(
        0.3, n_pre, n_post, same, allow, g),
    "fixed_number_pre": lambda n_pre, n_post, same, allow, g: connectors.fixed_number_pre(
        4, n_pre, n_post, same, allow, g),
    "fixed_number_post": lambda n_pre, n_post, same, allow, g: connectors.fixed_number_post(
        4, n_pre, n_post, same, allow, g),
    "all_to_all": lambda n_pre, n_post, same, allow, g: connectors.all_to_all(n_pre, n_post, same, allow),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("n_pre, n_post, same, allow", [(13, 11, False, False), (12, 12, True, False),
                                                        (12, 12, True, True), (7, 5, False, True)])
def test_the_rows_of_every_block_put_together_are_the_whole_pattern(name, n_pre, n_post, same, allow):
    post, pre = WHOLE[name.replace("_to_row_hi", "")](n_pre, n_post, same, allow, rng())
    assert len(post) > 5 and np.all(np.diff(post) >= 0)
    for split in blocks(n_post):
        parts = [RANDOM[name](n_pre, n_post, same, allow, rng(), lo, hi) for lo, hi in split]
        assert np.array_equal(np.concatenate([p.post for p in parts]), post)
        assert np.array_equal(np.concatenate([p.pre for p in parts]), pre)
        firsts = np.cumsum([0] + [len(p.post) for p in parts])[:-1]
        assert [p.first for p in parts] == firsts.tolist()
        if name.endswith("_to_row_hi"):
            assert all(p.total is None for p in parts)
        else:
            assert all(p.total == len(post) for p in parts)
        for (lo, hi), part in zip(split, parts):
            assert np.all((part.post >= lo) & (part.post < hi))


def test_one_to_one_rows_and_the_size_check():
    assert connectors.one_to_one_rows(6, 6, 2, 5).post.tolist() == [2, 3, 4]
    assert connectors.one_to_one_rows(6, 6, 2, 5)[2:] == (2, 6)
    with pytest.raises(StructureError, match="same size"):
        connectors.one_to_one_rows(5, 6, 0, 6)
    with pytest.raises(ValueError, match="post rows"):
        connectors.one_to_one_rows(6, 6, 4, 7)


def test_fixed_probability_stops_drawing_at_the_block_end_unless_the_whole_count_is_needed(monkeypatch):
    monkeypatch.setattr(connectors, "GAP_CHUNK", 100)  # chunks much smaller than the synapses
    stopped, counted = rng(), rng()
    early = connectors.fixed_probability_rows(0.2, 400, 300, False, False, stopped, 0, 30, count_all=False)
    whole = connectors.fixed_probability_rows(0.2, 400, 300, False, False, counted, 0, 30, count_all=True)
    assert np.array_equal(early.pre, whole.pre) and np.array_equal(early.post, whole.post)
    assert early.total is None and whole.total > 9 * len(whole.post)
    # the stream is the same: a generator that ran to the end has drawn more of it
    left, right = stopped.bit_generator.state["state"]["state"], counted.bit_generator.state["state"]["state"]
    assert left != right


def test_data_connectors_cut_to_the_block_give_the_whole_rows_and_check_every_delay():
    dense, delays = matrices()
    sparse = scipy.sparse.csr_matrix(np.nan_to_num(dense.T, nan=0.0))
    sparse_delays = scipy.sparse.csr_matrix(np.where(sparse.toarray() != 0, delays.T, 0.0))
    listed = [(int(j), int(i), float(dense[i, j]), float(delays[i, j])) for i, j in zip(*np.nonzero(~np.isnan(dense)))]
    cases = {"matrix": (connectors.from_matrix, connectors.from_matrix_rows, (dense,), {"delays": delays}),
             "sparse": (connectors.from_sparse, connectors.from_sparse_rows, (sparse,), {"delays": sparse_delays}),
             "list": (connectors.from_list, connectors.from_list_rows, (listed[::-1],), {})}
    for name, (whole_fn, rows_fn, args, options) in cases.items():
        whole = whole_fn(*args, 9, 7, **options)
        for split in blocks(7):
            seen = []
            parts = [rows_fn(*args, 9, 7, lo, hi, check=seen.append, **options) for lo, hi in split]
            for k in range(4):
                assert np.array_equal(np.concatenate([p[k] for p in parts]), whole[k]), (name, k)
            assert [p[4] for p in parts] == np.cumsum([0] + [len(p[0]) for p in parts])[:-1].tolist()
            assert all(p[5] == len(whole[0]) for p in parts)
            if len(split) > 1:  # the other rows' delays were all given to the check
                assert sum(len(d) for d in seen) == (len(split) - 1) * len(whole[0])


DISTRIBUTIONS = [Uniform(-1.0, 2.0), Uniform(3.0, 3.0), DiscreteUniform(2, 9), Normal(0.5, 2.0, min=-1.0),
                 LogNormal(0.0, 0.5), Exponential(2.0), Gamma(0.7, 2.0), Binomial(10, 0.3)]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=repr)
@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.MT19937])
def test_draw_part_is_the_slice_of_the_whole_draw_and_finish_leaves_the_generator_where_the_whole_does(
        distribution, bits, monkeypatch):
    from gpunet.network import distributions
    monkeypatch.setattr(distributions, "SKIP_CHUNK", 1000)  # several chunks in a skip
    size = 5003

    def generator():
        return np.random.Generator(bits(77))
    whole_generator = generator()
    whole = distribution.draw(whole_generator, size)
    after = whole_generator.uniform(size=4)
    for start, stop in ((0, size), (0, 0), (1234, 3456), (4999, 5003), (size, size)):
        part_generator = generator()
        part = distribution.draw_part(part_generator, size, start, stop, finish=True)
        assert np.array_equal(part, whole[start:stop])
        assert np.array_equal(part_generator.uniform(size=4), after)
    with pytest.raises(ValueError, match="start <= stop <= size"):
        distribution.draw_part(generator(), 10, 5, 11)


# -- projections of a network under comm ------------------------------------------------------------------------
MPI = pytest.importorskip("mpi4py.MPI")


class RankOf:
    """A communicator's rank and size alone: enough for what a network does before compile (no collective)."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size

    def Get_rank(self):  # noqa: N802 - mpi4py's names
        return self.rank

    def Get_size(self):  # noqa: N802
        return self.size

    def allgather(self, value):
        raise AssertionError("no collective before compile")

    def allreduce(self, value, op=None):
        raise AssertionError("no collective before compile")


def test_every_connector_under_a_one_process_comm_builds_per_block_and_equals_the_plain_build():
    plain, alone = every_connector(), every_connector(MPI.COMM_SELF)
    assert all(p.builds_per_block for p in alone.projections)
    alone.compile()
    assert not any(p.builds_per_block for p in alone.projections)
    for mine, reference in zip(alone.projections, plain.projections):
        assert mine.w == reference.w and mine.delays == reference.delays, mine.name
        assert all(np.array_equal(x, y) for x, y in zip(mine.connectivity(), reference.connectivity()))
    # the draws after the connectors are the plain network's too
    for net in (plain, alone):
        net.get_population("a").v = gn.Normal(-65.0, 3.0)
    assert np.array_equal(alone.get_population("a").v, plain.get_population("a").v)


def test_what_reads_the_synapses_before_compile_gets_the_whole_projection_and_globals_do_not_build_it(tmp_path):
    plain, alone = every_connector(), every_connector(MPI.COMM_SELF)
    stdp = alone.get_projection("all")
    stdp.A_plus = 0.02  # a global: set and read without making the synapses
    assert stdp.A_plus == 0.02 and stdp.builds_per_block
    alone.monitor(stdp, ["w"])  # nor do a monitor, a description or a parameter file
    assert "synapses made at compile" in repr(stdp) and "synapses made at compile" in stdp._repr_html_()
    alone.save_parameters(tmp_path / "p.json")
    assert stdp.builds_per_block
    assert stdp.w == plain.get_projection("all").w  # a read makes the whole projection, as without comm
    assert not stdp.builds_per_block and stdp.A_plus == 0.02
    assert alone.get_projection("prob").nb_synapses == plain.get_projection("prob").nb_synapses
    alone.compile()
    assert alone.get_projection("all").delays == plain.get_projection("all").delays
    assert alone.get_projection("prob").w == plain.get_projection("prob").w


def test_float32_weights_are_cast_as_the_whole_build_casts_them():
    plain, alone = every_connector(precision="float32"), every_connector(MPI.COMM_SELF, precision="float32")
    alone.compile()
    for mine, reference in zip(alone.projections, plain.projections):
        assert mine.w == reference.w, mine.name


def test_connectors_that_need_the_whole_build_still_build_whole_under_comm():
    net = gn.Network(backend="numpy", seed=3, runner="numpy", comm=MPI.COMM_SELF)
    a = net.create(10, gn.Izhikevich, name="a")
    view = net.connect(a[2:8], a, "exc", name="view")
    view.connect_fixed_probability(0.5, 0.1)
    arrays = net.connect(a, a, "inh", name="arrays")
    arrays.connect_one_to_one(np.arange(10) * 0.1)
    unbounded = net.connect(a, a, "exc", name="unbounded")
    unbounded.connect_fixed_number_pre(2, 0.1, delays=gn.Exponential(2.0))
    assert not any(p.builds_per_block for p in net.projections)


def test_bad_arguments_fail_at_the_connect_call_on_every_process_and_leave_the_projection_unconnected():
    for rank in range(3):
        net = gn.Network(backend="numpy", seed=3, runner="numpy", comm=RankOf(rank, 3))
        a = net.create(10, gn.Izhikevich, name="a")
        proj = net.connect(a, a, "exc", name="p")
        with pytest.raises(ValueError, match="probability"):
            proj.connect_fixed_probability(1.5)
        with pytest.raises(ValueError, match="number must be"):
            proj.connect_fixed_number_pre(10)  # 9 others at most (no self-connections)
        with pytest.raises(ValueError, match="number must be"):
            proj.connect_fixed_number_post(11, allow_self_connections=True)
        with pytest.raises(TypeError, match="values must be numbers"):
            proj.connect_all_to_all(weights="heavy")
        with pytest.raises(StructureError, match="outside"):  # on the rows of one process only
            proj.connect_from_list([(0, 1, 0.5), (3, 10, 0.5)])
        delays = np.full((10, 10), 2.0)
        delays[9, 0] = -1.0  # a bad delay in the last process's rows
        with pytest.raises(StructureError, match="finite and non-negative"):
            proj.connect_from_matrix(np.ones((10, 10)), delays=delays)
        assert not proj.connected and proj.builds_per_block is False


def test_a_projection_from_data_keeps_its_block_only_and_refuses_a_whole_read_before_compile():
    net = gn.Network(backend="numpy", seed=3, runner="numpy", comm=RankOf(1, 3))
    a = net.create(10, gn.Izhikevich, name="a")
    proj = net.connect(a, a, "exc", name="p")
    proj.connect_from_matrix(np.arange(100.0).reshape(10, 10))
    assert proj.builds_per_block
    with pytest.raises(StructureError, match=r"'p'.*rows of this process's post neurons \[4, 7\].*after compile"):
        proj.w  # noqa: B018
    assert proj.builds_per_block  # nothing changed
    random = net.connect(a, a, "inh", name="q")
    random.connect_fixed_probability(0.5, gn.Uniform(0.0, 1.0))
    plain = gn.Network(backend="numpy", seed=3, runner="numpy")
    b = plain.create(10, gn.Izhikevich, name="a")
    plain.connect(b, b, "exc", name="p").connect_from_matrix(np.arange(100.0).reshape(10, 10))
    reference = plain.connect(b, b, "inh", name="q")
    reference.connect_fixed_probability(0.5, gn.Uniform(0.0, 1.0))
    assert random.w == reference.w  # a random connector builds whole when asked before compile
