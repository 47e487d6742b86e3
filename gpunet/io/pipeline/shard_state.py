"""Cut a :class:`NetworkState` into the rows of one process, and join such parts back together.

A part holds, for every population, the neurons ``[lo, hi)`` of one block of
a :class:`~gpunet.io.pipeline.partition.Partition` and, for every projection, the
synapses whose post-synaptic neuron lies in the block of its post population.
Its objects keep the global description (size, geometry, names), so a part is
not a state of its own: its ``annotations["rows"]`` say which rows it holds.

How an array is cut (the native format's keys, docs/FORMAT.md):

* 0-d arrays (global parameters, a uniform delay) are held whole by every part;
* population arrays are cut along their last axis (locals ``(size,)``,
  ``_spike_history`` ``(depth, size)``); ``_spike_times`` follows
  ``_spike_counts``;
* projection arrays of one dimension are per synapse (post-major order);
  connectivity keeps global ranks, ``row_ptr`` restarts at 0 in each part.

Monitors' recordings are cut and joined by :mod:`gpunet.io.pipeline.recording_rows`.

Joining consecutive parts gives back exactly the arrays that were cut.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.pipeline.partition import Partition, synapse_block
from gpunet.io.pipeline.recording_rows import cut_recordings, join_recordings
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState

__all__ = ["cut", "cut_rows", "join", "rows_of"]

_TIMES, _COUNTS = "_spike_times", "_spike_counts"


def _cut_population(pop: PopulationState, lo: int, hi: int, first: int, held: int) -> PopulationState:
    """Rows ``[lo, hi)`` of a population whose arrays hold the ``held`` rows from ``first`` on."""
    start, stop = lo - first, hi - first

    def cut_one(key: str, array: np.ndarray) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim == 0:
            return array
        if array.shape[-1] != held:
            raise FormatError(f"population {pop.name!r}, array {key!r}: shape {array.shape} is not per neuron "
                              f"({held} rows held); it cannot be cut into blocks")
        return array[..., start:stop]

    values = {key: cut_one(key, array) for key, array in pop.values.items()}
    internal = {}
    counts = pop.internal.get(_COUNTS)
    for key, array in pop.internal.items():
        if key == _TIMES and counts is not None and np.ndim(counts) == 1 and len(counts) == held:
            offsets = np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64))))
            internal[key] = np.asarray(array)[offsets[start]:offsets[stop]]
        elif key == _TIMES:
            internal[key] = np.asarray(array)
        else:
            internal[key] = cut_one(key, array)
    return dataclasses.replace(pop, values=values, internal=internal)


def _cut_projection(proj: ProjectionState, lo: int, hi: int) -> ProjectionState:
    r0, r1, s0, s1 = synapse_block(proj.post_ranks, proj.row_ptr, lo, hi)

    def cut_one(key: str, array: np.ndarray) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim == 0:
            return array
        if array.shape != (proj.nb_synapses,):
            raise FormatError(f"projection {proj.name!r}, array {key!r}: shape {array.shape} is not per synapse "
                              f"({proj.nb_synapses} synapses); it cannot be cut into blocks")
        return array[s0:s1]

    row_ptr = np.asarray(proj.row_ptr, dtype=np.int64)
    return dataclasses.replace(
        proj, post_ranks=np.asarray(proj.post_ranks, dtype=np.int64)[r0:r1], row_ptr=row_ptr[r0:r1 + 1] - row_ptr[r0],
        pre_ranks=np.asarray(proj.pre_ranks, dtype=np.int64)[s0:s1], delays=cut_one("_delays", proj.delays),
        values={key: np.asarray(a)[r0:r1] if key in proj.semiglobal else cut_one(key, a)  # semiglobal: per row
                for key, a in proj.values.items()},
        internal={key: cut_one(key, a) for key, a in proj.internal.items()})


def _held(state: NetworkState) -> dict[str, tuple[int, int]]:
    """The rows each population of ``state`` holds: its ``rows`` annotation, else every row."""
    if "rows" in state.annotations:
        return rows_of(state)
    return {pop.name: (0, int(pop.size)) for pop in state.populations}


def cut_rows(state: NetworkState, rows: Mapping[str, tuple[int, int]]) -> NetworkState:
    """The rows ``rows[name] = (lo, hi)`` of every population of ``state`` (a whole state or a part holding them).

    Projections keep the synapses whose post neuron is in the rows of their
    post population (``rows`` must name it).  Arrays are views where possible.
    """
    held = _held(state)
    for name, (lo, hi) in rows.items():
        first, last = held.get(name, (0, None))
        if last is not None and not first <= lo <= hi <= last:
            raise FormatError(f"population {name!r}: rows [{lo}, {hi}) are not among the rows held [{first}, {last})")
    missing = sorted(({p.name for p in state.populations} | {p.post for p in state.projections}) - set(rows))
    if missing:
        raise FormatError(f"no rows given for population(s) {missing}")
    populations = [_cut_population(pop, *rows[pop.name], held[pop.name][0], held[pop.name][1] - held[pop.name][0])
                   for pop in state.populations]
    projections = [_cut_projection(proj, *rows[proj.post]) for proj in state.projections]
    monitors = cut_recordings(state, held, rows) if state.monitors else []
    return dataclasses.replace(state, populations=populations, projections=projections, monitors=monitors,
                               annotations=dict(state.annotations, rows={n: [int(a), int(b)] for n, (a, b) in
                                                                         rows.items()}))


def cut(state: NetworkState, partition: Partition, rank: int) -> NetworkState:
    """The rows of ``state`` that process ``rank`` of ``partition`` holds (views where possible, no copy).

    A projection whose post population is not in the state (a projection saved
    alone) is cut by the partition's entry for its post name, which must exist.
    """
    names = [pop.name for pop in state.populations] + [proj.post for proj in state.projections]
    return cut_rows(state, {name: partition.rows(name, rank) for name in names})


def rows_of(part: NetworkState) -> dict[str, tuple[int, int]]:
    """The rows ``[lo, hi)`` per population name that a part holds (its ``annotations["rows"]``)."""
    rows = part.annotations.get("rows")
    if not isinstance(rows, dict):
        raise FormatError("the state is not a part of a sharded state (no rows annotation)")
    return {name: (int(r[0]), int(r[1])) for name, r in rows.items()}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _join_arrays(owner: str, key: str, arrays: list, sources: Sequence[str], axis_last: bool = True) -> np.ndarray:
    first = np.asarray(arrays[0])
    if first.ndim == 0:
        for array, source in zip(arrays[1:], sources[1:]):
            if not _same(first, np.asarray(array)):
                raise FormatError(f"{source}: {owner}, array {key!r}: {np.asarray(array)!r} differs from "
                                  f"{sources[0]}'s {first!r} (a value every shard holds whole)")
        return first
    for array, source in zip(arrays, sources):
        array = np.asarray(array)
        if array.ndim != first.ndim or array.shape[:-1] != first.shape[:-1] or array.dtype != first.dtype:
            raise FormatError(f"{source}: {owner}, array {key!r}: {array.dtype} {array.shape} does not fit "
                              f"{sources[0]}'s {first.dtype} {first.shape}")
    return np.concatenate([np.asarray(a) for a in arrays], axis=-1)


def _keys(owner: str, dicts: list[dict], sources: Sequence[str]) -> list[str]:
    keys = list(dicts[0])
    for d, source in zip(dicts[1:], sources[1:]):
        if set(d) != set(keys):
            raise FormatError(f"{source}: {owner}: arrays {sorted(d)} differ from {sources[0]}'s {sorted(keys)}")
    return keys


def _join_population(pops: list[PopulationState], sources: Sequence[str]) -> PopulationState:
    owner = f"population {pops[0].name!r}"
    values = {k: _join_arrays(owner, k, [p.values[k] for p in pops], sources)
              for k in _keys(owner, [p.values for p in pops], sources)}
    internal = {}
    for key in _keys(owner, [p.internal for p in pops], sources):
        arrays = [p.internal[key] for p in pops]
        if key == _TIMES and all(np.ndim(p.internal.get(_COUNTS, ())) == 1 for p in pops):
            internal[key] = np.concatenate([np.asarray(a).reshape(-1) for a in arrays])
        elif key == _TIMES:
            internal[key] = np.asarray(arrays[0])
        else:
            internal[key] = _join_arrays(owner, key, arrays, sources)
    return dataclasses.replace(pops[0], values=values, internal=internal)


def _join_projection(projs: list[ProjectionState], sources: Sequence[str]) -> ProjectionState:
    owner = f"projection {projs[0].name!r}"
    row_ptrs = [np.asarray(p.row_ptr, dtype=np.int64) for p in projs]
    offsets = np.cumsum([0] + [int(r[-1]) if len(r) else 0 for r in row_ptrs])
    row_ptr = np.concatenate([[0]] + [r[1:] + offsets[i] for i, r in enumerate(row_ptrs)]).astype(np.int64)
    return dataclasses.replace(
        projs[0], post_ranks=np.concatenate([np.asarray(p.post_ranks, dtype=np.int64) for p in projs]),
        row_ptr=row_ptr, pre_ranks=np.concatenate([np.asarray(p.pre_ranks, dtype=np.int64) for p in projs]),
        delays=_join_arrays(owner, "_delays", [p.delays for p in projs], sources),
        values={k: _join_arrays(owner, k, [p.values[k] for p in projs], sources)
                for k in _keys(owner, [p.values for p in projs], sources)},
        internal={k: _join_arrays(owner, k, [p.internal[k] for p in projs], sources)
                  for k in _keys(owner, [p.internal for p in projs], sources)})


def join(parts: Sequence[NetworkState], sources: Optional[Sequence[str]] = None) -> NetworkState:
    """The state of consecutive parts (process order), rows joined; ``sources`` name the parts in errors.

    Parts of all processes give back the whole state; a run of consecutive
    parts gives a part holding their rows together.
    """
    if not parts:
        raise FormatError("no part to join")
    if len(parts) == 1:  # nothing to join: no copy
        return dataclasses.replace(parts[0], annotations=dict(parts[0].annotations, rows=rows_of(parts[0])))
    sources = list(sources) if sources is not None else [f"part {i}" for i in range(len(parts))]
    first = parts[0]
    for part, source in zip(parts[1:], sources[1:]):
        names = ([p.name for p in part.populations], [p.name for p in part.projections])
        if names != ([p.name for p in first.populations], [p.name for p in first.projections]):
            raise FormatError(f"{source}: its objects {names} differ from {sources[0]}'s")
    rows = [rows_of(part) for part in parts]
    joined_rows = {}
    for name, (lo, hi) in rows[0].items():
        end = hi
        for row, source in zip(rows[1:], sources[1:]):
            if row.get(name, (None,))[0] != end:
                raise FormatError(f"{source}: rows of {name!r} do not follow the previous part's (ends at {end})")
            end = row[name][1]
        joined_rows[name] = [lo, end]
    return dataclasses.replace(
        first,
        populations=[_join_population([p.populations[i] for p in parts], sources)
                     for i in range(len(first.populations))],
        projections=[_join_projection([p.projections[i] for p in parts], sources)
                     for i in range(len(first.projections))],
        monitors=join_recordings(parts, rows, sources) if first.monitors else [],
        annotations=dict(first.annotations, rows=joined_rows))
