"""Periodic mid-run snapshots with rotation, and resuming from the newest valid one.

A :class:`Snapshotter` takes an asynchronous snapshot every ``every`` ms of
simulated time into ``directory`` as ``<prefix>-<run>-<step>.npz`` (12-digit
step), or as ``.shards`` folders when several processes snapshot together
(``comm``) or ``sharded=True``.  A snapshot becomes visible under its name only once it is committed
(atomic rename), so rotation never deletes the newest complete one.

Several runs in one folder (the rules, tested):

* every snapshot carries the identity of its run in its name: ``<run>`` is
  ``YYYYmmddTHHMMSSZ`` (UTC start) plus 6 random hex digits, or a name given
  with ``Snapshotter(run=...)`` (letters, digits, ``_`` and ``.``).  A run is
  one line of simulation: a network keeps its run across Snapshotters (and
  ``simulate(..., snapshot_every=...)`` calls) as long as its step counter
  does not go back; :func:`load_latest` makes the network continue the run of
  the snapshot it loaded; a network that goes back in time (a load, a reset)
  starts a new run with its next snapshot.
* rotation (``keep_last``) only ever deletes snapshots of the Snapshotter's
  own run, oldest step first;
* :func:`load_latest` takes the snapshot committed last (the file's
  modification time, ties broken by step), or with ``run=`` the highest step
  of that run; files named ``<prefix>-<step>.npz`` (older gpunet) form one
  run named ``""``;
* temporary files of interrupted saves are removed when a Snapshotter starts,
  but only those whose writer is gone (:mod:`gpunet.io.storage.temporaries`), so a
  save in progress in the same folder, from any thread or process, is never
  disturbed;
* :func:`load_latest` is safe against a writer rotating concurrently: when
  the file it chose vanishes before it is read, or a listing comes back empty
  while snapshots are being renamed, it lists the folder again.
"""
from __future__ import annotations

import re
import secrets
import shutil
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from gpunet.errors import FormatError
from gpunet.io.api import _network, read_state, save
from gpunet.io.storage.atomic import cleanup_temporaries
from gpunet.io.formats.state_shards import MANIFEST
from gpunet.io.recordings import restore_with_recordings
from gpunet.io.pipeline.saving import SaveHandle, reserve_staging
from gpunet.io.pipeline.user_warnings import warn_at_caller

_STEP = r"(?P<step>\d{12})\.(?P<suffix>npz|shards)$"
_IN_NAME = re.compile(r"^(?:(?P<run>[A-Za-z0-9_.]{1,64})-)?" + _STEP)
_RUN = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
#: How many times load_latest lists the folder again before it gives up.
MAX_RELISTS = 200

# network -> (run, step of its last snapshot or of the snapshot it was restored from)
_lineage: "weakref.WeakKeyDictionary[Any, tuple[str, int]]" = weakref.WeakKeyDictionary()


class SnapshotWarning(UserWarning):
    """A snapshot failed or a corrupt snapshot was skipped."""


def new_run_id() -> str:
    """A fresh run identity: UTC start time and 6 random hex digits (``20261129T101500Za1b2c3``)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + secrets.token_hex(3)


@dataclass(frozen=True)
class SnapshotFile:
    """One complete snapshot: its step, run (``""`` for unnamed runs), path and commit time.

    A ``.shards`` snapshot (a folder) is complete when its manifest exists; its commit time is the manifest's.
    """

    step: int
    run: str
    path: Path
    mtime_ns: int


def _parse(name: str, prefix: str) -> Optional[tuple[str, int]]:
    if not name.startswith(prefix + "-"):
        return None
    match = _IN_NAME.match(name[len(prefix) + 1:])
    if match is None:
        return None
    return match.group("run") or "", int(match.group("step"))


def run_of(path: Union[str, Path], prefix: str = "snapshot") -> Optional[str]:
    """The run identity in a snapshot's name (``""`` for an unnamed run, None if not a snapshot name)."""
    parsed = _parse(Path(path).name, prefix)
    return None if parsed is None else parsed[0]


def _scan(directory: Path, prefix: str) -> tuple[list[SnapshotFile], bool]:
    """The snapshot files of ``directory`` and whether one vanished while it was listed."""
    found, vanished = [], False
    if not directory.is_dir():
        return found, vanished
    for path in directory.iterdir():
        parsed = _parse(path.name, prefix)
        if parsed is None:
            continue
        sharded = path.suffix == ".shards"
        try:
            info = (path / MANIFEST).stat() if sharded else path.stat()
        except FileNotFoundError:
            vanished = vanished or not sharded  # a folder without manifest: an unfinished or removed snapshot
            continue
        if info.st_mode & 0o170000 == 0o100000:  # a regular file (the file, or the folder's manifest)
            found.append(SnapshotFile(parsed[1], parsed[0], path, info.st_mtime_ns))
    return found, vanished


def _newest_first(files: list[SnapshotFile], run: Optional[str]) -> list[SnapshotFile]:
    if run is not None:
        return sorted((f for f in files if f.run == run), key=lambda f: f.step, reverse=True)
    return sorted(files, key=lambda f: (f.mtime_ns, f.step, f.run), reverse=True)


def snapshot_files(directory: Union[str, Path], prefix: str = "snapshot",
                   run: Optional[str] = None) -> list[SnapshotFile]:
    """Complete snapshots of ``directory``, oldest first: all runs in commit order, or one run by step."""
    return list(reversed(_newest_first(_scan(Path(directory), prefix)[0], run)))


def list_snapshots(directory: Union[str, Path], prefix: str = "snapshot",
                   run: Optional[str] = None) -> list[tuple[int, Path]]:
    """Complete snapshot files of ``directory`` as (step, path), oldest first.

    Without ``run``: the snapshots of every run in the order they were
    committed (modification time, then step); with ``run``: that run's, by step.

    Parameters
    ----------
    directory : str or Path
        The snapshot folder.
    prefix : str
        The file names' prefix (``snapshot-<run>-<step>.npz``).
    run : str, optional
        Only this run's snapshots.
    """
    return [(f.step, f.path) for f in snapshot_files(directory, prefix, run)]


class Snapshotter:
    """Take asynchronous snapshots of a network while it runs.

    Created for a compiled network, it allocates at once the host staging
    buffers (pinned memory on CuPy) of ``max_pending`` snapshots (default 2),
    the most the save queue holds, so that no snapshot allocates inside the
    simulation loop; an uncompiled network's buffers come with its first
    snapshots.

    Parameters
    ----------
    network : Network
    directory : str or Path
        Created when missing.
    every : float
        Simulated time between snapshots, in ms (rounded to whole steps).
    keep_last : int
        Number of complete snapshots kept (the older ones are deleted).
    prefix : str
        File name prefix.
    run : str, optional
        The run identity written into the names (letters, digits, ``_``,
        ``.``); default: the network's current run (see the module's rules),
        or a new one.
    comm : mpi4py communicator, optional
        The processes that snapshot together (default: the network's ``comm``
        attribute when it has one).  Every process takes part in each
        snapshot; process 0 alone rotates.
    sharded : bool, optional
        Take ``.shards`` snapshots (a folder: one shard per process and a
        manifest) instead of ``.npz`` files; default: when ``comm`` has more
        than one process.
    **save_options
        Passed to :func:`gpunet.save` (``max_pending``, ``staging``,
        ``monitors=True`` to carry the monitors' recordings, ...).

    Examples
    --------
    >>> import gpunet as gn, tempfile
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create(10, gn.Izhikevich)
    >>> folder = tempfile.mkdtemp()
    >>> net.simulate(50.0, snapshot_every=10.0, snapshot_dir=folder, keep_last=2)
    >>> [step for step, _ in gn.list_snapshots(folder)]
    [40, 50]
    """

    def __init__(self, network: Any, directory: Union[str, Path], every: float, keep_last: int = 3,
                 prefix: str = "snapshot", run: Optional[str] = None, comm: Any = None,
                 sharded: Optional[bool] = None, **save_options: Any) -> None:
        if every is None or not every > 0 or every == float("inf"):
            raise ValueError(f"snapshot interval must be a finite number of ms > 0, got {every!r}")
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        if run is not None and not _RUN.match(run):
            raise ValueError(f"run must be 1 to 64 letters, digits, '_' or '.', got {run!r}")
        self.comm = getattr(network, "comm", None) if comm is None else comm
        nprocs = 1 if self.comm is None else self.comm.Get_size()
        self.sharded = nprocs > 1 if sharded is None else bool(sharded)
        if nprocs > 1 and not self.sharded:
            raise ValueError(f"{nprocs} processes snapshot into .shards folders (sharded=False cannot be)")
        self.rotates = self.comm is None or self.comm.Get_rank() == 0
        self.network = network
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every_steps = max(1, int(round(every / network.dt)))
        self.keep_last = int(keep_last)
        self.prefix = prefix
        self.save_options = dict(save_options, comm=self.comm) if self.comm is not None else save_options
        self.handles: list[SaveHandle] = []
        self.completed: list[SaveHandle] = []
        self.errors: list[BaseException] = []
        step = network.get_current_step()
        if run is None:
            current = _lineage.get(network)
            # an unnamed run (files of older gpunet) is not continued: its names cannot say whose they are
            run = current[0] if current is not None and current[0] and current[1] <= step else new_run_id()
        self.run = self._agreed(run)
        self._last_step = step
        _lineage[network] = (self.run, step)
        self.removed_temporaries = cleanup_temporaries(self.directory)
        if network.compiled:  # the first snapshot then allocates no (pinned) staging memory inside the loop
            reserve_staging(network, save_options.get("max_pending", 2))

    def _agreed(self, run: str) -> str:
        """Process 0's run identity, on every process (all name their shards' folders alike)."""
        return run if self.comm is None else self.comm.bcast(run, root=0)

    @property
    def taken(self) -> int:
        """Snapshots started so far (pending, committed and failed)."""
        return len(self.handles) + len(self.completed) + len(self.errors)

    @classmethod
    def from_options(cls, network: Any, snapshot_every: Optional[float] = None,
                     snapshot_dir: Optional[Union[str, Path]] = None, keep_last: int = 3,
                     **save_options: Any) -> "Snapshotter":
        """Build from ``simulate(..., snapshot_every=, snapshot_dir=, keep_last=)`` keywords.

        Parameters
        ----------
        network : Network
            The network to snapshot.
        snapshot_every : float, optional
            Period in ms.
        snapshot_dir : str or Path, optional
            The snapshot folder.
        keep_last : int
            Complete snapshots kept.
        **save_options
            Passed to each save (``prefix``, ``compress``...).
        """
        if snapshot_every is None or snapshot_dir is None:
            raise ValueError("periodic snapshots need both snapshot_every (ms) and snapshot_dir")
        return cls(network, snapshot_dir, snapshot_every, keep_last=keep_last, **save_options)

    def path_for(self, step: int) -> Path:
        """The file of this run's snapshot at ``step``.

        Parameters
        ----------
        step : int
            The network's step counter.
        """
        suffix = "shards" if self.sharded else "npz"
        return self.directory / f"{self.prefix}-{self.run}-{step:012d}.{suffix}"

    def after_step(self) -> Optional[SaveHandle]:
        """Called by the simulation loop after each step; snapshots when due."""
        if self.network.get_current_step() % self.every_steps == 0:
            return self.snapshot()
        return None

    def snapshot(self) -> SaveHandle:
        """Take one asynchronous snapshot now, and rotate the committed ones."""
        self._collect()
        step = self.network.get_current_step()
        if step < self._last_step:  # the network went back in time: its snapshots form a new run
            self.run = self._agreed(new_run_id())
        self._last_step = step
        _lineage[self.network] = (self.run, step)
        handle = save(self.path_for(step), network=self.network, blocking=False, **self.save_options)
        self.handles.append(handle)
        self.rotate()
        return handle

    def _collect(self) -> None:
        still = []
        for handle in self.handles:
            if not handle.done():
                still.append(handle)
                continue
            error = handle.exception()
            if error is not None:
                self.errors.append(error)
                warn_at_caller(f"snapshot {handle.path} failed: {error}", SnapshotWarning)
            else:
                self.completed.append(handle)
        self.handles = still

    def rotate(self) -> list[Path]:
        """Delete this run's complete snapshots beyond its newest ``keep_last``; return the deleted paths.

        Only process 0 of a communicator rotates.  A ``.shards`` snapshot
        stops existing when its manifest is removed (atomically), then its folder goes.
        """
        if not self.rotates:
            return []
        complete = list_snapshots(self.directory, self.prefix, run=self.run)
        doomed = [path for _, path in complete[:-self.keep_last]]
        if complete:
            doomed += self._abandoned_folders(complete[-1][0])
        for path in doomed:
            if path.suffix == ".shards":
                (path / MANIFEST).unlink(missing_ok=True)
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return doomed

    def _abandoned_folders(self, newest: int) -> list[Path]:
        """This run's ``.shards`` folders without a manifest at a step below ``newest`` (committed): saves that
        failed or whose processes died.  The saves of a run commit in step order on every process, so none of
        these is still being written."""
        abandoned = []
        for path in self.directory.glob(f"{self.prefix}-{self.run}-*.shards"):
            parsed = _parse(path.name, self.prefix)
            if parsed is not None and parsed[0] == self.run and parsed[1] < newest and not (path / MANIFEST).exists():
                abandoned.append(path)
        return abandoned

    def close(self) -> None:
        """Wait for pending snapshots, rotate, and raise the first snapshot error of the run."""
        for handle in self.handles:
            error = handle.exception()
            if error is not None:
                self.errors.append(error)
            else:
                self.completed.append(handle)
        self.handles = []
        self.rotate()
        if self.errors:
            first = self.errors[0]
            self.errors = []
            raise first


def _still_there(path: Path) -> bool:
    return (path / MANIFEST).exists() if path.suffix == ".shards" else path.exists()


def load_latest(directory: Union[str, Path], network: Any = None, strict: bool = False,
                prefix: str = "snapshot", run: Optional[str] = None, monitors: bool = True, *,
                comm: Any = None) -> Path:
    """Restore the newest complete, valid snapshot of ``directory`` into the network.

    The newest is the one committed last (the file's modification time, ties
    broken by step), or with ``run`` the highest step of that run.  Torn or
    corrupt snapshots (unreadable, bad checksum) are skipped with a warning
    and the next older one is tried.  A snapshot that reads but does not fit
    the network raises :class:`~gpunet.errors.StructureError` (that is a wrong
    network, not a damaged file).  A snapshot rotated away by a concurrent
    writer between the listing and the read is not an error: the folder is
    listed again.  The network then continues the loaded snapshot's run (a
    Snapshotter started on it writes and rotates that run's files).  A
    snapshot taken with ``monitors=True`` also restores the monitors'
    recordings (unless ``monitors=False``), see :func:`gpunet.load`.

    Parameters
    ----------
    directory : str or Path
        The snapshot folder.
    network : Network, optional
        The network to restore; None: the default network.
    strict : bool
        As for :func:`gpunet.load`.
    prefix : str
        The file names' prefix.
    run : str, optional
        Restore the highest step of this run.
    monitors : bool
        Give the monitors the recordings the snapshot holds.
    comm : mpi4py communicator, optional
        Every process of ``comm`` (default: the network's ``comm`` attribute
        when it has one) calls ``load_latest``: process 0 chooses the
        snapshot, and every process loads it or none does.

    Returns
    -------
    Path
        The snapshot that was loaded.

    Raises
    ------
    FormatError
        When the folder holds no readable snapshot (of ``run``).
    """
    net = _network(network, action=f"load_latest({str(directory)!r})")
    directory = Path(directory)
    comm = getattr(net, "comm", None) if comm is None else comm
    if comm is not None and comm.Get_size() > 1:
        return _load_latest_together(net, directory, comm, strict, prefix, run, monitors)
    chosen, state = _newest_readable(directory, prefix, run)
    restore_with_recordings(net, state, str(chosen.path), monitors=monitors, strict=strict)
    _lineage[net] = (chosen.run, net.get_current_step())
    return chosen.path


def _load_latest_together(net: Any, directory: Path, comm: Any, strict: bool, prefix: str,
                          run: Optional[str], monitors: bool = True) -> Path:
    """Process 0 chooses the newest readable snapshot; every process loads it, or none does."""
    from gpunet.io.collective_load import load_together
    choice: Any = None
    if comm.Get_rank() == 0:
        try:
            chosen, _ = _newest_readable(directory, prefix, run)
            choice = (str(chosen.path), chosen.run)
        except FormatError as exc:
            choice = str(exc)
    choice = comm.bcast(choice, root=0)
    if isinstance(choice, str):
        raise FormatError(choice)
    path, snapshot_run = Path(choice[0]), choice[1]
    load_together(net, lambda: read_state(path), str(path), comm, strict=strict, monitors=monitors)
    _lineage[net] = (snapshot_run, net.get_current_step())
    return path


def _newest_readable(directory: Path, prefix: str, run: Optional[str]) -> tuple[SnapshotFile, Any]:
    """The newest snapshot of ``directory`` (of ``run``) that reads, and its state (see :func:`load_latest`)."""
    broken: set[Path] = set()
    empty_listings = 0
    for _attempt in range(MAX_RELISTS):
        files, vanished = _scan(directory, prefix)
        candidates = [f for f in _newest_first(files, run) if f.path not in broken]
        for candidate in candidates:
            try:
                state = read_state(candidate.path)
            except (FormatError, FileNotFoundError) as exc:
                if not _still_there(candidate.path):  # rotated away after the listing: a newer one was committed
                    vanished = True
                    break
                broken.add(candidate.path)
                warn_at_caller(f"skipping unreadable snapshot {candidate.path}: {exc}", SnapshotWarning)
                continue
            return candidate, state
        if vanished:
            continue
        # A listing taken while a snapshot is renamed into place and an older one removed can miss both:
        # look twice more, briefly, before concluding that there is nothing to load.
        empty_listings += 1
        if empty_listings > 2:
            break
        time.sleep(0.002 * empty_listings)
    which = f" of run {run!r}" if run is not None else ""
    raise FormatError(f"{directory}: no readable snapshot{which} named {prefix}-<run>-<step>.npz or .shards "
                      f"({len(broken)} unreadable one(s) skipped)")
