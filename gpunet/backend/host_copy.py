"""Copy many host arrays at once, splitting large ones across threads.

The NumPy backend's staging copy of a snapshot is the only time the simulation
loop waits for a save.  One thread rarely saturates the memory bus;
``np.copyto`` releases the GIL, so a few threads each copying pieces of a few
megabytes finish sooner (1.3x on a 2-core VM, more with more memory channels).
Small states are copied on the calling thread alone: starting threads would
cost more than it saves.
"""
from __future__ import annotations

import concurrent.futures
import os
import threading
from typing import Optional, Sequence

import numpy as np

__all__ = ["copy_arrays", "COPY_THREADS", "PARALLEL_MIN_BYTES"]

#: Threads used for large copies (the calling thread included).
COPY_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Below this total, copies run on the calling thread only.
PARALLEL_MIN_BYTES = 8 << 20
_PIECE_BYTES = 2 << 20

_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
_executor_lock = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(COPY_THREADS - 1, thread_name_prefix="gpunet-copy")
        return _executor


def _pieces(destination: np.ndarray, source: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    if source.nbytes <= _PIECE_BYTES or not (destination.flags.c_contiguous and source.flags.c_contiguous):
        return [(destination, source)]
    flat_destination, flat_source = destination.reshape(-1), source.reshape(-1)
    step = max(1, _PIECE_BYTES // source.itemsize)
    return [(flat_destination[i:i + step], flat_source[i:i + step]) for i in range(0, flat_source.size, step)]


def _copy_all(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    for destination, source in pairs:
        np.copyto(destination, source)


def copy_arrays(sources: Sequence[np.ndarray], destinations: Sequence[np.ndarray]) -> None:
    """``np.copyto(destinations[i], sources[i])`` for every i; returns when all are copied.

    Shapes and dtypes must match (as ``np.copyto`` with casting 'same_kind'
    requires).
    """
    total = sum(int(source.nbytes) for source in sources)
    if COPY_THREADS < 2 or total < PARALLEL_MIN_BYTES:
        _copy_all(list(zip(destinations, sources)))
        return
    pieces = [piece for pair in zip(destinations, sources) for piece in _pieces(*pair)]
    pieces.sort(key=lambda pair: -pair[1].nbytes)
    shares: list[list] = [[] for _ in range(COPY_THREADS)]
    loads = [0] * COPY_THREADS
    for pair in pieces:  # largest first onto the least loaded thread
        lightest = loads.index(min(loads))
        shares[lightest].append(pair)
        loads[lightest] += pair[1].nbytes
    futures = [_pool().submit(_copy_all, share) for share in shares[1:] if share]
    try:
        _copy_all(shares[0])
    finally:  # never return (or raise) while another thread still writes into the destinations
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()
