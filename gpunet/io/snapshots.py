"""Periodic mid-run snapshots with rotation, and resuming from the newest valid one.

A :class:`Snapshotter` takes an asynchronous snapshot every ``every`` ms of
simulated time into ``directory`` as ``snapshot-<step>.npz`` (12-digit step,
so names sort by time).  Only the newest ``keep_last`` complete snapshots are
kept: a snapshot becomes visible under its name only once it is committed
(atomic rename), so rotation can never delete the newest complete one.
Temporary files left by interrupted saves are removed when a Snapshotter
starts.  :func:`load_latest` restores the newest snapshot that reads and
validates, skipping torn or corrupt ones with a warning.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional, Union

from gpunet.errors import FormatError
from gpunet.io.atomic import cleanup_temporaries
from gpunet.io.saving import SaveHandle
from gpunet.io.user_warnings import warn_at_caller

_NAME = re.compile(r"^(?P<prefix>.+)-(?P<step>\d{12})\.npz$")


class SnapshotWarning(UserWarning):
    """A snapshot failed or a corrupt snapshot was skipped."""


def list_snapshots(directory: Union[str, Path], prefix: str = "snapshot") -> list[tuple[int, Path]]:
    """Complete snapshot files of ``directory`` as (step, path), oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match and match.group("prefix") == prefix and path.is_file():
            found.append((int(match.group("step")), path))
    return sorted(found)


class Snapshotter:
    """Take asynchronous snapshots of a network while it runs.

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
    **save_options
        Passed to :func:`gpunet.save` (``max_pending``, ``staging``, ...).

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
                 prefix: str = "snapshot", **save_options: Any) -> None:
        if every is None or every <= 0:
            raise ValueError(f"snapshot interval must be > 0 ms, got {every!r}")
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.network = network
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every_steps = max(1, int(round(every / network.dt)))
        self.keep_last = int(keep_last)
        self.prefix = prefix
        self.save_options = save_options
        self.handles: list[SaveHandle] = []
        self.completed: list[SaveHandle] = []
        self.errors: list[BaseException] = []
        self.removed_temporaries = cleanup_temporaries(self.directory)

    @property
    def taken(self) -> int:
        """Snapshots started so far (pending, committed and failed)."""
        return len(self.handles) + len(self.completed) + len(self.errors)

    @classmethod
    def from_options(cls, network: Any, snapshot_every: Optional[float] = None,
                     snapshot_dir: Optional[Union[str, Path]] = None, keep_last: int = 3,
                     **save_options: Any) -> "Snapshotter":
        """Build from ``simulate(..., snapshot_every=, snapshot_dir=, keep_last=)`` keywords."""
        if snapshot_every is None or snapshot_dir is None:
            raise ValueError("periodic snapshots need both snapshot_every (ms) and snapshot_dir")
        return cls(network, snapshot_dir, snapshot_every, keep_last=keep_last, **save_options)

    def path_for(self, step: int) -> Path:
        return self.directory / f"{self.prefix}-{step:012d}.npz"

    def after_step(self) -> Optional[SaveHandle]:
        """Called by the simulation loop after each step; snapshots when due."""
        if self.network.get_current_step() % self.every_steps == 0:
            return self.snapshot()
        return None

    def snapshot(self) -> SaveHandle:
        """Take one asynchronous snapshot now, and rotate the committed ones."""
        from gpunet.io.api import save
        self._collect()
        handle = save(self.path_for(self.network.get_current_step()), network=self.network, blocking=False,
                      **self.save_options)
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
        """Delete complete snapshots beyond the newest ``keep_last``; return the deleted paths."""
        complete = list_snapshots(self.directory, self.prefix)
        doomed = [path for _, path in complete[:-self.keep_last]]
        for path in doomed:
            path.unlink(missing_ok=True)
        return doomed

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


def load_latest(directory: Union[str, Path], network: Any = None, strict: bool = False,
                prefix: str = "snapshot") -> Path:
    """Restore the newest complete, valid snapshot of ``directory`` into the network.

    Torn or corrupt snapshots (unreadable, bad checksum) are skipped with a
    warning and the next older one is tried.  A snapshot that reads but does
    not fit the network raises :class:`~gpunet.errors.StructureError` (that is
    a wrong network, not a damaged file).

    Returns
    -------
    Path
        The snapshot that was loaded.

    Raises
    ------
    FormatError
        When the folder holds no readable snapshot.
    """
    from gpunet.io.api import _network, read_state
    from gpunet.io.restore import apply_restore, plan_restore
    net = _network(network, action=f"load_latest({str(directory)!r})")
    candidates = list_snapshots(directory, prefix)
    for _step, path in reversed(candidates):
        try:
            state = read_state(path)
        except FormatError as exc:
            warn_at_caller(f"skipping unreadable snapshot {path}: {exc}", SnapshotWarning)
            continue
        if not net.compiled:
            net.compile()
        apply_restore(net, plan_restore(net, state, str(path), strict=strict))
        return path
    raise FormatError(f"{directory}: no readable snapshot named {prefix}-<step>.npz "
                      f"({len(candidates)} candidate(s) found)")
