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
  :func:`wait_for_saves`; the previous file stays intact;
* at interpreter exit the pending saves are finished (the writer threads are
  joined); a save that failed and whose error nobody received is reported on
  stderr (``gpunet: error: background save to PATH failed: ...``) and the
  process exits with status :data:`EXIT_STATUS_ON_LOST_SAVE` (1) instead of 0.
  Changing the status needs ``os._exit`` after the standard streams and
  ``logging`` are flushed, so at-exit handlers registered *before* gpunet was
  imported do not run then; when the script already ends with an uncaught
  exception its status (1) is kept as it is and only the report is added.
  Call :func:`gpunet.wait_for_saves` at the end of a script to handle such
  errors yourself.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from gpunet.errors import BackendError, GpunetError
from gpunet.io.storage.atomic import atomic_writer
from gpunet.io.pipeline.gather import StatePlan, assemble_state, plan_state, resolved
from gpunet.io.pipeline.host_pool import HostBufferPool

STAGING_MODES = ("auto", "host", "device")

#: Exit status of a process whose background save failed unreported (None keeps the status unchanged).
EXIT_STATUS_ON_LOST_SAVE: Optional[int] = 1


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

    ``save(..., blocking=False)`` returns one; user code does not make them.

    Parameters
    ----------
    path : Path
        The target file.
    nbytes : int
        Bytes of array data saved.

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
        with _outstanding_guard:  # until it succeeds or its error is received (see _report_lost_saves)
            _outstanding.add(self)

    def done(self) -> bool:
        """Whether the save has finished (committed or failed)."""
        return self._future.done()

    def result(self, timeout: Optional[float] = None) -> Path:
        """Wait for the commit and return the path; raise the save's error if it failed.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most (None: until done).
        """
        try:
            path = self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise
        except BaseException:
            self._reported = True
            _settle(self)
            raise
        self._reported = True
        return path

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The save's error (None when it succeeded); waits like :meth:`result`.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most (None: until done).
        """
        error = self._future.exception(timeout)
        if error is not None:
            self._reported = True
            _settle(self)
        return error

    def __repr__(self) -> str:
        status = "pending" if not self.done() else ("failed" if self._future.exception() else "committed")
        return f"<SaveHandle {self.path} {status}, {self.nbytes} bytes>"


_outstanding: set = set()
_outstanding_guard = threading.Lock()


def _settle(handle: "SaveHandle") -> None:
    """Forget a handle that succeeded or whose error was received."""
    with _outstanding_guard:
        _outstanding.discard(handle)


def lost_saves() -> list[tuple["SaveHandle", BaseException]]:
    """Background saves that failed and whose error nobody received yet (waits for pending ones)."""
    with _outstanding_guard:
        handles = list(_outstanding)
    lost = []
    for handle in handles:
        error = handle._future.exception()
        if error is not None and not handle._reported:
            lost.append((handle, error))
    return lost


def _report_lost_saves() -> None:
    """At interpreter exit: report background saves that failed unnoticed, and make the exit status say so."""
    lost = lost_saves()
    if not lost:
        return
    for handle, error in lost:
        message = str(error).replace("\n", " ")
        print(f"gpunet: error: background save to {handle.path} failed: {type(error).__name__}: {message}; "
              "the file was not written", file=sys.stderr)
    if EXIT_STATUS_ON_LOST_SAVE is None or getattr(sys, "last_value", None) is not None:
        return  # an uncaught exception already makes the status non-zero
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(EXIT_STATUS_ON_LOST_SAVE)


# Registered at import, so that it runs after the at-exit handlers registered later (they run last-in first-out).
atexit.register(_report_lost_saves)

_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _path_locks_guard:
        return _path_locks.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class _WriteJob:
    """All the background writer gets: the plan captured at the call and the staged host copies.

    The writer never sees the network, so nothing done to it after the call
    (a load, a new seed, changed parameters, more steps) can reach the file.
    """

    path: Path
    plan: StatePlan
    ticket: Any
    views: tuple
    serialize: Callable
    fsync: bool
    #: Called on the writer thread once the file is committed (with None) or its save failed (with the error);
    #: a sharded save commits its manifest there, after every process's shard (gpunet.io.sharded_save).
    finish: Optional[Callable[[Optional[BaseException]], None]] = None


def _write(job: _WriteJob, handle: SaveHandle) -> None:
    """Serialize and commit one save, then run its ``finish`` step (on the writer thread)."""
    try:
        _write_file(job, handle)
    except BaseException as exc:
        if job.finish is not None:
            job.finish(exc)
        raise
    if job.finish is not None:
        finish_start = time.perf_counter()
        job.finish(None)
        handle.durations["finish"] = time.perf_counter() - finish_start


def _write_file(job: _WriteJob, handle: SaveHandle) -> None:
    wait_start = time.perf_counter()
    job.ticket.wait()
    handle.durations["stage"] = handle.durations["stage_call"] + time.perf_counter() - wait_start
    host = {(r.owner, r.key): view for r, view in zip(job.plan.device_arrays, job.views)}
    host.update({(r.owner, r.key): resolved(r.array) for r in job.plan.arrays if not r.on_device})
    state = assemble_state(job.plan, host)
    with _path_lock(job.path):
        serialize_start = time.perf_counter()
        with atomic_writer(job.path, fsync=job.fsync) as stream:
            job.serialize(state, stream)
            commit_start = time.perf_counter()
        handle.durations["serialize"] = commit_start - serialize_start
        handle.durations["commit"] = time.perf_counter() - commit_start


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
               started: float, finish: Optional[Callable] = None, shown_path: Optional[Path] = None) -> SaveHandle:
        network = self._network()
        self._ensure_capacity(options.max_pending)
        gathered = time.perf_counter() - started
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
            stage_call = time.perf_counter() - stage_start
        except BaseException:
            if buffers is not None:
                self.pool.release(buffers)
            self.slots.release()
            raise
        handle = SaveHandle(shown_path or path, plan.nbytes)
        handle.durations.update(gather=gathered, stage_call=stage_call)
        with self._lock:
            self.pending = [h for h in self.pending if not (h.done() and h._reported)]
            self.pending.append(handle)
        job = _WriteJob(path=path, plan=plan, ticket=ticket, views=tuple(buffers.views), serialize=serialize,
                        fsync=options.fsync, finish=finish)
        pool, slots = self.pool, self.slots

        def work() -> None:
            try:
                _write(job, handle)
            except BaseException as exc:  # kept on the handle, raised by result()/wait_for_saves()/at exit
                handle._future.set_exception(exc)
            else:
                handle._future.set_result(handle.path)
                _settle(handle)
            finally:
                pool.release(buffers)
                slots.release()

        handle._future.set_running_or_notify_cancel()
        try:
            self.executor.submit(work)
        except RuntimeError as exc:  # the interpreter is shutting down: no writer thread can start
            pool.release(buffers)
            slots.release()
            error = GpunetError(f"{path}: cannot save in the background while the interpreter shuts down")
            handle._future.set_exception(error)
            handle._reported = True
            _settle(handle)
            raise error from exc
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
            _settle(handle)
        with self._lock:
            self.pending = [h for h in self.pending if not h.done()]
        if first_error is not None:
            raise first_error

    def reserve(self, layout: list, max_pending: int) -> None:
        """Allocate ``max_pending`` staging buffer sets for ``layout`` now (fewer when some are in use), so that
        saves of that layout allocate nothing, even ``max_pending`` at once."""
        self._ensure_capacity(max_pending)
        taken = []
        try:
            with self._lock:
                in_flight = len(self.pending) - sum(h.done() for h in self.pending)
            for _ in range(max(0, max_pending - in_flight)):
                taken.append(self.pool.acquire(layout))
        finally:
            for buffers in taken:
                self.pool.release(buffers)

    @property
    def pool_nbytes(self) -> int:
        return self.pool.nbytes if self.pool is not None else 0


#: Each network's Saver, kept here rather than on the network (io writes no attribute of a network object);
#: a Saver refers to its network weakly, so an entry goes with its network.
_savers: "weakref.WeakKeyDictionary[Any, Saver]" = weakref.WeakKeyDictionary()
_savers_guard = threading.Lock()


def saver_of(network: Any) -> Saver:
    """The network's Saver (created on first use)."""
    with _savers_guard:
        saver = _savers.get(network)
        if saver is None:
            saver = _savers[network] = Saver(network)
    return saver


def save_network(network: Any, path: Path, serialize: Callable, options: SaveOptions,
                 populations: Any = True, projections: Any = True, single_object: bool = False,
                 monitors: bool = False, finish: Optional[Callable] = None,
                 shown_path: Optional[Path] = None) -> SaveHandle:
    """Run the pipeline for ``network``; see :func:`gpunet.save`.

    ``monitors``: with the monitors' recordings; ``finish``: see :class:`_WriteJob`; ``shown_path``: the path
    the handle reports when it is not the file written (a shard of a ``.shards`` folder).
    """
    started = time.perf_counter()
    if not network.compiled:
        network.compile()
    # On the compute stream: the spike-history gather in the plan must follow the kernels already queued there
    # (a non-blocking stream does not wait for work issued on the legacy default stream, nor the reverse).
    with network.backend.activate():
        plan = plan_state(network, populations, projections, single_object=single_object, monitors=monitors)
    handle = saver_of(network).submit(Path(path), plan, serialize, options, started, finish, shown_path)
    if options.blocking:
        handle.result()
    return handle


def reserve_staging(network: Any, max_pending: int = 2) -> int:
    """Allocate the host staging buffers (pinned on CuPy) of ``max_pending`` saves of the whole ``network`` now.

    Snapshotters call it when they are created, so that the first snapshot
    does not allocate its pinned memory inside the simulation loop.  The
    network must be compiled.  Returns the bytes the staging pool holds.
    """
    with network.backend.activate():
        plan = plan_state(network)
    saver = saver_of(network)
    saver.reserve([(tuple(r.array.shape), r.array.dtype) for r in plan.device_arrays], max_pending)
    return saver.pool_nbytes


__all__ = ["SaveOptions", "SaveHandle", "SaveQueueFull", "Saver", "save_network", "saver_of", "reserve_staging"]
