"""Process and thread state of the stand-in: current device and stream, counters, memory ranges."""
from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

DEVICES_VARIABLE = "GPUNET_STANDIN_DEVICES"
DEFAULT_DEVICES = 2


def device_count() -> int:
    """Number of stand-in devices: ``$GPUNET_STANDIN_DEVICES`` (default 2)."""
    text = os.environ.get(DEVICES_VARIABLE, "")
    try:
        count = int(text) if text else DEFAULT_DEVICES
    except ValueError:
        raise ValueError(f"{DEVICES_VARIABLE} must be a whole number, got {text!r}") from None
    if count < 1:
        raise ValueError(f"{DEVICES_VARIABLE} must be at least 1, got {count}")
    return count


@dataclass
class SyncCounter:
    """Device-to-host transfers and synchronisations, counted per stream and in total.

    Every operation that makes the host wait for a device counts once:
    ``.get()``, ``asnumpy``, ``float()/int()/bool()/.item()`` of a device
    array, ``Stream/Event/Device.synchronize``, blocking copies and
    operations whose result size depends on the data (boolean masks,
    ``nonzero``), which CuPy must read back.

    Attributes
    ----------
    total : int
        All counted synchronisations since the last :meth:`reset`.
    by_stream : Counter
        Counts per stream label (``"null"``, ``"stream3@dev0"``, ``"device0"``).
    by_kind : Counter
        Counts per kind (``"get"``, ``"scalar"``, ``"stream.synchronize"``, ...).
    trace : bool
        When True, ``log`` keeps the kind, stream and Python call site of each sync.
    """

    total: int = 0
    by_stream: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    trace: bool = False
    log: list = field(default_factory=list)

    def count(self, kind: str, stream: str) -> None:
        refuse_while_capturing(f"a synchronisation ({kind})")
        with _lock:
            self.total += 1
            self.by_stream[stream] += 1
            self.by_kind[kind] += 1
            if self.trace:
                import traceback
                self.log.append((kind, stream, traceback.format_stack(limit=8)[:-2]))

    def reset(self) -> None:
        """Set every count to zero (and empty the log)."""
        with _lock:
            self.total = 0
            self.by_stream.clear()
            self.by_kind.clear()
            self.log.clear()


@dataclass
class LaunchCounter:
    """Kernel launches: one per array operation and one per raw kernel call, by name.

    A graph launch counts each kernel it runs (``total``, ``by_kernel``,
    ``graph_kernels``) and itself once (``graphs``); :attr:`issued` is what
    the host issued: every launch outside a graph and one per graph.
    """

    total: int = 0
    by_kernel: Counter = field(default_factory=Counter)
    graphs: int = 0
    graph_kernels: int = 0

    def count(self, name: str, in_graph: bool = False) -> None:
        with _lock:
            self.total += 1
            self.by_kernel[name] += 1
            self.graph_kernels += in_graph

    def count_graph(self) -> None:
        with _lock:
            self.graphs += 1

    @property
    def issued(self) -> int:
        """Launches the host issued (a graph counts once)."""
        return self.total - self.graph_kernels + self.graphs

    def reset(self) -> None:
        with _lock:
            self.total = 0
            self.by_kernel.clear()
            self.graphs = 0
            self.graph_kernels = 0


_lock = threading.RLock()
syncs = SyncCounter()
launches = LaunchCounter()


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.devices: list[int] = []  # the stack of Device contexts
        self.streams: dict[int, Any] = {}  # current stream per device


thread = _ThreadState()


def current_device() -> int:
    return thread.devices[-1] if thread.devices else 0


_null_stream: Any = None  # set by cuda.streams when it defines the legacy default stream


def set_null_stream(stream: Any) -> None:
    global _null_stream
    _null_stream = stream


def current_stream() -> Any:
    return thread.streams.get(current_device(), _null_stream)


def refuse_while_capturing(what: str, stream: Any = None) -> None:
    """Raise CUDARuntimeError when ``stream`` (default: the current one) is capturing: the stand-in's graphs hold
    raw kernels only, and CUDA refuses synchronisations during a capture."""
    stream = stream if stream is not None else current_stream()
    if getattr(stream, "capture", None) is not None:
        from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError
        raise CUDARuntimeError(f"cudaErrorStreamCaptureUnsupported: {what} on stream {stream.label} while it "
                               "captures (the CuPy stand-in captures raw kernel launches only)")


def memory_info() -> tuple[int, int]:
    """(free, total) bytes of the host, which stand-in devices report as theirs."""
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return int(page * os.sysconf("SC_AVPHYS_PAGES")), int(page * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30, 16 << 30


# -- memory ranges -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    start: int
    end: int
    device: Optional[int]  # None: host memory
    pinned: bool
    owner: Any = None  # a weak reference to the object owning the memory


_ranges: dict[int, Range] = {}


def register(owner: Any, start: int, nbytes: int, device: Optional[int], pinned: bool = False) -> None:
    """Remember that [start, start + nbytes) is memory of ``device`` (None: pinned host) while ``owner`` lives."""
    key = id(owner)
    with _lock:
        if key in _ranges:
            return
        _ranges[key] = Range(start, start + max(int(nbytes), 1), device, pinned, weakref.ref(owner))
    weakref.finalize(owner, _ranges.pop, key, None)


def find(address: int, nbytes: int) -> Optional[Range]:
    """The registered range holding [address, address + nbytes), or None."""
    with _lock:
        for item in _ranges.values():
            if item.start <= address and address + nbytes <= item.end:
                return item
    return None
