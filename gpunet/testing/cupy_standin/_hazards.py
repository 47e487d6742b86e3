"""Stream-order checking: every device operation is recorded with the buffers it reads and writes.

Each stream is an ordered queue with a vector clock.  Work runs eagerly, but
an operation that reads a buffer last written on another stream, or writes a
buffer last read or written on another stream, with no happens-before edge
between the two raises :class:`StreamHazard` naming both operations and the
buffer.  Edges, as CUDA defines them: ``Event.record`` + ``Stream.wait_event``;
a host synchronisation (``Stream/Event/Device.synchronize``, a read-back),
after which the host's later work is ordered after what it waited for; and
the legacy default stream, which waits for earlier work of every blocking
stream of its device, and which every blocking stream waits for (streams
made with ``non_blocking=True`` have no such ordering).

The granularity is a whole allocation (two streams touching disjoint parts
of one allocation without an edge are reported too), and memory reached
through pointers stored inside arrays (gpunet's pack kernels) is not seen.
``GPUNET_STANDIN_HAZARDS=0`` turns the checking off.
"""
from __future__ import annotations

import os
import sys
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from gpunet.testing.cupy_standin import _state

VARIABLE = "GPUNET_STANDIN_HAZARDS"
_enabled = os.environ.get(VARIABLE, "1") != "0"
_lock = threading.RLock()
_clocks: dict[str, dict[str, int]] = {}
_blocking: dict[str, tuple[int, bool]] = {}  # stream key -> (device, blocking)
_buffers: dict[int, "_Buffer"] = {}
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class StreamHazard(RuntimeError):
    """Two operations on different streams touch one buffer with no ordering between them."""


class _host(threading.local):
    def __init__(self) -> None:
        self.clock: dict[str, int] = {}


_host_state = _host()


class _Access:
    __slots__ = ("stream", "tick", "what", "site")

    def __init__(self, stream: str, tick: int, what: str, site: str) -> None:
        self.stream, self.tick, self.what, self.site = stream, tick, what, site

    def __str__(self) -> str:
        return f"{self.what} on {self.stream} (at {self.site})"


class _Buffer:
    __slots__ = ("ref", "key", "write", "reads")

    def __init__(self, root: np.ndarray, key: int) -> None:
        self.ref = weakref.ref(root, lambda _ref, key=key: _buffers.pop(key, None))
        self.key = key
        self.write: Optional[_Access] = None
        self.reads: dict[str, _Access] = {}

    @property
    def label(self) -> str:
        root = self.ref()
        return f"buffer {self.key:#x}" + (f" ({root.dtype}, {root.nbytes} bytes)" if root is not None else "")


@contextmanager
def checking(enabled: bool = True) -> Iterator[None]:
    """Turn stream-order checking on or off inside the block."""
    global _enabled
    previous, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = previous


def reset() -> None:
    """Forget every recorded access and clock (as after a full device synchronisation)."""
    with _lock:
        _clocks.clear()
        _buffers.clear()
        _host_state.clock = {}


def stream_key(stream: Any = None) -> str:
    stream = stream if stream is not None else _state.current_stream()
    device = _state.current_device() if stream.device is None else stream.device
    key = f"null@dev{device}" if stream.ptr == 0 else stream.label
    if key not in _blocking:
        _blocking[key] = (device, stream.ptr == 0 or not stream.non_blocking)
    return key


def _merge(into: dict[str, int], other: dict[str, int]) -> None:
    for key, tick in other.items():
        if into.get(key, 0) < tick:
            into[key] = tick


def clock_of(key: str) -> dict[str, int]:
    return dict(_clocks.get(key, {}))


def host_waits_for(clock: dict[str, int]) -> None:
    """The calling thread has waited for the work ``clock`` describes."""
    if _enabled:
        _merge(_host_state.clock, clock)


def host_waits_for_stream(stream: Any = None) -> None:
    if _enabled:
        with _lock:
            host_waits_for(_clocks.get(stream_key(stream), {}))


def host_waits_for_device(device: int) -> None:
    if _enabled:
        with _lock:
            for key, (dev, _blocking_stream) in _blocking.items():
                if dev == device:
                    host_waits_for(_clocks.get(key, {}))


def stream_waits_for(stream: Any, clock: dict[str, int]) -> None:
    """``Stream.wait_event``: the stream's later work is ordered after ``clock``."""
    if _enabled:
        with _lock:
            _merge(_clocks.setdefault(stream_key(stream), {}), clock)


def _site() -> str:
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith(_PACKAGE)
                                 or "/numpy/" in frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"


def _root(value: Any) -> Optional[np.ndarray]:
    array = getattr(value, "_a", value)
    if not isinstance(array, np.ndarray):
        return None
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _buffer(root: np.ndarray) -> _Buffer:
    key = id(root)
    buffer = _buffers.get(key)
    if buffer is None or buffer.ref() is not root:
        buffer = _buffers[key] = _Buffer(root, key)
    return buffer


def _ordered(access: Optional[_Access], clock: dict[str, int], key: str) -> bool:
    return access is None or access.stream == key or clock.get(access.stream, 0) >= access.tick


def operation(what: str, reads: Iterable[Any] = (), writes: Iterable[Any] = (), stream: Any = None) -> None:
    """Record one operation on ``stream`` (default: the current one); raise StreamHazard on a race."""
    if not _enabled:
        return
    with _lock:
        key = stream_key(stream)
        clock = _clocks.setdefault(key, {})
        _merge(clock, _host_state.clock)
        device, blocking = _blocking[key]
        if key.startswith("null@"):  # the legacy stream waits for earlier work of every blocking stream
            for other, (dev, other_blocking) in _blocking.items():
                if other != key and dev == device and other_blocking:
                    _merge(clock, _clocks.get(other, {}))
        elif blocking:  # and a blocking stream waits for the legacy stream
            _merge(clock, _clocks.get(f"null@dev{device}", {}))
        clock[key] = clock.get(key, 0) + 1
        access = _Access(key, clock[key], what, _site())
        read_buffers = [_buffer(r) for r in map(_root, reads) if r is not None]
        write_buffers = [_buffer(r) for r in map(_root, writes) if r is not None]
        for buffer in read_buffers:
            if not _ordered(buffer.write, clock, key):
                _raise("reads", access, buffer.write, buffer)
        for buffer in write_buffers:
            if not _ordered(buffer.write, clock, key):
                _raise("writes", access, buffer.write, buffer)
            for read in buffer.reads.values():
                if not _ordered(read, clock, key):
                    _raise("writes", access, read, buffer)
        for buffer in read_buffers:
            buffer.reads[key] = access
        for buffer in write_buffers:
            buffer.write, buffer.reads = access, {}


def _raise(verb: str, access: _Access, earlier: _Access, buffer: _Buffer) -> None:
    raise StreamHazard(f"{access} {verb} {buffer.label} that {earlier} "
                       f"{'wrote' if earlier is buffer.write else 'read'}, with no ordering between the two "
                       "streams (record an event and wait for it, or synchronise)")
