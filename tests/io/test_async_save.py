"""Non-blocking saves: handles, snapshot semantics, back-pressure and errors."""
import os
import threading

import pytest

import gpunet as gn
from gpunet.errors import BackendError
from gpunet.io.pipeline import saving
from gpunet.io.formats import state_npz

from helpers import assert_same_state, small_network, snapshot


def test_file_holds_the_state_of_the_moment_save_was_called(tmp_path):
    net = small_network()
    net.simulate(20.0)
    expected = snapshot(net)
    handle = gn.save(tmp_path / "s.npz", network=net, blocking=False)
    # change everything right away, before the background writer is done
    net.populations[0].device_view("v")[...] = 123.0
    net.projections[0].device_view("w")[...] = -1.0
    net.simulate(20.0)
    assert handle.result(timeout=30) == tmp_path / "s.npz"
    fresh = small_network()
    fresh.load(tmp_path / "s.npz")
    assert_same_state(expected, snapshot(fresh))


def test_handle_reports_path_size_and_phase_durations(tmp_path):
    net = small_network()
    handle = gn.save(tmp_path / "s.npz", network=net, blocking=False)
    handle.result()
    assert handle.done() and handle.exception() is None
    assert handle.path == tmp_path / "s.npz"
    state = gn.read_state(handle.path)
    arrays = [a for obj in state.populations + state.projections for a in (*obj.values.values(),
                                                                              *obj.internal.values())]
    arrays += [a for p in state.projections for a in (p.post_ranks, p.row_ptr, p.pre_ranks, p.delays)]
    assert handle.nbytes == sum(int(a.nbytes) for a in arrays) > 0
    assert set(handle.durations) >= {"gather", "stage", "serialize", "commit", "held"}
    assert all(v >= 0 for v in handle.durations.values())


def test_staging_buffers_are_reused(tmp_path):
    net = small_network()
    for k in range(5):
        gn.save(tmp_path / f"s{k}.npz", network=net, blocking=False)
        net.simulate(1.0)
    gn.wait_for_saves(net)
    pool = saving.saver_of(net).pool
    assert pool.allocations <= 2 and pool.nbytes > 0


def test_back_pressure_waits_or_raises(tmp_path, monkeypatch):
    release = threading.Event()
    original = state_npz.write

    def slow_write(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(state_npz, "write", slow_write)
    net = small_network()
    first = gn.save(tmp_path / "a.npz", network=net, blocking=False, max_pending=1)
    with pytest.raises(gn.SaveQueueFull, match="already in flight"):
        gn.save(tmp_path / "b.npz", network=net, blocking=False, max_pending=1, on_full="raise")
    release.set()
    first.result(10)
    second = gn.save(tmp_path / "b.npz", network=net, blocking=False, max_pending=1)
    second.result(10)
    assert (tmp_path / "b.npz").exists()


def test_background_error_surfaces_on_handle_and_in_wait_for_saves(tmp_path, monkeypatch):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)
    good = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_npz, "write", disk_full)
    handle = gn.save(path, network=net, blocking=False)
    with pytest.raises(OSError, match="No space left"):
        gn.wait_for_saves(net)
    assert isinstance(handle.exception(), OSError)
    gn.wait_for_saves(net)  # reported once, not raised again
    assert path.read_bytes() == good


def test_error_raised_by_result_is_not_raised_again_by_wait(tmp_path, monkeypatch):
    net = small_network()
    monkeypatch.setattr(state_npz, "write", lambda *a, **k: (_ for _ in ()).throw(OSError(13, "Permission denied")))
    handle = gn.save(tmp_path / "s.npz", network=net, blocking=False)
    with pytest.raises(OSError, match="Permission denied"):
        handle.result()
    gn.wait_for_saves(net)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_permission_denied_surfaces(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    net = small_network()
    try:
        handle = gn.save(locked / "s.npz", network=net, blocking=False)
        with pytest.raises(PermissionError):
            handle.result()
    finally:
        locked.chmod(0o700)


def test_saves_to_the_same_path_commit_in_order(tmp_path):
    net = small_network()
    path = tmp_path / "s.npz"
    handles = []
    for k in range(4):
        net.simulate(1.0)
        handles.append(gn.save(path, network=net, blocking=False))
    gn.wait_for_saves(net)
    assert gn.read_state(path).step == 4


def test_two_networks_save_at_once(tmp_path):
    first, second = small_network(seed=1), small_network(seed=2)
    first.simulate(5.0)
    second.simulate(7.0)
    a = gn.save(tmp_path / "a.npz", network=first, blocking=False)
    b = gn.save(tmp_path / "b.npz", network=second, blocking=False)
    a.result(), b.result()
    assert gn.read_state(tmp_path / "a.npz").step == 5 and gn.read_state(tmp_path / "b.npz").step == 7


def test_device_staging_is_refused_on_numpy(tmp_path):
    with pytest.raises(BackendError, match="staging='device' needs the CuPy backend"):
        gn.save(tmp_path / "s.npz", network=small_network(), staging="device")


def _slow_writer(monkeypatch, release: threading.Event):
    original = state_npz.write

    def slow_write(*args, **kwargs):
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(state_npz, "write", slow_write)


def test_loading_a_file_being_written_reads_the_last_committed_version(tmp_path, monkeypatch):
    net = small_network()
    path = tmp_path / "s.npz"
    gn.save(path, network=net)  # committed at step 0
    net.simulate(10.0)
    release = threading.Event()
    _slow_writer(monkeypatch, release)
    handle = gn.save(path, network=net, blocking=False)  # in progress
    assert gn.read_state(path).step == 0
    fresh = small_network()
    fresh.load(path)
    assert fresh.get_current_step() == 0
    release.set()
    handle.result(10)
    assert gn.read_state(path).step == 10


def test_a_save_in_flight_keeps_the_state_from_before_a_load(tmp_path, monkeypatch):
    net = small_network()
    net.simulate(10.0)
    expected = snapshot(net)
    other = small_network(seed=50)
    other.simulate(3.0)
    gn.save(tmp_path / "other.npz", network=other)
    release = threading.Event()
    _slow_writer(monkeypatch, release)
    handle = gn.save(tmp_path / "before.npz", network=net, blocking=False)
    net.load(tmp_path / "other.npz")  # runs while the save is still being written
    release.set()
    handle.result(10)
    fresh = small_network()
    fresh.load(tmp_path / "before.npz")
    assert_same_state(expected, snapshot(fresh))


def test_the_state_is_planned_and_gathered_with_the_backend_active(tmp_path, monkeypatch):
    """On a GPU the spike-history gather must run on the compute stream, after the kernels queued there."""
    import contextlib
    from gpunet.io.pipeline import gather
    from gpunet.network.population import Population
    net = small_network()
    net.simulate(5.0)
    active: list = []

    @contextlib.contextmanager
    def activate():
        active.append(True)
        try:
            yield
        finally:
            active.pop()

    monkeypatch.setattr(net.backend, "activate", activate)
    seen = []
    real = Population.state_dict  # where the spike history is gathered by age
    monkeypatch.setattr(Population, "state_dict", lambda pop, step: (seen.append(bool(active)), real(pop, step))[1])
    gn.save(tmp_path / "a.npz", network=net)
    gn.save(tmp_path / "b.npz", network=net, blocking=False).result()
    gather.gather_state(net)
    assert len(seen) >= 3 and all(seen)


EXIT_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import gpunet as gn
from helpers import small_network
net = small_network(neurons=20)
net.simulate(3.0)
handle = gn.save(sys.argv[1], network=net, blocking=False)
if sys.argv[2] == "received":
    try:
        handle.result()
    except OSError as exc:
        print("caught", type(exc).__name__)
elif sys.argv[2] == "raise":
    raise RuntimeError("the script's own error")
print("script done", flush=True)
"""


def _run_exit_script(tmp_path, target, mode):
    import subprocess
    import sys
    from pathlib import Path
    script = tmp_path / "script.py"
    script.write_text(EXIT_SCRIPT.format(here=str(Path(__file__).parent)))
    return subprocess.run([sys.executable, str(script), str(target), mode], capture_output=True, text=True,
                          timeout=120)


def test_a_background_save_failing_at_exit_is_reported_with_a_nonzero_status(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "state.npz"  # its folder cannot be created
    result = _run_exit_script(tmp_path, target, "plain")
    assert "script done" in result.stdout
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gpunet: error: background save to {target} failed: ")
    assert "the file was not written" in lines[0]


def test_exit_status_and_report_when_the_error_was_received_or_the_save_succeeded(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    received = _run_exit_script(tmp_path, blocker / "state.npz", "received")
    assert received.returncode == 0 and "caught" in received.stdout and received.stderr == ""
    good = tmp_path / "good.npz"
    ok = _run_exit_script(tmp_path, good, "plain")
    assert ok.returncode == 0 and ok.stderr == ""
    assert gn.read_state(good).step == 3  # written before the process ended


def test_a_script_that_fails_itself_keeps_its_traceback_and_adds_the_report(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run_exit_script(tmp_path, blocker / "state.npz", "raise")
    assert result.returncode == 1
    assert "RuntimeError: the script's own error" in result.stderr
    assert "gpunet: error: background save to" in result.stderr
