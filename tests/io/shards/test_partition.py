"""The partition of neurons and synapses over processes: contiguous blocks, synapses with their post neuron."""
import numpy as np
import pytest

from gpunet.io.pipeline.partition import Partition, block_bounds, block_of, owner_of, synapse_block


@pytest.mark.parametrize("size", [0, 1, 2, 7, 10, 100, 1001])
@pytest.mark.parametrize("nprocs", [1, 2, 3, 4, 7])
def test_blocks_cover_every_neuron_once_in_order_and_differ_by_at_most_one(size, nprocs):
    bounds = block_bounds(size, nprocs)
    assert bounds[0] == 0 and bounds[-1] == size and len(bounds) == nprocs + 1
    counts = np.diff(bounds)
    assert (counts >= 0).all() and counts.max() - counts.min() <= 1
    assert (np.diff(counts) <= 0).all()  # the larger blocks come first
    assert [len(a) for a in np.array_split(np.arange(size), nprocs)] == counts.tolist()
    owners = owner_of(np.arange(size), size, nprocs)
    for rank in range(nprocs):
        lo, hi = block_of(size, nprocs, rank)
        assert (lo, hi) == (bounds[rank], bounds[rank + 1])
        assert (owners[lo:hi] == rank).all()


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="processes must be >= 1"):
        block_bounds(10, 0)
    with pytest.raises(ValueError, match="size must be >= 0"):
        block_bounds(-1, 2)
    with pytest.raises(ValueError, match=r"rank 3 is not in \[0, 3\)"):
        block_of(10, 3, 3)
    with pytest.raises(ValueError, match=r"lie in \[0, 10\)"):
        owner_of(np.array([10]), 10, 2)
    with pytest.raises(ValueError, match="rank -1"):
        Partition.of({"a": 4}, 2).rows("a", -1)


def test_synapse_blocks_follow_the_post_neurons_and_cover_every_synapse_once():
    rng = np.random.default_rng(3)
    post_size = 23
    post_ranks = np.flatnonzero(rng.random(post_size) < 0.6)
    row_ptr = np.concatenate(([0], np.cumsum(rng.integers(1, 5, len(post_ranks)))))
    post_of_synapse = np.repeat(post_ranks, np.diff(row_ptr))
    for nprocs in (1, 2, 3, 5, 30):
        bounds = block_bounds(post_size, nprocs)
        ends = []
        for rank in range(nprocs):
            r0, r1, s0, s1 = synapse_block(post_ranks, row_ptr, bounds[rank], bounds[rank + 1])
            assert ((post_of_synapse[s0:s1] >= bounds[rank]) & (post_of_synapse[s0:s1] < bounds[rank + 1])).all()
            assert post_ranks[r0:r1].tolist() == [p for p in post_ranks if bounds[rank] <= p < bounds[rank + 1]]
            ends.append((s0, s1))
        assert ends[0][0] == 0 and ends[-1][1] == row_ptr[-1]
        assert all(a[1] == b[0] for a, b in zip(ends, ends[1:]))
        owners = owner_of(post_of_synapse, post_size, nprocs)
        assert [int((owners == r).sum()) for r in range(nprocs)] == [s1 - s0 for s0, s1 in ends]


def test_a_partition_holds_the_blocks_of_every_population():
    part = Partition.of({"exc": 10, "inh": 3, "empty": 0}, 4)
    assert [part.rows("exc", r) for r in range(4)] == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert [part.rows("inh", r) for r in range(4)] == [(0, 1), (1, 2), (2, 3), (3, 3)]
    assert [part.rows("empty", r) for r in range(4)] == [(0, 0)] * 4
