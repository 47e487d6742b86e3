"""Snapshot folders shared between saves, runs and processes (issue 18, class 6).

Run identities keep runs apart (rotation, load_latest), temporaries are removed
only when their writer is gone, and load_latest survives a writer rotating
under it: deterministically, in a multi-process race, and in a model-based
test over interleavings of several runs in one folder.
"""
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io import snapshots
from gpunet.io.storage import temporaries
from gpunet.io.formats import state_npz
from gpunet.io.snapshots import SnapshotWarning, run_of, snapshot_files

from helpers import small_network

LONG = os.environ.get("GPUNET_TEST_PROFILE") == "long"


def tiny(seed: int = 3):
    net = small_network(seed=seed, neurons=10)
    net.compile()
    return net


# -- temporaries ----------------------------------------------------------------------------------------------

def test_starting_a_snapshotter_leaves_a_save_in_progress_alone(tmp_path, monkeypatch):
    net = tiny()
    release, writing = threading.Event(), threading.Event()
    original = state_npz.write

    def slow_write(*args, **kwargs):
        writing.set()
        release.wait(20)
        return original(*args, **kwargs)

    monkeypatch.setattr(state_npz, "write", slow_write)
    handle = gn.save(tmp_path / "other-save.npz", network=net, blocking=False)
    assert writing.wait(20)
    in_flight = [p for p in tmp_path.iterdir() if p.name.endswith(temporaries.TEMP_SUFFIX)]
    assert len(in_flight) == 1
    snapshotter = gn.Snapshotter(tiny(), tmp_path, every=1.0)
    assert snapshotter.removed_temporaries == [] and in_flight[0].exists()
    release.set()
    assert handle.result(20) == tmp_path / "other-save.npz"
    assert gn.read_state(tmp_path / "other-save.npz").step == 0


CHILD_WRITER = textwrap.dedent("""
    import sys, time
    from gpunet.io.storage.atomic import atomic_writer
    with atomic_writer(sys.argv[1]) as stream:
        stream.write(b"partial")
        print("writing", flush=True)
        time.sleep(60)
""")


def test_a_temporary_of_a_live_process_is_kept_and_removed_once_it_is_gone(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", CHILD_WRITER, str(tmp_path / "state.npz")],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        temporary = next(p for p in tmp_path.iterdir() if p.name.endswith(temporaries.TEMP_SUFFIX))
        assert gn.Snapshotter(tiny(), tmp_path, every=1.0).removed_temporaries == []
        assert temporary.exists()
    finally:
        child.kill()
        child.wait()
    assert gn.Snapshotter(tiny(), tmp_path, every=1.0).removed_temporaries == [temporary]


def test_temporaries_without_a_writer_of_this_host_wait_for_the_grace_period(tmp_path):
    legacy = tmp_path / ".snapshot-000000000010.npz.ab12cd34.gpunet-tmp"  # older gpunet: no writer in the name
    foreign = tmp_path / ".s.npz.0badc0de-123-456-0123abcd.gpunet-tmp"  # another host
    for path in (legacy, foreign):
        path.write_bytes(b"half a file")
    assert temporaries.remove_abandoned(tmp_path) == []
    old = time.time() - temporaries.FOREIGN_GRACE_S - 5
    os.utime(legacy, (old, old))
    assert temporaries.remove_abandoned(tmp_path) == [legacy] and foreign.exists()


def test_temporary_names_stay_short_for_long_targets(tmp_path):
    target = tmp_path / ("x" * 240 + ".npz")
    assert len(temporaries.temporary_path(target).name) < 200


# -- several runs in one folder -------------------------------------------------------------------------------

def test_a_new_run_at_step_0_keeps_its_snapshots_and_load_latest_returns_them(tmp_path):
    old = small_network(seed=5, neurons=10)
    old.simulate(50.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=2)
    old_files = gn.list_snapshots(tmp_path)
    old_run = run_of(old_files[0][1])
    assert [step for step, _ in old_files] == [40, 50]
    new = small_network(seed=6, neurons=10)
    new.simulate(20.0, snapshot_every=5.0, snapshot_dir=tmp_path, keep_last=2)
    runs = {}
    for f in snapshot_files(tmp_path):
        runs.setdefault(f.run, []).append(f.step)
    assert runs[old_run] == [40, 50]  # untouched by the other run's rotation
    (new_run,) = set(runs) - {old_run}
    assert runs[new_run] == [15, 20]
    fresh = small_network(seed=6, neurons=10)
    loaded = gn.load_latest(tmp_path, network=fresh)
    assert run_of(loaded) == new_run and fresh.get_current_step() == 20  # committed last
    assert gn.load_latest(tmp_path, network=small_network(seed=5, neurons=10), run=old_run).name.endswith(
        "-000000000050.npz")
    with pytest.raises(FormatError, match="no readable snapshot of run 'nosuchrun'"):
        gn.load_latest(tmp_path, network=fresh, run="nosuchrun")


def test_a_resumed_network_continues_its_run_and_chunked_runs_rotate_together(tmp_path):
    net = small_network(seed=5, neurons=10)
    for _ in range(3):  # simulate in chunks: one run
        net.simulate(20.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=2)
    assert [s for s, _ in gn.list_snapshots(tmp_path)] == [50, 60]
    run = run_of(gn.list_snapshots(tmp_path)[0][1])
    resumed = small_network(seed=9, neurons=10)
    gn.load_latest(tmp_path, network=resumed)
    resumed.simulate(20.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=2)
    assert [(f.run, f.step) for f in snapshot_files(tmp_path)] == [(run, 70), (run, 80)]


def test_going_back_in_time_starts_a_new_run(tmp_path):
    net = small_network(seed=5, neurons=10)
    net.simulate(30.0, snapshot_every=10.0, snapshot_dir=tmp_path, keep_last=2)
    first_run = run_of(gn.list_snapshots(tmp_path)[0][1])
    net.load(gn.list_snapshots(tmp_path)[0][1])  # back to step 20
    net.simulate(10.0, snapshot_every=5.0, snapshot_dir=tmp_path, keep_last=2)
    by_run = {}
    for f in snapshot_files(tmp_path):
        by_run.setdefault(f.run, []).append(f.step)
    assert by_run.pop(first_run) == [20, 30]
    assert list(by_run.values()) == [[25, 30]]


def test_run_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="run must be"):
        gn.Snapshotter(tiny(), tmp_path, every=1.0, run="a-b")
    snapshotter = gn.Snapshotter(tiny(), tmp_path, every=1.0, run="sweep_1.a")
    assert snapshotter.path_for(7).name == "snapshot-sweep_1.a-000000000007.npz"


def test_older_unnamed_snapshots_are_one_run_and_never_rotated(tmp_path):
    net = tiny()
    gn.save(tmp_path / "snapshot-000000000000.npz", network=net)
    snapshotter = gn.Snapshotter(net, tmp_path, every=1.0, keep_last=1)
    for _ in range(3):
        net.step()
        snapshotter.snapshot().result()
    snapshotter.close()
    assert (tmp_path / "snapshot-000000000000.npz").exists()
    assert [(f.run, f.step) for f in snapshot_files(tmp_path, run="")] == [("", 0)]
    resumed = tiny()
    assert gn.load_latest(tmp_path, network=resumed, run="").name == "snapshot-000000000000.npz"
    assert gn.Snapshotter(resumed, tmp_path, every=1.0).path_for(1).name.startswith("snapshot-2")  # a new run


# -- load_latest against a rotating writer ----------------------------------------------------------------------

def test_a_snapshot_rotated_away_between_listing_and_reading_is_not_an_error(tmp_path, monkeypatch):
    net = tiny()
    snapshotter = gn.Snapshotter(net, tmp_path, every=1.0, keep_last=1)
    net.step()
    snapshotter.snapshot().result()
    real = snapshots.read_state
    calls = []

    def rotate_first(path):
        if not calls:  # the writer commits the next snapshot and rotates this one away
            net.step()
            snapshotter.snapshot().result()
            snapshotter.rotate()  # (snapshot() itself may already have rotated, if the write was quick)
            assert not snapshotter.path_for(1).exists()
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(snapshots, "read_state", rotate_first)
    fresh = tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SnapshotWarning)  # no "skipping" warning either
        loaded = gn.load_latest(tmp_path, network=fresh)
    assert fresh.get_current_step() == 2 and loaded == snapshotter.path_for(2)
    assert [name[-8:] for name in calls] == ["0001.npz", "0002.npz"]




def test_load_latest_racing_a_process_that_rotates_every_step(tmp_path):
    seconds = 30.0 if LONG else 3.0
    writer = subprocess.Popen([sys.executable, "-m", "gpunet.testing.snapshot_writer", str(tmp_path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    loads, steps = 0, set()
    try:
        assert writer.stdout.readline().strip() == "ready"
        fresh = tiny()
        with warnings.catch_warnings():
            warnings.simplefilter("error", SnapshotWarning)
            while writer.poll() is None:
                gn.load_latest(tmp_path, network=fresh)
                steps.add(fresh.get_current_step())
                loads += 1
    finally:
        writer.kill()
        writer.wait()
    print(f"{loads} loads against a writer rotating every step, {len(steps)} distinct steps")
    assert loads > 20 and len(steps) > 5


# -- model-based: interleavings of several runs in one folder ---------------------------------------------------

ACTIONS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["step", "snapshot", "snapshot", "back"])),
                   min_size=1, max_size=14)


@settings(max_examples=300 if LONG else 12)
@given(actions=ACTIONS, keep_last=st.integers(1, 3))
def test_runs_in_one_folder_rotate_and_resolve_as_documented(tmp_path_factory, actions, keep_last):
    folder = tmp_path_factory.mktemp("runs")
    nets = [tiny(seed=k) for k in range(3)]
    starts = [folder / f"start{k}.npz" for k in range(3)]
    for net, start in zip(nets, starts):
        gn.save(start, network=net)
    snapshotters = [gn.Snapshotter(net, folder, every=1.0, keep_last=keep_last) for net in nets]
    committed: dict[str, list[int]] = {}  # the model: run -> steps in commit order
    last = None
    clock = time.time() - 10_000
    for who, action in actions:
        net, snapshotter = nets[who], snapshotters[who]
        if action == "step":
            net.step()
        elif action == "back":
            net.load(starts[who])  # back at step 0
        else:
            handle = snapshotter.snapshot()
            handle.result()
            clock += 1.0  # commit times one second apart, whatever the file system's timestamp granularity
            os.utime(handle.path, (clock, clock))
            run, step = snapshotter.run, net.get_current_step()
            steps = committed.setdefault(run, [])
            if step in steps:
                steps.remove(step)
            steps.append(step)
            snapshotter.rotate()
            committed[run] = sorted(steps)[-keep_last:]
            last = (run, step)
    on_disk: dict[str, list[int]] = {}
    for f in snapshot_files(folder):
        on_disk.setdefault(f.run, []).append(f.step)
    assert {run: sorted(steps) for run, steps in on_disk.items()} == {r: s for r, s in committed.items() if s}
    if last is None:
        with pytest.raises(FormatError):
            gn.load_latest(folder, network=tiny())
    else:
        fresh = tiny()
        loaded = gn.load_latest(folder, network=fresh)
        assert (run_of(loaded), fresh.get_current_step()) == last
        for run, steps in committed.items():
            if steps:
                gn.load_latest(folder, network=fresh, run=run)
                assert fresh.get_current_step() == steps[-1]
