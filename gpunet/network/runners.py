"""Step runners: what runs each phase of a step for one population or projection, and the step loop.

Every population has one :class:`PopulationRunner` and every projection one
:class:`ProjectionRunner`, chosen once when the network compiles (the array
code here) and replaced only through ``set_runner`` (e.g. by
:func:`gpunet.codegen.runtime.fused.attach`, which installs generated-kernel
runners); the step loop calls whatever runner each object holds.  Nothing
replaces a method on a live object.

Runner contract (each method does, in place, the named phase of step ``step``)
------------------------------------------------------------------------------
``PopulationRunner.update(step)``
    Noise, equations, conductance reset, spike test and reset, refractory
    counter, last spike step; leaves this step's spike mask in the
    population's ``step_arrays().spiked``.
``ProjectionRunner.transmit(step)``
    Phase 1: spiking projections deliver the spikes emitted ``delay`` steps
    ago (``pre_events``); rate-coded ones add their weighted sum to the post
    population's ``sums[target]``.
``ProjectionRunner.pre_events(step)``
    The ``pre_spike`` statements of the synapses of pre neurons whose spikes
    arrive at ``step``.
``ProjectionRunner.continuous(step)``
    The synapses' continuous equations (phase 4).
``ProjectionRunner.post_events(step)``
    The ``post_spike`` statements of the synapses of post neurons that spiked
    at ``step`` (phase 5).

A runner works on the arrays its object gives through ``step_arrays()`` (read
at each call: a load may replace them between steps), never on private
attributes, and reports errors as exceptions before changing anything it can.
A network-level runner (:class:`StepLoop`) runs whole steps: ``run(count)``
advances the network ``count`` steps; ``Network.use_step_loop`` installs
another one (a compiled loop running a chunk of steps at once).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network
    from gpunet.network.population import Population
    from gpunet.network.projection import Projection

POPULATION_PHASES = ("update",)
PROJECTION_PHASES = ("transmit", "pre_events", "continuous", "post_events")


@runtime_checkable
class PopulationRunner(Protocol):
    """Runs the neuron update of one population (see the module docstring)."""

    def update(self, step: int) -> None: ...


@runtime_checkable
class ProjectionRunner(Protocol):
    """Runs the synaptic phases of one projection (see the module docstring)."""

    def transmit(self, step: int) -> None: ...

    def pre_events(self, step: int) -> None: ...

    def continuous(self, step: int) -> None: ...

    def post_events(self, step: int) -> None: ...


@runtime_checkable
class NetworkRunner(Protocol):
    """Runs whole steps of a network: ``run(count)`` advances it ``count`` steps."""

    def run(self, count: int) -> None: ...


class PopulationArrays(NamedTuple):
    """The live arrays a population's step reads and writes (``Population.step_arrays()``).

    ``state``: attribute name -> device array (plus ``_last_spike``,
    ``_refractory``); ``sums``: target -> the summed input of this step;
    ``spiked``: this step's spike mask; ``history``: the spike ring (row
    ``step % depth`` holds the spikes of ``step``), None before compile;
    ``noise_keys``: noise site -> stream key (updated in place on reseed).
    """

    state: dict
    sums: dict
    spiked: Any
    history: Any
    noise_keys: dict


class ProjectionArrays(NamedTuple):
    """The live arrays a projection's step reads and writes (``Projection.step_arrays()``).

    ``state``: attribute name -> one value per synapse, post-major (plus
    ``_pre_idx``, ``_post_idx``, ``_row_ptr``, ``_delays``, ``_last_event``);
    ``groups``: per delay value ``(delay, pre_ptr, synapses)``, the pre-major
    index of spike propagation.
    """

    state: dict
    groups: list


class ArrayPopulationRunner:
    """The array code (NumPy or CuPy) of a population: its own ``_update``."""

    kind = "array"

    def __init__(self, population: "Population") -> None:
        self.update = population._update


class ArrayProjectionRunner:
    """The array code (NumPy or CuPy) of a projection: its own step methods."""

    kind = "array"

    def __init__(self, projection: "Projection") -> None:
        self.transmit = projection._transmit
        self.pre_events = projection._pre_events
        self.continuous = projection._update_continuous
        self.post_events = projection._post_events


def check_runner(runner: Any, phases: tuple[str, ...], owner: str) -> None:
    """Raise TypeError naming ``owner`` when ``runner`` lacks one of ``phases`` (as callables)."""
    missing = [phase for phase in phases if not callable(getattr(runner, phase, None))]
    if missing:
        raise TypeError(f"{owner}: a runner needs the methods {', '.join(phases)}; "
                        f"{type(runner).__name__} has no {', '.join(missing)}")


class StepLoop:
    """The default network runner: one step at a time, each phase calling the objects' runners.

    The runners are read once and kept until :meth:`invalidate` (which
    ``set_runner`` and switching learning call), so a step does not ask every
    object for its runner in every phase.
    """

    kind = "steps"

    def __init__(self, network: "Network") -> None:
        self.network = network
        self._runners: Optional[tuple[list, list]] = None

    def invalidate(self) -> None:
        """Read the objects' runners again before the next step."""
        self._runners = None

    def run(self, count: int) -> None:
        """Advance the network ``count`` steps (in the order of :mod:`gpunet.network.network`)."""
        network = self.network
        for _ in range(count):
            if self._runners is None:
                self._runners = ([p.runner for p in network.populations], [p.runner for p in network.projections])
            population_runners, projection_runners = self._runners
            t = network._step
            self._begin_step(t)
            for population in network.populations:
                population._reset_inputs()
            for runner in projection_runners:
                runner.transmit(t)
            for runner in population_runners:
                runner.update(t)
            self._spikes_written(t)
            for runner in projection_runners:
                runner.continuous(t)
            for runner in projection_runners:
                runner.post_events(t)
            for monitor in network.monitors:
                monitor._record(t)
            network._step = t + 1
            self._end_step(t)

    def _begin_step(self, t: int) -> None:
        """Before step ``t``'s phases (a subclass's exchange)."""

    def _spikes_written(self, t: int) -> None:
        """After the updates of step ``t``: the spikes into the populations' rings."""
        for population in self.network.populations:
            population._push_spikes(t)

    def _end_step(self, t: int) -> None:
        """After step ``t`` (a subclass's exchange)."""
