"""Monitors' recordings in ``.shards`` folders: each shard holds its rows' recordings; joined, they are one
process's; cut for M processes, each gets its rows' (the MPI runs are in tests/network/test_mpi_engine.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import shard_blocks, state_npz, state_shards
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut, join

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "network" / "mpi"))
from engine_network import build, results  # noqa: E402
from state_examples import assert_states_equal  # noqa: E402


def assert_recordings_equal(a, b) -> None:
    assert [m.name for m in a.monitors] == [m.name for m in b.monitors]
    for x, y in zip(a.monitors, b.monitors):
        assert (x.target, x.target_kind, x.variables, x.period_steps, x.offset_steps, x.recording,
                x.session_start, x.session_stop, tuple(x.window)) == (
            y.target, y.target_kind, y.variables, y.period_steps, y.offset_steps, y.recording,
            y.session_start, y.session_stop, tuple(y.window)), x.name
        assert list(x.arrays) == list(y.arrays), x.name
        for key in x.arrays:
            assert x.arrays[key].dtype == y.arrays[key].dtype, (x.name, key)
            assert np.array_equal(x.arrays[key], y.arrays[key]), (x.name, key)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The engine-test network after 40 ms (a view recording out of order, a projection with a semiglobal
    variable, rate-coded views), its monitors paused and resumed once, saved with its recordings."""
    folder = tmp_path_factory.mktemp("recordings")
    net = build(None)
    net.simulate(25.0)
    net.monitors[6].pause()  # m_view
    net.simulate(5.0)
    net.monitors[6].resume()
    net.simulate(10.0)
    net.save(folder / "one.npz", monitors=True)
    return folder, net


def _sizes(state):
    return {pop.name: pop.size for pop in state.populations}


@pytest.mark.parametrize("nprocs", [1, 3])
def test_shards_hold_their_rows_recordings_and_join_into_one_processs(saved, tmp_path, monkeypatch, nprocs):
    folder, _ = saved
    monkeypatch.setattr(shard_blocks, "BLOCK_BYTES", 256)
    whole = gn.read_state(folder / "one.npz")
    assert len(whole.monitors) == 8 and all(m.arrays for m in whole.monitors)
    path = tmp_path / "m.shards"
    state_shards.save(path, whole, nprocs=nprocs)
    joined = gn.read_state(path)
    assert_states_equal(joined, whole)
    assert_recordings_equal(joined, whole)
    # converted, the folder is the one-process file, byte for byte
    assert state_npz.dumps(joined) == state_npz.dumps(whole)
    for reading in (2, 4):
        partition = Partition.of(_sizes(whole), reading)
        parts = [state_shards.read_rows(path, reading, rank) for rank in range(reading)]
        for rank, part in enumerate(parts):
            assert_recordings_equal(part, cut(whole, partition, rank))
        assert_recordings_equal(join(parts), whole)
    # a shard's view monitor holds the view's neurons of its rows, in the view's order, at their positions
    if nprocs == 3:
        shard = gn.read_state(path / state_shards.read_manifest(path)["shards"][1]["file"])
        view = next(m for m in shard.monitors if m.name == "m_view")
        ranks = view.arrays["ranks"]
        lo, hi = shard.annotations["rows"]["exc"]
        held = np.flatnonzero((ranks >= lo) & (ranks < hi))
        assert view.arrays["values.v"].shape[1] == len(held) > 0
        index = view.arrays["spike.index"]
        assert len(index) and set(index.tolist()) <= set(held.tolist())


def test_a_network_loads_recordings_of_a_folder_and_records_on_as_if_never_stopped(saved, tmp_path):
    folder, net = saved
    path = tmp_path / "m.shards"
    net.save(path, monitors=True)
    net.simulate(20.0)
    expected = results(net)
    for source in (path, folder / "one.npz"):  # a semiglobal variable's recordings (m_sums.a) load too
        fresh = build(None)
        fresh.load(source)
        fresh.simulate(20.0)
        found = results(fresh)
        assert sorted(found) == sorted(expected)
        for key in expected:
            assert np.array_equal(found[key], expected[key]), (source, key)


def test_recordings_of_an_object_the_state_lacks_cannot_be_cut(saved, tmp_path):
    folder, net = saved
    net.save(tmp_path / "pops.npz", projections=False, monitors=True)
    state = gn.read_state(tmp_path / "pops.npz")
    with pytest.raises(FormatError, match="monitor 'm_oja': records projection 'oja', which the state lacks"):
        cut(state, Partition.of(_sizes(state), 2), 0)
