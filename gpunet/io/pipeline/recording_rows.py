"""Monitors' recordings cut into the rows of one process, and joined back: the recordings a part holds.

A part of a state (:mod:`gpunet.io.pipeline.shard_state`) holds, of each monitor, what the process holding its
rows records (under comm each process records its own neurons and synapses):

* a monitor of a population: the columns of its rows (``values.<v>`` of shape ``(steps, rows)``), the spikes of
  those neurons; ``spike.index`` stays the neuron's position among all recorded neurons (its rank);
* a monitor of a population view: the columns of the view's neurons whose ranks are in its rows, in the view's
  order, and their spikes (``spike.index``: the position in the view); ``ranks`` whole;
* a monitor of a projection: the columns of its synapses (post-major, as the projection's arrays), or of its
  post neurons for a semiglobal variable;
* global variables (``(steps,)``) and every ``steps.<v>`` whole.

Joining parts (consecutive rows) puts the columns back in order and the spikes in recording order (by step,
then position), so joining every process's part gives exactly what one process records.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.pipeline.partition import synapse_block
from gpunet.io.pipeline.state_types import MonitorState, NetworkState

__all__ = ["cut_recordings", "join_recordings"]


def _fail(monitor: MonitorState, message: str) -> FormatError:
    return FormatError(f"monitor {monitor.name!r}: {message}")


def _positions(monitor: MonitorState, lo: int, hi: int) -> Optional[np.ndarray]:
    """A view's positions whose ranks lie in ``[lo, hi)`` (None for a monitor of a whole population)."""
    ranks = monitor.arrays.get("ranks")
    if ranks is None:
        return None
    ranks = np.asarray(ranks, dtype=np.int64)
    return np.flatnonzero((ranks >= lo) & (ranks < hi))


def _neuron_of(monitor: MonitorState, index: np.ndarray, size: int) -> np.ndarray:
    """The rank of the neuron of each spike (``index``: positions among the recorded neurons)."""
    ranks = monitor.arrays.get("ranks")
    count = size if ranks is None else len(ranks)
    if index.size and (index.min() < 0 or index.max() >= count):
        raise _fail(monitor, f"spike.index must lie in [0, {count}) (the recorded neurons)")
    return index if ranks is None else np.asarray(ranks, dtype=np.int64)[index]


def _columns(monitor: MonitorState, key: str, array: np.ndarray, held: int, keep) -> np.ndarray:
    if array.ndim != 2:
        return array
    if array.shape[1] != held:
        raise _fail(monitor, f"{key}: {array.shape[1]} columns, the rows held have {held}")
    return array[:, keep]


def cut_recordings(state: NetworkState, held: Mapping[str, tuple[int, int]], rows: Mapping[str, tuple[int, int]],
                   synapses: Optional[Mapping[str, int]] = None) -> list[MonitorState]:
    """The recordings of ``state``'s monitors for ``rows`` (population -> ``[lo, hi)``), ``state`` holding ``held``.

    Parameters
    ----------
    state : NetworkState
        A whole state or a part (its projections give the synapse columns).
    held, rows : mapping
        The rows ``state`` holds and the rows wanted (within them), by population.
    synapses : mapping, optional
        Projection name -> synapses the recordings' columns are (default: the
        projection's in ``state``; a reader holding only some of its rows,
        with ``row_ptr`` still counting from the first synapse of ``held``, gives them).

    Raises
    ------
    FormatError
        A monitor of an object the state lacks, or recordings that do not fit the rows held.
    """
    cut = []
    for monitor in state.monitors:
        if monitor.target_kind == "population":
            if monitor.target not in rows or state.population(monitor.target) is None:
                raise _fail(monitor, f"records population {monitor.target!r}, which the state lacks: its "
                                     "recordings cannot be cut into the rows of processes")
            (first, last), (lo, hi) = held[monitor.target], rows[monitor.target]
            size = state.population(monitor.target).size
            inside = _positions(monitor, first, last)
            if inside is None:
                keep, count = slice(lo - first, hi - first), last - first
            else:
                keep, count = np.searchsorted(inside, _positions(monitor, lo, hi)), len(inside)
        else:
            proj = state.projection(monitor.target)
            if proj is None or proj.post not in rows:
                raise _fail(monitor, f"records projection {monitor.target!r}, which the state lacks: its "
                                     "recordings cannot be cut into the rows of processes")
            (first, last), (lo, hi) = held[proj.post], rows[proj.post]
            _, _, s0, s1 = synapse_block(proj.post_ranks, np.asarray(proj.row_ptr, dtype=np.int64), lo, hi)
            size = 0
        spikes = {}
        if "spike.index" in monitor.arrays:
            index = np.asarray(monitor.arrays["spike.index"], dtype=np.int64)
            steps = np.asarray(monitor.arrays.get("spike.steps", np.zeros(0, np.int64)))
            if steps.shape != index.shape:
                raise _fail(monitor, "spike.steps and spike.index differ in length")
            neurons = _neuron_of(monitor, index, size)
            mine = (neurons >= lo) & (neurons < hi)
            spikes = {"spike.steps": steps[mine], "spike.index": index[mine]}
        arrays = {}
        for key, array in monitor.arrays.items():  # in the monitor's order: equal states give equal files
            array = np.asarray(array)
            if key in spikes:
                arrays[key] = spikes[key]
            elif monitor.target_kind == "population":
                arrays[key] = _columns(monitor, key, array, count, keep) if key.startswith("values.") else array
            elif key.startswith("values.") and key[len("values."):] in proj.semiglobal:
                arrays[key] = _columns(monitor, key, array, last - first, slice(lo - first, hi - first))
            elif key.startswith("values."):
                count = int(proj.nb_synapses) if synapses is None else int(synapses[proj.name])
                arrays[key] = _columns(monitor, key, array, count, slice(s0, s1))
            else:
                arrays[key] = array
        cut.append(dataclasses.replace(monitor, arrays=arrays))
    return cut


def _same_description(a: MonitorState, b: MonitorState) -> bool:
    fields = ("name", "target", "target_kind", "variables", "period_steps", "offset_steps", "recording",
              "session_start", "session_stop")
    return all(getattr(a, f) == getattr(b, f) for f in fields) and tuple(a.window) == tuple(b.window)


def join_recordings(parts: Sequence[NetworkState], rows: Sequence[Mapping[str, tuple[int, int]]],
                    sources: Sequence[str]) -> list[MonitorState]:
    """The recordings of consecutive parts joined (what a part holding all their rows holds).

    Parameters
    ----------
    parts : sequence of NetworkState
        Parts in process order, each with its monitors' recordings cut to its rows.
    rows : sequence of mappings
        The rows of each part, by population.
    sources : sequence of str
        The parts' names, for errors.

    Raises
    ------
    FormatError
        Parts whose monitors differ, or whose recorded steps differ.
    """
    first = parts[0]
    joined = []
    for index, monitor in enumerate(first.monitors):
        group = []
        for part, source in zip(parts, sources):
            other = part.monitors[index] if index < len(part.monitors) else None
            if other is None or not _same_description(other, monitor):
                raise FormatError(f"{source}: monitor {monitor.name!r} differs from {sources[0]}'s")
            group.append(other)
        spikes = {}
        if "spike.steps" in monitor.arrays:
            steps = np.concatenate([np.asarray(m.arrays["spike.steps"], dtype=np.int64) for m in group])
            index = np.concatenate([np.asarray(m.arrays["spike.index"], dtype=np.int64) for m in group])
            order = np.lexsort((index, steps))  # recording order: by step, then position
            spikes = {"spike.steps": steps[order], "spike.index": index[order]}
        arrays = {}
        for key, array in monitor.arrays.items():
            pieces = [np.asarray(m.arrays.get(key, array)) for m in group]
            if key in spikes:
                arrays[key] = spikes[key]
            elif key.startswith("values.") and pieces[0].ndim == 2:
                arrays[key] = _join_columns(monitor, pieces, [r.get(monitor.target) for r in rows])
            else:
                for piece, source in zip(pieces[1:], sources[1:]):
                    if piece.shape != pieces[0].shape or not np.array_equal(piece, pieces[0]):
                        raise FormatError(f"{source}: monitor {monitor.name!r}, {key}: differs from "
                                          f"{sources[0]}'s (every part holds it whole)")
                arrays[key] = pieces[0]
        joined.append(dataclasses.replace(monitor, arrays=arrays))
    return joined


def _join_columns(monitor: MonitorState, pieces: list, rows: list) -> np.ndarray:
    if monitor.target_kind != "population" or monitor.arrays.get("ranks") is None:
        return np.concatenate(pieces, axis=1)  # consecutive rows, synapses or post neurons: in order
    positions = [_positions(monitor, lo, hi) for lo, hi in rows]
    everything = np.concatenate(positions)
    order = np.argsort(everything, kind="stable")
    return np.concatenate(pieces, axis=1)[:, order]  # back in the view's order
