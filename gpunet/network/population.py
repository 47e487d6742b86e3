"""Populations of neurons: state on the device, attribute access like ANNarchy's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np
import sympy

from gpunet.codegen.numpy.generator import compile_function, neuron_update_source, refractory_steps_source
from gpunet.codegen.plan import noise_gates
from gpunet.codegen.printers import NumpyPrinter
from gpunet.errors import ModelError, StructureError
from gpunet.model.builtin_neurons import PoissonNeuron, SpikeSourceNeuron
from gpunet.model.expressions import ExpressionError, ExpressionParser
from gpunet.network import default, rng, summary
from gpunet.io.pipeline.state_types import ring_row, ring_rows
from gpunet.limits import MAX_STEP
from gpunet.network.runners import (POPULATION_PHASES, ArrayPopulationRunner, PopulationArrays, PopulationRunner,
                                    check_runner)
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


@dataclass(frozen=True)
class SpikeHistory:
    """A spike ring buffer made by :meth:`Population.prepare_spike_history`, for ``load_state_dict``.

    ``ring`` (device booleans, ``depth x size``) replaces the population's ring; ``spiked`` (the spikes of
    the last step, or None to keep the current ones) its spike mask.
    """

    population: Any
    ring: Any
    spiked: Any


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
        self._block: Optional[tuple[int, int]] = None  # the neurons [lo, hi) this process holds under comm
        self._remote: Optional[dict[str, Any]] = None  # under comm: the whole population's arrays projections read
        self._array_runner = ArrayPopulationRunner(self)
        self._runner: PopulationRunner = self._array_runner
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
        """Names of the model's parameters, in declaration order."""
        return self.spec.parameters

    @property
    def variables(self) -> list[str]:
        """Names of the model's variables, in declaration order."""
        return self.spec.variables

    @property
    def ranks(self) -> np.ndarray:
        """The ranks of the population's neurons, ``0 .. size - 1``."""
        return np.arange(self.size)

    def _attribute_names(self) -> list[str]:
        return list(self.spec.attributes)

    def _label(self) -> str:
        return self.name

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<Population {self.name!r}: {self.size} x {self.spec.name}>"

    def _repr_html_(self) -> str:
        geometry = " x ".join(str(g) for g in self.geometry)
        return summary.table(f"Population {self.name}", [
            ("size", f"{self.size}" + (f" ({geometry})" if len(self.geometry) > 1 else "")),
            ("model", f"{self.spec.name} ({'spiking' if self.spiking else 'rate-coded'})"),
            ("parameters", summary.names(self.spec.parameters)),
            ("variables", summary.names(self.spec.variables))])

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
        if self._block is not None and not attribute.is_global:  # every process's block, gathered
            host = self.network._distributed.gather_neurons(host)
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
            # under comm every process keeps (and draws) only its own block
            part = self._block if self._block is not None and not attribute.is_global else None
            values = coerce_values(value, owner=self.name, attribute=attribute, size=self.size,
                                   shape=self.geometry, dtype=dtype, generator=generator, part=part)
            if part is not None:
                self.network._distributed.changed()
            self.network.backend.assign(self._state[name], values)
            return
        if attribute.is_global:
            raise ValueError(f"{self.name}.{name} is global: set it on the population, not on a view")
        values = coerce_values(value, owner=f"{self.name}[view]", attribute=attribute, size=len(ranks),
                               shape=(len(ranks),), dtype=dtype, generator=generator)
        backend = self.network.backend
        if self._block is not None:  # the ranks of this process's block, made local
            lo, hi = self._block
            mine = (ranks >= lo) & (ranks < hi)
            ranks, values = ranks[mine] - lo, np.asarray(values)[mine]
            self.network._distributed.changed()
        with backend.activate():  # on the network's device and stream (gpu fix, issue 14)
            self._state[name][backend.asarray(ranks)] = backend.asarray(values)

    def get(self, name: str) -> Any:
        """The value of attribute ``name`` (same as ``pop.<name>``).

        Parameters
        ----------
        name : str
            A parameter or variable of the model.
        """
        return getattr(self, name)

    def set(self, values: dict) -> None:
        """Set several attributes at once: ``pop.set({"v": -70.0, "u": 0.0})``.

        Parameters
        ----------
        values : dict
            Attribute name -> value (a number, an array or a distribution).
        """
        for name, value in values.items():
            setattr(self, name, value)

    def device_view(self, name: str) -> Any:
        """The device array that holds attribute ``name`` itself (no copy).

        Writing into it changes the simulation; its shape is ``(size,)`` (0-d
        for globals), whatever the geometry.

        Parameters
        ----------
        name : str
            A parameter or variable of the model.
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

        Parameters
        ----------
        step : int
            The network's step counter (row ``k`` of the spike history holds step ``step - 1 - k``).
        """
        arrays = self._copy_targets()
        if self.spiking and self._history is not None:
            arrays["_spike_history"] = self._history_by_age(step)
            if self._block is not None:  # under comm: the columns of this process's neurons (the rest is others')
                arrays["_spike_history"] = arrays["_spike_history"][:, self._block[0]:self._block[1]]
        return arrays

    def _copy_targets(self) -> dict[str, Any]:
        """The live arrays :meth:`load_state_dict` copies into (and a save stages), by key."""
        arrays = {attribute: self._state[attribute] for attribute in self.spec.attributes}
        arrays.update((key, self._state[key]) for key in ("_last_spike", "_refractory") if key in self._state)
        return arrays

    def _history_by_age(self, step: int) -> Any:
        """The ring's rows by age at ``step`` (row ``k``: the spikes of step ``step - 1 - k``), a device gather."""
        depth = self._history.shape[0]
        return self._history[self.network.backend.xp.asarray(ring_rows(step, depth))]

    def frozen_state(self) -> dict[str, np.ndarray]:
        """Host arrays a save holds that the network never modifies in place (none for most populations)."""
        return {}

    def state_layout(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every array :meth:`load_state_dict` copies into, by key.

        Every attribute (``(size,)``; ``()`` for a global), then ``_last_spike``
        and ``_refractory`` where the model has them.  Under comm too the whole
        population's shapes: a load gives every process the whole values and
        each keeps its block.
        """
        return {key: ((self.size,) if array.ndim else (), np.dtype(array.dtype))
                for key, array in self._copy_targets().items()}

    @property
    def spike_history_depth(self) -> int:
        """Rows of the spike ring buffer (the longest delay from here, in steps, at least 1).

        Before :meth:`Network.compile`: the depth compile will allocate.
        """
        if self._history is not None:
            return int(self._history.shape[0])
        return max(self.network._max_delay_of(self), 1)

    def prepare_spike_history(self, history: Optional[np.ndarray], step: int, depth: int) -> SpikeHistory:
        """A new spike ring buffer of ``depth`` rows at ``step``, for :meth:`load_state_dict`; changes nothing.

        Parameters
        ----------
        history : numpy.ndarray or None
            Host booleans ``(rows, size)`` by age, as :meth:`state_dict` gives
            them: row ``k`` holds the spikes of step ``step - 1 - k``.  Rows
            beyond ``depth`` are dropped, missing ones hold no spike.  None:
            the population's current spikes, kept at their ages.
        step : int
            The step the network will be at once the ring is installed.
        depth : int
            At least :attr:`spike_history_depth`.

        Raises
        ------
        ValueError
            For a history of another shape or type, or a depth below the current one.
        """
        backend = self.network.backend
        if int(depth) < self.spike_history_depth:
            raise ValueError(f"population {self.name!r}: a spike ring of {depth} rows is shorter than the "
                             f"{self.spike_history_depth} its delays need")
        if history is None:
            history = (np.zeros((0, self.size), dtype=bool) if self._history is None
                       else backend.to_host(self._history_by_age(self.network.get_current_step())))
        history = np.asarray(history)
        if history.dtype != np.bool_ or history.ndim != 2 or history.shape[1] != self.size:
            raise ValueError(f"population {self.name!r}: a spike history is booleans of shape (rows, "
                             f"{self.size}), got {history.dtype} {history.shape}")
        depth = int(depth)
        layout = np.zeros((depth, self.size), dtype=bool)
        rows = min(depth, history.shape[0])
        spiked = None
        with backend.activate():
            if rows:
                layout[ring_rows(step, depth, rows)] = history[:rows]
                spiked = backend.asarray(np.ascontiguousarray(history[0]))
            return SpikeHistory(self, backend.asarray(layout), spiked)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load ``state`` into this population; compiles an uncompiled network first.

        Parameters
        ----------
        state : mapping
            Keys of :meth:`state_layout` with host arrays of exactly that
            shape and dtype (copied in), ``_spike_history`` with a
            :meth:`prepare_spike_history` result, and for a
            :class:`SpikeSourceArray` ``_spike_times`` with a
            :meth:`SpikeSourceArray.prepare_spike_times` result (swapped in).

        Raises
        ------
        StructureError
            Before anything changes: an unknown key, or an array of another
            shape or dtype.  See :meth:`Network.load_state_dict`.
        """
        self.network.load_state_dict({self: state})

    def _check_loadable(self, state: Mapping[str, Any]) -> None:
        """Raise StructureError when :meth:`_swap_in` / the copies of ``state`` could not apply as they are."""
        layout = self.state_layout()
        for key, value in state.items():
            if key == "_spike_history":
                if not isinstance(value, SpikeHistory) or value.population is not self:
                    raise StructureError(f"population {self.name!r}: _spike_history must come from its "
                                         "prepare_spike_history()")
            elif key == "_spike_times" and hasattr(self, "prepare_spike_times"):
                continue
            elif (self._block is not None and key in layout and layout[key][0] == (self.size,)
                  and np.shape(value) == (self._count,)):  # under comm: this process's block (a load of its rows)
                _check_copy(self.name, {key: ((self._count,), layout[key][1])}, key, value)
            else:
                _check_copy(self.name, layout, key, value)

    def _swap_in(self, state: Mapping[str, Any]) -> None:
        """Install the prepared objects of ``state`` (assignments only)."""
        history = state.get("_spike_history")
        if history is not None:
            self._history = history.ring
            if history.spiked is not None:
                first, stop = self.block  # under comm the mask of the neurons held here (kernels write it in place)
                spiked = history.spiked
                self._spiked = spiked if len(spiked) == stop - first else spiked[first:stop].copy()

    def save(self, filename: str, **options: Any):
        """Save this population's state alone (format by suffix, see :func:`gpunet.save`).

        Parameters
        ----------
        filename : str or Path
            The file.
        **options
            As for :func:`gpunet.save`.
        """
        from gpunet.io.api import save_object
        return save_object(self, filename, "population", **options)

    def load(self, filename: str, strict: bool = False) -> None:
        """Restore this population from a file of it alone or of a whole network (see :func:`gpunet.load`).

        Parameters
        ----------
        filename : str or Path
            The file.
        strict : bool
            Make a variable missing on either side an error.
        """
        from gpunet.io.api import load_object
        load_object(self, filename, "population", strict=strict)

    # -- geometry ----------------------------------------------------------
    def rank_from_coordinates(self, coordinates: Sequence[int]) -> int:
        """Rank of the neuron at ``coordinates`` (C order, like ANNarchy).

        Parameters
        ----------
        coordinates : int or tuple of int
            Position in the population's geometry.
        """
        coordinates = (coordinates,) if np.isscalar(coordinates) else tuple(coordinates)
        if len(coordinates) != len(self.geometry):
            raise ValueError(f"population {self.name!r} has geometry {self.geometry}; got coordinates {coordinates}")
        for c, g in zip(coordinates, self.geometry):
            if not 0 <= c < g:
                raise IndexError(f"coordinates {coordinates} are outside the geometry {self.geometry} "
                                 f"of population {self.name!r}")
        return int(np.ravel_multi_index(coordinates, self.geometry))

    def coordinates_from_rank(self, rank: int) -> tuple[int, ...]:
        """Coordinates of the neuron of rank ``rank``.

        Parameters
        ----------
        rank : int
            In ``0 .. size - 1``.
        """
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
        for name in self.spec.attributes:  # assign: on the new network's device and stream
            network.backend.assign(copy._state[name], backend.to_host(self._state[name]))
        return copy

    # -- stop condition (simulate_until) -------------------------------------
    def _stop_reached(self) -> bool:
        """Whether the stop condition holds (False without one)."""
        if self._stop is None:
            return False
        code, any_neuron = self._stop
        met = eval(code, {"xp": self._xp, "S": self._state, "SP": self._spiked})  # noqa: S307 - generated
        met = self._xp.asarray(met)
        reached = bool(met.any() if any_neuron else met.all())
        if self._block is not None:  # under comm: over every process's neurons
            reached = self.network._distributed.agree(reached, any_neuron)
        return reached

    # -- a network over several processes (gpunet.network.distributed) -------
    @property
    def _count(self) -> int:
        """Neurons whose arrays this process holds: all of them, or its block under comm."""
        return self.size if self._block is None else self._block[1] - self._block[0]

    @property
    def _first(self) -> int:
        """Global rank of this process's first neuron (0 unless the network runs under comm)."""
        return 0 if self._block is None else self._block[0]

    @property
    def block(self) -> tuple[int, int]:
        """Global ranks ``(first, stop)`` of the neurons whose arrays this process holds.

        ``(0, size)`` on one process; under comm this process's contiguous block of the population.
        """
        return (0, self.size) if self._block is None else (int(self._block[0]), int(self._block[1]))

    def _keep_block(self, lo: int, hi: int) -> None:
        """Keep only the neurons ``[lo, hi)`` (at compile, under comm); the spike ring stays whole-population."""
        for key, array in self._state.items():
            if array.ndim:
                self._state[key] = array[lo:hi].copy()
        self._spiked = self._spiked[lo:hi].copy()
        self._block = (int(lo), int(hi))

    def _presynaptic_state(self) -> dict[str, Any]:
        """What projections from here read as ``pre.x``: the state, or under comm the whole population's."""
        return self._state if self._remote is None else self._remote

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
            self._sums[target] = xp.zeros(self._count, dtype=net.precision)
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
            draws[site.symbol.name] = draw(xp, self._noise_keys[index], step, self._count, low, high,
                                           net.precision, start=self._first)
        return draws

    # -- step runner (gpunet.network.runners) ---------------------------------
    @property
    def runner(self) -> PopulationRunner:
        """What runs this population's update in each step: the array code unless :meth:`set_runner` chose another."""
        return self._runner

    @property
    def array_runner(self) -> PopulationRunner:
        """The array code (NumPy or CuPy) of this population's update, its runner by default."""
        return self._array_runner

    def set_runner(self, runner: Optional[PopulationRunner]) -> None:
        """Run this population's update with ``runner`` from the next step on (None: the array code again).

        Parameters
        ----------
        runner : PopulationRunner or None
            An object with ``update(step)``; None: the population's array code.

        Raises
        ------
        StructureError
            Before the network is compiled (runners are chosen at compile).
        TypeError
            When ``runner`` has no ``update`` method.
        """
        if not self.network.compiled:
            raise StructureError(f"population {self.name!r}: set_runner() needs a compiled network")
        if runner is not None:
            check_runner(runner, POPULATION_PHASES, f"population {self.name!r}")
        self._runner = self._array_runner if runner is None else runner
        self.network._runners_changed()

    def step_arrays(self) -> PopulationArrays:
        """The live arrays a step of this population reads and writes, for runners (no copy).

        Read them again at every step: a load may replace them between steps.
        """
        return PopulationArrays(self._state, self._sums, self._spiked, self._history, self._noise_keys)

    def presynaptic_arrays(self) -> PopulationArrays:
        """The live arrays projections from this population read as ``pre`` (no copy).

        On one process they are :meth:`step_arrays`; under comm ``state`` and ``sums`` are the whole
        population's values gathered for this step (``pre.x``, ``pre.sum(target)``), ``history`` the whole
        population's spike ring.  Read them again at every step: each gathering replaces them.

        Returns
        -------
        PopulationArrays
            ``state``, ``sums``, ``spiked``, ``history`` and ``noise_keys``, as :meth:`step_arrays`.
        """
        remote = self._remote
        if remote is None:
            return self.step_arrays()
        sums = {target: remote[f"_sum_{target}"] for target in self._sums if f"_sum_{target}" in remote}
        return PopulationArrays(remote, sums, self._spiked, self._history, self._noise_keys)

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
        spiked = self._update_fn(self._state, inputs, step, step * self.network.dt, active, (self._count,))
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
            self._history[ring_row(step, self._history.shape[0])] = self._spiked

    def _delayed_spikes(self, step: int, delay: int) -> Any:
        """Mask of the neurons that spiked ``delay`` steps before ``step``."""
        return self._history[ring_row(step - delay, self._history.shape[0])]


def _check_copy(owner: str, layout: dict, key: str, value: Any) -> None:
    """Raise StructureError unless ``value`` is a host array of the exact shape and dtype ``layout`` gives ``key``."""
    if key not in layout:
        raise StructureError(f"{owner!r}: no array {key!r} to load into; it has {', '.join(layout)}")
    shape, dtype = layout[key]
    if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
        found = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        raise StructureError(f"{owner!r}, {key!r}: expected a host array of {dtype} {shape}, found {found}; "
                             "nothing was loaded")


class PopulationView(_AttributeAccess):
    """A subset of a population (``pop[10:20]``), usable to read and set values.

    Views share the population's arrays: setting ``pop[0:5].v = -70.0`` changes
    the population.  Global parameters are set on the population itself.

    Parameters
    ----------
    population : Population
        The population viewed.
    ranks : array of int
        The ranks of the neurons in the view, in this order.
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

    def _repr_html_(self) -> str:
        return summary.table(f"PopulationView of {self.population.name}", [
            ("size", self.size), ("ranks", summary.names([str(r) for r in self.ranks])),
            ("model", self.population.spec.name)])


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
    geometry : int or tuple of int
        Number of neurons, or the population's shape.
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
    name : str, optional
        Unique name (``pop0``, ``pop1``... by default).
    network : Network, optional
        The network to create it in; None: the default network.
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
    name : str, optional
        Unique name (``pop0``, ``pop1``... by default).
    network : Network, optional
        The network to create it in; None: the default network.
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
        self._install_spike_times(self.prepare_spike_times(times))

    def prepare_spike_times(self, times: Sequence[Sequence[float]]) -> tuple:
        """The events of ``times`` (one list of ms per neuron) for ``load_state_dict``'s ``_spike_times``.

        Changes nothing.

        Parameters
        ----------
        times : sequence of sequences of float
            One list of spike times in ms per neuron.

        Raises
        ------
        ValueError
            Naming the neuron, for a wrong number of lists or negative,
            non-finite or too late times.
        """
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

    def _swap_in(self, state: Mapping[str, Any]) -> None:
        super()._swap_in(state)
        if "_spike_times" in state:
            self._install_spike_times(state["_spike_times"])

    def frozen_state(self) -> dict[str, np.ndarray]:
        """The spike times (ms) of every neuron, flat, and how many belong to each (fresh host arrays).

        Under comm: of this process's block of neurons (what its part of a save holds).
        """
        times = self._times if self._block is None else self._times[self._block[0]:self._block[1]]
        return {"_spike_times": np.asarray([t for neuron in times for t in neuron], dtype=np.float64),
                "_spike_counts": np.asarray([len(neuron) for neuron in times], dtype=np.int64)}

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
        spiked = self._xp.zeros(self._count, dtype=bool)
        if stop > start:
            ranks = self._event_ranks[start:stop] - self._first
            ranks = self.network.backend.asarray(ranks[(ranks >= 0) & (ranks < self._count)])
            spiked[ranks] = True
        self._record_spikes(spiked, step)
