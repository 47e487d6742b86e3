"""``cupy.cuda.Stream`` and ``cupy.cuda.Event`` of the stand-in.

Work runs eagerly, so streams only order nothing; they are tracked so that
synchronisations are counted per stream and so that a stream is used only
on its own device.
"""
from __future__ import annotations

import itertools
import weakref
from typing import Any, Optional

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError

_ids = itertools.count(1)
_by_ptr: "weakref.WeakValueDictionary[int, Stream]" = weakref.WeakValueDictionary()


class Stream:
    """A stand-in CUDA stream (``with stream:`` makes it current on its device)."""

    null: "Stream"

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False,
                 priority: Optional[int] = None) -> None:
        self.non_blocking = bool(non_blocking)
        if null:
            self.ptr, self.device, self.label = 0, None, "null"
        else:
            self.ptr = next(_ids) << 4
            self.device = _state.current_device()
            self.label = f"stream{self.ptr >> 4}@dev{self.device}"
            _by_ptr[self.ptr] = self
        self._previous: list = []
        #: The launches recorded since begin_capture() (None: not capturing).
        self.capture: Optional[list] = None

    @property
    def device_id(self) -> int:
        return _state.current_device() if self.device is None else self.device

    def _check_device(self) -> None:
        if self.device is not None and self.device != _state.current_device():
            raise ValueError(f"stream {self.label} belongs to device {self.device}, the current device is "
                             f"{_state.current_device()} (a stream is used only on its own device)")

    def __enter__(self) -> "Stream":
        self._check_device()
        device = self.device_id
        self._previous.append((device, _state.thread.streams.get(device)))
        _state.thread.streams[device] = self
        return self

    def __exit__(self, *exc: Any) -> None:
        device, previous = self._previous.pop()
        if previous is None:
            _state.thread.streams.pop(device, None)
        else:
            _state.thread.streams[device] = previous

    def use(self) -> "Stream":
        self._check_device()
        _state.thread.streams[self.device_id] = self
        return self

    def synchronize(self) -> None:
        """Wait until the stream's work is done (counted)."""
        _state.syncs.count("stream.synchronize", self.label)
        _hazards.host_waits_for_stream(self)

    def wait_event(self, event: "Event") -> None:
        """Order this stream's later work after ``event``."""
        if not isinstance(event, Event):
            raise TypeError(f"wait_event() needs an Event, got {type(event).__name__}")
        _hazards.stream_waits_for(self, event.clock)

    def record(self, event: Optional["Event"] = None) -> "Event":
        event = event or Event()
        event.record(self)
        return event

    @property
    def done(self) -> bool:
        return True

    def begin_capture(self, mode: Any = None) -> None:
        """Record the raw kernels launched on this stream from now on, without running them (CUDA graphs)."""
        self._check_device()
        if self.ptr == 0:
            raise CUDARuntimeError("cudaErrorStreamCaptureUnsupported: the legacy default stream cannot be captured")
        if self.capture is not None:
            raise CUDARuntimeError(f"cudaErrorIllegalState: stream {self.label} is already capturing")
        self.capture = []

    def end_capture(self) -> Any:
        """Stop recording: the recorded launches as a :class:`~gpunet.testing.cupy_standin.cuda.graph.Graph`."""
        from gpunet.testing.cupy_standin.cuda.graph import Graph
        if self.capture is None:
            raise CUDARuntimeError(f"cudaErrorIllegalState: stream {self.label} is not capturing")
        launches, self.capture = self.capture, None
        return Graph(launches, self.device_id)

    def is_capturing(self) -> bool:
        """Whether :meth:`begin_capture` was called without :meth:`end_capture`."""
        return self.capture is not None

    def __repr__(self) -> str:
        return f"<Stream {self.label} (CuPy stand-in)>"


Stream.null = Stream(null=True)
_state.set_null_stream(Stream.null)


def stream_of_ptr(ptr: int) -> Stream:
    """The stream whose handle is ``ptr`` (0: the legacy default stream)."""
    if int(ptr) == 0:
        return Stream.null
    try:
        return _by_ptr[int(ptr)]
    except KeyError:
        raise ValueError(f"cudaErrorInvalidResourceHandle: no stream with handle {ptr:#x}") from None


def get_current_stream(device: Optional[int] = None) -> Stream:
    """The current stream of the current device."""
    return _state.current_stream()


class Event:
    """A stand-in CUDA event."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self.disable_timing = bool(disable_timing)
        self.stream: Optional[Stream] = None
        self.clock: dict[str, int] = {}  # the work this event completes (stream-order checking)

    def record(self, stream: Optional[Stream] = None) -> None:
        stream = stream or _state.current_stream()
        if stream.device is not None and stream.device != _state.current_device():
            raise ValueError(f"Event.record: stream {stream.label} belongs to device {stream.device}, the current "
                             f"device is {_state.current_device()}")
        self.stream = stream
        self.clock = _hazards.clock_of(_hazards.stream_key(stream))

    def synchronize(self) -> None:
        """Wait for the recorded work (counted on the stream it was recorded on)."""
        _state.syncs.count("event.synchronize", self.stream.label if self.stream else "null")
        _hazards.host_waits_for(self.clock)

    def query(self) -> bool:
        return True

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start: Event, end: Event) -> float:
    raise RuntimeError("the CuPy stand-in measures no GPU time")
