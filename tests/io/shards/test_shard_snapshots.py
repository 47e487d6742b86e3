"""Periodic snapshots as ``.shards`` folders: rotation, torn folders, load_latest (one process)."""
import sys
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.formats import state_shards

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402


def test_sharded_snapshots_rotate_and_the_newest_restores_bit_identically(tmp_path):
    net = small_network(seed=7, neurons=30)
    snapshots = gn.Snapshotter(net, tmp_path, every=5.0, keep_last=2, sharded=True)
    net.simulate(20.0, snapshotter=snapshots)
    snapshots.close()
    listed = gn.list_snapshots(tmp_path)
    assert [(step, path.suffix) for step, path in listed] == [(15, ".shards"), (20, ".shards")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for _, p in listed)  # rotated folders gone
    # a torn snapshot (shards written, the manifest never committed) is not a snapshot
    torn = tmp_path / f"snapshot-{snapshots.run}-000000000025.shards"
    torn.mkdir()
    (torn / "shard-0123456789abcdef-00000.npz").write_bytes(b"partial")
    assert [step for step, _ in gn.list_snapshots(tmp_path)] == [15, 20]
    # ... and one abandoned below the newest committed step (its save failed or its process died) goes at the
    # next rotation, while the one above it (it may still be being written) stays
    abandoned = tmp_path / f"snapshot-{snapshots.run}-000000000017.shards"
    abandoned.mkdir()
    (abandoned / "shard-0123456789abcdef-00000.npz").write_bytes(b"partial")
    assert abandoned in snapshots.rotate()
    assert not abandoned.exists() and torn.exists()
    fresh = small_network(seed=7, neurons=30)
    assert gn.load_latest(tmp_path, network=fresh) == listed[-1][1]
    assert_same_state(snapshot(fresh), snapshot(net))
    net.simulate(10.0)
    fresh.simulate(10.0)
    assert_same_state(snapshot(fresh), snapshot(net))


def test_load_latest_skips_a_sharded_snapshot_with_a_damaged_shard(tmp_path):
    net = small_network(seed=7, neurons=30)
    snapshots = gn.Snapshotter(net, tmp_path, every=5.0, keep_last=3, sharded=True)
    net.simulate(10.0, snapshotter=snapshots)
    snapshots.close()
    newest = gn.list_snapshots(tmp_path)[-1][1]
    shard = newest / state_shards.read_manifest(newest)["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:-10])
    fresh = small_network(seed=7, neurons=30)
    with pytest.warns(gn.SnapshotWarning, match="shard 0 holds .* bytes"):
        loaded = gn.load_latest(tmp_path, network=fresh)
    assert loaded == gn.list_snapshots(tmp_path)[0][1] and fresh.get_current_step() == 5


def test_several_processes_cannot_snapshot_into_single_files(tmp_path):
    class TwoProcesses:
        def Get_size(self):
            return 2

    with pytest.raises(ValueError, match="2 processes snapshot into .shards folders"):
        gn.Snapshotter(small_network(neurons=10), tmp_path / "never", every=5.0, comm=TwoProcesses(), sharded=False)
    assert not (tmp_path / "never").exists()


class _TwoProcessesAllWell:
    """Process 0 of two whose partner agrees with everything it is told."""

    def Get_size(self):
        return 2

    def Get_rank(self):
        return 0

    def bcast(self, value, root=0):
        return value

    def allgather(self, value):
        return [value, None]


def test_load_latest_of_processes_together_loads_process_0s_choice_or_fails_on_all(tmp_path):
    from gpunet.errors import FormatError
    net = small_network(seed=7, neurons=30)
    snapshots = gn.Snapshotter(net, tmp_path, every=5.0, keep_last=2, sharded=True)
    net.simulate(10.0, snapshotter=snapshots)
    snapshots.close()
    assert [(step, path.suffix) for step, path in gn.list_snapshots(tmp_path)] == [(5, ".shards"), (10, ".shards")]
    fresh = small_network(seed=7, neurons=30)
    assert gn.load_latest(tmp_path, network=fresh, comm=_TwoProcessesAllWell()) == gn.list_snapshots(tmp_path)[-1][1]
    assert_same_state(snapshot(fresh), snapshot(net))
    with pytest.raises(FormatError, match="no readable snapshot"):
        gn.load_latest(tmp_path / "empty", network=fresh, comm=_TwoProcessesAllWell())
