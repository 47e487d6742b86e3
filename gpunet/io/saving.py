"""The save pipeline: gather -> stage -> serialize -> commit, optionally in the background.

``gather`` lists the arrays (no copy); ``stage`` copies them into reused host
buffers (page-locked on a GPU; asynchronous there, so the simulation goes on);
``serialize`` writes the format into a temporary file on a background worker
thread; ``commit`` fsyncs and renames it over the target.  A blocking save is
the same path followed by ``result()``.

Concurrency rules (documented behaviour, tested):

* each network has one writer thread: its saves commit in the order they were
  made; at most ``max_pending`` are in flight, one more waits (or raises
  :class:`SaveQueueFull` with ``on_full="raise"``);
* two saves to the same path (from any networks) commit one after the other;
  the last one made wins, and each commit is atomic;
* a load reads the last committed file: a save in progress to the same path is
  never seen half-written;
* errors of background saves (disk full, permission denied, folder removed)
  are kept on their :class:`SaveHandle` and raised by ``result()`` and by
  :func:`wait_for_saves`; the previous file stays intact.
"""
from __future__ import annotations

import concurrent.futures
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from gpunet.errors import BackendError, GpunetError
from gpunet.io.atomic import atomic_writer
from gpunet.io.gather import StatePlan, assemble_state, plan_state
from gpunet.io.host_pool import HostBufferPool

STAGING_MODES = ("auto", "host", "device")


class SaveQueueFull(GpunetError):
    """``max_pending`` saves are already in flight and ``on_full="raise"`` was asked for."""


@dataclass(frozen=True)
class SaveOptions:
    """Knobs of a save.

    Parameters
    ----------
    blocking : bool
        Wait until the file is committed (default) or return at once.
    max_pending : int
        Saves of one network in flight at once (bounds host memory).
    on_full : {"wait", "raise"}
        What a save does when ``max_pending`` are in flight.
    staging : {"auto", "host", "device"}
        GPU only: ``"device"`` packs the state into one device buffer first so
        the simulation never waits for PCIe; ``"host"`` copies straight into
        pinned host memory; ``"auto"`` picks ``"device"`` when free device
        memory allows.  On NumPy only ``"auto"``/``"host"`` are valid.
    compress : bool
        Deflate the members of a native ``.npz``.
    fsync : bool
        fsync the file and its folder (durability); only benchmarks turn it off.
    """

    blocking: bool = True
    max_pending: int = 2
    on_full: str = "wait"
    staging: str = "auto"
    compress: bool = False
    fsync: bool = True

    def __post_init__(self) -> None:
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {self.max_pending}")
        if self.on_full not in ("wait", "raise"):
            raise ValueError(f"on_full must be 'wait' or 'raise', got {self.on_full!r}")
        if self.staging not in STAGING_MODES:
            raise ValueError(f"staging must be one of {STAGING_MODES}, got {self.staging!r}")


class SaveHandle:
    """A save in progress or done; Future-like.

    Attributes
    ----------
    path : Path
        The target file.
    nbytes : int
        Bytes of array data saved.
    durations : dict
        Seconds spent in ``gather``, ``stage`` (host copies, incl. waiting for
        the GPU copy), ``serialize``, ``commit``, and ``held`` (time the
        calling thread was held by ``save``).
    """

    def __init__(self, path: Path, nbytes: int) -> None:
        self.path = path
        self.nbytes = nbytes
        self.durations: dict[str, float] = {}
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self._reported = False

    def done(self) -> bool:
        """Whether the save has finished (committed or failed)."""
        return self._future.done()

    def result(self, timeout: Optional[float] = None) -> Path:
        """Wait for the commit and return the path; raise the save's error if it failed."""
        try:
            path = self._future.result(timeout)
        except BaseException:
            self._reported = True
            raise
        self._reported = True
        return path

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The save's error (None when it succeeded); waits like :meth:`result`."""
        error = self._future.exception(timeout)
        if error is not None:
            self._reported = True
        return error

    def __repr__(self) -> str:
        status = "pending" if not self.done() else ("failed" if self._future.exception() else "committed")
        return f"<SaveHandle {self.path} {status}, {self.nbytes} bytes>"


_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _path_locks_guard:
        return _path_locks.setdefault(key, threading.Lock())


class Saver:
    """The save machinery of one network: writer thread, staging pool, pending handles."""

    def __init__(self, network: Any) -> None:
        self._network = weakref.ref(network)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpunet-save")
        self.max_pending = 0
        self.slots = threading.Semaphore(0)
        self.pool: Optional[HostBufferPool] = None
        self.pending: list[SaveHandle] = []
        self._lock = threading.Lock()

    def _ensure_capacity(self, max_pending: int) -> None:
        network = self._network()
        if self.pool is None:
            self.pool = HostBufferPool(network.backend.host_buffer, max_pending)
        while self.max_pending < max_pending:
            self.max_pending += 1
            self.pool.max_sets = self.max_pending
            self.slots.release()

    def _staging_mode(self, requested: str, nbytes: int) -> str:
        backend = self._network().backend
        if not backend.is_gpu:
            if requested == "device":
                raise BackendError("staging='device' needs the CuPy backend; this network runs on NumPy")
            return "host"
        if requested == "auto":
            free = backend.free_device_memory() or 0
            return "device" if free > 2 * nbytes else "host"
        return requested

    def submit(self, path: Path, plan: StatePlan, serialize: Callable, options: SaveOptions,
               started: float) -> SaveHandle:
        network = self._network()
        self._ensure_capacity(options.max_pending)
        handle = SaveHandle(path, plan.nbytes)
        handle.durations["gather"] = time.perf_counter() - started
        if not self.slots.acquire(blocking=options.on_full == "wait"):
            raise SaveQueueFull(f"{path}: {self.max_pending} saves are already in flight (max_pending); "
                                "wait for them or use on_full='wait'")
        buffers = None
        try:
            device_refs = plan.device_arrays
            mode = self._staging_mode(options.staging, plan.nbytes)
            stage_start = time.perf_counter()
            buffers = self.pool.acquire([(tuple(r.array.shape), r.array.dtype) for r in device_refs])
            with network.backend.activate():
                ticket = network.backend.stage([r.array for r in device_refs], buffers.views, mode,
                                               base=buffers.buffer)
            handle.durations["stage_call"] = time.perf_counter() - stage_start
        except BaseException:
            if buffers is not None:
                self.pool.release(buffers)
            self.slots.release()
            raise
        with self._lock:
            self.pending = [h for h in self.pending if not (h.done() and h._reported)]
            self.pending.append(handle)

        def work() -> None:
            try:
                wait_start = time.perf_counter()
                ticket.wait()
                handle.durations["stage"] = handle.durations["stage_call"] + time.perf_counter() - wait_start
                host = {(r.owner, r.key): view for r, view in zip(device_refs, buffers.views)}
                host.update({(r.owner, r.key): r.array for r in plan.arrays if not r.on_device})
                state = assemble_state(plan, host)
                with _path_lock(path):
                    serialize_start = time.perf_counter()
                    with atomic_writer(path, fsync=options.fsync) as stream:
                        serialize(state, stream)
                        commit_start = time.perf_counter()
                    handle.durations["serialize"] = commit_start - serialize_start
                    handle.durations["commit"] = time.perf_counter() - commit_start
            except BaseException as exc:  # kept on the handle, raised by result()/wait_for_saves()
                handle._future.set_exception(exc)
            else:
                handle._future.set_result(path)
            finally:
                self.pool.release(buffers)
                self.slots.release()

        handle._future.set_running_or_notify_cancel()
        self.executor.submit(work)
        handle.durations["held"] = time.perf_counter() - started
        return handle

    def wait_all(self, timeout: Optional[float] = None) -> None:
        """Wait for every pending save; raise the first error not yet reported."""
        with self._lock:
            handles = list(self.pending)
        first_error = None
        deadline = None if timeout is None else time.monotonic() + timeout
        for handle in handles:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            error = handle._future.exception(remaining)
            if error is not None and not handle._reported and first_error is None:
                first_error = error
            handle._reported = True
        with self._lock:
            self.pending = [h for h in self.pending if not h.done()]
        if first_error is not None:
            raise first_error

    @property
    def pool_nbytes(self) -> int:
        return self.pool.nbytes if self.pool is not None else 0


def saver_of(network: Any) -> Saver:
    """The network's Saver (created on first use)."""
    saver = getattr(network, "_saver", None)
    if saver is None:
        saver = Saver(network)
        network._saver = saver
    return saver


def save_network(network: Any, path: Path, serialize: Callable, options: SaveOptions,
                 populations: Any = True, projections: Any = True, single_object: bool = False) -> SaveHandle:
    """Run the pipeline for ``network``; see :func:`gpunet.save`."""
    started = time.perf_counter()
    if not network.compiled:
        network.compile()
    # On the compute stream: the spike-history gather in the plan must follow the kernels already queued there
    # (a non-blocking stream does not wait for work issued on the legacy default stream, nor the reverse).
    with network.backend.activate():
        plan = plan_state(network, populations, projections)
    plan.single_object = single_object
    handle = saver_of(network).submit(Path(path), plan, serialize, options, started)
    if options.blocking:
        handle.result()
    return handle


__all__ = ["SaveOptions", "SaveHandle", "SaveQueueFull", "Saver", "save_network", "saver_of"]
