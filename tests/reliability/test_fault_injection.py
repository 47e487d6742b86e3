"""Faults while saving: disk full, a real full filesystem, the folder removed, a failing writer."""
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.storage import atomic
from gpunet.io.storage.atomic import TEMP_SUFFIX

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import small_network  # noqa: E402

FORMATS = [".npz", ".txt", ".gz", ".mat"]


class FullDisk:
    """A file object that raises ENOSPC at its n-th write call."""

    def __init__(self, handle, fail_at: int) -> None:
        self.handle, self.fail_at, self.writes = handle, fail_at, 0

    def write(self, data):
        self.writes += 1
        if self.writes >= self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def _temporaries(folder: Path) -> list:
    return [p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("fail_at", [1, 2, 5, 40])
def test_enospc_at_the_nth_write_keeps_the_previous_file(tmp_path, monkeypatch, suffix, fail_at):
    net = small_network()
    path = tmp_path / f"state{suffix}"
    gn.save(path, network=net)
    good = path.read_bytes()
    net.simulate(3.0)
    real_open = open

    def failing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return FullDisk(handle, fail_at) if "x" in mode else handle

    monkeypatch.setattr(atomic, "open", failing_open, raising=False)
    try:
        gn.save(path, network=net)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:  # the format wrote fewer than fail_at chunks: the save succeeded
        monkeypatch.undo()
        assert gn.read_state(path).step == 3
        return
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert _temporaries(tmp_path) == []


@pytest.fixture
def tiny_filesystem(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount_point)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_real_full_filesystem_keeps_the_previous_snapshot(tiny_filesystem):
    small = small_network(neurons=40)
    path = tiny_filesystem / "state.npz"
    gn.save(path, network=small)
    good = path.read_bytes()
    big = small_network(neurons=300)  # its state does not fit in what is left
    handle = gn.save(path, network=big, blocking=False)
    with pytest.raises(OSError) as info:
        handle.result()
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == good
    assert _temporaries(tiny_filesystem) == []
    with pytest.raises(OSError):
        gn.save(path, network=big)
    assert gn.read_state(path).populations[0].size == 40


def test_folder_removed_while_saving(tmp_path, monkeypatch):
    from gpunet.io.formats import state_npz
    folder = tmp_path / "run"
    folder.mkdir()
    net = small_network()
    original = state_npz.write

    def remove_folder_then_write(state, stream, **kwargs):
        shutil.rmtree(folder)
        return original(state, stream, **kwargs)

    monkeypatch.setattr(state_npz, "write", remove_folder_then_write)
    handle = gn.save(folder / "state.npz", network=net, blocking=False)
    with pytest.raises(OSError):
        handle.result()
    assert not folder.exists()


def test_exception_inside_the_background_writer_is_surfaced(tmp_path, monkeypatch):
    net = small_network()
    path = tmp_path / "state.npz"
    gn.save(path, network=net)
    good = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("bug in the writer")

    monkeypatch.setattr("gpunet.io.pipeline.saving.assemble_state", broken)
    handle = gn.save(path, network=net, blocking=False)
    with pytest.raises(RuntimeError, match="bug in the writer"):
        gn.wait_for_saves(net)
    assert isinstance(handle.exception(), RuntimeError)
    assert path.read_bytes() == good


def test_a_snapshot_dir_that_cannot_be_created_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    net = small_network()
    with pytest.raises(OSError):
        net.simulate(10.0, snapshot_every=5.0, snapshot_dir=blocker / "snapshots")
    assert os.path.isfile(blocker)
