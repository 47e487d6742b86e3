"""The interface every array backend implements.

The simulation code is written once against ``backend.xp`` (NumPy or CuPy).
Where the two libraries differ (scatter-add, sparse products, host transfers,
streams) the backend offers one method with one implementation per library.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from gpunet.backend.host_copy import copy_arrays


class StageTicket:
    """Completion of a staging copy; ``wait()`` blocks until the host copies exist."""

    def wait(self) -> None:
        return None


class Backend:
    """Array module plus the few operations that differ between libraries.

    Attributes
    ----------
    name : str
        ``"numpy"`` or ``"cupy"``.
    xp : module
        The array module (``numpy`` or ``cupy``).
    device : int
        Device id (always 0 for NumPy).
    is_gpu : bool
        Whether arrays live in GPU memory.
    """

    name = "abstract"
    is_gpu = False

    def __init__(self, xp: Any, device: int = 0) -> None:
        self.xp = xp
        self.device = int(device)

    # -- placement ---------------------------------------------------------
    def asarray(self, values: Any, dtype: Any = None) -> Any:
        """Copy ``values`` (host or device) into a new array on this device."""
        raise NotImplementedError

    def to_host(self, array: Any) -> np.ndarray:
        """Return a host NumPy copy of ``array``."""
        raise NotImplementedError

    def assign(self, target: Any, values: Any) -> None:
        """Copy ``values`` (host or device, broadcastable) into the existing array ``target``."""
        target[...] = self.asarray(values)

    def assign_many(self, targets: list, values: list) -> None:
        """:meth:`assign` ``values[i]`` to ``targets[i]`` for every i."""
        for target, value in zip(targets, values):
            self.assign(target, value)

    def copy_to_host(self, array: Any, out: np.ndarray) -> np.ndarray:
        """Copy ``array`` into the existing host array ``out`` (same shape and dtype) and return ``out``.

        On a GPU ``out`` is best page-locked (:meth:`host_buffer`): the copy then goes by DMA, with no
        staging buffer; it is complete when this returns.
        """
        out[...] = self.to_host(array)
        return out

    def copy_from_host(self, target: Any, values: np.ndarray) -> None:
        """Copy the host array ``values`` into the existing array ``target`` (same shape and dtype).

        On a GPU the copy is queued on the compute stream (asynchronous when ``values`` is page-locked):
        ``values`` must not be written again before the stream has passed the copy (any later copy to the
        host on that stream, such as :meth:`copy_to_host`, waits for it).
        """
        self.assign(target, values)

    def is_device_array(self, array: Any) -> bool:
        """Whether ``array`` is an array of this backend on this device."""
        raise NotImplementedError

    @contextmanager
    def activate(self) -> Iterator[None]:
        """Make this backend's device current for the duration of the block."""
        yield

    def synchronize(self) -> None:
        """Wait until all queued device work is finished."""

    # -- operations that differ between libraries -------------------------
    def scatter_add(self, target: Any, indices: Any, values: Any) -> None:
        """``target[indices] += values`` with repeated indices accumulated."""
        raise NotImplementedError

    def csr_matrix(self, data: Any, indices: Any, indptr: Any, shape: tuple[int, int]) -> Any:
        """A CSR matrix that shares ``data`` (no copy) and supports ``@`` with a vector."""
        raise NotImplementedError

    def expand_ranges(self, starts: Any, counts: Any) -> Any:
        """Concatenate ``arange(s, s + c)`` for every (start, count) pair, in order."""
        xp = self.xp
        ends = xp.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        if total == 0:
            return xp.zeros(0, dtype=xp.int64)
        positions = xp.arange(total, dtype=xp.int64)
        segment = xp.searchsorted(ends, positions, side="right")
        return positions - (ends - counts)[segment] + starts[segment]

    # -- staging for saves (see gpunet.io.pipeline.saving) ------------------------------
    def host_buffer(self, nbytes: int) -> np.ndarray:
        """A host byte buffer for staging (page-locked where the backend has DMA).

        The pages are touched once here, so that the first save that uses the
        buffer does not pay the page faults while the simulation waits.
        """
        buffer = np.empty(int(nbytes), dtype=np.uint8)
        buffer.fill(0)
        return buffer

    def stage(self, arrays: list, views: list, staging: str = "host", base=None) -> "StageTicket":
        """Copy ``arrays`` into the host ``views`` (same shapes and dtypes).

        ``base`` is the buffer the views were carved from (used by packed
        staging on the GPU).

        Returns a ticket whose ``wait()`` returns once the host copies are
        complete.  After ``stage`` returns, the simulation may overwrite the
        arrays: the backend orders its later writes after the copies.
        """
        copy_arrays(arrays, views)
        return StageTicket()

    def describe(self) -> str:
        """One line naming the backend and device, for logs and reports."""
        return self.name

    def free_device_memory(self) -> int | None:
        """Free device memory in bytes, or None where it does not apply."""
        return None

    def __repr__(self) -> str:
        return f"<Backend {self.describe()}>"
