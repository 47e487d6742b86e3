"""Temporary files of atomic commits that say who writes them, so only abandoned ones are removed.

A temporary is named ``.<target>.<host>-<pid>-<start>-<random>.gpunet-tmp``:
``host`` is a short hash of the host name, ``pid`` the writing process and
``start`` its start time (``/proc/<pid>/stat``; 0 where unknown), which tells a
live writer from a reused pid.  While it writes, the writer also holds an
exclusive ``flock`` on the file (released after the rename).

:func:`remove_abandoned` removes a temporary only when its writer is gone:

* a writer of this host: its process no longer exists (or the pid now belongs
  to a process started at another time), and nobody holds the file's lock;
* a writer of this process: the file is not being written by one of its threads;
* a writer of another host, or a name without writer (older gpunet): nobody
  holds the file's lock and it has not been modified for :data:`FOREIGN_GRACE_S`
  seconds (another host's processes cannot be asked whether they live).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Union

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

TEMP_SUFFIX = ".gpunet-tmp"
FOREIGN_GRACE_S = 600.0
#: Characters of the target's name kept in a temporary's name (the rest is the writer's identity).
NAME_KEEP = 120

_WRITER = re.compile(r"\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")

_live: set[str] = set()
_live_guard = threading.Lock()


def _process_start(pid: int) -> int:
    """Start time of process ``pid`` in clock ticks since boot (0 where /proc does not say)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return 0


_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temporary_path(target: Union[str, os.PathLike], name_max: int = 255) -> Path:
    """A fresh temporary path next to ``target`` naming this process as its writer.

    The target's name is shortened in it (to at most :data:`NAME_KEEP`
    characters, and further while the whole name would exceed ``name_max``
    bytes, the file system's limit).
    """
    target = Path(target)
    pid = os.getpid()
    identity = f"{_HOST}-{pid}-{_process_start(pid)}-{secrets.token_hex(4)}"
    stem = target.name[:NAME_KEEP]
    while stem and len(os.fsencode(f".{stem}.{identity}{TEMP_SUFFIX}")) > name_max:
        stem = stem[:-1]
    return target.with_name(f".{stem}.{identity}{TEMP_SUFFIX}")


@contextlib.contextmanager
def claimed(temporary: Union[str, os.PathLike]) -> Iterator[None]:
    """Hold ``temporary`` as being written (in-process registry and an flock) until the block ends."""
    key = os.path.abspath(temporary)
    with _live_guard:
        _live.add(key)
    fd: Optional[int] = None
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks: the pid check still applies
                fd = os.open(temporary, os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        if fd is not None:
            os.close(fd)
        with _live_guard:
            _live.discard(key)


def _lock_is_free(path: Path) -> bool:
    if fcntl is None:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held by its writer (or locks unsupported: keep the file)
    finally:
        os.close(fd)
    return True


def _process_alive(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return True
    return start == 0 or _process_start(pid) in (0, start)


def writer_gone(path: Path, now: Optional[float] = None) -> bool:
    """Whether the writer of temporary ``path`` is gone (see the module's rules)."""
    match = _WRITER.search(path.name)
    if match and match.group("host") == _HOST:
        pid, start = int(match.group("pid")), int(match.group("start"))
        if pid == os.getpid() and start == _process_start(pid):
            with _live_guard:
                if os.path.abspath(path) in _live:
                    return False
        elif _process_alive(pid, start):
            return False
        return _lock_is_free(path)
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age >= FOREIGN_GRACE_S and _lock_is_free(path)


def remove_abandoned(directory: Union[str, os.PathLike]) -> list[Path]:
    """Remove the temporaries of ``directory`` whose writer is gone; return them."""
    removed: list[Path] = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        if not path.name.endswith(TEMP_SUFFIX) or not path.is_file() or not writer_gone(path):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed
