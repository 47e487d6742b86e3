"""The Network: owns populations, projections and monitors, and runs the simulation loop.

One step at integer step ``t`` (ANNarchy's order):

1. spikes emitted ``delay`` steps ago arrive: for each projection (creation
   order), each such pre neuron (ascending rank) and each of its synapses
   (ascending post rank), event-driven traces decay to this event and the
   ``pre_spike`` statements run; rate-coded projections add their weighted
   sums to ``sum(target)``;
2. each population (creation order) integrates its equations, resets its
   conductances, tests the spike condition on the new values and applies the
   reset;
3. the new spikes enter the delay queues;
4. continuous synaptic equations are integrated;
5. ``post_spike`` statements run for the synapses of neurons that spiked;
6. monitors record, and ``t`` becomes ``t + 1``.
"""
from __future__ import annotations

import difflib
import logging
import secrets
import time as _clock
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from gpunet.backend import get_backend
from gpunet.errors import GpunetError, StructureError
from gpunet.limits import check_name, check_seed
from gpunet.model.declarations import clear_constants
from gpunet.model.global_functions import clear_functions
from gpunet.network import default
from gpunet.network.population import LAST_SPIKE_NEVER
from gpunet.network.progress import ProgressBar

log = logging.getLogger("gpunet")

PRECISIONS = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
#: "auto": fused CUDA kernels on a GPU with bit-reproducible ("ordered") spike propagation;
#: "atomic": fused kernels propagating spikes with atomicAdd (faster, last bits vary between runs);
#: "off": the array code on every backend.
KERNEL_MODES = ("auto", "ordered", "atomic", "off")
_GENERATOR_PURPOSES = {"connect": 1, "init": 2}
#: keywords of ``simulate`` besides duration, measure_time, progress and snapshotter: periodic snapshots
SNAPSHOT_OPTIONS = ("snapshot_every", "snapshot_dir", "keep_last", "prefix", "max_pending", "on_full", "staging",
                    "compress", "fsync")


class Network:
    """A simulated network and its state on one device.

    Parameters
    ----------
    dt : float
        Step size in ms.
    seed : int, optional
        Seed of every random number of the network (connectivity, initial
        values, noise): an integer in ``[0, 2**64 - 1]``.  None draws one; it
        is kept in ``net.seed`` and in saved files.
    backend : {"auto", "numpy", "cupy"}
        Array backend; ``"auto"`` uses CuPy when a GPU answers.
    device : int
        CUDA device id (CuPy only).
    precision : {"float64", "float32"}
        Floating type of the state.
    kernels : {"auto", "ordered", "atomic", "off"}
        On a GPU, the hot loops run as fused CUDA kernels generated from the
        model equations (``"auto"`` = ``"ordered"``: bit-reproducible spike
        propagation; ``"atomic"``: atomicAdd, faster, last bits may vary);
        ``"off"`` keeps the array code.  Ignored on NumPy.

    Examples
    --------
    >>> import gpunet as gn
    >>> net = gn.Network(dt=1.0, seed=42, backend="numpy")
    >>> pop = net.create(10, gn.Izhikevich, name="exc")
    >>> net.compile()
    >>> net.simulate(5.0)
    >>> net.get_current_step(), net.get_time()
    (5, 5.0)
    """

    def __init__(self, dt: float = 1.0, seed: Optional[int] = None, backend: str = "auto", device: int = 0,
                 precision: str = "float64", kernels: str = "auto") -> None:
        self.populations: list = []
        self.projections: list = []
        self.monitors: list = []
        self._names: dict[str, Any] = {}
        self._step = 0
        self.compiled = False
        self._draws = 0
        if kernels not in KERNEL_MODES:
            raise ValueError(f"kernels must be one of {KERNEL_MODES}, got {kernels!r}")
        self.kernels = kernels
        self.fused = None
        self._configure(dt=dt, seed=seed, backend=backend, device=device, precision=precision)

    # -- configuration -------------------------------------------------------
    def _configure(self, dt: float, seed: Optional[int], backend: str, device: int, precision: str) -> None:
        if not (isinstance(dt, (int, float)) and dt > 0 and np.isfinite(dt)):
            raise ValueError(f"dt must be a positive number of ms, got {dt!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
        self.dt = float(dt)
        self.seed = check_seed(seed) if seed is not None else secrets.randbits(62)
        self.backend = get_backend(backend, int(device))
        self.backend_request = backend
        self.device = self.backend.device
        self.precision = PRECISIONS[precision]

    def reseed(self, seed: int) -> None:
        """Make ``seed`` the seed of every random stream from now on (what a restored snapshot does).

        The counter-based noise of a compiled network draws from (seed, object,
        step, index), so with the step counter this places every stream exactly
        where the run that saved ``seed`` left it.
        """
        self.seed = check_seed(seed)
        for population in self.populations:
            population._reseed(self.seed)

    def setup(self, dt: Optional[float] = None, seed: Optional[int] = None, backend: Optional[str] = None,
              device: Optional[int] = None, precision: Optional[str] = None, kernels: Optional[str] = None) -> None:
        """Change dt, seed, backend, device, precision or kernels (before any object is created)."""
        if kernels is not None:
            if kernels not in KERNEL_MODES:
                raise ValueError(f"kernels must be one of {KERNEL_MODES}, got {kernels!r}")
            if self.compiled:
                raise GpunetError("setup(): kernels cannot change after compile()")
            self.kernels = kernels
        if self.populations and (backend is not None or device is not None or precision is not None):
            raise GpunetError("setup(): backend, device and precision can only change before populations exist; "
                              "call setup() first or clear() the network")
        if self.compiled and (dt is not None or seed is not None):
            raise GpunetError("setup(): dt and seed cannot change after compile()")
        self._configure(dt=self.dt if dt is None else dt, seed=self.seed if seed is None else seed,
                        backend=self.backend_request if backend is None else backend,
                        device=self.device if device is None else device,
                        precision=self.precision.name if precision is None else precision)

    def _generator(self, purpose: str, object_id: int) -> np.random.Generator:
        """A NumPy generator for host-side draws, reproducible from the seed."""
        self._draws += 1
        return np.random.default_rng([self.seed, _GENERATOR_PURPOSES[purpose], object_id, self._draws])

    # -- objects -------------------------------------------------------------
    def _register(self, obj: Any, name: Optional[str], prefix: str) -> str:
        if self.compiled:
            raise StructureError(f"cannot add {prefix} {name or ''!r}: the network is already compiled; "
                                 "create every object before compile()")
        if name is None:
            index = len(self.populations) if prefix == "pop" else len(self.projections)
            name = f"{prefix}{index}"
            while name in self._names:
                index += 1
                name = f"{prefix}{index}"
        check_name(name, "population" if prefix == "pop" else "projection")
        if name in self._names:
            raise StructureError(f"the name {name!r} is already used by {self._names[name]!r}; names must be unique")
        self._names[name] = obj
        (self.populations if prefix == "pop" else self.projections).append(obj)
        return name

    def _add_monitor(self, monitor: Any) -> None:
        self.monitors.append(monitor)

    def _unregister(self, obj: Any) -> None:
        """Remove an object nothing refers to (``net.create(population)`` moving it here)."""
        del self._names[obj.name]
        (self.populations if obj in self.populations else self.projections).remove(obj)

    def create(self, geometry: Any = None, neuron: Any = None, stop_condition: Optional[str] = None,
               name: Optional[str] = None, population: Any = None):
        """Create a population in this network (same as ``Population(..., network=net)``).

        As in ANNarchy 5, a population built beforehand (``PoissonPopulation(100,
        rates=20.0)``, which lands in the default network) may be given instead,
        alone, as the first argument or as ``population=``: this network gets a
        copy (same class, model, name, attribute values); the original leaves the
        default network when nothing there uses it yet.

        Examples
        --------
        >>> import gpunet as gn
        >>> net = gn.Network(backend="numpy")
        >>> net.create(gn.PoissonPopulation(5, rates=20.0, name="input")).rates.tolist()
        [20.0, 20.0, 20.0, 20.0, 20.0]
        """
        from gpunet.network.population import Population
        given = geometry if isinstance(geometry, Population) else population
        if given is not None:
            if not isinstance(given, Population):
                raise StructureError(f"Network.create(): population= takes a Population, got {type(given).__name__}")
            if (isinstance(geometry, Population) and population is not None) or neuron is not None \
                    or name is not None or stop_condition is not None \
                    or (population is not None and geometry is not None):
                raise StructureError("Network.create(): give a Population alone; define its name, model and "
                                     "stop condition when you build it")
            if given.network is self:
                return given
            copy = given._copy_into(self)  # first: if it fails (a name taken here), the original stays
            origin = given.network
            if not origin.compiled and not origin._uses(given):
                origin._unregister(given)  # moved, not duplicated: the default network holds nothing extra
            return copy
        if geometry is None or neuron is None:
            raise StructureError("Network.create(): give a geometry and a neuron model, or a Population")
        return Population(geometry, neuron, name=name, network=self, stop_condition=stop_condition)

    def _uses(self, population: Any) -> bool:
        return any(population in (p.pre, p.post) for p in self.projections) or \
            any(m.population is population for m in self.monitors)

    def connect(self, pre: Any, post: Any, target: str, synapse: Any = None, name: Optional[str] = None):
        """Create a projection in this network (same as ``Projection(..., network=net)``)."""
        from gpunet.network.projection import Projection
        return Projection(pre, post, target, synapse, name=name, network=self)

    def monitor(self, obj: Any, variables: Any, period: Optional[float] = None, start: bool = True):
        """Create a monitor in this network (same as ``Monitor(...)``)."""
        from gpunet.network.monitor import Monitor
        return Monitor(obj, variables, period=period, start=start, network=self)

    def get_population(self, name: str):
        """The population called ``name``."""
        for population in self.populations:
            if population.name == name:
                return population
        raise KeyError(f"no population {name!r}; populations are {[p.name for p in self.populations]}")

    def get_projection(self, name: str):
        """The projection called ``name``."""
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(f"no projection {name!r}; projections are {[p.name for p in self.projections]}")

    def get_populations(self) -> list:
        """Every population, in creation order (a new list)."""
        return list(self.populations)

    def get_projections(self, post: Any = None, pre: Any = None, target: Optional[str] = None,
                        suppress_error: bool = False) -> list:
        """The projections, optionally only those with this ``post``, ``pre`` (object or name) and ``target``.

        Raises
        ------
        StructureError
            When a filter matches nothing, unless ``suppress_error`` (as ANNarchy).
        """
        def matches(population: Any, wanted: Any) -> bool:
            return wanted is None or population is wanted or (isinstance(wanted, str) and population.name == wanted)
        found = [p for p in self.projections if matches(p.post, post) and matches(p.pre, pre)
                 and (target is None or p.target == target)]
        if not found and not suppress_error and (post is not None or pre is not None or target is not None):
            raise StructureError(f"no projection with post={getattr(post, 'name', post)!r}, "
                                 f"pre={getattr(pre, 'name', pre)!r}, target={target!r}")
        return found

    def get_monitors(self) -> list:
        """Every monitor, in creation order (a new list)."""
        return list(self.monitors)

    # -- compilation ---------------------------------------------------------
    def compile(self, directory: Optional[Union[str, Path]] = None, clean: bool = False,
                silent: bool = False) -> None:
        """Validate the network, build the indexes and generate the code of every model.

        Calling it twice does nothing the second time.

        Parameters
        ----------
        directory : str or Path, optional
            Where the generated code is written (one ``.py`` file per
            population and projection, for reading and debugging; ANNarchy's
            keyword).  Default: nowhere.
        clean : bool
            Accepted for ANNarchy scripts: gpunet always generates afresh.
        silent : bool
            No "compiled" log line (ANNarchy's keyword).
        """
        if self.compiled:
            return
        started = _clock.perf_counter()
        with self.backend.activate():
            for projection in self.projections:
                if not projection._connected:
                    raise StructureError(f"projection {projection.name!r} ({projection.pre.name} -> "
                                         f"{projection.post.name}) is not connected; call one of its connect_* "
                                         "methods before compile()")
            for population in self.populations:
                population._compile(self._max_delay_of(population))
            for projection in self.projections:
                projection._compile()
        self.compiled = True
        if self.backend.is_gpu and self.kernels != "off":  # pragma: no cover - needs a GPU
            from gpunet.codegen.cupy_kernels import attach_fused
            self.fused = attach_fused(self, mode="atomic" if self.kernels == "atomic" else "ordered")
            for projection in self.projections:
                if not projection.learning:
                    projection._apply_learning_mode()
        if directory is not None:
            self._write_generated_code(Path(directory))
        if not silent:
            log.info("compiled %d population(s) and %d projection(s) on %s in %.3f s", len(self.populations),
                     len(self.projections), self.backend.name, _clock.perf_counter() - started)

    def _write_generated_code(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for population in self.populations:
            if population.generated_source:
                (directory / f"population_{population.name}.py").write_text(population.generated_source)
        for projection in self.projections:
            parts = [f"# {phase}\n{source}" for phase, source in (projection.generated_source or {}).items()]
            if parts:
                (directory / f"projection_{projection.name}.py").write_text("\n\n".join(parts))

    def _max_delay_of(self, population: Any) -> int:
        delays = [p.max_delay for p in self.projections if p.pre is population]
        return max(delays, default=1)

    # -- simulation ----------------------------------------------------------
    def step(self) -> None:
        """Simulate one step of ``dt`` ms."""
        if not self.compiled:
            self.compile()
        with self.backend.activate():
            self._step_once()

    def _step_once(self) -> None:
        t = self._step
        for population in self.populations:
            population._reset_inputs()
        for projection in self.projections:
            projection._transmit(t)
        for population in self.populations:
            population._update(t)
        for population in self.populations:
            population._push_spikes(t)
        for projection in self.projections:
            projection._update_continuous(t)
        for projection in self.projections:
            projection._post_events(t)
        for monitor in self.monitors:
            monitor._record(t)
        self._step = t + 1

    def simulate(self, duration: float, measure_time: bool = False, progress: Optional[bool] = None,
                 snapshotter: Any = None, **snapshot_options: Any) -> None:
        """Simulate ``duration`` ms (rounded to whole steps).

        Parameters
        ----------
        duration : float
            Simulated time in ms.
        measure_time : bool
            Print how long the simulation took (ANNarchy's keyword).
        progress : bool, optional
            Progress bar on stderr: None shows it on a terminal for runs
            longer than about two seconds, True always, False never.
        snapshotter : Snapshotter, optional
            Takes periodic snapshots during this run (it stays open afterwards).
        **snapshot_options
            ``snapshot_every`` (ms), ``snapshot_dir`` and ``keep_last``
            (and ``prefix`` or save options): periodic asynchronous snapshots
            (see :class:`gpunet.Snapshotter`); waited for, and their first
            error raised, at the end of the run.

        Raises
        ------
        TypeError
            For a keyword simulate does not know, named in the message.

        Compiles the network first when needed.
        """
        _check_keywords("simulate", snapshot_options, ("measure_time", "progress", "snapshotter")
                        + SNAPSHOT_OPTIONS)
        steps = int(round(duration / self.dt))
        if steps < 0:
            raise ValueError(f"duration must be >= 0 ms, got {duration}")
        started = _clock.perf_counter()
        self._run(steps, progress, snapshotter, snapshot_options)
        if measure_time:
            print(f"Simulating {duration / 1000.0:g} seconds of the network took "
                  f"{_clock.perf_counter() - started:.6f} seconds.")

    def simulate_until(self, max_duration: float, population: Any, operator: str = "and",
                       measure_time: bool = False) -> float:
        """Simulate until the stop condition of ``population`` holds, at most ``max_duration`` ms.

        The condition (``stop_condition`` of the population) is tested after
        every step.  With several populations, ``operator="and"`` stops when
        every condition holds, ``"or"`` when one does (ANNarchy's rule).

        Returns
        -------
        float
            The simulated time in ms (steps x dt; ANNarchy 5.0.4.1 returns
            steps / dt, the same number only when dt = 1).
        """
        populations = list(population) if isinstance(population, (list, tuple)) else [population]
        if operator not in ("and", "or"):
            raise ValueError(f"simulate_until: operator must be 'and' or 'or', got {operator!r}")
        for item in populations:
            if getattr(item, "network", None) is not self:
                raise StructureError(f"simulate_until: {getattr(item, 'name', item)!r} is not a population of "
                                     "this network")
            if item._stop is None:
                raise StructureError(f"simulate_until: population {item.name!r} has no stop_condition")
        combine = all if operator == "and" else any
        steps = int(round(max_duration / self.dt))
        start, started = self._step, _clock.perf_counter()
        if not self.compiled:
            self.compile()
        with self.backend.activate():
            for _ in range(steps):
                self._step_once()
                if combine(item._stop_reached() for item in populations):
                    break
        if measure_time:
            print(f"Simulating {(self._step - start) * self.dt / 1000.0:g} seconds of the network took "
                  f"{_clock.perf_counter() - started:.6f} seconds.")
        return (self._step - start) * self.dt

    def _run(self, steps: int, progress: Optional[bool], snapshotter: Any, snapshot_options: dict) -> None:
        if not self.compiled:
            self.compile()
        owned = None
        if snapshot_options:
            if snapshotter is not None:
                raise ValueError("pass either a snapshotter or snapshot_every/snapshot_dir, not both")
            from gpunet.io.snapshots import Snapshotter
            snapshotter = owned = Snapshotter.from_options(self, **snapshot_options)
        bar = ProgressBar(steps, self.dt, enabled=progress)
        try:
            with self.backend.activate():
                for done in range(1, steps + 1):
                    self._step_once()
                    if snapshotter is not None:
                        snapshotter.after_step()
                    bar.update(done)
        except BaseException:
            if owned is not None:
                try:
                    owned.close()
                except Exception:  # the loop's own error is the one to report
                    pass
            raise
        finally:
            bar.close()
        if owned is not None:
            owned.close()  # waits for the last snapshots; raises the first snapshot error

    # -- learning --------------------------------------------------------------
    def enable_learning(self, projections: Optional[Sequence[Any]] = None, period: Optional[float] = None,
                        offset: Optional[float] = None) -> None:
        """Let the projections (default: all) learn again (see :meth:`Projection.enable_learning`)."""
        for projection in self._own_projections(projections, "enable_learning"):
            projection.enable_learning(period=period, offset=offset)

    def disable_learning(self, projections: Optional[Sequence[Any]] = None) -> None:
        """Freeze the weights of the projections (default: all; see :meth:`Projection.disable_learning`)."""
        for projection in self._own_projections(projections, "disable_learning"):
            projection.disable_learning()

    def _own_projections(self, projections: Optional[Sequence[Any]], caller: str) -> list:
        selected = list(self.projections) if not projections else list(projections)
        for projection in selected:
            if getattr(projection, "network", None) is not self:
                raise StructureError(f"{caller}: {getattr(projection, 'name', projection)!r} is not a projection "
                                     "of this network")
        return selected

    def get_time(self) -> float:
        """Current time in ms (steps done times dt)."""
        return self._step * self.dt

    def get_current_step(self) -> int:
        """Number of steps simulated so far."""
        return self._step

    @property
    def t(self) -> float:
        """Current time in ms."""
        return self.get_time()

    @property
    def time(self) -> float:
        """Current time in ms (ANNarchy 5's ``net.time``)."""
        return self.get_time()

    @property
    def current_step(self) -> int:
        """Steps simulated so far (ANNarchy 5's ``net.current_step``)."""
        return self._step

    def reset(self, populations: bool = True, projections: bool = False, monitors: bool = True) -> None:
        """Back to step 0: population attributes to their initial values, spike state cleared.

        ``projections=True`` also resets synaptic variables (except the
        weights set by the connector) to their initial values.
        """
        with self.backend.activate():
            if populations:
                for population in self.populations:
                    for name, values in population._initial_values().items():
                        population._state[name][...] = self.backend.asarray(values)
                    population._spiked[...] = False
                    if "_last_spike" in population._state:
                        population._state["_last_spike"][...] = LAST_SPIKE_NEVER
                    if "_refractory" in population._state:
                        population._state["_refractory"][...] = 0
                    if population._history is not None:
                        population._history[...] = False
            if projections:
                for projection in self.projections:
                    for name, attribute in projection.spec.attributes.items():
                        if name != "w" and not attribute.is_global:
                            projection._state[name][...] = attribute.init
                    if "_last_event" in projection._state:
                        projection._state["_last_event"][...] = LAST_SPIKE_NEVER
            if monitors:
                for monitor in self.monitors:
                    monitor.reset()
        self._step = 0

    # -- persistence (implemented in gpunet.io) -----------------------------------
    def save_parameters(self, filename: str) -> None:
        """Write the global parameters to JSON (see :func:`gpunet.save_parameters`)."""
        from gpunet.io.parameters import save_parameters
        save_parameters(filename, network=self)

    def load_parameters(self, filename: str, global_only: bool = True, verbose: bool = False) -> dict:
        """Set global parameters from JSON (see :func:`gpunet.load_parameters`)."""
        from gpunet.io.parameters import load_parameters
        return load_parameters(filename, global_only=global_only, verbose=verbose, network=self)

    def save(self, filename: str, populations: bool = True, projections: bool = True, **options: Any):
        """Save the complete state (see :func:`gpunet.save`)."""
        from gpunet.io.api import save
        return save(filename, populations=populations, projections=projections, network=self, **options)

    def load(self, filename: str, populations: bool = True, projections: bool = True, strict: bool = False) -> None:
        """Load the complete state (see :func:`gpunet.load`)."""
        from gpunet.io.api import load
        load(filename, populations=populations, projections=projections, strict=strict, network=self)

    def load_latest(self, directory: Union[str, Path], strict: bool = False, prefix: str = "snapshot") -> Path:
        """Restore the newest valid snapshot of ``directory`` into this network (see :func:`gpunet.load_latest`)."""
        from gpunet.io.snapshots import load_latest
        return load_latest(directory, network=self, strict=strict, prefix=prefix)

    def wait_for_saves(self, timeout: Optional[float] = None) -> None:
        """Wait for this network's pending saves; raise the first error (see :func:`gpunet.wait_for_saves`)."""
        from gpunet.io.api import wait_for_saves
        wait_for_saves(network=self, timeout=timeout)

    def __repr__(self) -> str:
        return (f"<Network dt={self.dt} seed={self.seed} {self.backend.name}: {len(self.populations)} populations, "
                f"{len(self.projections)} projections, step {self._step}>")


default.register(Network)
default_network = default.default_network


def setup(backend: Optional[str] = None, device: Optional[int] = None, dt: Optional[float] = None,
          seed: Optional[int] = None, precision: Optional[str] = None, kernels: Optional[str] = None) -> None:
    """Configure the default network.

    Parameters
    ----------
    backend : {"auto", "numpy", "cupy"}, optional
        "auto" picks CuPy only when it imports and a device answers, else
        NumPy, and logs which.  "cupy" without a usable GPU raises
        :class:`~gpunet.errors.BackendError` with the reason.
    device : int, optional
        CUDA device id.
    dt : float, optional
        Step size in ms (default 1.0).
    seed : int, optional
        Seed of all random numbers.
    precision : {"float64", "float32"}, optional
    kernels : {"auto", "ordered", "atomic", "off"}, optional
        Fused CUDA kernels on a GPU (see :class:`Network`).
    """
    settings = {k: v for k, v in dict(backend=backend, device=device, dt=dt, seed=seed,
                                      precision=precision, kernels=kernels).items() if v is not None}
    current = default.current()
    if current is None:
        default.replace(Network(**{**default.settings, **settings}))
    else:
        current.setup(**settings)
    default.settings.update(settings)


def clear(functions: bool = True, constants: bool = False) -> None:
    """Empty the default network (its setup() settings are kept).

    As ANNarchy's: ``functions`` also forgets the functions declared with
    :func:`gpunet.add_function`, ``constants`` the :class:`gpunet.Constant` objects.
    """
    default.replace(None)
    if functions:
        clear_functions()
    if constants:
        clear_constants()


def compile(directory: Optional[Union[str, Path]] = None, clean: bool = False,  # noqa: A001 - ANNarchy's name
            silent: bool = False) -> None:
    """Compile the default network (see :meth:`Network.compile`)."""
    default_network().compile(directory=directory, clean=clean, silent=silent)


def simulate(duration: float, measure_time: bool = False, progress: Optional[bool] = None,
             **snapshot_options: Any) -> None:
    """Simulate the default network for ``duration`` ms (see :meth:`Network.simulate`)."""
    _check_keywords("simulate", snapshot_options, ("measure_time", "progress") + SNAPSHOT_OPTIONS)
    default_network().simulate(duration, measure_time=measure_time, progress=progress, **snapshot_options)


def simulate_until(max_duration: float, population: Any, operator: str = "and", measure_time: bool = False) -> float:
    """Simulate the network of ``population`` until its stop condition holds (see :meth:`Network.simulate_until`)."""
    first = population[0] if isinstance(population, (list, tuple)) and population else population
    network = getattr(first, "network", None) or default_network()
    return network.simulate_until(max_duration, population, operator=operator, measure_time=measure_time)


def enable_learning(projections: Optional[Sequence[Any]] = None, period: Optional[float] = None,
                    offset: Optional[float] = None) -> None:
    """Enable learning of ``projections`` (their own network), or of every projection of the default network."""
    _network_of(projections).enable_learning(projections, period=period, offset=offset)


def disable_learning(projections: Optional[Sequence[Any]] = None) -> None:
    """Disable learning of ``projections`` (their own network), or of every projection of the default network."""
    _network_of(projections).disable_learning(projections)


def _network_of(objects: Optional[Sequence[Any]]) -> Network:
    """The one network that owns ``objects`` (the default network when none is given)."""
    networks = {id(o.network): o.network for o in (objects or []) if hasattr(o, "network")}
    if len(networks) > 1:
        raise StructureError("the objects given belong to different networks; call the method of each network")
    return next(iter(networks.values())) if networks else default_network()


def _check_keywords(function: str, given: dict, known: Sequence[str]) -> None:
    unknown = [key for key in given if key not in known]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(known)}"
        raise TypeError(f"{function}() got an unexpected keyword argument {key!r}{hint}")


def step() -> None:
    """Simulate one step of the default network."""
    default_network().step()


def get_time() -> float:
    """Current time (ms) of the default network."""
    return default_network().get_time()


def get_current_step() -> int:
    """Current step of the default network."""
    return default_network().get_current_step()


def reset(populations: bool = True, projections: bool = False, monitors: bool = True) -> None:
    """Reset the default network (see :meth:`Network.reset`)."""
    default_network().reset(populations=populations, projections=projections, monitors=monitors)

