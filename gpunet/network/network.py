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

import logging
import secrets
from typing import Any, Optional

import numpy as np

from gpunet.backend import get_backend
from gpunet.errors import GpunetError, StructureError
from gpunet.network.population import LAST_SPIKE_NEVER
from gpunet.network.progress import ProgressBar

log = logging.getLogger("gpunet")

PRECISIONS = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
#: "auto": fused CUDA kernels on a GPU with bit-reproducible ("ordered") spike propagation;
#: "atomic": fused kernels propagating spikes with atomicAdd (faster, last bits vary between runs);
#: "off": the array code on every backend.
KERNEL_MODES = ("auto", "ordered", "atomic", "off")
_GENERATOR_PURPOSES = {"connect": 1, "init": 2}


class Network:
    """A simulated network and its state on one device.

    Parameters
    ----------
    dt : float
        Step size in ms.
    seed : int, optional
        Seed of every random number of the network (connectivity, initial
        values, noise).  None draws one; it is kept in ``net.seed`` and in
        saved files.
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
        self.seed = int(seed) if seed is not None else secrets.randbits(62)
        self.backend = get_backend(backend, int(device))
        self.backend_request = backend
        self.device = self.backend.device
        self.precision = PRECISIONS[precision]

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
        if not isinstance(name, str) or not name or "/" in name:
            raise StructureError(f"invalid name {name!r}: use a non-empty string without '/'")
        if name in self._names:
            raise StructureError(f"the name {name!r} is already used by {self._names[name]!r}; names must be unique")
        self._names[name] = obj
        (self.populations if prefix == "pop" else self.projections).append(obj)
        return name

    def _add_monitor(self, monitor: Any) -> None:
        self.monitors.append(monitor)

    def create(self, geometry: Any, neuron: Any, name: Optional[str] = None):
        """Create a population in this network (same as ``Population(..., network=net)``)."""
        from gpunet.network.population import Population
        return Population(geometry, neuron, name=name, network=self)

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

    # -- compilation ---------------------------------------------------------
    def compile(self) -> None:
        """Validate the network, build the indexes and generate the code of every model.

        Calling it twice does nothing the second time.
        """
        if self.compiled:
            return
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
            from gpunet.backend.cupy_kernels import attach_fused
            self.fused = attach_fused(self, mode="atomic" if self.kernels == "atomic" else "ordered")

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

    def simulate(self, duration: float, progress: Optional[bool] = None, snapshotter: Any = None,
                 **snapshot_options: Any) -> None:
        """Simulate ``duration`` ms (rounded to whole steps).

        Parameters
        ----------
        duration : float
            Simulated time in ms.
        progress : bool, optional
            Progress bar on stderr: None shows it on a terminal for runs
            longer than about two seconds, True always, False never.
        snapshotter : Snapshotter, optional
            Takes periodic snapshots during this run (it stays open afterwards).
        **snapshot_options
            ``snapshot_every`` (ms), ``snapshot_dir`` and ``keep_last``:
            periodic asynchronous snapshots (see :class:`gpunet.Snapshotter`);
            waited for, and their first error raised, at the end of the run.

        Compiles the network first when needed.
        """
        steps = int(round(duration / self.dt))
        if steps < 0:
            raise ValueError(f"duration must be >= 0 ms, got {duration}")
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

    def get_time(self) -> float:
        """Current time in ms (steps done times dt)."""
        return self._step * self.dt

    def get_current_step(self) -> int:
        """Number of steps simulated so far."""
        return self._step

    @property
    def t(self) -> float:
        return self.get_time()

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

    def wait_for_saves(self, timeout: Optional[float] = None) -> None:
        """Wait for this network's pending saves; raise the first error (see :func:`gpunet.wait_for_saves`)."""
        from gpunet.io.api import wait_for_saves
        wait_for_saves(network=self, timeout=timeout)

    def __repr__(self) -> str:
        return (f"<Network dt={self.dt} seed={self.seed} {self.backend.name}: {len(self.populations)} populations, "
                f"{len(self.projections)} projections, step {self._step}>")


_default: Optional[Network] = None
_default_settings: dict = {}


def default_network() -> Network:
    """The module-level network the functions ``gpunet.compile()``, ``simulate()``... act on."""
    global _default
    if _default is None:
        _default = Network(**_default_settings)
    return _default


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
    if _default is None:
        candidate = Network(**{**_default_settings, **settings})
        _set_default(candidate)
    else:
        _default.setup(**settings)
    _default_settings.update(settings)


def _set_default(network: Network) -> None:
    global _default
    _default = network


def clear() -> None:
    """Empty the default network (its setup() settings are kept)."""
    global _default
    _default = None


def compile() -> None:  # noqa: A001 - ANNarchy's name
    """Compile the default network."""
    default_network().compile()


def simulate(duration: float, progress: Optional[bool] = None, **snapshot_options: Any) -> None:
    """Simulate the default network for ``duration`` ms (see :meth:`Network.simulate`)."""
    default_network().simulate(duration, progress=progress, **snapshot_options)


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

