"""Atomic, durable file commits: the only way gpunet writes a file.

Strategy: the content goes to ``.<target>.<random>.gpunet-tmp`` in the target's
folder; the temporary file is flushed and fsynced, renamed over the target with
``os.replace`` (atomic on POSIX within one filesystem), and the folder is
fsynced so the rename itself survives a crash.  While the content is written,
each completed chunk is handed to the disk early (:mod:`gpunet.io.storage.writeback`).  At any moment the target is
either the complete old file or the complete new one, never a torn mixture.
An interrupted save leaves at most a ``*.gpunet-tmp`` file, which
:func:`cleanup_temporaries` recognises and removes once its writer is gone
(the name says which process writes it, and the writer holds a lock on it:
:mod:`gpunet.io.storage.temporaries`).

Replacing a file keeps its permission bits (a new file gets the default of the
umask); the owner is the saving user's.  Saving to a symbolic link replaces the
file the link points to, atomically in that file's folder, and leaves the link
as it is (a dangling link's destination is created; a loop of links is an
error).  Every ``OSError`` (name too long, permission denied, disk full, folder
removed...) becomes a :class:`~gpunet.errors.FileAccessError` that names the
file and is also an instance of the original error's class; the previous file
is intact and no temporary file is left behind.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Union

from gpunet.errors import FileAccessError, GpunetError
from gpunet.io.storage import temporaries
from gpunet.io.storage.temporaries import TEMP_SUFFIX  # noqa: F401 (re-exported: the suffix of every temporary)
from gpunet.io.storage.writeback import WritebackFile

_DEFAULT_NAME_MAX = 255

#: What every file argument of gpunet accepts: a string or any os.PathLike (pathlib.Path...).
PathLike = Union[str, "os.PathLike[str]"]

_error_classes: dict[type, type] = {}


def file_error(path: PathLike, action: str, error: OSError) -> FileAccessError:
    """A :class:`FileAccessError` naming ``path`` and ``action``, of ``error``'s own OSError class too.

    Examples
    --------
    >>> err = file_error("a/b.npz", "cannot save", PermissionError(13, "Permission denied"))
    >>> isinstance(err, PermissionError), err.errno, str(err)
    (True, 13, 'a/b.npz: cannot save: Permission denied')
    """
    if isinstance(error, GpunetError):
        return error
    base = type(error)
    cls = _error_classes.get(base)
    if cls is None:  # e.g. PermissionError -> a FileAccessError that is also a PermissionError
        cls = FileAccessError
        if base is not OSError:
            cls = type(f"FileAccessError_{base.__name__}", (FileAccessError, base), {"__doc__": FileAccessError.__doc__})
        _error_classes[base] = cls
    reason = error.strerror or str(error) or type(error).__name__
    if error.errno == errno.ENAMETOOLONG:
        reason += f" (at most {_DEFAULT_NAME_MAX} bytes per name and 4096 per path on most file systems)"
    exc = cls(error.errno, f"{path}: {action}: {reason}")
    exc.filename = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    exc.__cause__ = error
    return exc


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


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # pragma: no cover - platforms without pathconf
        return _DEFAULT_NAME_MAX


def temporary_path(target: PathLike) -> Path:
    """A fresh temporary path next to ``target`` (same folder, recognisable suffix).

    The target's name is shortened in it when the whole name would exceed the
    file system's limit on name length.
    """
    target = Path(target)
    limit = _name_max(target.parent) if target.parent.exists() else _DEFAULT_NAME_MAX
    return temporaries.temporary_path(target, limit)


def resolve_target(target: PathLike) -> Path:
    """The file a save to ``target`` replaces: ``target``, or the file a symbolic link points to.

    Raises
    ------
    OSError
        For a loop of symbolic links (``ELOOP``).
    """
    target = Path(target)
    if not target.is_symlink():
        return target
    try:
        return Path(os.path.realpath(target, strict=True))
    except FileNotFoundError:  # a dangling link: its destination is created
        return Path(os.path.realpath(target))


def _existing_mode(path: Path) -> Optional[int]:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def atomic_writer(target: PathLike, fsync: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file for writing; on success it replaces ``target`` atomically.

    The parent folder is created when missing.  If the block raises, the
    temporary file is removed and ``target`` is left untouched; an ``OSError``
    is raised as a :class:`~gpunet.errors.FileAccessError` naming ``target``.
    A replaced file's permission bits are kept; a symbolic link stays and
    the file it points to is replaced (see the module docstring).

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
    try:
        destination = resolve_target(target)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if len(os.fsencode(destination.name)) > _name_max(destination.parent):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        mode = _existing_mode(destination)
        temporary = temporary_path(destination)
        handle = open(temporary, "xb")
    except OSError as exc:
        raise file_error(target, "cannot save", exc) from exc
    claim = temporaries.claimed(temporary)  # until renamed: cleanup_temporaries leaves it alone
    claim.__enter__()
    try:
        if mode is not None:
            os.fchmod(handle.fileno(), mode)
        # a durable save hands each completed chunk to the disk early, so that the fsync below waits less
        yield WritebackFile(handle) if fsync else handle
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())
        handle.close()
        os.replace(temporary, destination)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
            handle.close()
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and not isinstance(exc, GpunetError):
            raise file_error(target, "cannot save", exc) from exc
        raise
    finally:
        claim.__exit__(None, None, None)
    if fsync:
        _fsync_directory(destination.parent)


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
