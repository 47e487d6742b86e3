"""Periodic snapshots, rotation, cleanup of interrupted saves, resuming from the newest valid one."""
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import state_npz
from gpunet.io.snapshots import SnapshotWarning

from helpers import assert_same_state, small_network, snapshot


def abandoned_temporary(target):
    """A temporary of ``target`` left by a process that has exited (written by a real child process)."""
    code = ("import sys; from gpunet.io.storage.temporaries import temporary_path; p = temporary_path(sys.argv[1]); "
            "p.write_bytes(b'half a file'); print(p)")
    result = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True)
    from pathlib import Path
    return Path(result.stdout.strip())


def test_simulate_takes_periodic_snapshots_and_keeps_the_last_n(tmp_path):
    net = small_network()
    net.simulate(100.0, snapshot_every=20.0, snapshot_dir=tmp_path, keep_last=2)
    assert [step for step, _ in gn.list_snapshots(tmp_path)] == [80, 100]
    newest = gn.list_snapshots(tmp_path)[-1][1]
    assert re.fullmatch(r"snapshot-\d{8}T\d{6}Z[0-9a-f]{6}-000000000100\.npz", newest.name)
    assert gn.read_state(newest).step == 100


def test_snapshotter_object_and_temporary_cleanup(tmp_path):
    leftover = abandoned_temporary(tmp_path / "snapshot-000000000010.npz")
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
    assert gn.load_latest(tmp_path, network=resumed) == gn.list_snapshots(tmp_path)[-1][1]
    assert resumed.get_current_step() == 60
    resumed.simulate(30.0)
    assert_same_state(snapshot(straight), snapshot(resumed))


def test_load_latest_skips_corrupt_snapshots_with_a_warning(tmp_path):
    net = small_network()
    net.simulate(30.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=5)
    newest = gn.list_snapshots(tmp_path)[-1][1]
    newest.write_bytes(newest.read_bytes()[:500])  # torn
    fresh = small_network()
    with pytest.warns(SnapshotWarning, match="skipping unreadable snapshot .*000000000030"):
        loaded = gn.load_latest(tmp_path, network=fresh)
    assert loaded.name.endswith("-000000000020.npz") and fresh.get_current_step() == 20


def test_load_latest_that_does_not_fit_leaves_an_uncompiled_network_uncompiled(tmp_path):
    net = small_network(neurons=60)
    net.simulate(10.0, snapshot_every=10.0, snapshot_dir=tmp_path)
    other = small_network(neurons=61)  # a network the snapshot does not fit, not compiled yet
    assert not other.compiled
    with pytest.raises(gn.StructureError, match="expected size 61"):
        gn.load_latest(tmp_path, network=other)
    assert not other.compiled
    other.create(5, gn.Izhikevich, name="added_after_the_failed_load")  # still buildable


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
    assert np.isfinite(gn.read_state(snapshotter.path_for(5)).populations[0].values["v"]).all()
