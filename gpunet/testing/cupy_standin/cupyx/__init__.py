"""``cupyx`` of the stand-in: :func:`scatter_add` and :mod:`cupyx.scipy.sparse`."""
from __future__ import annotations

from typing import Any

import numpy as np

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin._core import check_stream_device, ndarray, unwrap
from gpunet.testing.cupy_standin.cupyx import scipy

__all__ = ["scatter_add", "scipy"]


def scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    """``a[slices] += value`` with repeated indices accumulated (CuPy: atomics, in no fixed order)."""
    if not isinstance(a, ndarray):
        raise TypeError(f"scatter_add needs a device array, got {type(a)}")
    device = _state.current_device()
    check_stream_device("scatter_add")
    target = unwrap(a, device, "scatter_add")
    np.add.at(target, unwrap(slices, device, "scatter_add"), unwrap(value, device, "scatter_add"))
    _state.launches.count("scatter_add")
    _hazards.operation("scatter_add", [a, slices, value], [a])
