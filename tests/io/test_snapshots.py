"""Periodic snapshots, rotation, cleanup of interrupted saves, resuming from the newest valid one."""
import warnings

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import state_npz
from gpunet.io.snapshots import SnapshotWarning

from helpers import assert_same_state, small_network, snapshot


def test_simulate_takes_periodic_snapshots_and_keeps_the_last_n(tmp_path):
    net = small_network()
    net.simulate(100.0, snapshot_every=20.0, snapshot_dir=tmp_path, keep_last=2)
    assert [step for step, _ in gn.list_snapshots(tmp_path)] == [80, 100]
    assert gn.read_state(tmp_path / "snapshot-000000000100.npz").step == 100


def test_snapshotter_object_and_temporary_cleanup(tmp_path):
    leftover = tmp_path / ".snapshot-000000000010.npz.ab12cd34.gpunet-tmp"
    leftover.write_bytes(b"half a file")
    net = small_network()
    net.compile()
    snapshotter = gn.Snapshotter(net, tmp_path, every=5.0, keep_last=3)
    assert snapshotter.removed_temporaries == [leftover] and not leftover.exists()
    for _ in range(20):
        net.step()
        snapshotter.after_step()
    snapshotter.close()
    assert [step for step, _ in gn.list_snapshots(tmp_path)] == [10, 15, 20]


def test_resume_from_latest_is_restart_equivalent(tmp_path):
    straight = small_network(seed=21)
    straight.simulate(90.0)
    run = small_network(seed=21)
    run.simulate(60.0, snapshot_every=30.0, snapshot_dir=tmp_path)
    resumed = small_network(seed=21)
    assert gn.load_latest(tmp_path, network=resumed) == tmp_path / "snapshot-000000000060.npz"
    resumed.simulate(30.0)
    assert_same_state(snapshot(straight), snapshot(resumed))


def test_load_latest_skips_corrupt_snapshots_with_a_warning(tmp_path):
    net = small_network()
    net.simulate(30.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=5)
    newest = tmp_path / "snapshot-000000000030.npz"
    newest.write_bytes(newest.read_bytes()[:500])  # torn
    fresh = small_network()
    with pytest.warns(SnapshotWarning, match="skipping unreadable snapshot .*000000000030"):
        loaded = gn.load_latest(tmp_path, network=fresh)
    assert loaded.name == "snapshot-000000000020.npz" and fresh.get_current_step() == 20


def test_load_latest_without_snapshots_is_format_error(tmp_path):
    with pytest.raises(FormatError, match="no readable snapshot"):
        gn.load_latest(tmp_path, network=small_network())


def test_failed_snapshots_are_reported_at_the_end_of_the_run(tmp_path, monkeypatch):
    net = small_network()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_npz, "write", disk_full)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnapshotWarning)
        with pytest.raises(OSError, match="No space left"):
            net.simulate(30.0, snapshot_every=10.0, snapshot_dir=tmp_path)
    assert net.get_current_step() == 30  # the run itself went on
    assert gn.list_snapshots(tmp_path) == []


def test_snapshot_options_are_validated(tmp_path):
    net = small_network()
    with pytest.raises(ValueError, match="snapshot_every"):
        net.simulate(10.0, snapshot_dir=tmp_path)
    with pytest.raises(ValueError, match="keep_last"):
        net.simulate(10.0, snapshot_every=5.0, snapshot_dir=tmp_path, keep_last=0)


def test_rotation_never_deletes_the_newest_complete_snapshot(tmp_path):
    net = small_network()
    net.compile()
    snapshotter = gn.Snapshotter(net, tmp_path, every=1.0, keep_last=1)
    for k in range(5):
        net.step()
        handle = snapshotter.snapshot()
        complete = gn.list_snapshots(tmp_path)
        if k > 0:  # once the first one is committed, one complete snapshot exists at every moment
            assert complete
        handle.result()
    snapshotter.close()
    assert [s for s, _ in gn.list_snapshots(tmp_path)] == [5]
    assert np.isfinite(gn.read_state(tmp_path / "snapshot-000000000005.npz").populations[0].values["v"]).all()
