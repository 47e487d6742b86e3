"""Cutting a state into the rows of each process and joining the parts back: exact, for every N."""
import sys
from pathlib import Path

import numpy as np
import pytest

from gpunet.errors import FormatError
from gpunet.io.pipeline.gather import gather_state
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut, cut_rows, join, rows_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import small_network  # noqa: E402
from state_examples import assert_states_equal, example_state  # noqa: E402


def _sizes(state):
    return {pop.name: pop.size for pop in state.populations}


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4, 7, 25])
@pytest.mark.parametrize("uniform_delay", [True, False])
def test_cut_then_join_gives_back_the_state(nprocs, uniform_delay):
    state = example_state(uniform_delay=uniform_delay)
    partition = Partition.of(_sizes(state), nprocs)
    parts = [cut(state, partition, rank) for rank in range(nprocs)]
    for rank, part in enumerate(parts):
        assert rows_of(part) == {name: partition.rows(name, rank) for name in _sizes(state)}
        lo, hi = partition.rows("inh", rank)
        proj = part.projections[0]
        assert ((proj.post_ranks >= lo) & (proj.post_ranks < hi)).all()
        assert proj.row_ptr[0] == 0 and proj.row_ptr[-1] == proj.nb_synapses
        exc_lo, exc_hi = partition.rows("exc", rank)
        np.testing.assert_array_equal(part.populations[0].values["v"], state.populations[0].values["v"][exc_lo:exc_hi])
        np.testing.assert_array_equal(part.populations[0].internal["_spike_history"],
                                      state.populations[0].internal["_spike_history"][:, exc_lo:exc_hi])
        assert part.populations[0].values["a"].shape == ()  # globals whole on every process
    whole = join(parts)
    assert_states_equal(whole, state)
    # consecutive parts join into the rows of both
    if nprocs >= 3:
        middle = join(parts[1:3])
        assert rows_of(middle)["exc"] == (partition.rows("exc", 1)[0], partition.rows("exc", 2)[1])


def test_a_network_state_with_spike_sources_cuts_and_joins_exactly():
    import gpunet as gn
    net = small_network(neurons=30)
    src = gn.SpikeSourceArray([[1.0, 5.0], [], [2.0], [3.0, 4.0, 9.0]], name="src", network=net)
    net.connect(src, net.populations[0], "exc").connect_all_to_all(weights=0.5, delays=gn.Uniform(1.0, 3.0))
    net.simulate(20.0)
    state = gather_state(net)
    for nprocs in (1, 2, 3, 4):
        partition = Partition.of(_sizes(state), nprocs)
        parts = [cut(state, partition, rank) for rank in range(nprocs)]
        assert_states_equal(join(parts), state)
        times = [p.population("src").internal["_spike_times"].tolist() for p in parts]
        assert sum(times, []) == [1.0, 5.0, 2.0, 3.0, 4.0, 9.0]


def test_cut_rows_of_a_part_takes_a_subset_of_its_rows():
    state = example_state()
    partition = Partition.of(_sizes(state), 2)
    part = cut(state, partition, 1)  # exc rows [10, 20), inh rows [6, 12)
    sub = cut_rows(part, {"exc": (12, 15), "inh": (6, 8)})
    direct = cut_rows(state, {"exc": (12, 15), "inh": (6, 8)})
    assert_states_equal(sub, direct)
    with pytest.raises(FormatError, match=r"population 'exc': rows \[5, 15\) are not among the rows held \[10, 20\)"):
        cut_rows(part, {"exc": (5, 15), "inh": (6, 8)})
    with pytest.raises(FormatError, match=r"no rows given for population\(s\) \['inh'\]"):
        cut_rows(state, {"exc": (0, 1)})


def test_join_refuses_parts_that_do_not_fit():
    state = example_state()
    partition = Partition.of(_sizes(state), 3)
    parts = [cut(state, partition, rank) for rank in range(3)]
    with pytest.raises(FormatError, match="C: rows of 'exc' do not follow"):
        join([parts[0], parts[2]], ["A", "C"])
    other = example_state(seed=5)
    other.populations[0].values["a"] = np.array(0.5)
    bad = cut(other, partition, 1)
    with pytest.raises(FormatError, match=r"B: population 'exc', array 'a'.*differs from A's"):
        join([parts[0], bad], ["A", "B"])
    with pytest.raises(FormatError, match="not a part of a sharded state"):
        rows_of(state)
