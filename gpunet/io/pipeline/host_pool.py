"""Reused host staging buffers (page-locked on CuPy) for saves and snapshots.

A save copies the device arrays into one :class:`BufferSet` -- a single host
byte buffer carved into aligned views, one per array.  Sets are allocated once
and reused; at most ``max_sets`` exist (one per save in flight), so the pool is
bounded.  A set is reallocated only when the state grows (a rebuilt
projection), which :attr:`HostBufferPool.allocations` counts.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

ALIGNMENT = 64


@dataclass
class BufferSet:
    """One host buffer and the views into it for the arrays of one save."""

    buffer: np.ndarray
    views: list
    layout: tuple = ()  # the layout ``views`` were carved for (kept: the next save usually has the same)

    @property
    def capacity(self) -> int:
        return int(self.buffer.nbytes)


def layout_nbytes(layout: Sequence[tuple[tuple[int, ...], np.dtype]]) -> int:
    """Bytes needed for arrays of the given (shape, dtype), each aligned."""
    total = 0
    for shape, dtype in layout:
        total = -(-total // ALIGNMENT) * ALIGNMENT
        total += math.prod(shape) * np.dtype(dtype).itemsize
    return total


def _carve(buffer: np.ndarray, layout) -> list:
    views, offset = [], 0
    for shape, dtype in layout:
        offset = -(-offset // ALIGNMENT) * ALIGNMENT
        dtype = np.dtype(dtype)
        size = math.prod(shape) * dtype.itemsize
        views.append(buffer[offset:offset + size].view(dtype).reshape(shape))
        offset += size
    return views


class HostBufferPool:
    """Bounded pool of host staging buffers.

    Parameters
    ----------
    allocate : callable
        ``allocate(nbytes) -> uint8 ndarray``; the backend's (pinned on CuPy).
    max_sets : int
        Number of buffer sets the pool may hold (saves in flight).
    """

    def __init__(self, allocate: Any, max_sets: int) -> None:
        self._allocate = allocate
        self.max_sets = int(max_sets)
        self._free: list[BufferSet] = []
        self._count = 0
        self._lock = threading.Lock()
        self.allocations = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the pool now (free and in use)."""
        return self._bytes

    _bytes = 0

    def acquire(self, layout: Sequence[tuple[tuple[int, ...], np.dtype]]) -> BufferSet:
        """A buffer set with views for ``layout``; the caller must :meth:`release` it."""
        layout = tuple(layout)
        with self._lock:
            for chosen in self._free:
                if chosen.layout == layout:  # the usual case: same state as the last save
                    self._free.remove(chosen)
                    return chosen
        needed = max(layout_nbytes(layout), 1)
        with self._lock:
            fitting = [s for s in self._free if s.capacity >= needed]
            if fitting:
                chosen = min(fitting, key=lambda s: s.capacity)
                self._free.remove(chosen)
            else:
                if self._free:  # too small: replace the largest free set
                    dropped = max(self._free, key=lambda s: s.capacity)
                    self._free.remove(dropped)
                    self._bytes -= dropped.capacity
                    self._count -= 1
                if self._count >= self.max_sets:
                    raise RuntimeError("host buffer pool exhausted: more saves in flight than max_pending")
                chosen = BufferSet(self._allocate(needed), [])
                self._bytes += chosen.capacity
                self._count += 1
                self.allocations += 1
        chosen.views = _carve(chosen.buffer, layout)
        chosen.layout = layout
        return chosen

    def release(self, buffers: BufferSet) -> None:
        """Give a set back for reuse (its views stay valid for the next save of the same layout)."""
        with self._lock:
            self._free.append(buffers)

    def clear(self) -> None:
        """Drop the free sets (sets in use are dropped when released and not reused)."""
        with self._lock:
            for buffers in self._free:
                self._bytes -= buffers.capacity
                self._count -= 1
            self._free.clear()
