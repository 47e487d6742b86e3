"""Gather the state of a live network into a :class:`~gpunet.io.pipeline.state_types.NetworkState`.

Two phases so that snapshots can stage device arrays asynchronously:

1. :func:`plan_state` lists every array to save as an :class:`ArrayRef`
   (owner, key, the device array itself) plus the metadata, without copying;
2. :func:`assemble_state` builds the NetworkState from host copies of those
   arrays (made by :func:`stage_to_host` here, or by the snapshot stager).

Arrays that never change in place during a simulation (the host copies of the
connectivity) are referenced directly instead of being staged; one that must
first be made from such arrays (a projection's pre ranks, from its pre-major
index) is a :class:`DeferredArray`, made by whoever builds the state (the
background writer of a snapshot).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from gpunet.io.pipeline.state_types import MonitorState, NetworkState, PopulationState, ProjectionState
from gpunet.version import __version__


@dataclass(frozen=True)
class DeferredArray:
    """A host array made when the state is assembled, by ``make()``, from arrays never modified in place.

    ``nbytes`` is the size of what ``make()`` returns.
    """

    make: Callable[[], Any]
    nbytes: int


def resolved(array: Any) -> Any:
    """``array``, or what a :class:`DeferredArray` makes.

    Parameters
    ----------
    array : array or DeferredArray
        A planned host array.
    """
    return array.make() if isinstance(array, DeferredArray) else array


@dataclass(frozen=True)
class ArrayRef:
    """One array to save: ``owner`` (object name), ``key`` and the live array."""

    owner: str
    key: str
    array: Any
    on_device: bool = True


@dataclass(frozen=True)
class StateMetadata:
    """The network-wide part of a save, read at the call: the file holds these values."""

    step: int
    dt: float
    seed: Optional[int]
    net_id: int
    gpunet_version: str
    single_object: bool


@dataclass(frozen=True)
class ObjectHeader:
    """Everything a save writes about one population or projection besides its arrays, read at the call.

    ``attributes`` are the keys of ``values``; ``internal`` those of gpunet's
    extra state (``_last_spike``, ``_spike_history``, ``_last_event``, ...).
    """

    kind: str
    name: str
    model: str
    parameters: tuple[str, ...]
    variables: tuple[str, ...]
    attributes: tuple[str, ...]
    internal: tuple[str, ...]
    geometry: tuple[int, ...] = ()
    size: int = 0
    pre: str = ""
    post: str = ""
    target: str = ""
    #: Projection attributes held once per post neuron (saved once per post row).
    semiglobal: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatePlan:
    """What a save holds, captured at the call: metadata, object headers and the arrays, in a fixed order.

    Nothing in a plan refers to the network or its objects except the live
    arrays of ``arrays`` (which the calling thread stages to host before the
    save returns), so the background writer needs nothing of the network:
    a load, a parameter change or a new seed after the call cannot reach the
    file.  Host arrays referenced directly (``on_device=False``: the
    connectivity, read-only and replaced rather than modified when it changes,
    and the spike times, copied here) are equally fixed.
    """

    metadata: StateMetadata
    objects: tuple[ObjectHeader, ...]
    arrays: tuple[ArrayRef, ...]
    #: Monitors' recordings (``monitors=True``): host copies made at the call, never modified afterwards.
    monitors: tuple[MonitorState, ...] = ()
    #: The rows ``[lo, hi)`` per population when the network holds only them (one process of several): the
    #: state is then that part of the whole (its ``annotations["rows"]``), which a sharded save writes as is.
    rows: Optional[dict] = None

    @property
    def step(self) -> int:
        return self.metadata.step

    @property
    def device_arrays(self) -> list[ArrayRef]:
        return [ref for ref in self.arrays if ref.on_device]

    @property
    def nbytes(self) -> int:
        return int(sum(int(ref.array.nbytes) for ref in self.arrays))


def _plan_population(population: Any, step: int) -> tuple[ObjectHeader, list[ArrayRef]]:
    name = population.name
    spec = population.spec
    refs = [ArrayRef(name, key, array) for key, array in population.state_dict(step).items()]
    refs += [ArrayRef(name, key, array, on_device=False) for key, array in population.frozen_state().items()]
    header = ObjectHeader(kind="population", name=str(name), model=str(spec.name),
                          parameters=tuple(spec.parameters), variables=tuple(spec.variables),
                          attributes=tuple(spec.attributes),
                          internal=tuple(r.key for r in refs if r.key.startswith("_")),
                          geometry=tuple(int(g) for g in population.geometry), size=int(population.size))
    return header, refs


def _plan_projection(projection: Any) -> tuple[ObjectHeader, list[ArrayRef]]:
    name = projection.name
    spec = projection.spec
    refs = [ArrayRef(name, key, array) for key, array in projection.state_dict().items()]
    header = ObjectHeader(kind="projection", name=str(name), model=str(spec.name),
                          parameters=tuple(spec.parameters), variables=tuple(spec.variables),
                          attributes=tuple(spec.attributes),
                          internal=tuple(r.key for r in refs if r.key.startswith("_")),
                          pre=str(projection.pre.name), post=str(projection.post.name),
                          target=str(projection.target), semiglobal=tuple(spec.semiglobal_names))
    # the connectivity's host arrays are read-only and replaced, never modified, when it changes: no staging
    refs += [ArrayRef(name, key, array, on_device=False)
             for key, array in projection.frozen_state(deferred=DeferredArray).items()]
    return header, refs


def plan_state(network: Any, populations: Any = True, projections: Any = True,
               single_object: bool = False, monitors: bool = False) -> StatePlan:
    """Capture what a save of ``network`` holds, without copying any device array.

    ``populations`` / ``projections`` are booleans or explicit lists of objects.
    Every value the file will hold that is not a live array (step, dt, seed,
    names, model names, attribute lists, the connectivity) is read here.
    ``monitors``: also the recordings of every monitor of the network
    (``Monitor.recording_state``: host copies, read back here).
    """
    step = int(network.get_current_step())
    metadata = StateMetadata(step=step, dt=float(network.dt),
                             seed=None if network.seed is None else int(network.seed), net_id=0,
                             gpunet_version=__version__, single_object=bool(single_object))
    selected_populations = network.populations if populations is True else (populations or [])
    selected_projections = network.projections if projections is True else (projections or [])
    headers: list[ObjectHeader] = []
    arrays: list[ArrayRef] = []
    planned = [_plan_population(population, step) for population in selected_populations]
    planned += [_plan_projection(projection) for projection in selected_projections if projection.connected]
    for header, refs in planned:
        headers.append(header)
        arrays.extend(refs)
    recordings = tuple(monitor.recording_state() for monitor in network.monitors) if monitors else ()
    held_rows = getattr(network, "held_rows", None)
    rows = held_rows() if callable(held_rows) else None
    return StatePlan(metadata=metadata, objects=tuple(headers), arrays=tuple(arrays), monitors=recordings,
                     rows=None if rows is None else {name: [int(lo), int(hi)] for name, (lo, hi) in rows.items()})


def stage_to_host(plan: StatePlan, backend: Any, out: Optional[dict] = None) -> dict:
    """Host copies of every planned array, keyed by (owner, key)."""
    host = {} if out is None else out
    for ref in plan.arrays:
        host[(ref.owner, ref.key)] = backend.to_host(ref.array) if ref.on_device else resolved(ref.array)
    return host


def _build(header: ObjectHeader, host: dict, rows: Optional[dict] = None) -> Any:
    values = {a: host[(header.name, a)] for a in header.attributes}
    internal = {k: host[(header.name, k)] for k in header.internal}
    if header.kind == "population":
        return PopulationState(name=header.name, geometry=header.geometry, size=header.size, model=header.model,
                               parameters=list(header.parameters), variables=list(header.variables),
                               values=values, internal=internal)
    post_ranks = host[(header.name, "_post_ranks")]
    first = int(rows[header.post][0]) if rows else 0  # a part: the values of the post neurons from ``first`` on
    for name in header.semiglobal:  # one value per post neuron -> one per post row, as the files hold them
        values[name] = values[name][post_ranks - first]
    return ProjectionState(name=header.name, pre=header.pre, post=header.post, target=header.target,
                           model=header.model, parameters=list(header.parameters),
                           variables=list(header.variables), post_ranks=host[(header.name, "_post_ranks")],
                           row_ptr=host[(header.name, "_row_ptr")], pre_ranks=host[(header.name, "_pre_ranks")],
                           delays=host[(header.name, "_delays")], values=values, internal=internal,
                           semiglobal=list(header.semiglobal))


def assemble_state(plan: StatePlan, host: dict) -> NetworkState:
    """The NetworkState of ``plan`` from the host copies ``host`` (reads nothing of the network)."""
    meta = plan.metadata
    state = NetworkState(step=meta.step, dt=meta.dt, seed=meta.seed, net_id=meta.net_id,
                         gpunet_version=meta.gpunet_version, single_object=meta.single_object,
                         monitors=list(plan.monitors))
    if plan.rows is not None:
        state.annotations["rows"] = dict(plan.rows)
    for header in plan.objects:
        obj = _build(header, host, plan.rows)
        (state.populations if header.kind == "population" else state.projections).append(obj)
    return state


def gather_state(network: Any, populations: Any = True, projections: Any = True) -> NetworkState:
    """The current state of ``network`` as host arrays (a blocking copy)."""
    with network.backend.activate():  # the gathers in the plan run on the compute stream, like the copies
        plan = plan_state(network, populations, projections)
        host = stage_to_host(plan, network.backend)
    return assemble_state(plan, host)
