"""Consistency checks of a NetworkState on its own (no network needed).

Used by ``gpunet verify`` and ``gpunet convert``.  They are the checks of a
load (:mod:`gpunet.io.pipeline.restore`) that the file alone decides, run by the same
functions: connectivity well-formed, within the sizes of the populations the
file names and without a repeated (pre, post) pair; delays finite,
non-negative and one per synapse or one in all; every attribute numbers of
the right count (an array for a global attribute holding one value, a
semiglobal one one value per post row); gpunet's
extra state (``_last_spike``, ``_refractory``, ``_spike_history``,
``_spike_times``, ``_last_event``) integral where a load casts it to integers
and of the object's size; step counter non-negative; monitors' recordings
(:mod:`gpunet.io.recordings`) consistent with the file's step and objects.  What a load checks
against the network (model dtypes and globals, sizes of the target objects)
is outside what a file alone determines.

:func:`check_writable`, run by every save before it writes: the file will
load back (object names a network can have, see :mod:`gpunet.limits`).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from gpunet.errors import FormatError, GpunetError
from gpunet.io.pipeline.problems import Problems
from gpunet.io.pipeline.restore import (INTERNAL_INTEGERS, attribute_value, check_delays_ms, check_file_counters,
                               check_history, check_per_item, check_synapse_arrays, connectivity_arrays,
                               split_spike_times)
from gpunet.io.recordings import check_recordings
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.limits import check_name

_LAST_EVENT_RANGE = INTERNAL_INTEGERS["_last_spike"]  # both are step stamps


def _file_dtype(value: object) -> np.dtype:
    """The dtype an attribute is checked against without a network: its own when numeric, else float64."""
    array = np.asarray(value)
    return array.dtype if array.dtype.kind in "biuf" else np.dtype(np.float64)


def _check_values(checker: Problems, where: str, values: dict, count: int, shapes: tuple) -> None:
    for name, value in values.items():
        form = SimpleNamespace(is_global=np.ndim(value) == 0)  # a file's own form: scalars are globals
        attribute_value(checker, f"{where}, attribute {name!r}", form, value, count, shapes, _file_dtype(value))


def _check_population(checker: Problems, pop: PopulationState) -> None:
    where = f"population {pop.name!r}"
    size = int(pop.size)
    geometry = tuple(int(g) for g in pop.geometry) if pop.geometry else (size,)
    if int(np.prod(geometry)) != size or size < 0:
        checker.error(f"{where}: geometry {geometry} does not hold {size} neurons")
        return
    _check_values(checker, where, pop.values, size, ((size,), geometry))
    for key, bounds in INTERNAL_INTEGERS.items():
        if key in pop.internal:
            check_per_item(checker, f"{where}, {key}", pop.internal[key], np.dtype(np.int64), size, bounds)
    if "_spike_history" in pop.internal:
        check_history(checker, where, pop.internal["_spike_history"], size)
    if "_spike_times" in pop.internal:
        split_spike_times(checker, where, pop.internal, size)


def _check_projection(checker: Problems, proj: ProjectionState, sizes: dict) -> None:
    where = f"projection {proj.name!r}"
    connectivity = connectivity_arrays(checker, where, proj)
    if connectivity is None:
        return
    synapses = check_synapse_arrays(checker, where, connectivity, sizes.get(proj.pre), sizes.get(proj.post))
    if synapses is None:
        return
    count = len(synapses[1])
    check_delays_ms(checker, where, proj.delays, count)
    locals_ = {name: value for name, value in proj.values.items() if name not in proj.semiglobal}
    _check_values(checker, where, locals_, count, ((count,),))
    rows = len(np.asarray(proj.post_ranks).reshape(-1))
    for name in proj.semiglobal:  # one value per post row present in the file
        if name in proj.values:
            value = proj.values[name]
            attribute_value(checker, f"{where}, attribute {name!r} (one value per post row)",
                            SimpleNamespace(is_global=False), value, rows, ((rows,),), _file_dtype(value))
    if "_last_event" in proj.internal:
        check_per_item(checker, f"{where}, _last_event", proj.internal["_last_event"], np.dtype(np.int64), count,
                       _LAST_EVENT_RANGE)


def check_state(state: NetworkState, source: str = "") -> list[str]:
    """Problems found in ``state`` (an empty list when a load could accept it; see the module)."""
    checker = Problems(source or "file")
    for pop in state.populations:
        _check_population(checker, pop)
    sizes = {pop.name: int(pop.size) for pop in state.populations}
    for proj in state.projections:
        _check_projection(checker, proj, sizes)
    check_file_counters(checker, state)
    check_recordings(checker, state)
    if state.dt is not None and not (np.isfinite(state.dt) and state.dt > 0):
        checker.error(f"dt must be a finite number of ms > 0, found {state.dt}")
    return checker.errors


def check_writable(state: NetworkState, path: object) -> None:
    """Raise :class:`FormatError` (naming ``path``) when a file of ``state`` would not load back.

    Cheap checks of what the formats cannot carry: every object name must be
    one a network accepts (see :mod:`gpunet.limits`) and names must be
    distinct.  Networks only hold such names; this catches states from other
    sources (``gpunet convert`` of a foreign file) before a good file is replaced.
    """
    seen: set[str] = set()
    for obj in state.populations + state.projections:
        try:
            check_name(obj.name, obj.kind)
        except GpunetError as exc:
            raise FormatError(f"{path}: cannot save: {exc}; the file would not load back") from exc
        if obj.name in seen:
            raise FormatError(f"{path}: cannot save: two objects are named {obj.name!r}")
        seen.add(obj.name)
