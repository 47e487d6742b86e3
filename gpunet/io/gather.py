"""Gather the state of a live network into a :class:`~gpunet.io.state_types.NetworkState`.

Two phases so that snapshots can stage device arrays asynchronously:

1. :func:`plan_state` lists every array to save as an :class:`ArrayRef`
   (owner, key, the device array itself) plus the metadata, without copying;
2. :func:`assemble_state` builds the NetworkState from host copies of those
   arrays (made by :func:`stage_to_host` here, or by the snapshot stager).

Arrays that never change in place during a simulation (the host copies of the
connectivity) are referenced directly instead of being staged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from gpunet.io.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.version import __version__


@dataclass
class ArrayRef:
    """One array to save: ``owner`` (object name), ``key`` and the live array."""

    owner: str
    key: str
    array: Any
    on_device: bool = True


@dataclass
class StatePlan:
    """What a save needs: metadata and the list of arrays, in a fixed order."""

    network: Any
    step: int
    arrays: list[ArrayRef] = field(default_factory=list)
    builders: list[Callable[[dict], Any]] = field(default_factory=list)
    single_object: bool = False

    @property
    def device_arrays(self) -> list[ArrayRef]:
        return [ref for ref in self.arrays if ref.on_device]

    @property
    def nbytes(self) -> int:
        return int(sum(int(ref.array.nbytes) for ref in self.arrays))


def _history_by_age(population: Any, step: int) -> Any:
    """The spike history with row k = spikes of step ``step - 1 - k`` (device array)."""
    history = population._history
    depth = history.shape[0]
    xp = population.network.backend.xp
    order = xp.asarray([(step - 1 - k) % depth for k in range(depth)], dtype=np.int64)
    return history[order]


def _plan_population(plan: StatePlan, population: Any) -> None:
    name = population.name
    refs = [ArrayRef(name, attribute, population._state[attribute]) for attribute in population.spec.attributes]
    internal_keys = [k for k in ("_last_spike", "_refractory") if k in population._state]
    refs += [ArrayRef(name, key, population._state[key]) for key in internal_keys]
    if population.spiking and population._history is not None:
        refs.append(ArrayRef(name, "_spike_history", _history_by_age(population, plan.step)))
    times = getattr(population, "_times", None)
    if times is not None:
        flat = np.asarray([t for neuron in times for t in neuron], dtype=np.float64)
        counts = np.asarray([len(neuron) for neuron in times], dtype=np.int64)
        refs.append(ArrayRef(name, "_spike_times", flat, on_device=False))
        refs.append(ArrayRef(name, "_spike_counts", counts, on_device=False))
    plan.arrays.extend(refs)
    spec = population.spec

    def build(host: dict) -> PopulationState:
        values = {a: host[(name, a)] for a in spec.attributes}
        internal = {r.key: host[(name, r.key)] for r in refs if r.key.startswith("_")}
        return PopulationState(name=name, geometry=tuple(population.geometry), size=population.size,
                               model=spec.name, parameters=list(spec.parameters), variables=list(spec.variables),
                               values=values, internal=internal)

    plan.builders.append(build)


def _plan_projection(plan: StatePlan, projection: Any) -> None:
    name = projection.name
    spec = projection.spec
    refs = [ArrayRef(name, attribute, projection._state[attribute]) for attribute in spec.attributes]
    if "_last_event" in projection._state:
        refs.append(ArrayRef(name, "_last_event", projection._state["_last_event"]))
    post_ranks, row_ptr, pre_ranks, delays = projection._compressed_connectivity()
    # Connectivity host copies are replaced, never modified, when it changes: no staging needed.
    connectivity = {"_post_ranks": post_ranks, "_row_ptr": row_ptr, "_pre_ranks": pre_ranks, "_delays": delays}
    plan.arrays.extend(refs)
    plan.arrays.extend(ArrayRef(name, key, array, on_device=False) for key, array in connectivity.items())

    def build(host: dict) -> ProjectionState:
        values = {a: host[(name, a)] for a in spec.attributes}
        internal = {r.key: host[(name, r.key)] for r in refs if r.key.startswith("_")}
        return ProjectionState(name=name, pre=projection.pre.name, post=projection.post.name,
                               target=projection.target, model=spec.name, parameters=list(spec.parameters),
                               variables=list(spec.variables), post_ranks=host[(name, "_post_ranks")],
                               row_ptr=host[(name, "_row_ptr")], pre_ranks=host[(name, "_pre_ranks")],
                               delays=host[(name, "_delays")], values=values, internal=internal)

    plan.builders.append(build)


def plan_state(network: Any, populations: Any = True, projections: Any = True) -> StatePlan:
    """List what a save of ``network`` holds, without copying anything.

    ``populations`` / ``projections`` are booleans or explicit lists of objects.
    """
    plan = StatePlan(network=network, step=network.get_current_step())
    selected_populations = network.populations if populations is True else (populations or [])
    selected_projections = network.projections if projections is True else (projections or [])
    for population in selected_populations:
        _plan_population(plan, population)
    for projection in selected_projections:
        if projection._connected:
            _plan_projection(plan, projection)
    return plan


def stage_to_host(plan: StatePlan, out: Optional[dict] = None) -> dict:
    """Host copies of every planned array, keyed by (owner, key)."""
    backend = plan.network.backend
    host = {} if out is None else out
    for ref in plan.arrays:
        host[(ref.owner, ref.key)] = backend.to_host(ref.array) if ref.on_device else ref.array
    return host


def assemble_state(plan: StatePlan, host: dict) -> NetworkState:
    """The NetworkState of ``plan`` from the host copies ``host``."""
    state = NetworkState(step=plan.step, dt=plan.network.dt, seed=plan.network.seed, net_id=0,
                         gpunet_version=__version__, single_object=plan.single_object)
    for build in plan.builders:
        obj = build(host)
        (state.populations if isinstance(obj, PopulationState) else state.projections).append(obj)
    return state


def gather_state(network: Any, populations: Any = True, projections: Any = True) -> NetworkState:
    """The current state of ``network`` as host arrays (a blocking copy)."""
    with network.backend.activate():  # the gathers in the plan run on the compute stream, like the copies
        plan = plan_state(network, populations, projections)
        host = stage_to_host(plan)
    return assemble_state(plan, host)
