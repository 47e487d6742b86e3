"""The compiled CPU runner under comm: each process's blocks stepped by one generated C++ loop (issue 15).

Under ``Network(comm=..., runner="compiled")`` (or ``"auto"`` with a C++ compiler) every process binds the
generated step loop (:mod:`gpunet.codegen.runtime.host_loop`) to its blocks: populations of its block's size
whose noise counters start at the block's first global rank, its own spikes written into their columns of the
whole population's spike ring, projections of the synapses onto its neurons reading the whole pre-synaptic
population (gathered values, the whole spike ring).  The exchanges of
:class:`~gpunet.network.distributed.DistributedEngine` stay in Python, between calls of the loop:

- a network whose projections read no pre-synaptic value (spiking projections only) runs whole chunks in C++,
  up to the end of the minimum-delay interval (or the next monitor record): its spikes are then read off this
  process's ring columns and exchanged with one allgather, as the array code does;
- a network whose projections read pre-synaptic values every step (``pre.r`` of rate-coded projections,
  ``pre.sum(target)``, a current injection) runs each step in two calls of the loop: transmission and neuron
  updates, then (after the values are gathered, into arrays the loop stays bound to) the synaptic updates.

The draws and the order of every sum are those of the array code, so results are bit-identical to one process
for every number of processes (float64).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from gpunet.codegen.cuda.codegen import model_unit
from gpunet.codegen.cuda.common import UnsupportedByCuda
from gpunet.codegen.cuda.inputs import input_kind, schedule_width
from gpunet.codegen.runtime.eligibility import kernel_unit
from gpunet.codegen.runtime.host_build import find_compiler
from gpunet.codegen.runtime.host_loop import NetworkBinding, PopulationBinding, ProjectionBinding
from gpunet.errors import BackendError
from gpunet.io.pipeline.state_types import ring_row
from gpunet.network.compiled_loop import (RUNNERS, CompiledLoop, _arrays_of, _is_spike_source, steps_to_record,
                                          unsupported_reason)
from gpunet.network.distributed import DistributedEngine, DistributedStepLoop
from gpunet.network.distributed_device import presynaptic_array

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network

__all__ = ["DistributedCompiledLoop", "select_distributed"]

log = logging.getLogger("gpunet")


def _remote_arrays(engine: DistributedEngine) -> dict:
    """Each read population's gathered arrays (``Population._remote``), made once and kept: the loop is bound to
    them.  Arrays made here hold zeros: ``engine.fresh`` is cleared so the next step gathers first."""
    for population, names in engine.reads:
        remote = population._remote
        dtypes = {name: presynaptic_array(population, name).dtype for name in names}
        if remote is None or any(name not in remote or remote[name].shape != (population.size,)
                                 or remote[name].dtype != dtypes[name] for name in names):
            remote = dict(population._state)
            for name in names:
                remote[name] = np.zeros(population.size, dtype=dtypes[name])
            population._remote = remote
            engine.fresh = False
        else:  # the attributes not gathered are this process's (a load may have replaced them)
            for key, array in population._state.items():
                if key not in names:
                    remote[key] = array
    return {population.name: population._remote for population, _ in engine.reads}


def share_in_place(engine: DistributedEngine) -> None:
    """One allgather of the attributes projections read as ``pre.x``, written into the arrays of
    :func:`_remote_arrays` (the engine's own gathering makes new arrays each step).

    Parameters
    ----------
    engine : DistributedEngine
        The network's engine (its ``reads``).
    """
    if not engine.reads:
        engine.fresh = True
        return
    _remote_arrays(engine)
    mine = [presynaptic_array(population, name) for population, names in engine.reads for name in names]
    parts = engine.comm.allgather(mine)
    index = 0
    for population, names in engine.reads:
        for name in names:
            np.concatenate([part[index] for part in parts], out=population._remote[name])
            index += 1
    engine.fresh = True


def buffer_ring_spikes(engine: DistributedEngine, first: int, count: int) -> None:
    """Buffer for the exchange the spikes of steps ``first .. first + count - 1``, read off this process's
    columns of the spike rings (the loop wrote them; the rings are at least one exchange interval deep).

    Parameters
    ----------
    engine : DistributedEngine
        The network's engine (its exchanged populations and spike buffer).
    first, count : int
        The steps just run (``count`` at most what the interval has left).
    """
    if count and engine.pending == 0:
        engine.start = first
    for step in range(first, first + count):
        for population in engine.sent:
            ring = population._history
            lo = population._first
            row = ring[ring_row(step, ring.shape[0]), lo:lo + population._count]
            engine.exchange.record(step - engine.start, population.name, np.flatnonzero(row) + lo)
        engine.pending += 1


def bind_blocks(network: Any, buffers: Optional[dict] = None,
                value_records: Optional[np.ndarray] = None) -> NetworkBinding:
    """The binding of this process's blocks (``gpunet.network.compiled_loop.bind`` for a whole network).

    Parameters
    ----------
    network : Network
        A network compiled under comm.
    buffers : dict, optional
        Population name -> (steps, ranks, count) spike recording buffers.
    value_records : numpy.ndarray, optional
        The header of the table of recorded variables
        (:class:`gpunet.network.compiled_monitors.ValueRecorder`); monitors under comm record their block.

    Raises
    ------
    UnsupportedByCuda
        With the reason, when an object cannot run in the loop.
    """
    precision = network.precision.name
    buffers = buffers or {}
    populations = []
    for pop in network.populations:
        lo, count = pop._first, pop._count
        timed = input_kind(pop) == "timed"
        unit = model_unit(pop.spec, precision) if _is_spike_source(pop) else kernel_unit(pop, precision)
        events = schedule = None
        width = 0
        if _is_spike_source(pop):  # the events of the block, local ranks
            steps, ranks = pop._event_steps, pop._event_ranks
            kept = (ranks >= lo) & (ranks < lo + count)
            events = (np.ascontiguousarray(steps[kept]), np.ascontiguousarray(ranks[kept] - lo))
        if timed:
            table, rows = pop.schedule_arrays()
            scheduled = type(pop).scheduled_attributes
            width = schedule_width(pop.spec, scheduled, pop.size)
            if not all(pop.spec.attributes[name].is_global for name in scheduled):  # per neuron: the block's columns
                rows, width = np.ascontiguousarray(rows.reshape(-1, pop.size)[:, lo:lo + count]), count
            schedule = (table, rows)
        populations.append(PopulationBinding(
            name=pop.name, unit=unit, size=count, state=pop._state, sums=pop._sums,
            spiked=pop._spiked if pop.spiking else None, history=pop._history if pop.spiking else None,
            noise_keys=pop._noise_keys, events=events, record=buffers.get(pop.name), schedule=schedule,
            schedule_width=width, first=lo))
    projections = []
    for proj in network.projections:
        injection = input_kind(proj) == "current"
        unit = kernel_unit(proj, precision)
        pre, post = proj.pre, proj.post
        spiking = proj.spec.spiking
        if spiking and "pre_events_atomic" not in unit.kernels and proj._groups and "pre_event" in proj._functions:
            raise UnsupportedByCuda(f"projection {proj.name!r}: no spike propagation kernel")
        if not spiking and not injection and proj.target in post._sums and "rate_sum" not in unit.kernels:
            raise UnsupportedByCuda(f"projection {proj.name!r}: no weighted-sum kernel")
        gathered = pre.presynaptic_arrays()  # the whole pre-synaptic population's values and spike ring
        projections.append(ProjectionBinding(
            name=proj.name, unit=unit, spiking=spiking, state=proj._state, pre_state=gathered.state,
            post_state=post._state, pre_size=pre.size, post_size=post._count, synapses=len(proj._state["_post_idx"]),
            g_target=post._state.get(f"g_{proj.target}") if spiking or injection else None,
            total=None if spiking else post._sums.get(proj.target),
            pre_history=pre._history if spiking else None, post_spiked=getattr(post, "_spiked", None),
            groups=list(proj._groups), pre_sums=gathered.sums, post_sums=post._sums))
    return NetworkBinding(precision=precision, populations=populations, projections=projections, blocks=True,
                          value_records=value_records)


class _BlockLoop(CompiledLoop):
    """:class:`~gpunet.network.compiled_loop.CompiledLoop` bound to this process's blocks and to the gathered
    pre-synaptic arrays."""

    def __init__(self, network: Any, engine: DistributedEngine) -> None:
        self.engine = engine
        super().__init__(network)

    def _current(self) -> list:
        return _arrays_of(self.network) + [population._remote for population, _ in self.engine.reads]

    def _neurons(self, name: str) -> int:
        return self.network.get_population(name)._count

    def _binding(self) -> NetworkBinding:
        _remote_arrays(self.engine)
        return bind_blocks(self.network, self._buffers, self.values.table.header)


class DistributedCompiledLoop:
    """The step loop of a network under comm with the compiled runner (see the module docstring).

    Parameters
    ----------
    network : Network
        A compiled network under comm, on the NumPy backend.
    engine : DistributedEngine
        Its part and exchanges.

    Raises
    ------
    UnsupportedByCuda
        When an object cannot run in the generated loop.
    BackendError
        When the loop does not compile.

    Attributes
    ----------
    calls : int
        Calls of the generated loop so far (two per step, or one per chunk of steps).
    array_steps : int
        Steps run by the array code's loop instead (learning switched off, per-object runners attached).
    """

    kind = "compiled"
    #: It records the monitors of every step itself (``Network`` then runs it in chunks up to a snapshot).
    runs_chunks = True

    def __init__(self, network: "Network", engine: DistributedEngine) -> None:
        self.network = network
        self.engine = engine
        self.fallback = DistributedStepLoop(network, engine)  # steps the loop cannot run (learning switched off)
        self.compiled = _BlockLoop(network, engine)
        self.host = self.compiled.loop
        self.calls = 0
        self.array_steps = 0

    def invalidate(self) -> None:
        """Read the objects' runners again before the next step (of the array code's loop)."""
        self.fallback.invalidate()

    def run(self, count: int) -> None:
        """Advance the network ``count`` steps (every process of the communicator together).

        Parameters
        ----------
        count : int
            Steps to run.
        """
        network = self.network
        end = network._step + count
        while network._step < end:
            if not self.compiled.usable():
                self.fallback.run(1)
                self.array_steps += 1
                continue
            self.host = self.compiled.loop
            if self.engine.reads:
                self._phased_step()
            else:
                self._chunk(end - network._step)

    def _phases(self, phases: int) -> None:
        self.host.library.gn_set_phases(int(phases))
        self.calls += 1

    def _phased_step(self) -> None:
        """One step in two calls: transmission and neuron updates; gather the pre-synaptic values; synapses."""
        network, engine = self.network, self.engine
        t = network._step
        if not engine.fresh:
            share_in_place(engine)
        self._phases(1)
        self.host.run(t, 1, network.dt)
        engine.record_spikes(t)
        share_in_place(engine)
        self._phases(2)
        self.host.run(t, 1, network.dt)
        for monitor in network.monitors:
            monitor._record(t)
        network._step = t + 1
        engine.after_step()

    def _chunk(self, limit: int) -> None:
        """Whole steps in one call, up to the end of the exchange interval, a monitor record or ``limit``."""
        network, engine, compiled = self.network, self.engine, self.compiled
        t = network._step
        count = min(limit, engine.interval - engine.pending, compiled.max_chunk())
        for monitor in network.monitors:
            count = min(count, steps_to_record(monitor, t, compiled))
        count = max(count, 1)
        self._phases(3)
        compiled.run(t, count)
        buffer_ring_spikes(engine, t, count)
        last = t + count - 1
        for monitor in network.monitors:
            monitor._record(last)
        network._step = t + count
        engine.after_step()


def select_distributed(network: "Network", runner: str, silent: bool = False) -> Optional[DistributedCompiledLoop]:
    """The compiled step loop of ``network`` (under comm) for ``runner``, or None; one log line per process says
    which runner runs and why (unless ``silent``).

    Parameters
    ----------
    network : Network
        A network compiled under comm (its engine has split it).
    runner : {"numpy", "compiled", "auto"}
        The runner asked for.
    silent : bool
        Log nothing.
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")
    engine = network._distributed
    where = f"process {engine.rank} of {engine.nprocs}"
    loop = None
    reason = "runner='numpy' was asked for"
    if runner != "numpy":
        reason = unsupported_reason(network)
        if reason is None and find_compiler() is None:
            reason = "no host C++ compiler found (tried $CXX, c++, g++, clang++)"
        if reason is None:
            try:
                loop = DistributedCompiledLoop(network, engine)
            except (UnsupportedByCuda, BackendError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if silent:
        return loop
    if loop is None and network.backend.is_gpu:
        log.info("runner (%s): %s (the GPU backend's kernels or array code; the compiled runner is for the CPU)",
                 where, network.backend.name)
    elif loop is None:
        log.info("runner (%s): numpy (array code); the compiled runner does not run: %s", where, reason)
    else:
        mode = ("two calls per step, pre-synaptic values gathered between them" if engine.reads else
                f"chunks of up to {engine.interval} steps (the minimum delay) between spike exchanges")
        log.info("runner (%s): compiled (C++ step loop of this process's blocks, %s)", where, mode)
    return loop
