"""Populations of neurons: state on the device, attribute access like ANNarchy's."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np
import sympy

from gpunet.codegen.numpy_codegen import compile_function, neuron_update_source, refractory_steps_source
from gpunet.codegen.plan import noise_gates
from gpunet.codegen.printers import NumpyPrinter
from gpunet.errors import ModelError, StructureError
from gpunet.model.builtin_neurons import PoissonNeuron, SpikeSourceNeuron
from gpunet.model.expressions import ExpressionError, ExpressionParser
from gpunet.network import default, rng
from gpunet.io.state_types import ring_rows
from gpunet.limits import MAX_STEP
from gpunet.network.values import coerce_values, python_scalar

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network

LAST_SPIKE_NEVER = -10000  # ANNarchy's initial value of last_spike / _last_event
_POPULATION_STREAM = 0


def _resolve_model(neuron: Any, kind: str = "neuron") -> Any:
    if isinstance(neuron, type):
        neuron = neuron()
    if not hasattr(neuron, "spec") or neuron.spec.kind != kind:
        raise ModelError(f"expected a {kind.capitalize()} model, got {neuron!r}")
    return neuron


def _parse_stop_condition(condition: Optional[str], spec: Any, name: Optional[str]):
    """``(compiled array code, any)`` of a stop condition ``"expr"`` or ``"expr : any"``, or None."""
    if condition is None:
        return None
    text, _, flag = str(condition).partition(":")
    flag = flag.strip()
    if flag not in ("", "any", "all"):
        raise ModelError(f"population {name or ''!r}: stop_condition flag must be 'any' or 'all', got {flag!r}")
    if text.strip() == "spiked":  # ANNarchy's "spiked : any" / "spiked : all": on the spikes of this step
        return compile("SP", "<stop_condition>", "eval"), flag == "any"
    parser = ExpressionParser({n: sympy.Symbol(n) for n in spec.attributes} | {"t": sympy.Symbol("t")})
    try:
        expr = parser.parse(text)
    except ExpressionError as exc:
        raise ModelError(f"population {name or ''!r}: invalid stop_condition {condition!r}: {exc}") from exc
    if "t" in {s.name for s in expr.free_symbols} or parser.noise_sites or parser.targets:
        raise ModelError(f"population {name or ''!r}: stop_condition {condition!r} may only use the neurons' "
                         "attributes")
    printer = NumpyPrinter({n: f"S[{n!r}]" for n in spec.attributes})
    return compile(printer.doprint(expr), "<stop_condition>", "eval"), flag == "any"


class _AttributeAccess:
    """``obj.v`` / ``obj.v = ...`` for the attributes of a model (shared by views)."""

    _frozen = False

    def _attribute_names(self) -> list[str]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._attribute_names():
            return self._get_attribute(name)
        raise AttributeError(f"{type(self).__name__} {self._label()!r} has no attribute {name!r}; "
                             f"its model's attributes are: {', '.join(self._attribute_names())}")

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and self._frozen:
            if name in self._attribute_names():
                self._set_attribute(name, value)
                return
            if not hasattr(type(self), name):
                raise AttributeError(f"{type(self).__name__} {self._label()!r} has no attribute {name!r}; "
                                     f"its model's attributes are: {', '.join(self._attribute_names())}")
        object.__setattr__(self, name, value)

    def _label(self) -> str:
        raise NotImplementedError


class Population(_AttributeAccess):
    """A group of neurons of one model.

    Parameters
    ----------
    geometry : int or tuple of int
        Number of neurons, or the shape of a grid of neurons.
    neuron : Neuron
        The model (an instance such as ``Izhikevich`` or ``Izhikevich(a=0.1)``).
    name : str, optional
        Unique name (default ``pop<k>``); files refer to objects by name.  1 to
        128 characters among ``A-Z a-z 0-9 _ . -``; ``time_step``, ``net_id``,
        ``obj_names`` and ``_gpunet`` are taken (see :mod:`gpunet.limits`).
    network : Network, optional
        Owning network (default: the module-level default network).
    stop_condition : str, optional
        Condition on the neurons' attributes that stops
        :meth:`Network.simulate_until` (``"v > 0.0"``: when every neuron meets
        it; ``"v > 0.0 : any"``: when one does; ``"spiked : any"``: when a
        neuron spikes), as in ANNarchy.

    Notes
    -----
    ``pop.v`` returns a host NumPy copy shaped like the geometry (a Python
    scalar for a global parameter); ``pop.v = value`` accepts a number, an
    array of the geometry's shape (or flat) or a distribution.  The state is
    allocated on the network's device at creation, so attributes can be read
    and set before and after :meth:`Network.compile`.

    Examples
    --------
    >>> import gpunet as gn
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create((2, 3), gn.Izhikevich, name="grid")
    >>> pop.v.shape, pop.a.shape
    ((2, 3), (2, 3))
    >>> pop.rank_from_coordinates((1, 2))
    5
    """

    generated_source: Optional[str] = None  # the array code of the neuron update, after compile()
    #: The step update is the model's equations, so generated kernels may run it (False: a class of its own update).
    equations_update = True

    def __init__(self, geometry: Union[int, Sequence[int]], neuron: Any, name: Optional[str] = None,
                 network: Optional["Network"] = None, stop_condition: Optional[str] = None) -> None:
        net = network if network is not None else default.default_network()
        neuron = _resolve_model(neuron)
        stop = _parse_stop_condition(stop_condition, neuron.spec, name)
        geometry_tuple = (int(geometry),) if np.isscalar(geometry) else tuple(int(g) for g in geometry)
        if not geometry_tuple or any(g <= 0 for g in geometry_tuple):
            raise StructureError(f"population {name or ''!r}: geometry must hold positive sizes, got {geometry!r}")
        self.network = net
        self.neuron = neuron
        self.spec = neuron.spec
        self.geometry = geometry_tuple
        self.size = int(np.prod(geometry_tuple))
        self.id = len(net.populations)
        self.name = net._register(self, name, "pop")
        self._auto_named = name is None
        self.stop_condition = stop_condition
        self._stop = stop
        self._state: dict[str, Any] = {}
        self._allocate()
        with self.network.backend.activate():  # on the network's device and stream (gpu fix, issue 14)
            self._spiked = self._xp.zeros(self.size, dtype=bool)
        self._history = None
        self._update_fn = None
        self._refractory_fn = None
        self._noise_keys: dict[int, int] = {}
        self._noise_arguments: dict[int, tuple] = {}
        self._global_sites: set[int] = set()
        self._sums: dict[str, Any] = {}
        self._frozen = True

    # -- properties --------------------------------------------------------
    @property
    def _xp(self):
        return self.network.backend.xp

    @property
    def spiking(self) -> bool:
        """Whether the neurons emit spikes."""
        return self.spec.spiking

    @property
    def attributes(self) -> list[str]:
        """Parameters then variables, in declaration order."""
        return list(self.spec.attributes)

    @property
    def parameters(self) -> list[str]:
        return self.spec.parameters

    @property
    def variables(self) -> list[str]:
        return self.spec.variables

    @property
    def ranks(self) -> np.ndarray:
        return np.arange(self.size)

    def _attribute_names(self) -> list[str]:
        return list(self.spec.attributes)

    def _label(self) -> str:
        return self.name

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<Population {self.name!r}: {self.size} x {self.spec.name}>"

    # -- allocation and initial values ------------------------------------
    def _initial_values(self) -> dict[str, np.ndarray]:
        """Host arrays of every attribute at its initial value."""
        precision = self.network.precision
        values: dict[str, np.ndarray] = {}
        for name, attribute in self.spec.attributes.items():
            dtype = attribute.dtype(precision)
            shape = () if attribute.is_global else (self.size,)
            init = attribute.init
            if isinstance(init, sympy.Basic) and not init.is_number:
                printer = NumpyPrinter({n: f"V[{n!r}]" for n in values})
                init = eval(printer.doprint(init), {"xp": np, "V": values})  # noqa: S307 - generated
            values[name] = np.array(np.broadcast_to(np.asarray(init, dtype=dtype), shape))
        return values

    def _allocate(self) -> None:
        backend = self.network.backend
        for name, values in self._initial_values().items():
            self._state[name] = backend.asarray(values)
        if self.spiking:
            self._state["_last_spike"] = backend.asarray(np.full(self.size, LAST_SPIKE_NEVER, dtype=np.int64))
            if self.spec.refractory is not None:
                self._state["_refractory"] = backend.asarray(np.zeros(self.size, dtype=np.int32))

    # -- attribute access --------------------------------------------------
    def _get_attribute(self, name: str, ranks: Optional[np.ndarray] = None) -> Any:
        attribute = self.spec.attributes[name]
        host = self.network.backend.to_host(self._state[name])
        if attribute.is_global:
            return python_scalar(host, attribute.kind)
        if ranks is not None:
            return host[ranks]
        return host.reshape(self.geometry)

    def _set_attribute(self, name: str, value: Any, ranks: Optional[np.ndarray] = None) -> None:
        attribute = self.spec.attributes[name]
        dtype = attribute.dtype(self.network.precision)
        generator = lambda: self.network._generator("init", self.id)  # noqa: E731 - drawn only for distributions
        if ranks is None:
            values = coerce_values(value, owner=self.name, attribute=attribute, size=self.size,
                                   shape=self.geometry, dtype=dtype, generator=generator)
            self.network.backend.assign(self._state[name], values)
            return
        if attribute.is_global:
            raise ValueError(f"{self.name}.{name} is global: set it on the population, not on a view")
        values = coerce_values(value, owner=f"{self.name}[view]", attribute=attribute, size=len(ranks),
                               shape=(len(ranks),), dtype=dtype, generator=generator)
        backend = self.network.backend
        with backend.activate():  # on the network's device and stream (gpu fix, issue 14)
            self._state[name][backend.asarray(ranks)] = backend.asarray(values)

    def get(self, name: str) -> Any:
        """The value of attribute ``name`` (same as ``pop.<name>``)."""
        return getattr(self, name)

    def set(self, values: dict) -> None:
        """Set several attributes at once: ``pop.set({"v": -70.0, "u": 0.0})``."""
        for name, value in values.items():
            setattr(self, name, value)

    def device_view(self, name: str) -> Any:
        """The device array that holds attribute ``name`` itself (no copy).

        Writing into it changes the simulation; its shape is ``(size,)`` (0-d
        for globals), whatever the geometry.
        """
        if name not in self.spec.attributes:
            raise AttributeError(f"population {self.name!r} has no attribute {name!r}; "
                                 f"its model's attributes are: {', '.join(self.spec.attributes)}")
        return self._state[name]

    # -- persistence ---------------------------------------------------------
    def state_dict(self, step: int) -> dict[str, Any]:
        """The live arrays a save of this population holds, by key, without copying them (at ``step``).

        Every attribute of the model, then ``_last_spike`` and ``_refractory``
        (spiking models) and ``_spike_history`` (row ``k``: the spikes of step
        ``step - 1 - k``; a gather on the device).  They change as the network
        runs: a save copies them before it returns.
        """
        arrays = {attribute: self._state[attribute] for attribute in self.spec.attributes}
        arrays.update((key, self._state[key]) for key in ("_last_spike", "_refractory") if key in self._state)
        if self.spiking and self._history is not None:
            depth = self._history.shape[0]
            arrays["_spike_history"] = self._history[self.network.backend.xp.asarray(ring_rows(step, depth))]
        return arrays

    def frozen_state(self) -> dict[str, np.ndarray]:
        """Host arrays a save holds that the network never modifies in place (none for most populations)."""
        return {}

    def save(self, filename: str, **options: Any):
        """Save this population's state alone (format by suffix, see :func:`gpunet.save`)."""
        from gpunet.io.api import save_object
        return save_object(self, filename, "population", **options)

    def load(self, filename: str, strict: bool = False) -> None:
        """Restore this population from a file of it alone or of a whole network (see :func:`gpunet.load`)."""
        from gpunet.io.api import load_object
        load_object(self, filename, "population", strict=strict)

    # -- geometry ----------------------------------------------------------
    def rank_from_coordinates(self, coordinates: Sequence[int]) -> int:
        """Rank of the neuron at ``coordinates`` (C order, like ANNarchy)."""
        coordinates = (coordinates,) if np.isscalar(coordinates) else tuple(coordinates)
        if len(coordinates) != len(self.geometry):
            raise ValueError(f"population {self.name!r} has geometry {self.geometry}; got coordinates {coordinates}")
        for c, g in zip(coordinates, self.geometry):
            if not 0 <= c < g:
                raise IndexError(f"coordinates {coordinates} are outside the geometry {self.geometry} "
                                 f"of population {self.name!r}")
        return int(np.ravel_multi_index(coordinates, self.geometry))

    def coordinates_from_rank(self, rank: int) -> tuple[int, ...]:
        """Coordinates of the neuron of rank ``rank``."""
        if not 0 <= rank < self.size:
            raise IndexError(f"rank {rank} is outside population {self.name!r} of size {self.size}")
        return tuple(int(c) for c in np.unravel_index(rank, self.geometry))

    def __getitem__(self, key: Any) -> "PopulationView":
        ranks = np.arange(self.size).reshape(self.geometry)[key]
        return PopulationView(self, np.atleast_1d(ranks).ravel())

    # -- moving into another network (``net.create(population)``) ----------
    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return Population(self.geometry, self.neuron, name=name, network=network,
                          stop_condition=self.stop_condition)

    def _copy_into(self, network: "Network") -> "Population":
        """A population of ``network`` equal to this one: same class, model, name and attribute values."""
        copy = self._construct_in(network, None if self._auto_named else self.name)
        backend = self.network.backend
        for name in self.spec.attributes:
            copy._state[name][...] = network.backend.asarray(backend.to_host(self._state[name]))
        return copy

    # -- stop condition (simulate_until) -------------------------------------
    def _stop_reached(self) -> bool:
        """Whether the stop condition holds (False without one)."""
        if self._stop is None:
            return False
        code, any_neuron = self._stop
        met = eval(code, {"xp": self._xp, "S": self._state, "SP": self._spiked})  # noqa: S307 - generated
        met = self._xp.asarray(met)
        return bool(met.any() if any_neuron else met.all())

    # -- compilation and simulation ---------------------------------------
    def _compile(self, max_delay: int) -> None:
        backend, net = self.network.backend, self.network
        xp = backend.xp
        self._history = xp.zeros((max(int(max_delay), 1), self.size), dtype=bool)
        self.generated_source = neuron_update_source(self.spec)
        self._update_fn = compile_function(self.generated_source, "update", xp, net.dt, net.precision,
                                           backend.scatter_add)
        refractory_source = refractory_steps_source(self.spec)
        if refractory_source is not None:
            self._refractory_fn = compile_function(refractory_source, "refractory_steps", xp, net.dt,
                                                   net.precision, backend.scatter_add)
        for target in self.spec.targets:
            self._sums[target] = xp.zeros(self.size, dtype=net.precision)
        gates = noise_gates(self.spec)
        # noise in the equation of a global variable (HomogeneousCorrelatedSpikeTrains' x) is one draw per step
        global_names = set(self.spec.global_names)
        self._global_sites = {site.index for site in self.spec.noise_sites
                              if any(s.target in global_names and site.symbol in s.expr.free_symbols
                                     for s in self.spec.equations)}
        printer = NumpyPrinter({n: f"S[{n!r}]" for n in self.spec.attributes} | {"dt": "dt", "t": "t"})
        for site in self.spec.noise_sites:
            self._noise_keys[site.index] = rng.stream_key(net.seed, (self.id << 8) | site.index)
            arguments = tuple(compile(printer.doprint(a), "<noise-argument>", "eval") for a in (site.arg0, site.arg1))
            self._noise_arguments[site.index] = (site, arguments, gates[site.index])

    def _reseed(self, seed: int) -> None:
        """Key this population's noise streams to the network's new ``seed``."""
        for index in self._noise_keys:
            self._noise_keys[index] = rng.stream_key(seed, (self.id << 8) | index)

    def _noise(self, step: int) -> dict[str, Any]:
        draws: dict[str, Any] = {}
        xp, net = self._xp, self.network
        namespace = {"xp": xp, "S": self._state, "dt": net.dt, "t": step * net.dt}
        for index, (site, arguments, gates) in self._noise_arguments.items():
            if gates and not any(bool(xp.any(self._state[g] != 0)) for g in gates):
                draws[site.symbol.name] = 0.0
                continue
            low, high = (eval(a, namespace) for a in arguments)  # noqa: S307 - generated
            draw = rng.uniform if site.kind == "Uniform" else rng.normal
            if index in self._global_sites:  # one draw for the population: its stream's first number
                draws[site.symbol.name] = draw(xp, self._noise_keys[index], step, 1, low, high, net.precision)[0]
                continue
            draws[site.symbol.name] = draw(xp, self._noise_keys[index], step, self.size, low, high,
                                           net.precision)
        return draws

    def _reset_inputs(self) -> None:
        for array in self._sums.values():
            array[...] = 0

    def _update(self, step: int) -> None:
        inputs = {f"_sum_{t}": a for t, a in self._sums.items()}
        if self._noise_arguments:
            inputs.update(self._noise(step))
        active = None
        refractory = self._state.get("_refractory")
        if refractory is not None and bool(refractory.any()):
            active = refractory == 0
        spiked = self._update_fn(self._state, inputs, step, step * self.network.dt, active, (self.size,))
        if refractory is not None and active is not None:
            refractory -= (~active).astype(refractory.dtype)
        if spiked is not None:
            self._record_spikes(spiked, step)

    def _record_spikes(self, spiked: Any, step: int) -> None:
        self._spiked = spiked
        self._state["_last_spike"][spiked] = step
        if self._refractory_fn is not None:
            steps = self._refractory_fn(self._state)
            self._xp.copyto(self._state["_refractory"], steps, where=spiked)

    def _push_spikes(self, step: int) -> None:
        if self.spiking:
            self._history[step % self._history.shape[0]] = self._spiked

    def _delayed_spikes(self, step: int, delay: int) -> Any:
        """Mask of the neurons that spiked ``delay`` steps before ``step``."""
        return self._history[(step - delay) % self._history.shape[0]]


class PopulationView(_AttributeAccess):
    """A subset of a population (``pop[10:20]``), usable to read and set values.

    Views share the population's arrays: setting ``pop[0:5].v = -70.0`` changes
    the population.  Global parameters are set on the population itself.
    """

    def __init__(self, population: Population, ranks: np.ndarray) -> None:
        self.population = population
        self.ranks = np.asarray(ranks, dtype=np.int64)
        self.size = len(self.ranks)
        self._frozen = True

    def _attribute_names(self) -> list[str]:
        return list(self.population.spec.attributes)

    def _label(self) -> str:
        return f"{self.population.name}[{self.size} neurons]"

    def _get_attribute(self, name: str) -> Any:
        return self.population._get_attribute(name, self.ranks)

    def _set_attribute(self, name: str, value: Any) -> None:
        self.population._set_attribute(name, value, self.ranks)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<PopulationView of {self.population.name!r}: {self.size} neurons>"


def _poisson_neuron(rates: Any, target: Optional[str], parameters: Any, refractory: Any) -> Any:
    """ANNarchy's Poisson neuron: ``rates`` a parameter, or a variable set by an expression or by ``sum(target)``."""
    from gpunet.model.description import Neuron
    if target is None and not isinstance(rates, str):
        return PoissonNeuron if refractory is None else Neuron(
            parameters="rates = 10.0", equations="p = Uniform(0.0, 1.0) * 1000.0 / dt", spike="p < rates",
            refractory=refractory, name="Poisson", description=PoissonNeuron.description)
    expression = f"sum({target})" if target is not None else rates
    return Neuron(parameters=parameters, equations=f"rates = {expression}\np = Uniform(0.0, 1.0) * 1000.0 / dt",
                  spike="p < rates", refractory=refractory, name="Hybrid" if target is not None else "Poisson",
                  description="Poisson spike source of rates (Hz) " +
                              (f"sum({target})" if target is not None else f"{rates}"))


class PoissonPopulation(Population):
    """Neurons that spike as Poisson processes of the given rates (Hz).

    In each step a neuron spikes when a uniform draw ``p`` (scaled to Hz) is
    below its rate, i.e. with probability ``rates * dt / 1000``.  The draws come
    from the network's counter-based generator, so runs are reproducible.

    Parameters
    ----------
    geometry : int or tuple
    rates : float, array or str
        Rates in Hz: a number or one per neuron (the parameter ``rates``), or
        an expression of ``t`` and of ``parameters`` that sets the variable
        ``rates`` at every step (``"100.0 * (1.0 + sin(2*pi*f*t/1000.0)) / 2"``
        with ``parameters={"f": 5.0, "pi": 3.141592653589793}``), as ANNarchy's.
    target : str, optional
        Instead of ``rates``: the rates are the summed input ``sum(target)``
        of rate-coded projections onto the population (ANNarchy's hybrid population).
    parameters : dict or str, optional
        Parameters the expression uses (a plain value in a dict is global, as in ANNarchy 5).
    refractory : float or str, optional
        Refractory period (ms).
    """

    def __init__(self, geometry, rates: Any = 10.0, name: Optional[str] = None,
                 network: Optional["Network"] = None, target: Optional[str] = None, parameters: Any = None,
                 refractory: Any = None) -> None:
        if rates is None and target is None:
            raise ModelError(f"PoissonPopulation {name or ''!r}: give rates or target")
        neuron = _poisson_neuron(rates, target, parameters, refractory)
        super().__init__(geometry, neuron, name=name, network=network)
        object.__setattr__(self, "_arguments", {"target": target, "parameters": parameters,
                                                "refractory": refractory,
                                                "rates": rates if isinstance(rates, str) else 0.0})
        if target is None and not isinstance(rates, str):
            self.rates = rates

    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return PoissonPopulation(self.geometry, name=name, network=network, **self._arguments)


class SpikeSourceArray(Population):
    """Neurons that spike at given times.

    Parameters
    ----------
    spike_times : list of float or list of list of float
        Times in ms; one list per neuron (a flat list makes one neuron).
        A time is emitted in the step ``round(time / dt)``.
    """

    equations_update = False  # spikes come from the given times, not from equations

    def __init__(self, spike_times: Sequence, name: Optional[str] = None,
                 network: Optional["Network"] = None) -> None:
        times = list(spike_times)
        if times and np.isscalar(times[0]):
            times = [times]
        super().__init__(max(len(times), 1), SpikeSourceNeuron, name=name, network=network)
        self._set_spike_times(times)

    def _construct_in(self, network: "Network", name: Optional[str]) -> "Population":
        return SpikeSourceArray(self.spike_times, name=name, network=network)

    def _set_spike_times(self, times: Sequence[Sequence[float]]) -> None:
        self._install_spike_times(self._prepare_spike_times(times))

    def _prepare_spike_times(self, times: Sequence[Sequence[float]]) -> tuple:
        """Validated event arrays of ``times`` (ValueError naming the neuron), without changing anything."""
        if len(times) != self.size:
            raise ValueError(f"{self.name}.spike_times: expected {self.size} lists of times, got {len(times)}")
        steps, ranks = [], []
        last_time = MAX_STEP * self.network.dt
        for rank, neuron_times in enumerate(times):
            values = np.asarray(neuron_times, dtype=np.float64).ravel()
            if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
                raise ValueError(f"{self.name}.spike_times: neuron {rank} has negative or non-finite times")
            if values.size and values.max() > last_time:
                raise ValueError(f"{self.name}.spike_times: neuron {rank} has times after step 2**53 "
                                 f"({last_time:g} ms)")
            steps.append(np.rint(values / self.network.dt).astype(np.int64))
            ranks.append(np.full(values.size, rank, dtype=np.int64))
        all_steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        all_ranks = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
        order = np.lexsort((all_ranks, all_steps))
        return all_steps[order], all_ranks[order], [list(map(float, t)) for t in times]

    def _install_spike_times(self, prepared: tuple) -> None:
        event_steps, event_ranks, times = prepared
        object.__setattr__(self, "_event_steps", event_steps)
        object.__setattr__(self, "_event_ranks", event_ranks)
        object.__setattr__(self, "_times", times)

    def frozen_state(self) -> dict[str, np.ndarray]:
        """The spike times (ms) of every neuron, flat, and how many belong to each (fresh host arrays)."""
        return {"_spike_times": np.asarray([t for neuron in self._times for t in neuron], dtype=np.float64),
                "_spike_counts": np.asarray([len(neuron) for neuron in self._times], dtype=np.int64)}

    @property
    def spike_times(self) -> list[list[float]]:
        """The spike times (ms) of each neuron."""
        return [list(t) for t in self._times]

    @spike_times.setter
    def spike_times(self, times: Sequence) -> None:
        times = list(times)
        if times and np.isscalar(times[0]):
            times = [times]
        self._set_spike_times(times)

    def _update(self, step: int) -> None:
        start, stop = np.searchsorted(self._event_steps, [step, step + 1])
        spiked = self._xp.zeros(self.size, dtype=bool)
        if stop > start:
            ranks = self.network.backend.asarray(self._event_ranks[start:stop])
            spiked[ranks] = True
        self._record_spikes(spiked, step)
