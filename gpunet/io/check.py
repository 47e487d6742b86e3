"""Consistency checks of a NetworkState on its own (no network needed).

Used by ``gpunet verify`` and ``gpunet convert``.  They are the checks of a
load (:mod:`gpunet.io.restore`) that the file alone decides, run by the same
functions: connectivity well-formed, within the sizes of the populations the
file names and without a repeated (pre, post) pair; delays finite,
non-negative and one per synapse or one in all; every attribute numbers of
the right count (an array for a global attribute holding one value); gpunet's
extra state (``_last_spike``, ``_refractory``, ``_spike_history``,
``_spike_times``, ``_last_event``) integral where a load casts it to integers
and of the object's size; step counter non-negative.  What a load checks
against the network (model dtypes and globals, sizes of the target objects)
is outside what a file alone determines.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from gpunet.io.restore import (_attribute_value, _Checker, _check_delays_ms, _check_history, _check_per_item,
                               _check_spike_times, _check_synapse_arrays, _connectivity_arrays)
from gpunet.io.state_types import NetworkState, PopulationState, ProjectionState

#: dtype a load casts gpunet's integer extra state to (the network's own; int64 holds every saved value).
_INTERNAL_INTEGERS = ("_last_spike", "_refractory")


def _file_dtype(value: object) -> np.dtype:
    """The dtype an attribute is checked against without a network: its own when numeric, else float64."""
    array = np.asarray(value)
    return array.dtype if array.dtype.kind in "biuf" else np.dtype(np.float64)


def _check_values(checker: _Checker, where: str, values: dict, count: int, shapes: tuple) -> None:
    for name, value in values.items():
        form = SimpleNamespace(is_global=np.ndim(value) == 0)  # a file's own form: scalars are globals
        _attribute_value(checker, f"{where}, attribute {name!r}", form, value, count, shapes, _file_dtype(value))


def _check_population(checker: _Checker, pop: PopulationState) -> None:
    where = f"{checker.source}: population {pop.name!r}"
    size = int(pop.size)
    geometry = tuple(int(g) for g in pop.geometry) if pop.geometry else (size,)
    if int(np.prod(geometry)) != size or size < 0:
        checker.error(f"{where}: geometry {geometry} does not hold {size} neurons")
        return
    _check_values(checker, where, pop.values, size, ((size,), geometry))
    for key in _INTERNAL_INTEGERS:
        if key in pop.internal:
            _check_per_item(checker, f"{where}, {key}", pop.internal[key], np.dtype(np.int64), size)
    if "_spike_history" in pop.internal:
        _check_history(checker, where, pop.internal["_spike_history"], size)
    if "_spike_times" in pop.internal:
        _check_spike_times(checker, where, pop.internal, size)


def _check_projection(checker: _Checker, proj: ProjectionState, sizes: dict) -> None:
    where = f"{checker.source}: projection {proj.name!r}"
    arrays = _connectivity_arrays(checker, where, proj)
    if arrays is None:
        return
    synapses = _check_synapse_arrays(checker, where, *arrays, sizes.get(proj.pre), sizes.get(proj.post))
    if synapses is None:
        return
    count = len(synapses[1])
    try:
        delays = np.asarray(proj.delays, dtype=np.float64)  # as a load reads them
    except (TypeError, ValueError):
        checker.error(f"{where}, delays: expected numbers, found {np.asarray(proj.delays).dtype}")
    else:
        _check_delays_ms(checker, where, delays, count)
    _check_values(checker, where, proj.values, count, ((count,),))
    if "_last_event" in proj.internal:
        _check_per_item(checker, f"{where}, _last_event", proj.internal["_last_event"], np.dtype(np.int64), count)


def check_state(state: NetworkState, source: str = "") -> list[str]:
    """Problems found in ``state`` (an empty list when a load could accept it; see the module)."""
    checker = _Checker(source or "file", strict=False)
    for pop in state.populations:
        _check_population(checker, pop)
    sizes = {pop.name: int(pop.size) for pop in state.populations}
    for proj in state.projections:
        _check_projection(checker, proj, sizes)
    if state.step is not None and int(state.step) < 0:
        checker.error(f"{checker.source}: step counter must be >= 0, found {state.step}")
    if state.dt is not None and not (np.isfinite(state.dt) and state.dt > 0):
        checker.error(f"{checker.source}: dt must be a finite number of ms > 0, found {state.dt}")
    return [problem.split(": ", 1)[1] if problem.startswith(checker.source + ": ") else problem
            for problem in checker.errors]
