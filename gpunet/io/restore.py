"""Validate a NetworkState against a live network, then apply it (transactional).

:func:`plan_restore` checks everything first and raises one
:class:`~gpunet.errors.StructureError` listing every mismatch (file, object,
variable, expected, found); only then :func:`apply_restore` touches the
network.  Rules (the reference's, made stricter where ANNarchy is unsafe):

* a size, geometry or shape mismatch is always an error;
* a variable (or object) in the file that the network lacks is skipped with a
  warning; one the network has and the file lacks keeps its value with a
  warning; ``strict=True`` makes both errors;
* an array for a global attribute is accepted when all its values are equal
  (otherwise an error in strict mode, a warning and skip otherwise);
* connectivity ranks must lie within the pre/post sizes, delays must be finite
  and non-negative; when a projection's connectivity differs from the
  network's, the projection is rebuilt from the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from gpunet.errors import StructureError
from gpunet.io.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.io.user_warnings import warn_at_caller
from gpunet.network import rng
from gpunet.network.values import attribute_dtype


class LoadWarning(UserWarning):
    """A file and the network differ in a way the load tolerates (see ``strict``)."""


@dataclass
class _Rebuild:
    projection: Any
    post: np.ndarray
    pre: np.ndarray
    delay_steps: np.ndarray
    values: dict


@dataclass
class RestorePlan:
    """Everything a load will change, all host arrays already validated and cast."""

    assignments: list[tuple[Any, str, np.ndarray]] = field(default_factory=list)
    histories: list[tuple[Any, np.ndarray]] = field(default_factory=list)
    spike_times: list[tuple[Any, list]] = field(default_factory=list)
    rebuilds: list[_Rebuild] = field(default_factory=list)
    step: Optional[int] = None
    seed: Optional[int] = None


class _Checker:
    def __init__(self, source: str, strict: bool) -> None:
        self.source, self.strict = source, strict
        self.errors: list[str] = []
        self.notes: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def tolerated(self, message: str) -> None:
        (self.errors if self.strict else self.notes).append(message)


def _cast(checker: _Checker, where: str, value: Any, dtype: np.dtype) -> Optional[np.ndarray]:
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.flags.c_contiguous:
        return value  # the usual case: a file written for this network
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        checker.error(f"{where}: expected numbers of type {dtype}, found values of type {array.dtype}")
        return None
    if dtype.kind in "iub" and array.dtype.kind in "fc":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            checker.error(f"{where}: expected {dtype} values, found non-integral numbers")
            return None
    if dtype.kind == "b" and array.dtype.kind in "iuf" and not np.all((array == 0) | (array == 1)):
        checker.error(f"{where}: expected booleans, found values other than 0 and 1")
        return None
    return np.require(np.asarray(array, dtype=dtype), requirements="C")


def _attribute_value(checker: _Checker, where: str, attribute: Any, value: Any, count: int,
                     shapes: tuple, dtype: np.dtype) -> Optional[np.ndarray]:
    """The validated host value of one attribute (0-d for globals, (count,) for locals)."""
    array = np.asarray(value)
    if array.dtype == object:
        try:
            array = np.asarray(array.tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            checker.error(f"{where}: expected numbers, found an object array")
            return None
    if attribute.is_global:
        flat = array.ravel()
        if flat.size == 0:
            checker.error(f"{where}: expected one value, found an empty array")
            return None
        if not np.all(flat == flat[0]):
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
    cast = _cast(checker, where, array.reshape(count), dtype)
    return cast


def _check_population(checker: _Checker, plan: RestorePlan, population: Any, saved: PopulationState) -> None:
    where = f"{checker.source}: population {population.name!r}"
    if int(saved.size) != population.size:
        checker.error(f"{where}: expected size {population.size}, found {saved.size}")
        return
    if saved.geometry and tuple(int(g) for g in saved.geometry) != tuple(population.geometry):
        checker.error(f"{where}: expected geometry {tuple(population.geometry)}, found {tuple(saved.geometry)}")
        return
    precision = population.network.precision
    shapes = ((population.size,), tuple(population.geometry))
    for name, attribute in population.spec.attributes.items():
        if name not in saved.values:
            checker.tolerated(f"{where}: attribute {name!r} is not in the file; it keeps its current value")
            continue
        value = _attribute_value(checker, f"{where}, attribute {name!r}", attribute, saved.values[name],
                                 population.size, shapes, attribute_dtype(attribute, precision))
        if value is not None:
            plan.assignments.append((population, name, value))
    for name in saved.values:
        if name not in population.spec.attributes:
            checker.tolerated(f"{where}: attribute {name!r} of the file does not exist in the network; skipped")
    for key in ("_last_spike", "_refractory"):
        if key in saved.internal and key in population._state:
            dtype = population._state[key].dtype
            value = _cast(checker, f"{where}, {key}", saved.internal[key], np.dtype(dtype))
            if value is not None and value.shape != (population.size,):
                checker.error(f"{where}, {key}: expected shape ({population.size},), found {value.shape}")
            elif value is not None:
                plan.assignments.append((population, key, value))
    history = saved.internal.get("_spike_history")
    if history is not None and population._history is not None:
        history = np.asarray(history)
        if history.ndim != 2 or history.shape[1] != population.size:
            checker.error(f"{where}, _spike_history: expected shape (depth, {population.size}), "
                          f"found {history.shape}")
        else:
            plan.histories.append((population, history.astype(bool)))
    if "_spike_times" in saved.internal and hasattr(population, "_times"):
        flat = np.asarray(saved.internal["_spike_times"], dtype=np.float64)
        counts = np.asarray(saved.internal.get("_spike_counts", [len(flat)]), dtype=np.int64)
        if counts.sum() != len(flat) or len(counts) != population.size:
            checker.error(f"{where}, _spike_times: the counts do not match the times or the size")
        else:
            plan.spike_times.append((population, np.split(flat, np.cumsum(counts)[:-1])))


def _is_own_connectivity(projection: Any, post_ranks: np.ndarray, row_ptr: np.ndarray, pre_ranks: np.ndarray) -> bool:
    """Whether the saved synapses are the network's own (the usual restore), which are valid by construction."""
    if not projection._connected:
        return False
    own_post, own_row_ptr, own_pre, _ = projection._compressed_connectivity()
    return (np.array_equal(post_ranks, own_post) and np.array_equal(row_ptr, own_row_ptr)
            and np.array_equal(pre_ranks, own_pre))


def _check_connectivity(checker: _Checker, where: str, projection: Any, saved: ProjectionState):
    post_ranks = np.asarray(saved.post_ranks)
    row_ptr = np.asarray(saved.row_ptr)
    pre_ranks = np.asarray(saved.pre_ranks)
    for label, array in (("post_ranks", post_ranks), ("row_ptr", row_ptr), ("pre_ranks", pre_ranks)):
        if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
            checker.error(f"{where}: {label} must be a 1-D integer array, found {array.dtype} {array.shape}")
            return None
    if _is_own_connectivity(projection, post_ranks, row_ptr, pre_ranks):
        return projection._host_post, projection._host_pre, slice(None)
    if len(row_ptr) != len(post_ranks) + 1 or (len(row_ptr) and (row_ptr[0] != 0 or row_ptr[-1] != len(pre_ranks))
                                               ) or np.any(np.diff(row_ptr) < 0):
        checker.error(f"{where}: the row pointer does not match post_ranks ({len(post_ranks)} rows) and "
                      f"pre_ranks ({len(pre_ranks)} synapses)")
        return None
    if len(post_ranks) and (post_ranks.min() < 0 or post_ranks.max() >= projection.post.size):
        checker.error(f"{where}: post ranks must lie in [0, {projection.post.size}), found "
                      f"[{post_ranks.min()}, {post_ranks.max()}]")
        return None
    if np.any(np.diff(post_ranks) <= 0):
        checker.error(f"{where}: post_ranks must be strictly ascending")
        return None
    if len(pre_ranks) and (pre_ranks.min() < 0 or pre_ranks.max() >= projection.pre.size):
        checker.error(f"{where}: pre ranks must lie in [0, {projection.pre.size}), found "
                      f"[{pre_ranks.min()}, {pre_ranks.max()}]")
        return None
    post = np.repeat(post_ranks.astype(np.int64), np.diff(row_ptr))
    pre = pre_ranks.astype(np.int64)
    same_row = np.diff(post) == 0
    if not np.any(same_row & (np.diff(pre) <= 0)):  # already post-major, no duplicate: the usual case
        return post, pre, slice(None)
    order = np.lexsort((pre, post))
    if np.any((np.diff(post[order]) == 0) & (np.diff(pre[order]) == 0)):
        checker.error(f"{where}: a (pre, post) pair appears twice")
        return None
    return post[order], pre[order], order


def _delay_steps(checker: _Checker, where: str, projection: Any, delays: np.ndarray, order: Any,
                 count: int) -> Optional[np.ndarray]:
    """The saved delays (ms; one value or one per synapse) as steps per synapse, or None after an error."""
    if not np.all(np.isfinite(delays)) or np.any(delays < 0):
        checker.error(f"{where}, delays: must be finite and non-negative")
        return None
    try:
        # a uniform delay is converted once, then broadcast
        steps = projection._delay_steps(delays.reshape(-1)[order] if delays.ndim else delays.reshape(1))
    except StructureError as exc:
        checker.error(f"{where}: {exc}")
        return None
    return np.broadcast_to(steps, (count,)) if delays.ndim == 0 else steps


def _check_projection(checker: _Checker, plan: RestorePlan, projection: Any, saved: ProjectionState) -> None:
    where = f"{checker.source}: projection {projection.name!r}"
    for role, expected in (("pre", projection.pre.name), ("post", projection.post.name)):
        found = getattr(saved, role)
        if found and found != expected:
            checker.error(f"{where}: expected {role} population {expected!r}, found {found!r}")
    if saved.target and saved.target != projection.target:
        checker.tolerated(f"{where}: expected target {projection.target!r}, found {saved.target!r}")
    connectivity = _check_connectivity(checker, where, projection, saved)
    if connectivity is None:
        return
    post, pre, order = connectivity
    count = len(pre)
    delays = np.asarray(saved.delays, dtype=np.float64)
    own_synapses = post is projection._host_post and pre is projection._host_pre
    if own_synapses and np.array_equal(delays, projection._compressed_connectivity()[3]):
        steps = projection._host_delays  # the network's own delays, saved as gpunet writes them
    elif delays.ndim != 0 and delays.shape != (count,):
        checker.error(f"{where}, delays: expected {count} values or one, found shape {delays.shape}")
        return
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
        value = _attribute_value(checker, f"{where}, attribute {name!r}", attribute, saved.values[name], count,
                                 ((count,),), attribute_dtype(attribute, precision))
        if value is not None:
            values[name] = value if attribute.is_global else value[order]
    for name in saved.values:
        if name not in projection.spec.attributes:
            checker.tolerated(f"{where}: attribute {name!r} of the file does not exist in the network; skipped")
    if "_last_event" in saved.internal and "_last_event" in projection._state:
        last = _cast(checker, f"{where}, _last_event", saved.internal["_last_event"], np.dtype(np.int64))
        if last is not None and last.shape != (count,):
            checker.error(f"{where}, _last_event: expected shape ({count},), found {last.shape}")
        elif last is not None:
            values["_last_event"] = last[order]
    same = (projection._connected and count == projection.nb_synapses
            and (post is projection._host_post or np.array_equal(post, projection._host_post))
            and (pre is projection._host_pre or np.array_equal(pre, projection._host_pre))
            and (steps is projection._host_delays or np.array_equal(steps, projection._host_delays)))
    if same:
        for name, value in values.items():
            plan.assignments.append((projection, name, value))
        return
    kept = {}
    for name, attribute in projection.spec.attributes.items():
        if name not in values and attribute.is_global:
            kept[name] = projection.network.backend.to_host(projection._state[name])
        elif name not in values and name == "w":
            checker.error(f"{where}: the connectivity differs from the network's, so the file must hold 'w'")
    plan.rebuilds.append(_Rebuild(projection, post, pre, steps, {**kept, **values}))


def plan_restore(network: Any, state: NetworkState, source: str, populations: Any = True,
                 projections: Any = True, strict: bool = False, whole_network: bool = True) -> RestorePlan:
    """Validate ``state`` against ``network``; raise StructureError listing every problem.

    ``populations`` / ``projections`` are booleans or explicit lists of the
    network's objects to restore; ``whole_network`` restores the step counter
    and seed and reports objects that only one side has.
    """
    checker = _Checker(source, strict)
    plan = RestorePlan()
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
                checker.tolerated(f"{source}: the file holds {saved.name!r}, loaded into {target.name!r}")
            (_check_population if selected_populations else _check_projection)(checker, plan, target, saved)
            _finish(checker)
            return plan
    kinds = (("population", "projection", selected_populations, state.population, state.projection, _check_population),
             ("projection", "population", selected_projections, state.projection, state.population, _check_projection))
    for kind, other, selected, find, find_other, check in kinds:
        for obj in selected:
            saved = find(obj.name)
            if saved is not None:
                check(checker, plan, obj, saved)
            elif find_other(obj.name) is not None:
                checker.error(f"{source}: {obj.name!r} is a {other} in the file but a {kind} in the network")
            else:
                checker.tolerated(f"{source}: {kind} {obj.name!r} is not in the file; it keeps its values")
    if whole_network:
        names = {p.name for p in network.populations} | {p.name for p in network.projections}
        in_file = ({p.name for p in state.populations} if populations else set()) | \
                  ({p.name for p in state.projections} if projections else set())
        if in_file and not in_file & names:
            checker.error(f"{source}: no object of the file is in the network (file: "
                          f"{', '.join(sorted(in_file)[:6])}{'...' if len(in_file) > 6 else ''}; network: "
                          f"{', '.join(sorted(names)[:6]) or 'no object'}): is it the wrong network? With a "
                          "Network object, call net.load(...) / net.load_latest(...)")
        for wanted, kind, saved_objects in ((populations, "population", state.populations),
                                            (projections, "projection", state.projections)):
            for saved in saved_objects if wanted else []:
                if saved.name not in names:
                    checker.tolerated(f"{source}: {kind} {saved.name!r} of the file is not in the network; skipped")
        if state.dt is not None and abs(state.dt - network.dt) > 1e-12 * max(1.0, network.dt):
            checker.error(f"{source}: the file was saved with dt = {state.dt} ms, the network uses "
                          f"dt = {network.dt} ms")
        if state.step is not None:
            if int(state.step) < 0:
                checker.error(f"{source}: step counter must be >= 0, found {state.step}")
            plan.step = int(state.step)
        plan.seed = state.seed
    _finish(checker)
    return plan


def _finish(checker: _Checker) -> None:
    if checker.errors:
        count = len(checker.errors)
        raise StructureError(f"{count} problem{'s' if count > 1 else ''} found, nothing was loaded:\n  - "
                             + "\n  - ".join(checker.errors))
    for note in checker.notes:
        warn_at_caller(note, LoadWarning)


def apply_restore(network: Any, plan: RestorePlan) -> None:
    """Apply a validated plan: one host-to-device copy per array, derived indexes rebuilt."""
    backend = network.backend
    with backend.activate():
        for rebuild in plan.rebuilds:
            rebuild.projection._set_connectivity(rebuild.post, rebuild.pre, rebuild.delay_steps, rebuild.values)
        for rebuild in plan.rebuilds:
            _grow_history(rebuild.projection.pre, network)
        backend.assign_many([obj._state[name] for obj, name, _ in plan.assignments],
                            [value for _, _, value in plan.assignments])
        step = plan.step if plan.step is not None else network.get_current_step()
        for population, history in plan.histories:
            _install_history(population, history, step)
        for population, times in plan.spike_times:
            population._set_spike_times([t.tolist() for t in times])
        if plan.step is not None:
            network._step = plan.step
        if plan.seed is not None and int(plan.seed) != network.seed:
            network.seed = int(plan.seed)
            for population in network.populations:
                for index in population._noise_keys:
                    population._noise_keys[index] = rng.stream_key(network.seed, (population.id << 8) | index)


def _grow_history(population: Any, network: Any) -> None:
    needed = network._max_delay_of(population)
    history = population._history
    if history is not None and history.shape[0] < needed:
        step = network.get_current_step()
        by_age = history[[(step - 1 - k) % history.shape[0] for k in range(history.shape[0])]]
        population._history = network.backend.xp.zeros((needed, population.size), dtype=bool)
        _install_history(population, network.backend.to_host(by_age), step)


def _install_history(population: Any, by_age: np.ndarray, step: int) -> None:
    history = population._history
    depth = history.shape[0]
    backend = population.network.backend
    history[...] = False
    rows = min(depth, by_age.shape[0])
    if rows:
        slots = np.asarray([(step - 1 - k) % depth for k in range(rows)])
        history[backend.asarray(slots)] = backend.asarray(by_age[:rows])
        population._spiked = backend.asarray(by_age[0].copy())
