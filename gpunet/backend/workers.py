"""A few worker threads for work that releases the GIL (large copies, file reads, checksums).

NumPy copies, ``os.preadv`` and the CRC-32 of :mod:`gpunet.io.storage.checksum`
release the GIL, so splitting them across threads uses more of the memory
bandwidth than one thread can.  The calling thread takes a share itself; the
others run on one shared pool created on first use.
"""
from __future__ import annotations

import concurrent.futures
import os
import threading
from typing import Callable, Optional, Sequence

__all__ = ["WORKER_THREADS", "run_balanced", "run_pipelined"]

#: Threads used for one batch of work (the calling thread included).
WORKER_THREADS = max(1, min(4, os.cpu_count() or 1))

_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
_executor_lock = threading.Lock()


def _pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < workers:
            _executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="gpunet-worker")
        return _executor


def _run_all(tasks: Sequence[Callable[[], None]]) -> None:
    for task in tasks:
        task()


def run_balanced(tasks: Sequence[tuple[int, Callable[[], None]]], threads: Optional[int] = None) -> None:
    """Run every ``(weight, task)`` on up to ``threads`` threads; return when all have finished.

    Tasks go heaviest first onto the least loaded thread.  The first error
    raised by a task is raised here, after every thread has stopped.
    """
    threads = WORKER_THREADS if threads is None else max(1, threads)
    if threads < 2 or len(tasks) < 2:
        _run_all([task for _, task in tasks])
        return
    shares: list[list] = [[] for _ in range(threads)]
    loads = [0] * threads
    for weight, task in sorted(tasks, key=lambda item: -item[0]):
        lightest = loads.index(min(loads))
        shares[lightest].append(task)
        loads[lightest] += weight
    futures = [_pool(threads - 1).submit(_run_all, share) for share in shares[1:] if share]
    try:
        _run_all(shares[0])
    finally:  # never return (or raise) while another thread still works on the caller's data
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()


def run_pipelined(steps: Sequence[tuple[Callable[[], None], Optional[Callable[[], None]]]]) -> None:
    """Run every ``(first, then)`` step: each ``first`` in order on the calling thread, each ``then`` on a worker
    once its ``first`` has returned, so that it overlaps the ``first`` of the next steps.

    ``then`` may be None.  Returns when all have finished; the first error is
    raised after every thread has stopped, and no step starts after a
    ``first`` failed.
    """
    if WORKER_THREADS < 2:
        for first, then in steps:
            first()
            if then is not None:
                then()
        return
    futures = []
    try:
        for first, then in steps:
            first()
            if then is not None:
                futures.append(_pool(1).submit(then))
    finally:  # never return (or raise) while a worker still works on the caller's data
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()
