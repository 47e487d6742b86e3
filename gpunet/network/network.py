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
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from gpunet.backend import get_backend, gpu_device_count
from gpunet.errors import GpunetError, StructureError
from gpunet.limits import check_name, check_seed, check_step
from gpunet.model.declarations import clear_constants, declared_constants
from gpunet.model.global_functions import clear_functions
from gpunet.network import compiled_loop, default, summary
from gpunet.network.compiled_loop import RUNNERS, steps_to_record
from gpunet.network.distributed import DistributedEngine, DistributedStepLoop, check_comm
from gpunet.network.distributed_compiled import select_distributed
from gpunet.network.distributed_device import device_for_rank
from gpunet.network.population import LAST_SPIKE_NEVER
from gpunet.network.progress import ProgressBar
from gpunet.network.runners import NetworkRunner, StepLoop

log = logging.getLogger("gpunet")

PRECISIONS = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
#: "auto": fused CUDA kernels on a GPU with bit-reproducible ("ordered") spike propagation;
#: "atomic": fused kernels propagating spikes with atomicAdd (faster, last bits vary between runs);
#: "off": the array code on every backend.
KERNEL_MODES = ("auto", "ordered", "atomic", "off")
_GENERATOR_PURPOSES = {"connect": 1, "init": 2}
#: keywords of ``simulate`` besides duration, measure_time, progress and snapshotter: periodic snapshots
SNAPSHOT_OPTIONS = ("snapshot_every", "snapshot_dir", "keep_last", "prefix", "max_pending", "on_full", "staging",
                    "compress", "fsync", "monitors")


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
    device : int, optional
        CUDA device id (CuPy only).  Default 0; under ``comm`` the process's
        rank on its node modulo the devices it sees.
    precision : {"float64", "float32"}
        Floating type of the state.
    kernels : {"auto", "ordered", "atomic", "off"}
        On a GPU, the hot loops run as fused CUDA kernels generated from the
        model equations (``"auto"`` = ``"ordered"``: bit-reproducible spike
        propagation; ``"atomic"``: atomicAdd, faster, last bits may vary);
        ``"off"`` keeps the array code.  Ignored on NumPy.
    runner : {"numpy", "compiled", "auto"}, optional
        On the CPU, ``"compiled"`` runs whole chunks of steps (from one monitor
        record, snapshot or end of call to the next) in C++ compiled from the
        kernels' sources (cached on disk), bit-identical to the array code in
        float64; networks it cannot run (and steps of projections with learning
        disabled) run the array code.  ``"auto"`` chooses ``"compiled"`` when a
        C++ compiler is found.  One log line at compile says which runner runs.
        ``net.runner`` may be changed before ``compile()``.  Default: the
        environment variable ``GPUNET_RUNNER``, else ``"auto"``.
    num_threads : int, optional
        OpenMP threads of the compiled CPU runner (ANNarchy's ``num_threads``):
        neuron updates, synaptic equations, post-synaptic events, weighted
        sums and spike arrival (split by post-synaptic ranks) run on up to
        this many threads, with the bits of one thread; loops too small to
        pay run on fewer.  A run-time setting (``net.num_threads = 4`` takes
        effect at the next ``simulate()``, nothing is rebuilt).  Without
        OpenMP in the C++ compiler one thread runs (logged).  The array code
        and the GPU ignore it.  Default: the environment variable
        ``GPUNET_NUM_THREADS``, else 1.
    comm : mpi4py communicator, optional
        Simulate the network with the processes of ``comm`` (``MPI.COMM_WORLD``
        under ``mpiexec -n N``): every process runs the same script; at compile
        each keeps its block of every population and the synapses onto it, and
        the results are bit-identical for every N (``gpunet.network.distributed``,
        docs/many-processes.md).  On NumPy each process runs ``runner``'s loop on
        its blocks (the compiled one between the exchanges,
        ``gpunet.network.distributed_compiled``); on CuPy one GPU per process
        (see ``device``).

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

    def __init__(self, dt: float = 1.0, seed: Optional[int] = None, backend: str = "auto",
                 device: Optional[int] = None,
                 precision: str = "float64", kernels: str = "auto", runner: Optional[str] = None,
                 comm: Any = None, num_threads: Optional[int] = None) -> None:
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
        self._loop: NetworkRunner = StepLoop(self)
        self.comm = None if comm is None else check_comm(comm)
        self._distributed: Optional[DistributedEngine] = None  # this process's part, made at compile under comm
        runner = runner if runner is not None else compiled_loop.default_runner()
        if runner not in RUNNERS:
            raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")
        self.runner = runner
        self.num_threads = compiled_loop.default_num_threads() if num_threads is None else num_threads
        self._compiled: Optional[compiled_loop.CompiledLoop] = None  # the compiled CPU loop, chosen at compile
        self._configure(dt=dt, seed=seed, backend=backend, device=device, precision=precision)

    # -- configuration -------------------------------------------------------
    def _configure(self, dt: float, seed: Optional[int], backend: str, device: Optional[int], precision: str) -> None:
        if not (isinstance(dt, (int, float)) and dt > 0 and np.isfinite(dt)):
            raise ValueError(f"dt must be a positive number of ms, got {dt!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
        self.dt = float(dt)
        self.seed = check_seed(seed) if seed is not None else secrets.randbits(62)
        self.device_request = device
        if device is None:  # under comm on a GPU: the process's rank on its node picks (a collective)
            device = device_for_rank(self.comm, gpu_device_count()) if self.comm is not None and \
                backend != "numpy" else 0
        self.backend = get_backend(backend, int(device))
        self.backend_request = backend
        self.device = self.backend.device
        self.precision = PRECISIONS[precision]

    def reseed(self, seed: int) -> None:
        """Make ``seed`` the seed of every random stream from now on (what a restored snapshot does).

        The counter-based noise of a compiled network draws from (seed, object,
        step, index), so with the step counter this places every stream exactly
        where the run that saved ``seed`` left it.

        Parameters
        ----------
        seed : int
            An integer in [0, 2**64 - 1].
        """
        self.seed = check_seed(seed)
        for population in self.populations:
            population._reseed(self.seed)

    @property
    def num_threads(self) -> int:
        """OpenMP threads of the compiled CPU runner (see :class:`Network`); may be set at any time."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self._num_threads = compiled_loop.check_num_threads(value)

    def setup(self, dt: Optional[float] = None, seed: Optional[int] = None, backend: Optional[str] = None,
              device: Optional[int] = None, precision: Optional[str] = None, kernels: Optional[str] = None,
              comm: Any = None, num_threads: Optional[int] = None) -> None:
        """Change dt, seed, backend, device, precision, kernels or comm (before any object is created).

        Parameters
        ----------
        dt : float, optional
            Step size in ms.
        seed : int, optional
            Seed of every random stream.
        backend : {"auto", "numpy", "cupy"}, optional
            Array backend.
        device : int, optional
            GPU id.
        precision : {"float64", "float32"}, optional
            Floating-point type of the state.
        kernels : str, optional
            Generated CUDA kernels: ``"auto"``, ``"ordered"``, ``"atomic"`` or
            ``"off"`` (the array code on every backend).
        comm : mpi4py communicator, optional
            Simulate with the processes of ``comm`` (see :class:`Network`); before populations exist.
        num_threads : int, optional
            OpenMP threads of the compiled CPU runner (see :class:`Network`); at any time.
        """
        threads = self.num_threads if num_threads is None else compiled_loop.check_num_threads(num_threads)
        if kernels is not None:
            if kernels not in KERNEL_MODES:
                raise ValueError(f"kernels must be one of {KERNEL_MODES}, got {kernels!r}")
            if self.compiled:
                raise GpunetError("setup(): kernels cannot change after compile()")
            self.kernels = kernels
        if comm is not None:
            if self.populations:
                raise GpunetError("setup(): comm can only be given before populations exist; call setup() first "
                                  "or clear() the network")
            self.comm = check_comm(comm)
            self.runner = "numpy"
        if self.populations and (backend is not None or device is not None or precision is not None):
            raise GpunetError("setup(): backend, device and precision can only change before populations exist; "
                              "call setup() first or clear() the network")
        if self.compiled and (dt is not None or seed is not None):
            raise GpunetError("setup(): dt and seed cannot change after compile()")
        self._configure(dt=self.dt if dt is None else dt, seed=self.seed if seed is None else seed,
                        backend=self.backend_request if backend is None else backend,
                        device=self.device_request if device is None else device,
                        precision=self.precision.name if precision is None else precision)
        self.num_threads = threads

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

        Parameters
        ----------
        geometry : int, tuple of int or Population
            Number of neurons or shape; or a population built beforehand.
        neuron : Neuron
            The neuron model.
        stop_condition : str, optional
            Condition for :meth:`simulate_until` (``"r > 1.0 : any"``).
        name : str, optional
            Unique name.
        population : Population, optional
            A population built beforehand, to copy into this network.

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
        """Create a projection in this network (same as ``Projection(..., network=net)``).

        Parameters
        ----------
        pre, post : Population or PopulationView
            Source and target neurons.
        target : str
            The input fed: ``g_<target>`` (spiking) or ``sum(<target>)`` (rate-coded).
        synapse : Synapse, optional
            The synapse model (default: static synapses).
        name : str, optional
            Unique name.
        """
        from gpunet.network.projection import Projection
        return Projection(pre, post, target, synapse, name=name, network=self)

    def monitor(self, obj: Any, variables: Any, period: Optional[float] = None, start: bool = True,
                period_offset: Optional[float] = None, name: Optional[str] = None):
        """Create a monitor in this network (same as ``Monitor(...)``).

        Parameters
        ----------
        obj : Population, PopulationView or Projection
            What to record.
        variables : str or list of str
            Attribute names and/or ``"spike"``.
        period : float, optional
            Recording period in ms (default: every step).
        start : bool
            Start recording at once.
        period_offset : float, optional
            Offset of the recordings within the period, in ms.
        name : str, optional
            The monitor's name (default ``Monitor_<object name>``).
        """
        from gpunet.network.monitor import Monitor
        return Monitor(obj, variables, period=period, period_offset=period_offset, start=start, name=name,
                       network=self)

    def get_population(self, name: str):
        """The population called ``name``.

        Parameters
        ----------
        name : str
            The population's name.
        """
        for population in self.populations:
            if population.name == name:
                return population
        raise KeyError(f"no population {name!r}; populations are {[p.name for p in self.populations]}")

    def get_projection(self, name: str):
        """The projection called ``name``.

        Parameters
        ----------
        name : str
            The projection's name.
        """
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(f"no projection {name!r}; projections are {[p.name for p in self.projections]}")

    def get_populations(self) -> list:
        """Every population, in creation order (a new list)."""
        return list(self.populations)

    def get_constants(self) -> list:
        """Every :class:`~gpunet.Constant`, in declaration order (module-wide in gpunet: every network sees them)."""
        return declared_constants()

    def get_projections(self, post: Any = None, pre: Any = None, target: Optional[str] = None,
                        suppress_error: bool = False) -> list:
        """The projections, optionally only those with this ``post``, ``pre`` (object or name) and ``target``.

        Parameters
        ----------
        post, pre : Population or str, optional
            Keep the projections to / from this population.
        target : str, optional
            Keep the projections of this target.
        suppress_error : bool
            Return an empty list instead of raising when nothing matches.

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
            if self.comm is not None:  # keep this process's part (gpunet.network.distributed)
                engine = DistributedEngine(self, self.comm)
                engine.check()  # an error leaves the network uncompiled and whole
                self._distributed = engine
                engine.split()
                self._loop = DistributedStepLoop(self, engine)
            for population in self.populations:
                population._compile(self._max_delay_of(population))
            for projection in self.projections:
                projection._compile()
        self.compiled = True
        self._runners_changed()
        # under comm the kernels run this process's blocks; the step graph stays off (device_loop logs why)
        if self.backend.is_gpu and self.kernels != "off":  # pragma: no cover - needs a GPU
            from gpunet.codegen.runtime.cupy_kernels import attach_fused
            self.fused = attach_fused(self, mode="atomic" if self.kernels == "atomic" else "ordered")
            from gpunet.network import device_loop
            device_loop.install(self)
        if self.comm is None:
            self._compiled = compiled_loop.select(self, self.runner, silent)
        else:  # this process's blocks in the compiled loop, between the exchanges (gpunet.network.distributed_compiled)
            self._compiled = None
            loop = select_distributed(self, self.runner, silent)
            if loop is not None:
                self._loop = loop
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
        if self._distributed is not None:  # under comm: over every process's synapses, not only this one's
            delays.append(self._distributed.depths.get(population, 1))
        return max(delays, default=1)

    # -- simulation ----------------------------------------------------------
    def step(self) -> None:
        """Simulate one step of ``dt`` ms."""
        if not self.compiled:
            self.compile()
        with self.backend.activate():
            self._step_once()

    def _step_once(self) -> None:
        if self._compiled_usable():
            self._advance(1)
            return
        self._loop.run(1)

    # -- runners (gpunet.network.runners) ------------------------------------
    @property
    def step_loop(self) -> NetworkRunner:
        """What runs whole steps: a ``gpunet.network.runners.StepLoop`` unless :meth:`use_step_loop` chose another."""
        return self._loop

    def use_step_loop(self, loop: Optional[NetworkRunner]) -> None:
        """Run whole steps with ``loop`` (its ``run(count)`` advances the network ``count`` steps; None: the default).

        Parameters
        ----------
        loop : NetworkRunner or None
            An object with ``run(count)``; None restores the default step loop.

        Raises
        ------
        StructureError
            Before compile().
        TypeError
            When ``loop`` has no ``run`` method.
        """
        if not self.compiled:
            raise StructureError("use_step_loop() needs a compiled network")
        if loop is not None and not callable(getattr(loop, "run", None)):
            raise TypeError(f"a step loop needs a run(count) method; {type(loop).__name__} has none")
        if loop is None:
            loop = StepLoop(self) if self._distributed is None else DistributedStepLoop(self, self._distributed)
        self._loop = loop

    def _runners_changed(self) -> None:
        """An object's runner changed (set_runner, learning switched): the step loop reads them again."""
        invalidate = getattr(self._loop, "invalidate", None)
        if invalidate is not None:
            invalidate()

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
            Progress bar (tqdm's automatic front end: a widget in a notebook,
            a bar on stderr in a terminal): None shows it in a notebook or on
            a terminal for runs longer than about two seconds, True always,
            False never.
        snapshotter : Snapshotter, optional
            Takes periodic snapshots during this run (it stays open afterwards).
        **snapshot_options
            ``snapshot_every`` (ms), ``snapshot_dir`` and ``keep_last``
            (and ``prefix`` or save options, ``monitors=True`` included: the
            snapshots then carry the monitors' recordings): periodic
            asynchronous snapshots (see :class:`gpunet.Snapshotter`); waited
            for, and their first error raised, at the end of the run.

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

        Parameters
        ----------
        max_duration : float
            Simulate at most this long (ms).
        population : Population or list of Population
            Whose ``stop_condition`` is tested after every step.
        operator : {"and", "or"}
            With several populations: stop when every condition holds, or one.
        measure_time : bool
            Print how long the simulation took.

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
                if combine([item._stop_reached() for item in populations]):  # a list: collective under comm
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
                done = 0
                # compiled chunks are whole calls unless a progress bar may show: then they start at a hundredth
                # of the call and double while one takes under 50 ms
                most = max(1, -(-steps // 100)) if bar.may_show() else steps
                while done < steps:
                    count = self._chunk(min(steps - done, most), snapshotter)
                    if count == 0:  # the compiled loop cannot run it: the step loop runs one step, or a chunk
                        count = self._loop_chunk(steps - done, snapshotter)
                        self._loop.run(count)
                    else:
                        began = _clock.perf_counter()
                        self._advance(count)
                        if 1 < count == most and _clock.perf_counter() - began < 0.05:
                            most *= 2
                    done += count
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

    @property
    def runner_in_use(self) -> str:
        """The runner chosen at compile: ``"compiled"`` or ``"numpy"`` (also before compile)."""
        return "compiled" if self._compiled is not None or getattr(self._loop, "kind", None) == "compiled" else "numpy"

    def _compiled_usable(self) -> bool:
        """Whether the compiled loop runs the next steps (not when another step loop was installed)."""
        return self._compiled is not None and isinstance(self._loop, StepLoop) and self._compiled.usable()

    def _chunk(self, limit: int, snapshotter: Any) -> int:
        """Steps (at most ``limit``) the compiled loop may run in one call: up to the next monitor record or snapshot.

        The hook of network-level runners: 0 means the compiled loop cannot run the next step (the step
        loop runs it); the binding is checked once here, not again by :meth:`_advance`.
        """
        if not self._compiled_usable():
            return 0
        t, count = self._step, min(limit, self._compiled.max_chunk())
        for monitor in self.monitors:
            count = min(count, steps_to_record(monitor, t, self._compiled))
        if snapshotter is not None:  # it snapshots when the step counter reaches a multiple of every_steps
            count = min(count, snapshotter.every_steps - t % snapshotter.every_steps)
        return max(count, 1)

    def _loop_chunk(self, limit: int, snapshotter: Any) -> int:
        """Steps (at most ``limit``) the installed step loop runs in one call: 1, or up to the next snapshot for a
        loop that records the monitors of every step itself (``runs_chunks``, e.g. the GPU's step graph)."""
        if not getattr(self._loop, "runs_chunks", False):
            return 1
        count = limit
        if snapshotter is not None:
            count = min(count, snapshotter.every_steps - self._step % snapshotter.every_steps)
        return max(count, 1)

    def _advance(self, count: int) -> None:
        """Run ``count`` steps in the compiled loop (which records the monitors it can of every step but the last),
        then the monitors of the last one."""
        t = self._step
        self._compiled.run(t, count)
        last = t + count - 1
        for monitor in self.monitors:
            monitor._record(last)
        self._step = t + count

    # -- learning --------------------------------------------------------------
    def enable_learning(self, projections: Optional[Sequence[Any]] = None, period: Optional[float] = None,
                        offset: Optional[float] = None) -> None:
        """Let the projections (default: all) learn again (see :meth:`Projection.enable_learning`).

        Parameters
        ----------
        projections : list of Projection, optional
            The projections; None: all of this network's.
        period, offset : float, optional
            ANNarchy's learning period and offset: refused unless None.
        """
        for projection in self._own_projections(projections, "enable_learning"):
            projection.enable_learning(period=period, offset=offset)

    def disable_learning(self, projections: Optional[Sequence[Any]] = None) -> None:
        """Freeze the weights of the projections (default: all; see :meth:`Projection.disable_learning`).

        Parameters
        ----------
        projections : list of Projection, optional
            The projections; None: all of this network's.
        """
        for projection in self._own_projections(projections, "disable_learning"):
            projection.disable_learning()

    def _own_projections(self, projections: Optional[Sequence[Any]], caller: str) -> list:
        selected = list(self.projections) if not projections else list(projections)
        for projection in selected:
            if getattr(projection, "network", None) is not self:
                raise StructureError(f"{caller}: {getattr(projection, 'name', projection)!r} is not a projection "
                                     "of this network")
        return selected

    def held_rows(self) -> Optional[dict[str, tuple[int, int]]]:
        """The neurons ``[lo, hi)`` of every population this process holds, when it holds a part of the network.

        None for a network of one process (under a communicator of one process too): its saves hold everything.
        Under comm with several processes, a save of this process (its shard of a ``.shards`` folder) holds
        these rows and the synapses onto them.
        """
        if self._distributed is None or self._distributed.nprocs == 1:
            return None
        return {population.name: population._block for population in self.populations}

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

        Parameters
        ----------
        populations : bool
            Reset the populations.
        projections : bool
            Reset the synaptic variables too.
        monitors : bool
            Empty the monitors.
        """
        with self.backend.activate():
            if populations:
                for population in self.populations:
                    for name, values in population._initial_values().items():
                        if population._block is not None and values.ndim:  # under comm: this process's block
                            values = values[population._block[0]:population._block[1]]
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
            if self._distributed is not None:
                self._distributed.reset()
        self._step = 0

    # -- state protocol: loading -------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a save of this network holds, live and uncopied: step counter, seed, every object's arrays.

        ``{"step": int, "seed": int, "objects": {population or projection: its state_dict()}}``; the step and
        the seed are the position of the counter-based random streams.  The arrays change as the network
        runs (a save copies them before it returns).  :meth:`load_state_dict` takes the same shape of data,
        the spike histories prepared by :meth:`Population.prepare_spike_history`.

        Examples
        --------
        >>> import gpunet as gn
        >>> net = gn.Network(backend="numpy", seed=5)
        >>> pop = net.create(2, gn.Izhikevich, name="pop")
        >>> net.simulate(3.0)
        >>> state = net.state_dict()
        >>> state["step"], state["seed"], "v" in state["objects"][pop], "_spike_history" in state["objects"][pop]
        (3, 5, True, True)
        """
        step = self._step
        objects: dict[Any, Any] = {pop: pop.state_dict(step) for pop in self.populations}
        objects.update((proj, proj.state_dict()) for proj in self.projections)
        return {"step": step, "seed": self.seed, "objects": objects}

    def load_state_dict(self, objects: Mapping[Any, Mapping[str, Any]], step: Optional[int] = None,
                        seed: Optional[int] = None) -> None:
        """Load prepared states into populations and projections of this network, then its step and seed.

        Compiles an uncompiled network first, installs every prepared object
        (connectivity, spike ring, spike times), copies every array in one
        batched host-to-device pass, then sets the step counter and reseeds
        the random streams (the counter-based streams resume where the run
        that saved ``seed`` at ``step`` was).

        Parameters
        ----------
        objects : mapping
            Population or projection of this network -> the state it takes
            (see :meth:`Population.load_state_dict`,
            :meth:`Projection.load_state_dict`).
        step : int, optional
            The new step counter, in ``[0, 2**53]``.
        seed : int, optional
            The new seed (see :meth:`reseed`).

        Raises
        ------
        StructureError
            Before anything changes: an object of another network, an unknown
            key, an array of another shape or dtype, a step or seed out of range.
        """
        states = list(objects.items())
        for obj, state in states:
            if getattr(obj, "network", None) is not self:
                raise StructureError(f"load_state_dict: {getattr(obj, 'name', obj)!r} is not an object of this "
                                     "network")
            obj._check_loadable(state)
            prepared = state.get("_connectivity")
            if prepared is not None and prepared["count"]:
                ring = objects.get(obj.pre, {}).get("_spike_history")
                depth = ring.ring.shape[0] if ring is not None else obj.pre.spike_history_depth
                if prepared["max_delay"] > depth:
                    raise StructureError(f"load_state_dict: projection {obj.name!r} gets delays of "
                                         f"{prepared['max_delay']} steps, so population {obj.pre.name!r} "
                                         f"needs a deeper spike ring than its {depth} rows: load one from its "
                                         "prepare_spike_history() with it")
        step = None if step is None else check_step(step)
        seed = None if seed is None else check_seed(seed)
        if not self.compiled:
            self.compile()  # depends on the models only, not on the states
        if self._distributed is not None:  # under comm: each process keeps its part of the whole values
            states = self._distributed.own_states(states)
        with self.backend.activate():
            for obj, state in states:
                obj._swap_in(state)
            targets, values = [], []
            for obj, state in states:
                for key, target in obj._copy_targets().items():
                    if key in state:
                        targets.append(target)
                        values.append(state[key])
            self.backend.assign_many(targets, values)
        if step is not None:
            self._step = step
        if seed is not None and seed != self.seed:
            self.reseed(seed)
        if self._distributed is not None:
            self._distributed.reset()  # spikes buffered before the load are not the loaded state's

    # -- persistence (implemented in gpunet.io) -----------------------------------
    def save_parameters(self, filename: str) -> None:
        """Write the global parameters to JSON (see :func:`gpunet.save_parameters`).

        Parameters
        ----------
        filename : str or Path
            The JSON file.
        """
        from gpunet.io.parameters import save_parameters
        save_parameters(filename, network=self)

    def load_parameters(self, filename: str, global_only: bool = True, verbose: bool = False) -> dict:
        """Set global parameters from JSON (see :func:`gpunet.load_parameters`).

        Parameters
        ----------
        filename : str or Path
            The JSON file.
        global_only : bool
            False: set local parameters too.
        verbose : bool
            Report what is set.
        """
        from gpunet.io.parameters import load_parameters
        return load_parameters(filename, global_only=global_only, verbose=verbose, network=self)

    def save(self, filename: str, populations: bool = True, projections: bool = True, **options: Any):
        """Save the complete state (see :func:`gpunet.save`).

        Parameters
        ----------
        filename : str or Path
            The file; its suffix says the format.
        populations, projections : bool or list
            What to save: all (True), none (False), or the objects listed.
        **options
            As for :func:`gpunet.save` (``blocking``, ``compress``...).
        """
        from gpunet.io.api import save
        return save(filename, populations=populations, projections=projections, network=self, **options)

    def load(self, filename: str, populations: bool = True, projections: bool = True, strict: bool = False,
             monitors: bool = True) -> None:
        """Load the complete state, and monitors' recordings the file holds (see :func:`gpunet.load`).

        Parameters
        ----------
        filename : str or Path
            The file; its suffix says the format.
        populations, projections : bool or list
            What to load: all (True), none (False), or the objects listed.
        strict : bool
            Make a variable missing on either side an error.
        monitors : bool
            Give the monitors the recordings the file holds.
        """
        from gpunet.io.api import load
        load(filename, populations=populations, projections=projections, strict=strict, network=self,
             monitors=monitors)

    def load_latest(self, directory: Union[str, Path], strict: bool = False, prefix: str = "snapshot",
                    monitors: bool = True) -> Path:
        """Restore the newest valid snapshot of ``directory`` into this network (see :func:`gpunet.load_latest`).

        Parameters
        ----------
        directory : str or Path
            The snapshot folder.
        strict : bool
            As for :meth:`load`.
        prefix : str
            The snapshot files' prefix.
        monitors : bool
            Give the monitors the recordings the snapshot holds.
        """
        from gpunet.io.snapshots import load_latest
        return load_latest(directory, network=self, strict=strict, prefix=prefix, monitors=monitors)

    def wait_for_saves(self, timeout: Optional[float] = None) -> None:
        """Wait for this network's pending saves; raise the first error (see :func:`gpunet.wait_for_saves`).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most (None: until done).
        """
        from gpunet.io.api import wait_for_saves
        wait_for_saves(network=self, timeout=timeout)

    def __repr__(self) -> str:
        return (f"<Network dt={self.dt} seed={self.seed} {self.backend.name}: {len(self.populations)} populations, "
                f"{len(self.projections)} projections, {len(self.monitors)} monitors, step {self._step}>")

    def _repr_html_(self) -> str:
        head = summary.table("Network", [
            ("dt", f"{self.dt:g} ms"), ("seed", self.seed), ("backend", self.backend.name),
            ("time", f"{self.get_time():g} ms (step {self._step})"), ("compiled", "yes" if self.compiled else "no")])
        populations = summary.grid("Populations", ("name", "size", "model", "variables"), [
            (p.name, p.size, p.spec.name, summary.names(p.spec.variables)) for p in self.populations])
        projections = summary.grid("Projections", ("name", "pre -> post", "target", "model", "synapses"), [
            (p.name, f"{p.pre.name} -> {p.post.name}", p.target, p.spec.name,
             p.nb_synapses if p.connected else "not connected") for p in self.projections])
        monitors = summary.grid("Monitors", ("name", "object", "variables", "period"), [
            (m.name, m.object.name if hasattr(m.object, "name") else repr(m.object), ", ".join(m.variables),
             f"{m.period:g} ms") for m in self.monitors])
        return head + populations + projections + monitors


default.register(Network)
default_network = default.default_network


def setup(backend: Optional[str] = None, device: Optional[int] = None, dt: Optional[float] = None,
          seed: Optional[int] = None, precision: Optional[str] = None, kernels: Optional[str] = None,
          comm: Any = None, num_threads: Optional[int] = None) -> None:
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
    comm : mpi4py communicator, optional
        Simulate the default network with the processes of ``comm`` (see :class:`Network`).
    num_threads : int, optional
        OpenMP threads of the compiled CPU runner, as ANNarchy's ``setup(num_threads=...)`` (see
        :class:`Network`; default ``$GPUNET_NUM_THREADS``, else 1).
    """
    if num_threads is not None:
        compiled_loop.check_num_threads(num_threads)  # before anything changes
    settings = {k: v for k, v in dict(backend=backend, device=device, dt=dt, seed=seed, precision=precision,
                                      kernels=kernels, comm=comm, num_threads=num_threads).items() if v is not None}
    current = default.current()
    if current is None:
        default.replace(Network(**{**default.settings, **settings}))
    else:
        current.setup(**settings)
    default.settings.update(settings)


def clear(functions: bool = True, constants: bool = False) -> None:
    """Empty the default network (its setup() settings are kept).

    Parameters
    ----------
    functions : bool
        Also forget the functions declared with ``gpunet.add_function`` (as ANNarchy's).
    constants : bool
        Also forget the ``gpunet.Constant`` objects.
    """
    default.replace(None)
    if functions:
        clear_functions()
    if constants:
        clear_constants()


def compile(directory: Optional[Union[str, Path]] = None, clean: bool = False,  # noqa: A001 - ANNarchy's name
            silent: bool = False) -> None:
    """Compile the default network (see :meth:`Network.compile`).

    Parameters
    ----------
    directory : str or Path, optional
        Where to write the generated array code (nothing is built).
    clean : bool
        Accepted for ANNarchy's scripts; gpunet has nothing to rebuild.
    silent : bool
        No compilation report.
    """
    default_network().compile(directory=directory, clean=clean, silent=silent)


def simulate(duration: float, measure_time: bool = False, progress: Optional[bool] = None,
             **snapshot_options: Any) -> None:
    """Simulate the default network for ``duration`` ms (see :meth:`Network.simulate`).

    Parameters
    ----------
    duration : float
        Simulated time in ms (rounded to whole steps).
    measure_time : bool
        Print how long the simulation took.
    progress : bool, optional
        Progress bar: None on a terminal for long runs, True always, False never.
    **snapshot_options
        ``snapshot_every`` (ms), ``snapshot_dir``, ``keep_last``...: periodic
        asynchronous snapshots (see :class:`gpunet.Snapshotter`).
    """
    _check_keywords("simulate", snapshot_options, ("measure_time", "progress") + SNAPSHOT_OPTIONS)
    default_network().simulate(duration, measure_time=measure_time, progress=progress, **snapshot_options)


def simulate_until(max_duration: float, population: Any, operator: str = "and", measure_time: bool = False) -> float:
    """Simulate the network of ``population`` until its stop condition holds (see :meth:`Network.simulate_until`).

    Parameters
    ----------
    max_duration : float
        Simulate at most this long (ms).
    population : Population or list of Population
        Whose ``stop_condition`` is tested after every step.
    operator : {"and", "or"}
        With several populations: stop when every condition holds, or one.
    measure_time : bool
        Print how long the simulation took.

    Returns
    -------
    float
        The simulated time in ms.
    """
    first = population[0] if isinstance(population, (list, tuple)) and population else population
    network = getattr(first, "network", None) or default_network()
    return network.simulate_until(max_duration, population, operator=operator, measure_time=measure_time)


def enable_learning(projections: Optional[Sequence[Any]] = None, period: Optional[float] = None,
                    offset: Optional[float] = None) -> None:
    """Enable learning of ``projections`` (their own network), or of every projection of the default network.

    Parameters
    ----------
    projections : list of Projection, optional
        The projections; None: every projection.
    period, offset : float, optional
        ANNarchy's learning period and offset: refused unless None.
    """
    _network_of(projections).enable_learning(projections, period=period, offset=offset)


def disable_learning(projections: Optional[Sequence[Any]] = None) -> None:
    """Disable learning of ``projections`` (their own network), or of every projection of the default network.

    Parameters
    ----------
    projections : list of Projection, optional
        The projections; None: every projection.
    """
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
    """Reset the default network (see :meth:`Network.reset`).

    Parameters
    ----------
    populations : bool
        Set every population's variables back to their initial values.
    projections : bool
        Set every projection's variables back to their initial values.
    monitors : bool
        Empty the monitors.
    """
    default_network().reset(populations=populations, projections=projections, monitors=monitors)

