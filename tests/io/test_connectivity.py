"""gpunet.io.pipeline.connectivity: the one compressed-connectivity type (validate, sorted, from_synapses, duplicate)."""
import numpy as np
import pytest

from gpunet.errors import StructureError
from gpunet.io.pipeline.connectivity import Connectivity


def conn(post_ranks, row_ptr, pre_ranks) -> Connectivity:
    return Connectivity(np.asarray(post_ranks, dtype=np.int64), np.asarray(row_ptr, dtype=np.int64),
                        np.asarray(pre_ranks, dtype=np.int64))


def test_a_well_formed_connectivity_validates_and_is_its_own_sorted_form():
    good = conn([0, 2], [0, 2, 3], [1, 4, 0])
    good.validate(pre_size=5, post_size=3)
    assert good.sorted() == (good, None)
    assert good.post_per_synapse().tolist() == [0, 0, 2]
    assert good.nb_synapses == 3 and good.duplicate() is None


@pytest.mark.parametrize("arrays, message", [
    (([0, 2], [0, 2], [1, 4]), "row pointer does not match"),
    (([0, 2], [1, 2, 3], [1, 4, 0]), "row pointer does not match"),
    (([0, 2], [0, 3, 2], [1, 4, 0]), "row pointer does not match"),
    (([0, 3], [0, 2, 3], [1, 4, 0]), r"post ranks must lie in \[0, 3\), found \[0, 3\]"),
    (([-1, 2], [0, 2, 3], [1, 4, 0]), "post ranks must lie"),
    (([2, 0], [0, 2, 3], [1, 4, 0]), "strictly ascending"),
    (([0, 0], [0, 2, 3], [1, 4, 0]), "strictly ascending"),
    (([0, 2], [0, 2, 3], [1, 5, 0]), r"pre ranks must lie in \[0, 5\), found \[0, 5\]"),
    (([0, 2], [0, 2, 3], [4, 4, 0]), "a \\(pre, post\\) pair appears twice"),
    (([0, 2], [0, 3, 4], [4, 1, 4, 0]), "a \\(pre, post\\) pair appears twice"),  # found after sorting the row
])
def test_validate_names_the_first_problem(arrays, message):
    with pytest.raises(StructureError, match=message):
        conn(*arrays).validate(pre_size=5, post_size=3)


def test_validate_wants_1d_integer_arrays_and_rows_only_checks_the_row_pointer():
    with pytest.raises(StructureError, match="pre_ranks must be a 1-D integer array, found float64"):
        Connectivity(np.array([0]), np.array([0, 1]), np.array([1.0])).validate()
    with pytest.raises(StructureError, match="post_ranks must be a 1-D integer array"):
        Connectivity(np.array([[0]]), np.array([0, 1]), np.array([1])).validate()
    conn([2, 0], [0, 1, 2], [9, 9]).validate(rows_only=True)  # out of range, unsorted: not a row problem
    with pytest.raises(StructureError, match="row pointer"):
        conn([0], [0, 2], [1]).validate(rows_only=True)
    conn([0], [0, 1], [7]).validate()  # sizes None: not bounded


def test_sorted_orders_pre_ranks_within_rows_and_merges_rows_of_one_post_rank():
    unsorted = conn([3, 1, 3], [0, 2, 3, 4], [5, 2, 7, 0])
    result, order = unsorted.sorted()
    assert result.post_ranks.tolist() == [1, 3]
    assert result.row_ptr.tolist() == [0, 1, 4]
    assert result.pre_ranks.tolist() == [7, 0, 2, 5]
    assert order.tolist() == [2, 3, 1, 0]
    values = np.array([10.0, 11.0, 12.0, 13.0])
    assert values[order].tolist() == [12.0, 13.0, 11.0, 10.0]  # a per-synapse array follows with ``order``


def test_from_synapses_sorts_post_major_and_finds_a_pair_given_twice():
    result, order = Connectivity.from_synapses(np.array([2, 0, 2, 0]), np.array([1, 3, 0, 3]))
    assert (result.post_ranks.tolist(), result.row_ptr.tolist(), result.pre_ranks.tolist()) == \
        ([0, 2], [0, 2, 4], [3, 3, 0, 1])
    assert order.tolist() == [1, 3, 2, 0]
    assert result.duplicate() == 0
    empty, order = Connectivity.from_synapses(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert empty.nb_synapses == 0 and empty.row_ptr.tolist() == [0] and order.tolist() == []
    empty.validate(pre_size=0, post_size=0)
