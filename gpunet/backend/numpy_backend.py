"""NumPy backend: the CPU implementation of :class:`~gpunet.backend.base.Backend`."""
from __future__ import annotations

import platform
from typing import Any

import numpy as np
import scipy.sparse

from gpunet.backend.base import Backend
from gpunet.backend.host_copy import copy_arrays


def _on_host(values: Any) -> Any:
    """``values``, fetched to the host first when it is a CuPy array (coming from another network)."""
    if hasattr(values, "get") and not isinstance(values, np.ndarray):
        return values.get()
    return values


class NumpyBackend(Backend):
    """Arrays in host memory, operations by NumPy and SciPy."""

    name = "numpy"
    is_gpu = False

    def __init__(self, device: int = 0) -> None:
        super().__init__(np, 0)

    def asarray(self, values: Any, dtype: Any = None) -> np.ndarray:
        return np.array(_on_host(values), dtype=dtype, copy=True)

    def assign(self, target: np.ndarray, values: Any) -> None:
        target[...] = _on_host(values)  # straight into place: no temporary copy

    def assign_many(self, targets: list, values: list) -> None:
        host = [_on_host(v) for v in values]
        if all(isinstance(v, np.ndarray) and v.shape == t.shape and v.dtype == t.dtype for t, v in zip(targets, host)):
            copy_arrays(host, targets)  # large states: split across threads
            return
        super().assign_many(targets, host)

    def to_host(self, array: Any) -> np.ndarray:
        if hasattr(array, "get") and not isinstance(array, np.ndarray):
            return array.get()
        return np.array(array, copy=True)

    def is_device_array(self, array: Any) -> bool:
        return isinstance(array, np.ndarray)

    def scatter_add(self, target: np.ndarray, indices: np.ndarray, values: Any) -> None:
        # np.add.at accumulates in index order, which is the order the step
        # semantics (and ANNarchy's sequential loop) prescribe.
        np.add.at(target, indices, values)

    def expand_ranges(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        return offsets + np.arange(total, dtype=np.int64)

    def csr_matrix(self, data, indices, indptr, shape):
        matrix = scipy.sparse.csr_matrix(shape, dtype=data.dtype)
        # Assigning the arrays directly keeps them shared with the projection,
        # so that plasticity updates are seen without rebuilding the matrix.
        matrix.data, matrix.indices, matrix.indptr = data, indices, indptr
        return matrix

    def describe(self) -> str:
        return f"numpy {np.__version__} on CPU ({platform.processor() or platform.machine()})"
