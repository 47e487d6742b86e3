"""Copy many host arrays at once, splitting large ones across threads.

The NumPy backend's staging copy of a snapshot is the only time the simulation
loop waits for a save.  One thread rarely saturates the memory bus;
``np.copyto`` releases the GIL, so a few threads each copying pieces of a few
megabytes finish sooner (figures: docs/performance.md).
Small states are copied on the calling thread alone: handing work to other
threads would cost more than it saves.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from gpunet.backend import workers

__all__ = ["copy_arrays", "PARALLEL_MIN_BYTES"]

#: Below this total, copies run on the calling thread only.
PARALLEL_MIN_BYTES = 8 << 20
_PIECE_BYTES = 2 << 20


def _pieces(destination: np.ndarray, source: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    if source.nbytes <= _PIECE_BYTES or not (destination.flags.c_contiguous and source.flags.c_contiguous):
        return [(destination, source)]
    flat_destination, flat_source = destination.reshape(-1), source.reshape(-1)
    step = max(1, _PIECE_BYTES // source.itemsize)
    return [(flat_destination[i:i + step], flat_source[i:i + step]) for i in range(0, flat_source.size, step)]


def copy_arrays(sources: Sequence[np.ndarray], destinations: Sequence[np.ndarray]) -> None:
    """``np.copyto(destinations[i], sources[i])`` for every i; returns when all are copied.

    Shapes and dtypes must match (as ``np.copyto`` with casting 'same_kind'
    requires).
    """
    total = sum(int(source.nbytes) for source in sources)
    if workers.WORKER_THREADS < 2 or total < PARALLEL_MIN_BYTES:
        for destination, source in zip(destinations, sources):
            np.copyto(destination, source)
        return
    pieces = [piece for pair in zip(destinations, sources) for piece in _pieces(*pair)]
    workers.run_balanced([(int(source.nbytes), functools.partial(np.copyto, destination, source))
                          for destination, source in pieces])
