"""A load by several processes together: validated everywhere before it changes anything anywhere.

Every process reads the file and plans its restore (:func:`gpunet.io.pipeline.restore.plan_restore`: every name, size,
shape and value checked, everything allocated); one ``allgather`` then tells each process whether all plans
succeeded.  Only then does each apply its plan (:func:`gpunet.io.pipeline.restore.apply_restore`, which cannot fail on
input).  A failure on any process raises on every process (its own error where it failed, a
:class:`~gpunet.errors.GpunetError` naming the failed processes elsewhere) and no network has changed.

What each process reads:

- a network that holds a part (compiled under comm, several processes): only the rows it owns
  (:func:`gpunet.io.part_reader.read_own_rows`: of a ``.shards`` folder only the blocks of the shards holding them,
  a single file read whole and cut), planned against its part.  What every process holds for the whole population, the spike
  rings (their rows of recent spikes) and a ``SpikeSourceArray``'s times, is then put together from every
  process's rows by one more ``allgather``, which also tells whether every read succeeded;
- a network that holds everything (not compiled yet: it has built the whole network anyway): the whole state.

Monitors' recordings (files saved with ``monitors=True``) are checked with the rest, before anything changes,
against each process's monitors, which then take the recordings of the process's rows
(:mod:`gpunet.io.pipeline.recording_rows`): the part's, or the whole state's cut once the load has compiled the
network.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import numpy as np

from gpunet.errors import FormatError, GpunetError
from gpunet.io.part_reader import read_own_rows
from gpunet.io.pipeline.recording_rows import cut_recordings
from gpunet.io.pipeline.restore import apply_restore, plan_restore
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.io.recordings import RecordingsPlan, hand_recordings, plan_load_recordings

__all__ = ["load_together", "reads_own_rows"]

#: What a process holds for the whole population, put together from every process's part.
_WHOLE_KEYS = ("_spike_history", "_spike_times", "_spike_counts")


def reads_own_rows(network: Any) -> bool:
    """Whether a load into ``network`` reads only this process's rows: it is compiled and holds a part.

    Parameters
    ----------
    network : Network
        The network loaded into.
    """
    held_rows = getattr(network, "held_rows", None)
    return bool(getattr(network, "compiled", False)) and callable(held_rows) and held_rows() is not None


def load_together(network: Any, read: Callable[[], NetworkState], filename: str, comm: Any, populations: Any = True,
                  projections: Any = True, strict: bool = False, monitors: bool = True) -> None:
    """Load the state ``read()`` gives (from ``filename``) into ``network`` on every process of ``comm``, or on
    none (see the module).

    Parameters
    ----------
    network : Network
        The network, on every process.
    read : callable
        Reads the whole state of ``filename`` (a part is cut from it, or read from a ``.shards`` folder).
    filename : str
        The file, for reads of parts and for messages.
    comm : mpi4py communicator
        The processes loading together.
    populations, projections, strict, monitors
        As for :func:`gpunet.load`.  Each process's monitors take the recordings of its rows.
    """
    plan, recordings, error, state = None, None, None, None
    own_rows = reads_own_rows(network)
    if own_rows:  # a part's frozen connectivity is gathered once (collective): here, before any check may fail
        for projection in network.projections:
            if projection.connected:
                projection.frozen_state()
    try:
        state = read_own_rows(filename, comm.Get_size(), comm.Get_rank(), read) if own_rows else read()
    except GpunetError as exc:
        error = exc
    if own_rows:  # every process's rows of what each holds whole; and whether every read succeeded
        shared = comm.allgather((None if error is None else f"{type(error).__name__}: {error}",
                                 None if error is not None else _rows_held_whole(state),
                                 None if error is not None else _longest_delays(state)))
        _raise_if_failed(error, [report for report, _, _ in shared], filename)
        try:
            state = _with_whole(state, [columns for _, columns, _ in shared], filename)
        except GpunetError as exc:
            error = exc
        depths = _ring_depths(network, [longest for _, _, longest in shared])
    try:
        if error is None:
            plan = plan_restore(network, state, str(filename), populations=populations, projections=projections,
                                strict=strict, whole_network=True, least_depths=depths if own_rows else None)
            recordings = plan_load_recordings(network, state, str(filename), monitors, strict=strict,
                                              projections=projections)
            recordings.stale = []  # the engine drops what a projection's monitor recorded of replaced synapses
    except GpunetError as exc:
        error = exc
    _raise_if_failed(error, comm.allgather(None if error is None else f"{type(error).__name__}: {error}"),
                     filename)
    apply_restore(network, plan)
    held = None if own_rows else network.held_rows()
    if held is not None:  # compiled by this load: the monitors now record the rows of this process only
        recordings = _cut_handed(recordings, state, held)
    hand_recordings(recordings)


def _cut_handed(recordings: RecordingsPlan, state: NetworkState, held: dict) -> RecordingsPlan:
    """The recordings of a whole state, checked against monitors of the whole network, cut to the rows ``held``
    (a load into a network that it compiled; the checks made before hold for the rows too)."""
    if not recordings.handed:
        return recordings
    whole = {pop.name: (0, int(pop.size)) for pop in state.populations}
    rows = {name: tuple(held[name]) for name in whole}
    ranks = {m.name: m.arrays["ranks"] for m in state.monitors if "ranks" in m.arrays}  # which neurons a view has
    handed = [dataclasses.replace(r, arrays=dict(r.arrays, **({"ranks": ranks[r.name]} if r.name in ranks else {})))
              for _, r in recordings.handed]
    cut = cut_recordings(dataclasses.replace(state, monitors=handed), whole, rows)
    return RecordingsPlan([(monitor, part) for (monitor, _), part in zip(recordings.handed, cut)], recordings.stale)


def _raise_if_failed(error: Optional[Exception], reports: list, filename: str) -> None:
    if error is not None:
        raise error
    failed = [f"process {rank}: {report}" for rank, report in enumerate(reports) if report is not None]
    if failed:
        raise GpunetError(f"{filename}: the load failed on {len(failed)} of {len(reports)} processes, so no "
                          f"process changed its network ({'; '.join(failed)})")


def _rows_held_whole(part: NetworkState) -> dict:
    """This part's rows of the arrays every process holds whole, by population."""
    return {pop.name: {key: pop.internal[key] for key in _WHOLE_KEYS if key in pop.internal}
            for pop in part.populations}


def _longest_delays(part: NetworkState) -> dict:
    """The longest delay (ms) of each projection's synapses in this part (None: none, or not numbers)."""
    longest = {}
    for proj in part.projections:
        try:
            delays = np.asarray(proj.delays, dtype=np.float64)
            longest[proj.name] = float(delays.max()) if delays.size and np.all(np.isfinite(delays)) else None
        except (TypeError, ValueError):
            longest[proj.name] = None
    return longest


def _ring_depths(network: Any, parts: list) -> dict:
    """Population name -> the spike ring depth (steps) the longest delay from it in any process's part needs,
    so that every process plans rings of one depth (its own synapses may need less)."""
    depths: dict = {}
    for projection in network.projections:
        found = [longest.get(projection.name) for longest in parts]
        found = [ms for ms in found if ms is not None and ms >= 0]
        if not found or not projection.connected:
            continue
        try:
            steps = int(projection.delays_in_steps(np.asarray([max(found)]))[0])
        except GpunetError:
            continue  # the plan reports it
        name = projection.pre.name
        depths[name] = max(depths.get(name, 1), steps)
    return depths


def _with_whole(part: NetworkState, shared: list, filename: str) -> NetworkState:
    """``part`` with the whole populations' spike rings and spike times, joined from every process's rows."""
    for pop in part.populations:
        pieces = [columns.get(pop.name, {}) for columns in shared]
        for key in _WHOLE_KEYS:
            if key not in pop.internal:
                continue
            try:  # a part lacking it, or rows of other depths or dimensions, do not fit
                arrays = [np.asarray(piece[key]) for piece in pieces]
                pop.internal[key] = np.concatenate(arrays, axis=1 if key == "_spike_history" else 0)
            except (KeyError, ValueError, TypeError) as exc:
                raise FormatError(f"{filename}: population {pop.name!r}, {key}: the rows of the processes do not "
                                  f"fit together ({exc})") from exc
    return part
