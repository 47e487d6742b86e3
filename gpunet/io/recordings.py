"""Monitors' recordings in a state file: checked against the network's monitors, then handed to them.

A load of a file saved with ``monitors=True`` runs in three steps, so that a
failed load changes nothing, monitors included:

1. :func:`plan_recordings` checks every monitor's recordings in the file
   against the monitor of the same name in the network
   (:meth:`Monitor.recording_spec`) and prepares the arrays (cast to the
   monitor's dtypes); problems are collected and raised at once as a
   :class:`~gpunet.errors.StructureError` naming the file, the monitor and the
   variable;
2. :func:`gpunet.io.pipeline.restore.restore_state` restores the network (its own plan
   and apply);
3. each monitor takes its prepared recordings (:meth:`Monitor.restore_recordings`),
   which cannot fail.

Rules (those of a load, see :func:`gpunet.load`): recordings of a monitor the
network lacks, and recorded variables the monitor does not record, are skipped
with a warning; a monitor of the network that the file lacks, or a variable the
file lacks, keeps its recordings with a warning; ``strict=True`` makes these
errors.  A monitor whose object, recorded neurons, period or offset differ
from the file's, and recordings that do not fit (shapes, steps beyond the
file's step or off the period, spike indexes beyond the recorded neurons), are
always errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

from gpunet.io.pipeline.problems import Problems
from gpunet.io.pipeline.restore import LoadWarning, restore_state
from gpunet.io.pipeline.state_types import MonitorState, NetworkState, RecordingSpec
from gpunet.io.pipeline.user_warnings import warn_at_caller
from gpunet.limits import MAX_STEP


def _steps(checker: Problems, where: str, value: Any, end: int, non_decreasing: bool) -> Optional[np.ndarray]:
    array = np.asarray(value)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        checker.error(f"{where}: expected a 1-D array of integer steps, found {array.dtype} of shape {array.shape}")
        return None
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= end):
        checker.error(f"{where}: steps must lie in [0, {end}) (the file's step), found {array.min()}..{array.max()}")
        return None
    if array.size > 1:
        step_back = np.diff(array) < 0 if non_decreasing else np.diff(array) <= 0
        if step_back.any():
            checker.error(f"{where}: steps must be {'non-decreasing' if non_decreasing else 'increasing'}")
            return None
    return array


def _values(checker: Problems, where: str, value: Any, rows: int, width: Optional[int],
            dtype: np.dtype) -> Optional[np.ndarray]:
    array = np.asarray(value)
    shape = (rows,) if width is None else (rows, width)
    if array.shape != shape:
        checker.error(f"{where}: expected shape {shape} (recorded steps x {'1' if width is None else width}), "
                      f"found {array.shape}")
        return None
    if array.dtype.kind not in "biuf" or (array.dtype.kind == "f") != (dtype.kind == "f"):
        checker.error(f"{where}: expected values of type {dtype}, found {array.dtype}")
        return None
    cast = np.ascontiguousarray(array, dtype=dtype)
    if dtype.kind != "f" and not np.array_equal(cast, array):
        checker.error(f"{where}: values do not fit type {dtype}")
        return None
    return cast


def _session(checker: Problems, where: str, recording: MonitorState, end: int) -> None:
    stamps = [recording.session_start, recording.session_stop, *recording.window]
    if any(s is not None and not 0 <= s <= min(end, MAX_STEP) for s in stamps):
        checker.error(f"{where}: session and window steps must lie in [0, {end}] (the file's step)")


def _check_one(checker: Problems, recording: MonitorState, spec: RecordingSpec, end: int,
               state: NetworkState) -> MonitorState:
    where = f"monitor {recording.name!r}"
    if (recording.target, recording.target_kind) != (spec.target, spec.target_kind):
        checker.error(f"{where}: records {recording.target_kind} {recording.target!r} in the file, "
                      f"{spec.target_kind} {spec.target!r} in the network")
    file_ranks = recording.arrays.get("ranks")
    if (file_ranks is None) != (spec.ranks is None) or (
            file_ranks is not None and not np.array_equal(np.asarray(file_ranks), spec.ranks)):
        checker.error(f"{where}: the file's monitor records other neurons than the network's "
                      f"({'a view' if file_ranks is not None else 'the whole population'} in the file, "
                      f"{'a view' if spec.ranks is not None else 'the whole population'} in the network)")
    if (recording.period_steps, recording.offset_steps) != (spec.period_steps, spec.offset_steps):
        checker.error(f"{where}: recorded every {recording.period_steps} step(s) at offset "
                      f"{recording.offset_steps} in the file, every {spec.period_steps} at offset "
                      f"{spec.offset_steps} in the network")
    _session(checker, where, recording, end)
    widths = dict(spec.widths)
    if spec.target_kind == "projection" and state.projection(spec.target) is not None:
        in_file = state.projection(spec.target)  # the load rebuilds the projection from the file
        widths = {v: w if w is None or v in in_file.semiglobal else in_file.nb_synapses  # semiglobal: post neurons
                  for v, w in widths.items()}
    prepared: dict[str, np.ndarray] = {}
    for variable in recording.variables:
        if variable not in spec.variables:
            checker.tolerated(f"{where}: records {variable!r}, which the network's monitor does not (skipped)")
    for variable in spec.variables:
        if variable not in recording.variables:
            checker.tolerated(f"{where}: the file holds no recording of {variable!r} (the monitor keeps its own)")
            continue
        label = f"{where}, {variable!r}"
        if variable == "spike":
            steps = _steps(checker, f"{label} (spike.steps)", recording.arrays.get("spike.steps", []), end, True)
            index = np.asarray(recording.arrays.get("spike.index", []))
            if steps is None:
                continue
            if index.shape != steps.shape or index.dtype.kind not in "iu":
                checker.error(f"{label}: spike.index must be integers, one per spike ({steps.shape[0]}), "
                              f"found {index.dtype} of shape {index.shape}")
            elif index.size and (index.min() < 0 or index.max() >= spec.size):
                checker.error(f"{label}: spike.index must lie in [0, {spec.size}) (the recorded neurons)")
            else:
                prepared["spike.steps"], prepared["spike.index"] = steps, index.astype(np.int64)
            continue
        steps = _steps(checker, f"{label} (steps)", recording.arrays.get(f"steps.{variable}", []), end, False)
        if steps is None:
            continue
        if steps.size and np.any(steps % spec.period_steps != spec.offset_steps):
            checker.error(f"{label}: steps off the recording period ({spec.period_steps} steps, offset "
                          f"{spec.offset_steps})")
            continue
        values = _values(checker, f"{label} (values)", recording.arrays.get(f"values.{variable}"), len(steps),
                         widths[variable], spec.dtypes[variable])
        if values is not None:
            prepared[f"values.{variable}"], prepared[f"steps.{variable}"] = values, steps
    return replace(recording, arrays=prepared)


def _file_spec(recording: MonitorState, state: NetworkState) -> RecordingSpec:
    """The spec of a monitor that fits ``recording`` (for the checks a file alone decides, ``gpunet verify``)."""
    arrays = recording.arrays
    ranks = None if arrays.get("ranks") is None else np.asarray(arrays["ranks"])
    width: Optional[int] = None
    if recording.target_kind == "projection":
        size = 0
        projection = state.projection(recording.target)
        width = None if projection is None else projection.nb_synapses
    else:
        population = state.population(recording.target)
        width = len(ranks) if ranks is not None else (None if population is None else int(population.size))
        index = np.asarray(arrays.get("spike.index", np.zeros(0, np.int64)))
        size = width if width is not None else (int(index.max()) + 1 if index.size and index.dtype.kind in "iu"
                                                else 0)
    widths, dtypes = {}, {}
    for variable in recording.variables:
        if variable == "spike":
            continue
        values = np.asarray(arrays.get(f"values.{variable}", np.zeros(0)))
        widths[variable] = None if values.ndim == 1 else (width if width is not None else values.shape[-1])
        dtypes[variable] = values.dtype if values.dtype.kind in "biuf" else np.dtype(np.float64)
    return RecordingSpec(name=recording.name, target=recording.target, target_kind=recording.target_kind,
                         variables=tuple(recording.variables), period_steps=max(1, int(recording.period_steps)),
                         offset_steps=int(recording.offset_steps), ranks=ranks, widths=widths, dtypes=dtypes,
                         size=size)


def check_recordings(checker: Problems, state: NetworkState) -> None:
    """The checks of a load's recordings that the file alone decides (into ``checker``; ``gpunet verify``)."""
    if not state.monitors:
        return
    if state.step is None:
        checker.error(f"the file holds monitor recordings but no step counter")
        return
    names = [recording.name for recording in state.monitors]
    if len(set(names)) != len(names):
        checker.error(f"two monitors have the same name")
    for recording in state.monitors:
        if recording.period_steps < 1 or not 0 <= recording.offset_steps < recording.period_steps:
            checker.error(f"monitor {recording.name!r}: period {recording.period_steps} and "
                          f"offset {recording.offset_steps} steps (needs period >= 1, 0 <= offset < period)")
            continue
        _check_one(checker, recording, _file_spec(recording, state), int(state.step), state)


def plan_recordings(network: Any, state: NetworkState, source: str,
                    strict: bool = False) -> list[tuple[Any, MonitorState]]:
    """Check the file's recordings against the network's monitors; the (monitor, prepared recordings) pairs.

    Raises
    ------
    StructureError
        Listing every problem; nothing has changed.
    """
    if not state.monitors:
        return []
    checker = Problems(source, strict)
    if state.step is None:
        checker.error(f"the file holds monitor recordings but no step counter")
        checker.raise_if_any("nothing was loaded")
    by_name = {monitor.name: monitor for monitor in network.monitors}
    in_file = {recording.name for recording in state.monitors}
    plan = []
    for recording in state.monitors:
        monitor = by_name.get(recording.name)
        if monitor is None:
            checker.tolerated(f"the file holds recordings of monitor {recording.name!r}, which the "
                              f"network lacks (its monitors: {sorted(by_name) or 'none'}; skipped)")
            continue
        plan.append((monitor, _check_one(checker, recording, monitor.recording_spec(), int(state.step), state)))
    for name in by_name:
        if name not in in_file:
            checker.tolerated(f"no recordings of monitor {name!r} in the file (it keeps its own)")
    checker.raise_if_any("nothing was loaded")
    checker.warn_notes(LoadWarning)
    return plan


@dataclass
class RecordingsPlan:
    """What a load gives the monitors: ``handed`` (monitor, checked recordings) pairs, and ``stale`` projection
    monitors whose recordings the load drops (:func:`plan_load_recordings`)."""

    handed: list = field(default_factory=list)
    stale: list = field(default_factory=list)


def plan_load_recordings(network: Any, state: NetworkState, source: str, monitors: bool = True,
                         strict: bool = False, projections: Any = True) -> RecordingsPlan:
    """Check the recordings of ``state`` for a load into ``network`` (nothing changes; see :func:`plan_recordings`).

    Parameters
    ----------
    network : Network
        The network loaded into.
    state : NetworkState
        The file's state (a part under comm: the recordings of the process's rows).
    source : str
        The file, for messages.
    monitors : bool
        False ignores the recordings (stale projection monitors are still dropped).
    strict, projections
        As for :func:`gpunet.load`.
    """
    handed = plan_recordings(network, state, source, strict=strict) if monitors else []
    return RecordingsPlan(handed, _outgrown(network, state, projections, {id(m) for m, _ in handed}))


def hand_recordings(plan: RecordingsPlan) -> None:
    """Give the monitors what ``plan`` holds (after the network itself was restored); cannot fail.

    Parameters
    ----------
    plan : RecordingsPlan
        From :func:`plan_load_recordings`.
    """
    for monitor in plan.stale:
        warn_at_caller(f"projection {monitor.projection.name!r} gets other synapses from the file; "
                       f"monitor {monitor.name!r} drops what it recorded before the load (its columns were the "
                       "old synapses)", LoadWarning)
        monitor.reset()
    for monitor, recording in plan.handed:
        monitor.restore_recordings(recording)


def restore_with_recordings(network: Any, state: NetworkState, source: str, monitors: bool = True,
                            **options: Any) -> None:
    """:func:`~gpunet.io.pipeline.restore.restore_state`, and the monitors' recordings when the file has them.

    ``monitors=False`` ignores the recordings.  Transactional: the recordings
    are checked first, then the network is restored, then the monitors take
    their recordings (which cannot fail).
    """
    plan = plan_load_recordings(network, state, source, monitors, strict=options.get("strict", False),
                                projections=options.get("projections", True))
    restore_state(network, state, source, **options)
    hand_recordings(plan)


def _outgrown(network: Any, state: NetworkState, projections: Any, restored: set) -> list:
    """Projection monitors whose projection the load rebuilds with another synapse count, and that the file does
    not give recordings of the new shape."""
    loaded = None if projections is True else {p.name for p in (projections or [])}
    stale = []
    for monitor in network.monitors:
        projection = getattr(monitor, "projection", None)
        if projection is None or id(monitor) in restored or (loaded is not None and projection.name not in loaded):
            continue
        in_file = state.projection(projection.name)
        if in_file is not None and in_file.nb_synapses != monitor.size:
            stale.append(monitor)
    return stale
