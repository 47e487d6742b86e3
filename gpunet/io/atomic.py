"""Atomic, durable file commits: the only way gpunet writes a file.

Strategy: the content goes to ``<target>.<random>.gpunet-tmp`` in the target's
folder; the temporary file is flushed and fsynced, renamed over the target with
``os.replace`` (atomic on POSIX within one filesystem), and the folder is
fsynced so the rename itself survives a crash.  While the content is written,
each completed chunk is handed to the disk early (:mod:`gpunet.io.writeback`).  At any moment the target is
either the complete old file or the complete new one, never a torn mixture.
An interrupted save leaves at most a ``*.gpunet-tmp`` file, which
:func:`cleanup_temporaries` recognises and removes once its writer is gone
(the name says which process writes it, and the writer holds a lock on it:
:mod:`gpunet.io.temporaries`).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

from gpunet.io import temporaries
from gpunet.io.temporaries import TEMP_SUFFIX
from gpunet.io.writeback import WritebackFile

PathLike = Union[str, os.PathLike]


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def temporary_path(target: PathLike) -> Path:
    """A fresh temporary path next to ``target`` (same folder, recognisable suffix)."""
    return temporaries.temporary_path(target)


@contextlib.contextmanager
def atomic_writer(target: PathLike, fsync: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success it replaces ``target`` atomically.

    The parent folder is created when missing.  If the block raises, the
    temporary file is removed and ``target`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_writer(folder / "a.bin") as f:
    ...     _ = f.write(b"hello")
    >>> (folder / "a.bin").read_bytes()
    b'hello'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(target)
    handle = open(temporary, "xb")
    claim = temporaries.claimed(temporary)  # until renamed: cleanup_temporaries leaves it alone
    claim.__enter__()
    try:
        # a durable save hands each completed chunk to the disk early, so that the fsync below waits less
        yield WritebackFile(handle) if fsync else handle
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
            handle.close()
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        claim.__exit__(None, None, None)
    if fsync:
        _fsync_directory(target.parent)


def write_atomic(target: PathLike, write: Callable[[BinaryIO], None], fsync: bool = True) -> None:
    """Call ``write(file)`` on a temporary file, then commit it over ``target``."""
    with atomic_writer(target, fsync=fsync) as handle:
        write(handle)


def write_bytes_atomic(target: PathLike, data: bytes, fsync: bool = True) -> None:
    """Atomically replace ``target`` by ``data``."""
    with atomic_writer(target, fsync=fsync) as handle:
        handle.write(data)


def cleanup_temporaries(directory: PathLike) -> list[Path]:
    """Remove leftovers of interrupted saves (``*.gpunet-tmp``) in ``directory`` whose writer is gone; return them."""
    return temporaries.remove_abandoned(directory)
