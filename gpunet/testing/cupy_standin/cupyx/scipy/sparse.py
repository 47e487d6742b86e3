"""``cupyx.scipy.sparse`` of the stand-in: a CSR matrix over device arrays."""
from __future__ import annotations

from typing import Any

import scipy.sparse

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin._core import check_device, check_stream_device, ndarray, wrap

__all__ = ["csr_matrix", "issparse"]


class csr_matrix:  # noqa: N801 - SciPy's name
    """CSR matrix whose ``data``, ``indices`` and ``indptr`` are device arrays (shared, not copied).

    Only ``csr_matrix((data, indices, indptr), shape=...)`` and products with
    a device vector or matrix are offered.
    """

    format = "csr"

    def __init__(self, arg: Any, shape: Any = None, dtype: Any = None, copy: bool = False) -> None:
        if not (isinstance(arg, tuple) and len(arg) == 3):
            raise TypeError("the CuPy stand-in's csr_matrix takes (data, indices, indptr)")
        device = _state.current_device()
        for part, name in zip(arg, ("data", "indices", "indptr")):
            if not isinstance(part, ndarray):
                raise TypeError(f"csr_matrix: {name} must be a device array, got {type(part)}")
            check_device(part, device, f"csr_matrix {name}")
        data, indices, indptr = (a.copy() if copy else a for a in arg)
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = tuple(int(s) for s in shape)
        self.device = device
        self.dtype = data.dtype

    def _host(self) -> scipy.sparse.csr_matrix:
        matrix = scipy.sparse.csr_matrix(self.shape, dtype=self.data.dtype)
        matrix.data, matrix.indices, matrix.indptr = self.data._a, self.indices._a, self.indptr._a
        return matrix

    def __matmul__(self, other: Any) -> ndarray:
        if not isinstance(other, ndarray):
            raise TypeError(f"Unsupported type {type(other)}")
        device = _state.current_device()
        check_stream_device("csrmv")
        for array, what in ((self.data, "csr_matrix"), (other, "csr_matrix @ operand")):
            check_device(array, device, what)
        _state.launches.count("csrmv")
        result = wrap(self._host() @ other._a, device)
        _hazards.operation("csrmv", [self.data, self.indices, self.indptr, other], [result])
        return result

    dot = __matmul__

    @property
    def nnz(self) -> int:
        return int(self.data.size)


def issparse(value: Any) -> bool:
    return isinstance(value, csr_matrix)
