"""Validate a NetworkState against a live network, then apply it (transactional).

Two phases, and the split is the guarantee that a failed load changes nothing:

1. :func:`plan_restore` checks everything and raises one
   :class:`~gpunet.errors.StructureError` listing every problem (file, object,
   variable, expected, found).  It also does every cast and every allocation
   the load needs: values in the network's dtypes, the arrays of rebuilt
   projections and their spike-propagation indexes, grown spike ring buffers,
   the event lists of spike sources.  Running out of memory there is a
   StructureError too.  The network is not touched (it may even be
   uncompiled).
2. :func:`apply_restore` compiles an uncompiled network, then only copies
   prepared arrays into the network's own arrays of the same shape and dtype
   and swaps prepared objects in: nothing in it depends on the file's values,
   so nothing in it can fail on them.

Rules (the reference's, made stricter where ANNarchy is unsafe):

* a size, geometry or shape mismatch is always an error;
* a variable (or object) in the file that the network lacks is skipped with a
  warning; one the network has and the file lacks keeps its value with a
  warning; ``strict=True`` makes both errors;
* an array for a global attribute is accepted when all its values are equal
  (NaN equals NaN here; otherwise an error in strict mode, a warning and skip
  otherwise);
* connectivity ranks must lie within the pre/post sizes, delays must be finite,
  non-negative and at most ``MAX_DELAY_STEPS`` steps (and may not make a spike
  ring buffer exceed ``MAX_LOAD_RING_BYTES`` unless the network's own delays
  already do); when a projection's connectivity differs from the network's,
  the projection is rebuilt from the file.

What each class of value may hold (anything else is an error):

* model attributes (parameters and variables of neurons and synapses, ``w``
  included): any value of their type.  Floats may be NaN, infinite, negative
  or huge: they are data, as assigning them in code is allowed; a float that a
  float32 network cannot hold (finite beyond its range) is refused, and so is
  an integer with no exact float value (beyond 2**53 for float64).  Integer
  attributes take integral values within int64, booleans 0 and 1.  Complex
  numbers, strings and objects are refused everywhere;
* internal counters: refractory counters in ``[0, 2**31 - 1]``, last spike and
  last event steps in ``[-2**53, 2**53]``, spike history 0/1;
* spike times of spike sources: finite, non-negative, at most step ``2**53``;
* the step counter: an integer in ``[0, 2**53]``; the seed: an integer in
  ``[0, 2**64 - 1]``; ``dt``: the network's (a NaN never matches).
"""
from __future__ import annotations

import numbers
from types import SimpleNamespace
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from gpunet.errors import GpunetError, StructureError
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.io.pipeline.problems import Problems
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.limits import MAX_LOAD_RING_BYTES, MAX_STEP, check_seed, check_step

#: Allowed ranges of the internal integer arrays (inclusive).
_STAMP_RANGE = (-MAX_STEP, MAX_STEP)
_REFRACTORY_RANGE = (0, 2 ** 31 - 1)
#: gpunet's integer extra state of a population, with the range a load accepts for it.
INTERNAL_INTEGERS = {"_last_spike": _STAMP_RANGE, "_refractory": _REFRACTORY_RANGE}


class LoadWarning(UserWarning):
    """A file and the network differ in a way the load tolerates (see ``strict``)."""


@dataclass
class _Rebuild:
    projection: Any
    post: np.ndarray
    pre: np.ndarray
    delay_steps: np.ndarray
    values: dict
    prepared: Optional[dict] = None


@dataclass
class RestorePlan:
    """Everything a load will change, prepared: host arrays validated and cast, new device arrays allocated.

    :meth:`objects` gives what :func:`apply_restore` hands to the network's ``load_state_dict``.
    """

    assignments: list[tuple[Any, str, np.ndarray]] = field(default_factory=list)
    histories: list[tuple[Any, Any]] = field(default_factory=list)
    spike_times: list[tuple[Any, tuple]] = field(default_factory=list)
    rebuilds: list[_Rebuild] = field(default_factory=list)
    step: Optional[int] = None
    seed: Optional[int] = None
    file_histories: dict = field(default_factory=dict)
    #: A part's rows ``[lo, hi)`` per population (a process's rows), None for a whole state.
    part_rows: Optional[dict] = None
    #: Population name -> the least spike ring depth (steps) to plan.
    least_depths: dict = field(default_factory=dict)

    def objects(self) -> dict[Any, dict[str, Any]]:
        """Object -> its state for ``load_state_dict`` (prepared objects, then host arrays to copy)."""
        objects: dict[Any, dict[str, Any]] = {}
        for rebuild in self.rebuilds:
            objects.setdefault(rebuild.projection, {})["_connectivity"] = rebuild.prepared
        for population, history in self.histories:
            objects.setdefault(population, {})["_spike_history"] = history
        for population, events in self.spike_times:
            objects.setdefault(population, {})["_spike_times"] = events
        for obj, name, value in self.assignments:
            objects.setdefault(obj, {})[name] = value
        return objects


def _as_array(checker: Problems, where: str, value: Any) -> Optional[np.ndarray]:
    """``np.asarray(value)`` with object arrays of numbers unpacked; None (and an error) for anything else."""
    try:
        array = np.asarray(value)
        if array.dtype == object:
            array = np.asarray(array.tolist())
    except (TypeError, ValueError, OverflowError) as exc:
        checker.error(f"{where}: expected numbers, found values NumPy cannot read as an array ({exc})")
        return None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        checker.error(f"{where}: expected numbers, found values of type {array.dtype}")
        return None
    if array.dtype.kind == "c":
        checker.error(f"{where}: expected real numbers, found complex values")
        return None
    return array


def _cast(checker: Problems, where: str, value: Any, dtype: np.dtype,
          bounds: Optional[tuple[int, int]] = None) -> Optional[np.ndarray]:
    """``value`` as a C-contiguous array of ``dtype``, or None after an error: no cast overflows or rounds.

    Integers must fit ``dtype`` (and ``bounds`` when given), floats given for
    integers must be integral, booleans must be 0 or 1, and finite floats must
    fit a narrower float type.
    """
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.flags.c_contiguous and bounds is None:
        return value  # the usual case: a file written for this network
    array = _as_array(checker, where, value)
    if array is None:
        return None
    if dtype.kind == "b":
        if array.dtype.kind != "b" and array.size and not np.all((array == 0) | (array == 1)):
            checker.error(f"{where}: expected booleans, found values other than 0 and 1")
            return None
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = bounds if bounds is not None else (info.min, info.max)
        if array.dtype.kind == "f" and array.size:
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                checker.error(f"{where}: expected integers, found non-integral numbers")
                return None
        if array.dtype.kind != "b" and array.size and (array.min() < low or array.max() > high
                                                       or (array.dtype.kind == "f" and array.max() >= high + 1)):
            checker.error(f"{where}: expected integers in [{low}, {high}], found values in "
                          f"[{array.min()}, {array.max()}]")
            return None
    elif dtype.kind == "f" and array.dtype.kind in "iu" and array.size:
        exact = 2 ** (np.finfo(dtype).nmant + 1)  # every integer up to this is a float of ``dtype``
        big = array[(array > exact) | (array < -exact)]
        if big.size and any(int(f) != i for f, i in zip(big.astype(dtype).tolist(), big.tolist())):
            checker.error(f"{where}: integers such as {big[0]} have no exact {dtype} value")
            return None
    elif dtype.kind == "f" and array.dtype.kind == "f" and array.dtype.itemsize > dtype.itemsize and array.size:
        finite = array[np.isfinite(array)]
        if finite.size and np.abs(finite).max() > np.finfo(dtype).max:
            checker.error(f"{where}: values up to {np.abs(finite).max():g} do not fit {dtype}")
            return None
    return np.require(array.astype(dtype, copy=False), requirements="C")


def _all_equal(flat: np.ndarray) -> bool:
    """Whether every value equals the first (NaN equals NaN)."""
    same = flat == flat[0]
    if flat.dtype.kind == "f" and np.isnan(flat[0]):
        same = np.isnan(flat)
    return bool(np.all(same))


def attribute_value(checker: Problems, where: str, attribute: Any, value: Any, count: int,
                     shapes: tuple, dtype: np.dtype) -> Optional[np.ndarray]:
    """The validated host value of one attribute (0-d for globals, (count,) for locals)."""
    array = _as_array(checker, where, value)
    if array is None:
        return None
    if attribute.is_global:
        flat = array.ravel()
        if flat.size == 0:
            checker.error(f"{where}: expected one value, found an empty array")
            return None
        if not _all_equal(flat):
            checker.tolerated(f"{where}: global attribute given an array of different values "
                              f"(min {flat.min()}, max {flat.max()}); skipped")
            return None
        return _cast(checker, where, flat[0], dtype)
    if array.ndim == 0:
        array = np.full(count, array)
    elif array.shape not in shapes:
        expected = " or ".join(str(s) for s in dict.fromkeys(shapes))
        checker.error(f"{where}: expected shape {expected}, found {array.shape}")
        return None
    return _cast(checker, where, array.reshape(count), dtype)


def _integer(value: Any) -> Optional[int]:
    """``value`` as an int when it is an integer (a 0-d array or an exactly integral float too), else None."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer() \
            and abs(value) <= 2 ** 53:
        return int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _check_population(checker: Problems, plan: RestorePlan, population: Any, saved: PopulationState,
                      rows: Optional[dict] = None) -> None:
    """``rows``: the state is a part holding these rows of each population (a process of several), which the
    network holds too; its per-neuron arrays hold those rows, its spike ring and spike times the whole
    population (put together by :mod:`gpunet.io.collective_load`)."""
    where = f"population {population.name!r}"
    size = _integer(saved.size)
    if size != population.size:
        checker.error(f"{where}: expected size {population.size}, found {saved.size!r}")
        return
    if saved.geometry is not None and np.size(saved.geometry):
        try:
            geometry = tuple(_integer(g) for g in np.asarray(saved.geometry).ravel().tolist())
        except (TypeError, ValueError):
            geometry = None
        if geometry != tuple(population.geometry):
            checker.error(f"{where}: expected geometry {tuple(population.geometry)}, found {saved.geometry!r}")
            return
    precision = population.network.precision
    shapes = ((population.size,), tuple(population.geometry))
    count = population.size
    if rows is not None and population.name in rows:  # a part: one value per neuron of its rows
        lo, hi = rows[population.name]
        count, shapes = hi - lo, ((hi - lo,),)
    for name, attribute in population.spec.attributes.items():
        if name not in saved.values:
            checker.tolerated(f"{where}: attribute {name!r} is not in the file; it keeps its current value")
            continue
        value = attribute_value(checker, f"{where}, attribute {name!r}", attribute, saved.values[name],
                                 count, shapes, attribute.dtype(precision))
        if value is not None:
            plan.assignments.append((population, name, value))
    for name in saved.values:
        if name not in population.spec.attributes:
            checker.tolerated(f"{where}: attribute {name!r} of the file does not exist in the network; skipped")
    layout = population.state_layout()
    for key in INTERNAL_INTEGERS:
        if key in saved.internal and key in layout:
            value = check_per_item(checker, f"{where}, {key}", saved.internal[key], layout[key][1],
                                   count, INTERNAL_INTEGERS[key])
            if value is not None:
                plan.assignments.append((population, key, value))
    history = saved.internal.get("_spike_history")
    if history is not None and population.spiking:
        history = check_history(checker, where, history, population.size)
        if history is not None:
            plan.file_histories[population] = history
    if "_spike_times" in saved.internal and hasattr(population, "prepare_spike_times"):
        times = split_spike_times(checker, where, saved.internal, population.size)
        if times is None:
            return
        try:
            prepared = population.prepare_spike_times(times)
        except (ValueError, TypeError) as exc:
            checker.error(f"{where}, _spike_times: {exc}")
            return
        plan.spike_times.append((population, prepared))


# -- checks a file alone decides (also run by ``gpunet verify`` through :mod:`gpunet.io.check`) ----------------
def check_per_item(checker: Problems, where: str, value: Any, dtype: np.dtype, count: int,
                   bounds: Optional[tuple[int, int]] = None) -> Optional[np.ndarray]:
    """gpunet's extra state of one value per neuron or synapse, cast to ``dtype``; None after an error."""
    cast = _cast(checker, where, value, dtype, bounds)
    if cast is not None and cast.shape != (count,):
        checker.error(f"{where}: expected shape ({count},), found {cast.shape}")
        return None
    return cast


def check_history(checker: Problems, where: str, history: Any, size: int) -> Optional[np.ndarray]:
    """A saved spike history (rows by age) as booleans; None after an error."""
    history = _cast(checker, f"{where}, _spike_history", history, np.dtype(bool))
    if history is not None and (history.ndim != 2 or history.shape[1] != size):
        checker.error(f"{where}, _spike_history: expected shape (depth, {size}), found {history.shape}")
        return None
    return history


def split_spike_times(checker: Problems, where: str, internal: dict, size: int) -> Optional[list]:
    """The saved spike times of a spike source, split per neuron; None after an error."""
    flat = _cast(checker, f"{where}, _spike_times", internal["_spike_times"], np.dtype(np.float64))
    if flat is None:
        return None
    counts = internal.get("_spike_counts", [flat.size])
    counts = _cast(checker, f"{where}, _spike_counts", counts, np.dtype(np.int64), (0, flat.size))  # sums cannot wrap
    if counts is None:
        return None
    if flat.ndim != 1 or counts.ndim != 1 or len(counts) != size or counts.sum() != len(flat):
        checker.error(f"{where}, _spike_times: the counts do not match the times or the size")
        return None
    return np.split(flat, np.cumsum(counts)[:-1])


def connectivity_arrays(checker: Problems, where: str, saved: ProjectionState) -> Optional[Connectivity]:
    """The connectivity of a saved projection when its arrays are 1-D integers with a matching row pointer.

    None (and an error) otherwise.
    """
    arrays = []
    for label in ("post_ranks", "row_ptr", "pre_ranks"):
        array = _as_array(checker, f"{where}, {label}", getattr(saved, label))
        if array is None:
            return None
        arrays.append(array)
    connectivity = Connectivity(*arrays)
    try:
        connectivity.validate(rows_only=True)  # 1-D integers first: a float copy of the network's own is no match
    except StructureError as exc:
        checker.error(f"{where}: {exc}")
        return None
    return connectivity


def check_synapse_arrays(checker: Problems, where: str, connectivity: Connectivity, pre_size: Optional[int],
                         post_size: Optional[int]):
    """A saved connectivity -> (post, pre, order) of every synapse, post-major; None after an error.

    ``pre_size``/``post_size`` None: that population's bound is not checked
    (``gpunet verify`` of a file that does not hold it).
    """
    try:
        connectivity.validate(pre_size, post_size)
    except StructureError as exc:
        checker.error(f"{where}: {exc}")
        return None
    connectivity, order = connectivity.sorted()
    return (connectivity.post_per_synapse(), connectivity.pre_ranks.astype(np.int64),
            slice(None) if order is None else order)


def check_delays_ms(checker: Problems, where: str, delays: Any, count: int) -> Optional[np.ndarray]:
    """Saved delays (float ms): one value or one per synapse, finite and non-negative; None after an error."""
    delays = _cast(checker, f"{where}, delays", delays, np.dtype(np.float64))
    if delays is None:
        return None
    if delays.ndim != 0 and delays.shape != (count,):
        checker.error(f"{where}, delays: expected {count} values or one, found shape {delays.shape}")
        return None
    if not np.all(np.isfinite(delays)) or np.any(delays < 0):
        checker.error(f"{where}, delays: must be finite and non-negative")
        return None
    return delays


def _is_own_connectivity(projection: Any, saved: Connectivity) -> bool:
    """Whether the saved synapses are the network's own (the usual restore), which are valid by construction."""
    if not projection.connected:
        return False
    own = projection.frozen_state()
    return (np.array_equal(saved.post_ranks, own["_post_ranks"]) and np.array_equal(saved.row_ptr, own["_row_ptr"])
            and np.array_equal(saved.pre_ranks, own["_pre_ranks"]))


def _check_connectivity(checker: Problems, where: str, projection: Any, saved: ProjectionState):
    connectivity = connectivity_arrays(checker, where, saved)
    if connectivity is None:
        return None
    if _is_own_connectivity(projection, connectivity):
        own_post, own_pre, _ = projection.synapse_arrays()
        return own_post, own_pre, slice(None)
    return check_synapse_arrays(checker, where, connectivity, projection.pre.size, projection.post.size)


def _delay_steps(checker: Problems, where: str, projection: Any, delays: np.ndarray, order: Any,
                 count: int) -> Optional[np.ndarray]:
    """The saved delays (ms, checked by :func:`check_delays_ms`) as steps per synapse, or None after an error."""
    try:
        # a uniform delay is converted once, then broadcast
        steps = projection.delays_in_steps(delays.reshape(-1)[order] if delays.ndim else delays.reshape(1))
    except StructureError as exc:
        checker.error(f"{where}: {str(exc).removeprefix(f'projection {projection.name!r}: ')}")
        return None
    return np.broadcast_to(steps, (count,)) if delays.ndim == 0 else steps


def _semiglobal_value(checker: Problems, where: str, projection: Any, attribute: Any, saved: ProjectionState,
                      value: Any, post: np.ndarray, precision: np.dtype) -> Optional[np.ndarray]:
    """A value the file holds once per post row (ANNarchy's ``postsynaptic``), in the network's form.

    For a semiglobal attribute: one value per post neuron, the file's rows set
    and the other neurons keeping their current values.  For a local attribute
    (the network's model has it per synapse): the row's value on each of its
    synapses.
    """
    rows = len(saved.post_ranks)
    if attribute.name not in saved.semiglobal:
        checker.error(f"{where}: the network's model has one value per post neuron; the file holds one per "
                      f"synapse (a semiglobal attribute needs {rows} values, one per post row)")
        return None
    array = attribute_value(checker, where, SimpleNamespace(is_global=False), value, rows, ((rows,),),
                            attribute.dtype(precision))
    if array is None:
        return None
    if attribute.is_global:
        checker.tolerated(f"{where}: the network's attribute is global, the file holds one value per post row; "
                          "skipped")
        return None
    file_ranks = np.asarray(saved.post_ranks, dtype=np.int64).reshape(-1)
    if not attribute.semiglobal:  # the row's value on each synapse (the file's rows are sorted by post rank)
        return array[np.searchsorted(file_ranks, post)]
    live = projection.network.backend.to_host(projection.state_dict()[attribute.name])
    held_rows = getattr(projection.network, "held_rows", None)
    held = held_rows() if callable(held_rows) else None  # one process of several: its block of the post neurons
    if held is None:
        full = live.copy()
    else:
        lo, hi = held[projection.post.name]
        full = np.zeros(projection.post.size, dtype=live.dtype)
        full[lo:hi] = live
    full[file_ranks] = array
    return full if held is None else full[lo:hi]  # one process of several: the values of its block


def _check_projection(checker: Problems, plan: RestorePlan, projection: Any, saved: ProjectionState) -> None:
    where = f"projection {projection.name!r}"
    for role, expected in (("pre", projection.pre.name), ("post", projection.post.name)):
        found = getattr(saved, role)
        if found and found != expected:
            checker.error(f"{where}: expected {role} population {expected!r}, found {found!r}")
    if saved.target and saved.target != projection.target:
        checker.tolerated(f"{where}: expected target {projection.target!r}, found {saved.target!r}")
    if not projection.connected:
        checker.error(f"{where}: the projection is not connected; call one of its connect_* methods before "
                      "loading (a file does not create synapses from nothing)")
        return
    connectivity = _check_connectivity(checker, where, projection, saved)
    if connectivity is None:
        return
    post, pre, order = connectivity
    count = len(pre)
    delays = check_delays_ms(checker, where, saved.delays, count)
    if delays is None:
        return
    own_post, own_pre, own_steps = projection.synapse_arrays()
    if post is own_post and pre is own_pre and np.array_equal(delays, projection.frozen_state()["_delays"]):
        steps = own_steps  # the network's own delays, saved as gpunet writes them
    else:
        steps = _delay_steps(checker, where, projection, delays, order, count)
        if steps is None:
            return
    precision = projection.network.precision
    values: dict[str, np.ndarray] = {}
    for name, attribute in projection.spec.attributes.items():
        if name not in saved.values:
            checker.tolerated(f"{where}: attribute {name!r} is not in the file; it keeps its current value")
            continue
        if getattr(attribute, "semiglobal", False) or name in saved.semiglobal:
            value = _semiglobal_value(checker, f"{where}, attribute {name!r}", projection, attribute, saved,
                                      saved.values[name], post, precision)
            if value is not None:
                values[name] = value
            continue
        value = attribute_value(checker, f"{where}, attribute {name!r}", attribute, saved.values[name], count,
                                 ((count,),), attribute.dtype(precision))
        if value is not None:
            values[name] = value if attribute.is_global else value[order]
    for name in saved.values:
        if name not in projection.spec.attributes:
            checker.tolerated(f"{where}: attribute {name!r} of the file does not exist in the network; skipped")
    if "_last_event" in saved.internal and "_last_event" in projection.state_layout():
        last = check_per_item(checker, f"{where}, _last_event", saved.internal["_last_event"], np.dtype(np.int64),
                              count, _STAMP_RANGE)
        if last is not None:
            values["_last_event"] = last[order]
    same = (projection.connected and count == projection.nb_synapses
            and (post is own_post or np.array_equal(post, own_post))
            and (pre is own_pre or np.array_equal(pre, own_pre))
            and (steps is own_steps or np.array_equal(steps, own_steps)))
    if same:
        for name, value in values.items():
            plan.assignments.append((projection, name, value))
        return
    kept = {}
    live = projection.state_dict()
    for name, attribute in projection.spec.attributes.items():
        if name not in values and (attribute.is_global or attribute.semiglobal):
            kept[name] = projection.network.backend.to_host(live[name])
        elif name not in values and name == "w":
            checker.error(f"{where}: the connectivity differs from the network's, so the file must hold 'w'")
    if post is own_post:  # the network's own synapses, other delays: a part's own post ranks are local
        held_rows = getattr(projection.network, "held_rows", None)
        held = held_rows() if callable(held_rows) else None
        if held is not None:
            post = post + held[projection.post.name][0]
    plan.rebuilds.append(_Rebuild(projection, post, pre, steps, {**kept, **values}))


def plan_restore(network: Any, state: NetworkState, source: str, populations: Any = True,
                 projections: Any = True, strict: bool = False, whole_network: bool = True,
                 least_depths: Optional[dict] = None) -> RestorePlan:
    """Validate ``state`` against ``network``; raise StructureError listing every problem.

    ``populations`` / ``projections`` are booleans or explicit lists of the
    network's objects to restore; ``whole_network`` restores the step counter
    and seed and reports objects that only one side has.  ``least_depths``
    (population name -> steps): spike rings at least that deep (a process of
    several plans the depth the longest delay of every process needs).
    """
    checker = Problems(source, strict)
    plan = RestorePlan(least_depths=dict(least_depths or {}))
    selected_populations = network.populations if populations is True else list(populations or [])
    selected_projections = network.projections if projections is True else list(projections or [])
    single = not whole_network
    if single and len(selected_populations) + len(selected_projections) == 1:
        # pop.load / proj.load: a single-object file may carry another name
        files = state.populations if selected_populations else state.projections
        if len(files) == 1 and len(state.populations) + len(state.projections) == 1:
            target = (selected_populations or selected_projections)[0]
            saved = files[0]
            if saved.name != target.name:
                checker.tolerated(f"the file holds {saved.name!r}, loaded into {target.name!r}")
            (_check_population if selected_populations else _check_projection)(checker, plan, target, saved)
            _finish(checker)
            _prepare(network, plan, source)
            return plan
    rows = plan.part_rows = _part_rows(checker, network, state, selected_populations)
    kinds = (("population", "projection", selected_populations, state.population, state.projection,
              lambda *args: _check_population(*args, rows=rows)),
             ("projection", "population", selected_projections, state.projection, state.population, _check_projection))
    for kind, other, selected, find, find_other, check in kinds:
        for obj in selected:
            saved = find(obj.name)
            if saved is not None:
                check(checker, plan, obj, saved)
            elif find_other(obj.name) is not None:
                checker.error(f"{obj.name!r} is a {other} in the file but a {kind} in the network")
            else:
                checker.tolerated(f"{kind} {obj.name!r} is not in the file; it keeps its values")
    if whole_network:
        names = {p.name for p in network.populations} | {p.name for p in network.projections}
        in_file = ({p.name for p in state.populations} if populations else set()) | \
                  ({p.name for p in state.projections} if projections else set())
        if in_file and not in_file & names:
            checker.error(f"no object of the file is in the network (file: "
                          f"{', '.join(sorted(in_file)[:6])}{'...' if len(in_file) > 6 else ''}; network: "
                          f"{', '.join(sorted(names)[:6]) or 'no object'}): is it the wrong network? With a "
                          "Network object, call net.load(...) / net.load_latest(...)")
        for wanted, kind, saved_objects in ((populations, "population", state.populations),
                                            (projections, "projection", state.projections)):
            for saved in saved_objects if wanted else []:
                if saved.name not in names:
                    checker.tolerated(f"{kind} {saved.name!r} of the file is not in the network; skipped")
        _check_counters(checker, plan, network, state)
    _finish(checker)
    _prepare(network, plan, source)
    return plan


def _part_rows(checker: Problems, network: Any, state: NetworkState, populations: list) -> Optional[dict]:
    """The rows a part (``annotations["rows"]``, a process's rows) holds, checked against the network's; None for
    a whole state."""
    rows = state.annotations.get("rows")
    if rows is None:
        return None
    held_rows = getattr(network, "held_rows", None)
    held = held_rows() if callable(held_rows) else None
    rows = {name: (int(lo), int(hi)) for name, (lo, hi) in rows.items()}
    for population in populations:
        expected = (0, population.size) if held is None else tuple(held[population.name])
        found = rows.get(population.name)
        if found is not None and tuple(found) != expected:
            checker.error(f"population {population.name!r}: the state holds rows {list(found)}, the network "
                          f"holds rows {list(expected)} (a part loads into the process that holds its rows)")
    return rows


def check_file_counters(checker: Problems, state: NetworkState) -> tuple[Optional[int], Optional[int]]:
    """The step counter and the seed of a file as ints in their ranges; None where absent or wrong."""
    counters = []
    for value, check in ((state.step, check_step), (state.seed, check_seed)):
        try:
            counters.append(None if value is None else check(_integer(value) if _integer(value) is not None
                                                              else value))
        except GpunetError as exc:
            checker.error(str(exc))
            counters.append(None)
    return counters[0], counters[1]


def _check_counters(checker: Problems, plan: RestorePlan, network: Any, state: NetworkState) -> None:
    """dt, the step counter and the seed of a whole-network file."""
    if state.dt is not None:
        dt = state.dt.item() if isinstance(state.dt, np.ndarray) and state.dt.ndim == 0 else state.dt
        if isinstance(dt, (bool, np.bool_)) or not isinstance(dt, numbers.Real) \
                or not abs(dt - network.dt) <= 1e-12 * max(1.0, network.dt):
            checker.error(f"the file was saved with dt = {state.dt!r} ms, the network uses "
                          f"dt = {network.dt} ms")
    plan.step, plan.seed = check_file_counters(checker, state)


def _prepare(network: Any, plan: RestorePlan, source: str) -> None:
    """Allocate everything the plan installs: rebuilt projections, grown or loaded spike ring buffers.

    Also checks the invariant :func:`apply_restore` relies on: every value to
    copy has exactly the shape and dtype of the network's array it goes into.
    """
    layouts = {}
    for obj, name, value in plan.assignments:
        shape, dtype = layouts.setdefault(obj, obj.state_layout())[name]
        block = plan.part_rows.get(obj.name) if plan.part_rows and any(obj is p for p in network.populations) else None
        if block is not None and shape == (obj.size,):  # a part: its rows of the population
            shape = (block[1] - block[0],)
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise StructureError(f"{source}: {obj.name!r}, {name!r}: prepared {value.dtype} {value.shape} for an "
                                 f"array of {dtype} {shape}; nothing was loaded")
    try:
        with network.backend.activate():
            for rebuild in plan.rebuilds:
                rebuild.prepared = rebuild.projection.prepare_connectivity(rebuild.post, rebuild.pre,
                                                                           rebuild.delay_steps, rebuild.values)
            _prepare_histories(network, plan, source)
    except MemoryError as exc:  # also CuPy's OutOfMemoryError
        raise StructureError(f"{source}: not enough memory to load this file into the network "
                             f"({type(exc).__name__}: {exc}); nothing was loaded") from exc


def _prepare_histories(network: Any, plan: RestorePlan, source: str) -> None:
    """The new spike ring buffers: the file's history, or the current one grown for longer delays.

    A ring buffer holds ``depth x size`` booleans (see ``Population.prepare_spike_history``).
    """
    rebuilt = {rebuild.projection: int(rebuild.delay_steps.max()) if len(rebuild.delay_steps) else 1
               for rebuild in plan.rebuilds}
    step = plan.step if plan.step is not None else network.get_current_step()
    for population in network.populations:
        depth = population.spike_history_depth
        needed = max([rebuilt.get(p, p.max_delay) for p in network.projections if p.pre is population]
                     + [1, plan.least_depths.get(population.name, 1)])
        loaded = plan.file_histories.get(population)
        if loaded is None and needed <= depth:
            continue
        if needed > depth and needed * population.size > max(MAX_LOAD_RING_BYTES, depth * population.size):
            raise StructureError(f"{source}: population {population.name!r}: the file's delays of {needed} steps "
                                 f"need a spike ring buffer of {needed * population.size} bytes, more than a load "
                                 f"may allocate ({MAX_LOAD_RING_BYTES} bytes); nothing was loaded")
        plan.histories.append((population, population.prepare_spike_history(loaded, step, max(depth, needed))))


def _finish(checker: Problems) -> None:
    checker.raise_if_any("nothing was loaded")
    checker.warn_notes(LoadWarning)


def apply_restore(network: Any, plan: RestorePlan) -> None:
    """Apply a plan of :func:`plan_restore`: compile if needed, then copies and swaps only.

    Every value was validated and cast, and every new array allocated, by the
    plan: the prepared arrays have the shapes and dtypes of the arrays they
    replace or are copied into.
    """
    network.load_state_dict(plan.objects(), step=plan.step, seed=plan.seed)


def restore_state(network: Any, state: NetworkState, source: str, populations: Any = True,
                  projections: Any = True, strict: bool = False, whole_network: bool = True) -> None:
    """Load ``state`` into ``network``: :func:`plan_restore`, then :func:`apply_restore`.

    On any error the network is exactly as it was, an uncompiled network
    included (it is compiled only once the plan succeeded).
    """
    plan = plan_restore(network, state, source, populations=populations, projections=projections,
                        strict=strict, whole_network=whole_network)
    apply_restore(network, plan)
