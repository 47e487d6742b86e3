"""Fresh host arrays that are cheap to fill once: mid-sized ones start on a 2 MiB boundary.

The first write to fresh memory faults its pages in, and an array read from a
file is written exactly once, so those faults are a large part of a read's
cost.  On Linux, NumPy asks the kernel to back allocations of 4 MiB and more
with transparent huge pages (``madvise(MADV_HUGEPAGE)``), but only the 2 MiB
ranges that lie wholly inside the advised range can be: the unaligned ends of
an array fall back to 4 KiB pages, up to 2 MiB of them (512 faults) per array.
For arrays of a few MiB that is a quarter or more of the array, so they start
on a 2 MiB boundary (as PyTorch's CPU allocator does with
``THP_MEM_ALLOC_ENABLE``).  Larger arrays gain little and are left to NumPy
(figures: docs/performance.md).  The cost: up to 2 MiB of slack per aligned
array, for as long as the array lives.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["HUGE_PAGE_BYTES", "ALIGNED_MIN_BYTES", "ALIGNED_MAX_BYTES", "empty_for_reading"]

HUGE_PAGE_BYTES = 2 << 20
#: Arrays of at least this many bytes are aligned (NumPy's own huge-page threshold).
ALIGNED_MIN_BYTES = 4 << 20
#: ... and below this many (see above).
ALIGNED_MAX_BYTES = 32 << 20


def empty_for_reading(shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` (2 MiB-aligned when mid-sized)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if not ALIGNED_MIN_BYTES <= nbytes < ALIGNED_MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    block = np.empty(nbytes + HUGE_PAGE_BYTES, dtype=np.uint8)
    start = -block.ctypes.data % HUGE_PAGE_BYTES
    return block[start:start + nbytes].view(dtype).reshape(shape)
