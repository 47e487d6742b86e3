"""The network's side of the compiled CPU runner: bind its objects' arrays to a generated step loop.

:func:`select` is called at compile: for ``runner="compiled"`` (or ``"auto"``
with a C++ compiler present) on the NumPy backend it binds every population
and projection (:class:`gpunet.codegen.runtime.host_loop.NetworkBinding`) and builds
the library; when something cannot run compiled it returns None with the
reason, and the network runs its array code (the ``numpy`` runner).  Either
way one log line says which runner runs.

At run time :class:`CompiledLoop` is asked, before each chunk, whether its
binding still holds (a load, ``reset()`` or an array-code step may have
replaced arrays; learning switched off needs the array code); a stale binding
is rebuilt, which compiles nothing when the structure is unchanged.
"""
from __future__ import annotations

import logging
import os

import numpy as np
from typing import Any, Optional

from gpunet.codegen.cuda.codegen import model_unit
from gpunet.codegen.cuda.common import UnsupportedByCuda
from gpunet.codegen.cuda.inputs import input_kind, schedule_width
from gpunet.codegen.runtime.eligibility import kernel_unit, own_step_reason
from gpunet.codegen.runtime.host_loop import HostLoop, NetworkBinding, PopulationBinding, ProjectionBinding
from gpunet.codegen.runtime.host_build import find_compiler
from gpunet.errors import BackendError, StructureError
from gpunet.network.compiled_monitors import ValueRecorder

log = logging.getLogger("gpunet")

#: Runners a network accepts: "numpy" (array code), "compiled" (C++ step loop, falls back to the array code
#: with a log line when the network cannot run it), "auto" ("compiled" when a C++ compiler is found).
RUNNERS = ("numpy", "compiled", "auto")


def _arrays_of(network: Any) -> list[Any]:
    """Every array a binding may read, in a fixed order: identical lists mean the binding still holds."""
    arrays: list[Any] = []
    for pop in network.populations:
        arrays += pop._state.values()
        arrays += pop._sums.values()
        arrays.append(getattr(pop, "_spiked", None))
        arrays.append(pop._history)
        if _is_spike_source(pop):
            arrays += [pop._event_steps, pop._event_ranks]
        if input_kind(pop) == "timed":
            arrays += pop.schedule_arrays()  # reset() and update() replace them
    for proj in network.projections:
        arrays += proj._state.values()
        for group in proj._groups:
            arrays += group[1:]
    return arrays


def default_runner() -> str:
    """The runner of a network created without one: ``$GPUNET_RUNNER``, else ``"auto"``."""
    return os.environ.get("GPUNET_RUNNER") or "auto"


#: Most OpenMP threads a network may ask for.
MAX_THREADS = 1024


def check_num_threads(value: Any, name: str = "num_threads") -> int:
    """``value`` as a thread count in ``[1, MAX_THREADS]``, else a :class:`~gpunet.errors.StructureError`.

    Parameters
    ----------
    value : int or str
        An integer (not a bool), or its decimal text (from the environment).
    name : str
        What the error names: the argument or the environment variable ``value`` came from.
    """
    number = None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        number = int(value)
    if number is None or not 1 <= number <= MAX_THREADS:
        raise StructureError(f"{name} must be an integer from 1 to {MAX_THREADS} (threads of the compiled CPU "
                             f"runner), got {value!r}")
    return number


def default_num_threads() -> int:
    """The thread count of a network created without one: ``$GPUNET_NUM_THREADS``, else 1 (as ANNarchy)."""
    value = os.environ.get("GPUNET_NUM_THREADS")
    return 1 if value is None or value == "" else check_num_threads(value, "GPUNET_NUM_THREADS")


#: Spike events a compiled chunk may record per population (its buffers: 16 bytes each); a chunk is
#: shortened so that every step's spikes fit.
RECORD_EVENTS = 1 << 20


def steps_to_record(monitor: Any, step: int, loop: Optional["CompiledLoop"] = None) -> int:
    """Steps from ``step`` to the first step ``monitor`` records from Python, that one included (large: never).

    Spikes of a population the compiled ``loop`` records, and variables it records, are not such steps.
    """
    never = 1 << 62
    if not monitor.recording:
        return never
    if monitor._spikes is not None and not (loop is not None and loop.records(monitor.population)):
        return 1  # spikes are recorded at every step
    if not monitor._values or (loop is not None and loop.records_values(monitor)):
        return never
    return (monitor.offset_steps - step) % monitor.period_steps + 1


def unsupported_reason(network: Any) -> Optional[str]:
    """Why ``network`` cannot run the compiled loop at all, or None."""
    if network.backend.is_gpu:
        return "the compiled runner runs on the CPU (NumPy backend); this network is on a GPU"
    for obj in network.populations + network.projections:
        reason = own_step_reason(obj)
        if reason is not None and not _is_spike_source(obj):  # the loop replays a spike source's events
            return reason
    return None


def _is_spike_source(pop: Any) -> bool:
    """A SpikeSourceArray: its update is its event list, which the compiled loop replays."""
    return hasattr(pop, "_event_steps") and pop._refractory_fn is None


def _spike_monitored(network: Any) -> list[str]:
    """Names of the spiking populations that a monitor records spikes of, in creation order."""
    names = {monitor.population.name for monitor in network.monitors if monitor._spikes is not None}
    return [pop.name for pop in network.populations if pop.name in names and pop.spiking]


def bind(network: Any, buffers: Optional[dict] = None, value_records: Optional[np.ndarray] = None) -> NetworkBinding:
    """The binding of ``network``'s objects (raises UnsupportedByCuda with the reason when one cannot run).

    ``buffers`` (population name -> (steps, ranks, count) arrays) are the spike recording buffers;
    ``value_records`` the header of the table of recorded variables
    (:class:`gpunet.network.compiled_monitors.ValueRecorder`).
    """
    precision = network.precision.name
    buffers = buffers or {}
    populations = []
    for pop in network.populations:
        timed = input_kind(pop) == "timed"
        unit = model_unit(pop.spec, precision) if _is_spike_source(pop) else kernel_unit(pop, precision)
        populations.append(PopulationBinding(
            name=pop.name, unit=unit, size=pop.size, state=pop._state, sums=pop._sums,
            spiked=pop._spiked if pop.spiking else None, history=pop._history if pop.spiking else None,
            noise_keys=pop._noise_keys,
            events=(pop._event_steps, pop._event_ranks) if _is_spike_source(pop) else None,
            record=buffers.get(pop.name),
            schedule=pop.schedule_arrays() if timed else None,
            schedule_width=schedule_width(pop.spec, type(pop).scheduled_attributes, pop.size) if timed else 0))
    projections = []
    for proj in network.projections:
        state = proj._state
        injection = input_kind(proj) == "current"
        unit = kernel_unit(proj, precision)
        pre, post = proj.pre, proj.post
        spiking = proj.spec.spiking
        if spiking and "pre_events_atomic" not in unit.kernels and proj._groups and \
                "pre_event" in proj._functions:
            raise UnsupportedByCuda(f"projection {proj.name!r}: no spike propagation kernel")
        if not spiking and not injection and proj.target in post._sums and "rate_sum" not in unit.kernels:
            raise UnsupportedByCuda(f"projection {proj.name!r}: no weighted-sum kernel")
        projections.append(ProjectionBinding(
            name=proj.name, unit=unit, spiking=spiking, state=state, pre_state=pre._state, post_state=post._state,
            pre_size=pre.size, post_size=post.size, synapses=len(state["_post_idx"]),
            g_target=post._state.get(f"g_{proj.target}") if spiking or injection else None,
            total=None if spiking else post._sums.get(proj.target),
            pre_history=pre._history if spiking else None, post_spiked=getattr(post, "_spiked", None),
            groups=list(proj._groups), pre_sums=pre._sums, post_sums=post._sums))
    return NetworkBinding(precision=precision, populations=populations, projections=projections,
                          value_records=value_records)


def _has_own_step_methods(obj: Any) -> bool:
    """Whether ``obj`` runs another runner than its array code (``codegen.runtime.fused.attach``)."""
    return obj.runner is not obj.array_runner


class CompiledLoop:
    """A network's compiled step loop (see the module docstring)."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.values = ValueRecorder(network)
        self._said_single = False  # the line saying that threads were asked for without OpenMP
        self._bind()

    def _neurons(self, name: str) -> int:
        """Neurons of population ``name`` the loop steps (a block of them under comm)."""
        return self.network.get_population(name).size

    def _binding(self) -> NetworkBinding:
        """What the loop is built from (the spike and variable recording buffers included)."""
        return bind(self.network, self._buffers, self.values.table.header)

    def _current(self) -> list:
        """The arrays the loop was bound to; another list means rebinding."""
        return _arrays_of(self.network)

    def _bind(self) -> None:
        self._recorded = _spike_monitored(self.network)
        self._buffers = {}
        for name in self._recorded:
            size = self._neurons(name)
            capacity = max(1, RECORD_EVENTS // size) * size
            self._buffers[name] = (np.empty(capacity, np.int64), np.empty(capacity, np.int64), np.zeros(1, np.int64))
        self._max_chunk = min((len(b[0]) // self._neurons(n) + 1 for n, b in self._buffers.items()),
                              default=1 << 62)
        self.loop = HostLoop(self._binding())
        self._arrays = self._current()

    def threads(self) -> int:
        """Threads the next chunk may use: the network's ``num_threads``, or 1 (logged once) when the library was
        built without OpenMP."""
        wanted = self.network.num_threads
        if wanted > 1 and not self.loop.openmp:
            if not self._said_single:
                log.info("compiled runner: %d threads asked for, but the C++ compiler builds no OpenMP "
                         "(-fopenmp): 1 thread", wanted)
                self._said_single = True
            return 1
        return wanted

    def records(self, population: Any) -> bool:
        """Whether the compiled chunks record the spikes of ``population``."""
        return population.name in self._buffers

    def records_values(self, monitor: Any) -> bool:
        """Whether the compiled chunks record the variables of ``monitor``."""
        return self.values.records(monitor)

    def max_chunk(self) -> int:
        """Most steps one call may run (the spike and variable recording buffers hold every step but the last)."""
        return min(self._max_chunk, self.values.max_steps())

    def usable(self) -> bool:
        """Whether the next steps can run compiled (rebinding first when arrays were replaced)."""
        if not all(proj.learning for proj in self.network.projections):
            return False  # the kernels hold the learning rules: steps without learning run the array code
        if any(_has_own_step_methods(obj) for obj in self.network.populations + self.network.projections):
            return False  # per-object runners attached after compile (fused.attach) take precedence
        current = self._current()
        if len(current) != len(self._arrays) or any(a is not b for a, b in zip(current, self._arrays)) \
                or _spike_monitored(self.network) != self._recorded:
            self._bind()
        return True

    def run(self, first: int, count: int) -> None:
        """Simulate ``count`` steps from step ``first``; spikes of all but the last go to the spike monitors.

        The variables of the monitors :meth:`records_values` accepts are recorded at their record steps
        but the last.  The caller chunks the steps so that no other monitor records variables and no
        snapshot is due before the last one, and records the last step's monitors itself.
        """
        for _steps, _ranks, counter in self._buffers.values():
            counter[0] = 0
        self.values.prepare(first, count)
        self.loop.threads = self.threads()
        self.loop.run(first, count, self.network.dt)
        self.values.deliver()
        if not self._buffers:
            return
        for monitor in self.network.monitors:
            if monitor.recording and monitor._spikes is not None and monitor.population.name in self._buffers:
                steps, ranks, counter = self._buffers[monitor.population.name]
                filled = int(counter[0])
                _deliver(monitor, steps[:filled], ranks[:filled])


def _deliver(monitor: Any, steps: np.ndarray, ranks: np.ndarray) -> None:
    """Give ``monitor`` the population's spike events, as view positions for a monitor of a view."""
    if monitor._device_ranks is not None:
        view = np.asarray(monitor._device_ranks)
        positions = np.full(monitor.population.size, -1, dtype=np.int64)
        positions[view] = np.arange(len(view))
        mapped = positions[ranks]
        kept = mapped >= 0
        steps, mapped = steps[kept], mapped[kept]
        order = np.lexsort((mapped, steps))
        steps, ranks = steps[order], mapped[order]
    monitor._spikes.extend(steps.copy(), ranks.copy())


def select(network: Any, runner: str, silent: bool = False) -> Optional[CompiledLoop]:
    """The compiled loop of ``network`` for ``runner``, or None; logs which runner runs and why (unless ``silent``)."""
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")
    if runner == "numpy":
        return None
    reason = unsupported_reason(network)
    if reason is None and find_compiler() is None:
        reason = "no host C++ compiler found (tried $CXX, c++, g++, clang++)"
    loop = None
    if reason is None:
        try:
            loop = CompiledLoop(network)
        except (UnsupportedByCuda, BackendError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if silent:
        return loop
    if loop is None and network.backend.is_gpu:
        log.info("runner: %s (the GPU backend's kernels or array code; the compiled runner is for the CPU)",
                 network.backend.name)
    elif loop is None:
        log.info("runner: numpy (array code); the compiled runner cannot run this network: %s", reason)
    else:
        math = "NumPy's exp/log" if loop.loop.numpy_math else "the C library's exp/log (last bits may differ)"
        log.info("runner: compiled (C++ step loop of %d populations and %d projections, %s, %d thread%s)",
                 len(network.populations), len(network.projections), math, loop.threads(),
                 "" if loop.threads() == 1 else "s")
    return loop
