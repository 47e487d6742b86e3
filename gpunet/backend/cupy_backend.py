"""CuPy backend: the GPU implementation of :class:`~gpunet.backend.base.Backend`.

This is the only module of gpunet that imports CuPy.  Importing it without a
usable GPU raises :class:`~gpunet.errors.BackendError` with the reason.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from gpunet.backend.base import Backend
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
            self.compute_stream = cupy.cuda.Stream(non_blocking=True)
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

    def to_host(self, array: Any) -> np.ndarray:
        if isinstance(array, cupy.ndarray):
            with cupy.cuda.Device(array.device.id):
                return array.get(stream=self.compute_stream)
        return np.array(array, copy=True)

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

    def pinned_empty(self, nbytes: int) -> np.ndarray:
        """A page-locked host byte buffer of ``nbytes`` bytes."""
        memory = cupy.cuda.alloc_pinned_memory(nbytes)
        return np.frombuffer(memory, dtype=np.uint8, count=nbytes)
