"""Page-locked host memory of the stand-in (``cupy.cuda.alloc_pinned_memory``)."""
from __future__ import annotations

import ctypes
import mmap

from gpunet.testing.cupy_standin import _state


class PinnedMemoryPointer(mmap.mmap):
    """Page-aligned host memory (an anonymous mapping) that the stand-in knows as pinned.

    It exposes the buffer protocol, so ``np.frombuffer(memory, ...)`` views it
    as CuPy's pinned memory is viewed.
    """

    @property
    def ptr(self) -> int:
        return self._ptr

    @property
    def size(self) -> int:
        return len(self)


def alloc_pinned_memory(nbytes: int) -> PinnedMemoryPointer:
    """``nbytes`` of page-aligned host memory, registered as pinned for the copy checks."""
    if int(nbytes) < 0:
        raise ValueError(f"alloc_pinned_memory: negative size {nbytes}")
    memory = PinnedMemoryPointer(-1, max(int(nbytes), 1))
    anchor = ctypes.c_char.from_buffer(memory)
    memory._ptr = ctypes.addressof(anchor)
    del anchor  # the address stays valid while the mapping lives
    _state.register(memory, memory._ptr, int(nbytes), None, pinned=True)
    return memory
