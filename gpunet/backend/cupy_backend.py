"""CuPy backend: the GPU implementation of :class:`~gpunet.backend.base.Backend`.

This is the only module of gpunet that imports CuPy.  Importing it without a
usable GPU raises :class:`~gpunet.errors.BackendError` with the reason.

With ``GPUNET_CUPY_STANDIN=1`` the modules ``cupy`` and ``cupyx`` imported here
are :mod:`gpunet.testing.cupy_standin`, which ``gpunet/__init__`` registers
under those names (the backend, gpunet's ground floor, imports nothing above
it): every GPU code path then runs on the CPU, strictly checked.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from gpunet.backend.base import Backend, StageTicket
from gpunet.errors import BackendError

try:  # pragma: no cover - exercised only where CuPy is installed
    import cupy
    import cupyx
    import cupyx.scipy.sparse as cupy_sparse
except Exception as exc:  # ImportError, or a CUDA library failing to load
    cupy = None
    _IMPORT_ERROR: Exception | None = exc
else:  # pragma: no cover
    _IMPORT_ERROR = None

# -- CuPy stand-in switch ---------------------------------------------------------------------------------
#: True when ``cupy`` is gpunet's CuPy stand-in (GPUNET_CUPY_STANDIN=1): every description then says so.
STANDIN = bool(getattr(cupy, "IS_STANDIN", False))
STANDIN_NAME = "CuPy stand-in (no GPU)"


def probe(device: int = 0) -> str | None:
    """Return None when CuPy and ``device`` work, otherwise the reason they do not."""
    if cupy is None:
        return f"cupy is not importable ({type(_IMPORT_ERROR).__name__}: {_IMPORT_ERROR})"
    try:  # pragma: no cover
        count = cupy.cuda.runtime.getDeviceCount()
        if device >= count:
            return f"device {device} requested but only {count} CUDA device(s) found"
        with cupy.cuda.Device(device):
            cupy.zeros(1).sum().item()
    except Exception as exc:  # pragma: no cover
        return f"no usable CUDA device ({type(exc).__name__}: {exc})"
    return None


def device_count() -> int:
    """The number of CUDA devices CuPy sees (0 without CuPy or a driver)."""
    if cupy is None:
        return 0
    try:  # pragma: no cover
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # pragma: no cover - no driver
        return 0


class CupyBackend(Backend):  # pragma: no cover - needs a GPU
    """Arrays in GPU memory on one device, operations by CuPy."""

    name = "cupy"
    is_gpu = True

    def __init__(self, device: int = 0) -> None:
        reason = probe(device)
        if reason is not None:
            raise BackendError(f"backend 'cupy' is not usable: {reason}")
        super().__init__(cupy, device)
        with cupy.cuda.Device(self.device):
            # The compute stream is a blocking stream: user code that writes a device_view() array on the legacy
            # default stream between two simulate() calls is then ordered with the queued steps (CUDA's implicit
            # legacy-stream ordering); a non-blocking compute stream raced with it.  The copy stream of the
            # snapshots stays non-blocking (stage() orders the legacy stream after its copies explicitly).
            self.compute_stream = cupy.cuda.Stream(non_blocking=False)
            self.copy_stream = cupy.cuda.Stream(non_blocking=True)

    @contextmanager
    def activate(self) -> Iterator[None]:
        with cupy.cuda.Device(self.device), self.compute_stream:
            yield

    def asarray(self, values: Any, dtype: Any = None) -> Any:
        with self.activate():
            if isinstance(values, cupy.ndarray) and values.device.id != self.device:
                values = values.get()
            return cupy.array(values, dtype=dtype, copy=True)

    def assign(self, target: Any, values: Any) -> None:
        # On this device and its compute stream: a write on the legacy default stream would not be
        # ordered with the queued steps, and one on another device would go through a peer pointer.
        with self.activate():
            target[...] = self.asarray(values)

    def to_host(self, array: Any) -> np.ndarray:
        if isinstance(array, cupy.ndarray):
            with cupy.cuda.Device(array.device.id):
                return array.get(stream=self.compute_stream)
        return np.array(array, copy=True)

    def copy_to_host(self, array: Any, out: np.ndarray) -> np.ndarray:
        with cupy.cuda.Device(self.device):
            return array.get(stream=self.compute_stream, out=out)

    def copy_from_host(self, target: Any, values: np.ndarray) -> None:
        with cupy.cuda.Device(self.device):
            target.set(values, stream=self.compute_stream)

    def is_device_array(self, array: Any) -> bool:
        return isinstance(array, cupy.ndarray) and array.device.id == self.device

    def synchronize(self) -> None:
        self.compute_stream.synchronize()

    def scatter_add(self, target, indices, values) -> None:
        cupyx.scatter_add(target, indices, values)

    def csr_matrix(self, data, indices, indptr, shape):
        with self.activate():
            return cupy_sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False)

    def describe(self) -> str:
        if STANDIN:
            return f"{STANDIN_NAME}, cupy API {cupy.__version__}, stand-in device {self.device}"
        props = cupy.cuda.runtime.getDeviceProperties(self.device)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return f"cupy {cupy.__version__} on GPU {self.device} ({gpu})"

    def free_device_memory(self) -> int | None:
        with cupy.cuda.Device(self.device):
            free, _total = cupy.cuda.runtime.memGetInfo()
        return int(free)

    def record_event(self) -> Any:
        """Record an event on the compute stream and return it."""
        event = cupy.cuda.Event(disable_timing=True)
        event.record(self.compute_stream)
        return event

    def host_buffer(self, nbytes: int) -> np.ndarray:
        """A page-locked host byte buffer of ``nbytes`` bytes (DMA target of async copies)."""
        memory = cupy.cuda.alloc_pinned_memory(int(nbytes))
        return np.frombuffer(memory, dtype=np.uint8, count=int(nbytes))

    def stage(self, arrays: list, views: list, staging: str = "host", base=None) -> StageTicket:
        """Asynchronous device-to-host staging into pinned ``views``.

        ``staging="host"``: an event on the compute stream; the side stream
        waits on it and copies each array into its pinned view; the compute
        stream (and the legacy default stream) wait for those copies before
        their next write, so the host never blocks here.
        ``staging="device"``: one device-to-device packing of every array into
        a contiguous device buffer on the compute stream (which then goes on at
        once), followed by a single packed device-to-host copy on the side
        stream, off the critical path.
        """
        with cupy.cuda.Device(self.device):
            with self.compute_stream:  # raw copies below read whole buffers: make every array contiguous first
                arrays = [a if a.flags.c_contiguous else cupy.ascontiguousarray(a) for a in arrays]
            ready = cupy.cuda.Event(disable_timing=True)
            ready.record(self.compute_stream)
            if staging == "device":
                return self._stage_packed(arrays, views, ready, base)
            self.copy_stream.wait_event(ready)
            for array, view in zip(arrays, views):
                if array.nbytes:
                    cupy.cuda.runtime.memcpyAsync(view.ctypes.data, array.data.ptr, array.nbytes,
                                                  cupy.cuda.runtime.memcpyDeviceToHost, self.copy_stream.ptr)
            done = cupy.cuda.Event(disable_timing=True)
            done.record(self.copy_stream)
            self.compute_stream.wait_event(done)
            cupy.cuda.Stream.null.wait_event(done)
            return _EventTicket(done, keep_alive=arrays)  # contiguous copies live until the side stream read them

    def _stage_packed(self, arrays: list, views: list, ready, base: np.ndarray) -> StageTicket:
        # The views were carved from ``base`` with 64-byte alignment; packing on the
        # device with the same offsets lets one D2H copy fill every view at once.
        offsets = [int(view.ctypes.data - base.ctypes.data) for view in views]
        total = max((o + int(v.nbytes) for o, v in zip(offsets, views)), default=0)
        packed = cupy.empty(max(total, 1), dtype=cupy.uint8)  # from CuPy's pool: no cudaMalloc per save
        for array, start in zip(arrays, offsets):
            if array.nbytes:
                cupy.cuda.runtime.memcpyAsync(packed.data.ptr + start, array.data.ptr, array.nbytes,
                                              cupy.cuda.runtime.memcpyDeviceToDevice, self.compute_stream.ptr)
        packed_ready = cupy.cuda.Event(disable_timing=True)
        packed_ready.record(self.compute_stream)
        cupy.cuda.Stream.null.wait_event(packed_ready)
        self.copy_stream.wait_event(packed_ready)
        if total:
            cupy.cuda.runtime.memcpyAsync(base.ctypes.data, packed.data.ptr, total,
                                          cupy.cuda.runtime.memcpyDeviceToHost, self.copy_stream.ptr)
        done = cupy.cuda.Event(disable_timing=True)
        done.record(self.copy_stream)
        return _EventTicket(done, keep_alive=packed)


class _EventTicket(StageTicket):  # pragma: no cover - needs a GPU
    def __init__(self, event, keep_alive=None) -> None:
        self.event, self.keep_alive = event, keep_alive

    def wait(self) -> None:
        self.event.synchronize()
        self.keep_alive = None
