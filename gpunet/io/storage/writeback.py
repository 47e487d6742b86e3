"""Early writeback: the disk starts on a file's first megabytes while the rest is still being written.

A durable save ends with ``fsync``, which on its own waits for every dirty
page of the file to reach the disk: writing and flushing run one after the
other.  Telling the kernel to start writing each chunk as soon as it is
complete (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, the same hint
PostgreSQL gives for its checkpoints) overlaps the two, and the final
``fsync`` only waits for the tail.  Durability still rests on that ``fsync``
alone: the hint never waits and never replaces it.  Where the call does not
exist (not Linux), nothing is hinted.  Figures: docs/performance.md.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, BinaryIO, Callable, Optional

__all__ = ["WRITEBACK_CHUNK", "start_writeback", "WritebackFile"]

#: Bytes written between two writeback hints.
WRITEBACK_CHUNK = 4 << 20
_SYNC_FILE_RANGE_WRITE = 2


def _find_sync_file_range() -> Optional[Callable[..., int]]:
    if not hasattr(os, "posix_fadvise"):  # not a Linux-like system
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _find_sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing ``length`` bytes of ``fd`` from ``offset``; never waits.

    Returns False where the hint is not available or was refused (harmless:
    the final fsync writes everything anyway).
    """
    if _sync_file_range is None or length <= 0:
        return False
    return _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0


class WritebackFile:
    """A binary file whose completed chunks are handed to the disk while writing goes on.

    Every other attribute (``seek``, ``tell``, ``mode``...) is the wrapped
    file's.

    Parameters
    ----------
    raw : binary file
        An open, writable file with a descriptor.
    chunk : int
        Bytes between two hints.
    """

    def __init__(self, raw: BinaryIO, chunk: int = WRITEBACK_CHUNK) -> None:
        self.raw, self.chunk = raw, chunk
        self._fd = raw.fileno()
        self._start = raw.tell()
        self._unhinted = 0

    def write(self, data: Any) -> int:
        written = self.raw.write(data)
        self._unhinted += written
        if self._unhinted >= self.chunk:
            self.raw.flush()
            end = self.raw.tell()
            start_writeback(self._fd, self._start, end - self._start)
            self._start, self._unhinted = end, 0
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)
