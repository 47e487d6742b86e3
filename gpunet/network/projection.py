"""Projections: connectivity, weights and synaptic state on the device.

Storage (post-major, like ANNarchy): synapses are ordered by post rank, then by
pre rank.  ``_post_idx`` gives each synapse's post rank and ``_row_ptr``
(length ``post.size + 1``) the range of each post neuron's row.  A compiled
spiking projection keeps one more index per synapse: the pre-major index of
each delay value (``_groups``), which finds the synapses of the neurons that
spiked; each synapse's pre rank (``_pre_idx``) and delay (``_delays``) follow
from it and are built only when something reads them (a kernel signature, the
array code of a model that reads ``pre.``, a save: see
:mod:`gpunet.network.synapse_index`).  Rate-coded and not yet compiled
projections keep ``_pre_idx``.  Per-synapse indexes are int32 below 2**31
synapses and neurons.  On NumPy no host copy of a per-synapse index is kept:
the host arrays saves and queries read are made from the indexes on demand,
and shared while anyone holds them; on a device the host keeps the pre ranks
(index type, and the delays when they differ) so that a save reads them
without a transfer.
"""
from __future__ import annotations

import dataclasses
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Mapping, Optional

import numpy as np
import sympy

from gpunet.codegen.printers import NumpyPrinter
from gpunet.codegen.numpy.generator import (compile_function, synapse_continuous_source, synapse_event_source,
                                          synapse_psp_source)
from gpunet.errors import ModelError, StructureError
from gpunet.model.builtin_synapses import DefaultRate, DefaultSpiking
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.io.pipeline.partition import block_of
from gpunet.network import connectors, summary
from gpunet.network.block_build import PendingSynapses, data_rows, delay_bounds
from gpunet.network.distributions import Distribution
from gpunet.limits import MAX_DELAY_STEPS
from gpunet.network.population import (LAST_SPIKE_NEVER, Population, PopulationView, _AttributeAccess, _check_copy,
                                       _resolve_model)
from gpunet.network.runners import (PROJECTION_PHASES, ArrayProjectionRunner, ProjectionArrays, ProjectionRunner,
                                    check_runner)
from gpunet.network.synapse_index import (PreRanks, SynapseState, delays_from_groups, index_dtype,
                                          post_ranks_from_rows, pre_major_groups, pre_ranks_from_groups)
from gpunet.network.values import coerce_values, python_scalar

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network


#: What a projection connected per block under comm (block_build) makes only when something asks for it first.
_BUILT_ON_DEMAND = frozenset({"_state", "_host_row_ptr", "_count", "_delay_steps", "_host_pre", "_host_cache",
                              "_groups", "_csr"})


def _is_per_row(value: Any) -> bool:
    """Whether ``value`` gives one row of values per dendrite (list of lists, 2-D or object array of rows)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 2 or (value.dtype == object and value.ndim == 1)
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, (list, tuple, np.ndarray)) for v in value))


class Dendrite:
    """The synapses of one post-synaptic neuron (``proj.dendrite(rank)``)."""

    def __init__(self, projection: "Projection", post_rank: int, pre_ranks: Optional[np.ndarray] = None) -> None:
        self.projection = projection
        self.post_rank = int(post_rank)
        start, stop = (int(v) for v in projection._host_row_ptr[self.post_rank:self.post_rank + 2])
        self._slice = slice(start, stop)
        self._all_pre = pre_ranks  # the projection's pre ranks, shared by the dendrites made together

    @property
    def size(self) -> int:
        return self._slice.stop - self._slice.start

    @property
    def pre_ranks(self) -> list[int]:
        pre = self._all_pre if self._all_pre is not None else self.projection._host_pre_ranks()
        return pre[self._slice].tolist()

    def __getattr__(self, name: str) -> Any:
        projection = self.__dict__.get("projection")
        if projection is None or name not in projection.spec.attributes:
            raise AttributeError(name)
        attribute = projection.spec.attributes[name]
        host = projection.network.backend.to_host(projection._state[name])
        if attribute.semiglobal:
            return python_scalar(host[self.post_rank], attribute.kind)
        return python_scalar(host, attribute.kind) if attribute.is_global else host[self._slice]

    def __setattr__(self, name: str, value: Any) -> None:
        projection = self.__dict__.get("projection")
        if projection is not None and name in projection.spec.attributes:
            attribute = projection.spec.attributes[name]
            if attribute.is_global:
                raise ValueError(f"{projection.name}.{name} is global: set it on the projection")
            if attribute.semiglobal:
                projection._set_semiglobal(name, value, ranks=np.array([self.post_rank]))
                return
            dtype = attribute.dtype(projection.network.precision)
            values = coerce_values(value, owner=f"{projection.name}.dendrite({self.post_rank})",
                                   attribute=attribute, size=self.size, shape=(self.size,), dtype=dtype,
                                   generator=lambda: projection.network._generator("init", 1 << 20 | projection.id))
            backend = projection.network.backend
            with backend.activate():  # on the network's device and stream (gpu fix, issue 14)
                projection._state[name][self._slice] = backend.asarray(values)
            return
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"<Dendrite {self.projection.name}[{self.post_rank}]: {self.size} synapses>"


class Projection(_AttributeAccess):
    """Synapses from ``pre`` to ``post`` feeding the post neurons' input ``target``.

    Parameters
    ----------
    pre, post : Population or PopulationView
        A view (``pop[0:10]``, ``pop[[1, 3]]``) restricts the connector to its
        neurons: connectors see a population of the view's size, and their
        ranks are mapped to the population's (ANNarchy's rule).  ``proj.pre`` /
        ``proj.post`` are the populations; saved files hold the population
        ranks.
    target : str
        Spiking networks: the conductance ``g_<target>`` of the post neurons.
        Rate-coded networks: the input ``sum(<target>)``.
    synapse : Synapse, optional
        Model of the synapses (default: static synapses).
    name : str, optional
        Unique name (default ``proj<k>``), with the characters a population
        name may use (see :mod:`gpunet.limits`).
    network : Network, optional
        The network of ``pre`` and ``post`` (given or not, it must be theirs).

    Connect with one ``connect_*`` method before :meth:`Network.compile`.
    ``proj.w`` returns one list of weights per post neuron with synapses
    (``proj.post_ranks`` order), as ANNarchy does.
    """

    generated_source: Optional[dict] = None  # array code of each synaptic phase, after compile()
    #: Transmission is the synapse model's, so generated kernels may run it (False: a class of its own transmission).
    equations_transmit = True

    def __init__(self, pre: Population, post: Population, target: str, synapse: Any = None,
                 name: Optional[str] = None, network: Optional["Network"] = None) -> None:
        views = {}
        for role, population in (("pre", pre), ("post", post)):
            if isinstance(population, PopulationView):
                views[role] = population.ranks.copy()
            elif not isinstance(population, Population):
                raise StructureError(f"projection {name or ''!r}: {role} must be a Population or a PopulationView, "
                                     f"got {type(population).__name__}")
        pre = pre.population if isinstance(pre, PopulationView) else pre
        post = post.population if isinstance(post, PopulationView) else post
        net = pre.network
        if post.network is not net or (network is not None and network is not net):
            raise StructureError(f"projection {name or ''!r}: pre, post and network must be the same network")
        if synapse is None:
            synapse = DefaultSpiking if pre.spiking else DefaultRate
        synapse = _resolve_model(synapse, "synapse")
        self.network = net
        self.pre, self.post, self.target = pre, post, str(target)
        self._pre_view, self._post_view = views.get("pre"), views.get("post")
        self._n_pre = len(self._pre_view) if self._pre_view is not None else pre.size
        self._n_post = len(self._post_view) if self._post_view is not None else post.size
        self._learning = True
        self._learning_functions: dict[str, Any] = {}
        self.synapse = synapse
        self.spec = synapse.spec
        self._check_compatible(name)
        self.id = len(net.projections)
        self.name = net._register(self, name, "proj")
        # Globals exist from creation (readable and settable before connect); locals come with connect.
        self._state: dict[str, Any] = {
            n: net.backend.asarray(np.asarray(a.init, dtype=a.dtype(net.precision)))
            for n, a in self.spec.attributes.items() if a.is_global}
        self._connected = False
        self._groups: list = []
        self._count = 0
        self._delay_steps: Optional[np.ndarray] = None  # 0-d when uniform; None when the groups hold them
        self._host_pre: Optional[np.ndarray] = None  # on a device only: host pre ranks, so that saves need no copy
        self._host_cache: dict[str, Any] = {}  # weak references to the host arrays made from the indexes
        self._event_uses_pre = any(side == "pre" for side, _ in self.spec.prepost)
        self._csr = None
        self._functions: dict[str, Any] = {}
        self._array_runner = ArrayProjectionRunner(self)
        self._runner: ProjectionRunner = self._array_runner
        self._frozen = True

    # -- validation ----------------------------------------------------------
    def _check_compatible(self, name: Optional[str]) -> None:
        label = name or "(unnamed)"
        if self.pre.spiking != self.spec.spiking:
            kind = "spiking" if self.pre.spiking else "rate-coded"
            raise StructureError(f"projection {label}: synapse model {self.spec.name!r} is "
                                 f"{'spiking' if self.spec.spiking else 'rate-coded'} but the pre-synaptic "
                                 f"population {self.pre.name!r} is {kind}")
        if self.spec.spiking and f"g_{self.target}" not in self.post.spec.attributes:
            raise StructureError(f"projection {label}: post population {self.post.name!r} ({self.post.spec.name}) "
                                 f"has no conductance g_{self.target}; its attributes are "
                                 f"{', '.join(self.post.spec.attributes)}")
        for side, attribute in self.spec.prepost:
            population = self.pre if side == "pre" else self.post
            if attribute.startswith("_sum_"):
                if attribute[len("_sum_"):] not in population.spec.targets:
                    raise ModelError(f"synapse model {self.spec.name!r} uses {side}.sum({attribute[5:]}) but the "
                                     f"equations of population {population.name!r} use no sum({attribute[5:]})")
                continue
            if attribute not in population.spec.attributes:
                raise ModelError(f"synapse model {self.spec.name!r} uses {side}.{attribute} but population "
                                 f"{population.name!r} has no attribute {attribute!r}")
        if not self.spec.spiking and self.target not in self.post.spec.targets:
            warnings.warn(f"projection {label}: post population {self.post.name!r} does not use sum({self.target})",
                          stacklevel=3)

    # -- connecting --------------------------------------------------------
    def _generator(self):
        return self.network._generator("connect", self.id)

    def _same(self) -> bool:
        """Pre and post are the same neurons (connectors then leave out self-connections on request)."""
        if self.pre is not self.post:
            return False
        return (self._pre_view is None and self._post_view is None) or (
            self._pre_view is not None and self._post_view is not None
            and np.array_equal(self._pre_view, self._post_view))

    @property
    def connected(self) -> bool:
        """Whether a ``connect_*`` method has built this projection's synapses."""
        return self._connected

    def _check_not_connected(self) -> None:
        if self._connected:
            raise StructureError(f"projection {self.name!r} is already connected")
        if self.network.compiled:
            raise StructureError(f"projection {self.name!r}: connect before compile()")

    def connect_all_to_all(self, weights: Any = 1.0, delays: Any = 0.0,
                           allow_self_connections: bool = False, force_multiple_weights: bool = False) -> "Projection":
        """Connect every pre neuron to every post neuron.

        Parameters
        ----------
        weights : float, Distribution or array
            Initial weights: one value, a random distribution, or one per synapse.
        delays : float, Distribution or array
            Delays in ms (a delay below one step counts as one step).
        allow_self_connections : bool
            When pre and post are the same population: allow neuron i -> i.
        force_multiple_weights : bool
            Accepted for ANNarchy's scripts (weights are always stored per synapse).
        """
        self._check_not_connected()
        n_pre, n_post, same = self._n_pre, self._n_post, self._same()
        if self._own_rows(weights, delays) is not None:
            return self._connect_later(lambda lo, hi: (connectors.all_to_all_rows(
                n_pre, n_post, same, allow_self_connections, lo, hi), None, None), weights, delays)
        post, pre = connectors.all_to_all(n_pre, n_post, same, allow_self_connections)
        return self._connect(post, pre, weights, delays, allow_self_connections)

    def connect_one_to_one(self, weights: Any = 1.0, delays: Any = 0.0) -> "Projection":
        """Connect pre neuron i to post neuron i (same sizes).

        Parameters
        ----------
        weights : float, Distribution or array
            Initial weights: one value, a random distribution, or one per synapse.
        delays : float, Distribution or array
            Delays in ms (a delay below one step counts as one step).
        """
        self._check_not_connected()
        n_pre, n_post = self._n_pre, self._n_post
        if self._own_rows(weights, delays) is not None:
            connectors.check_one_to_one(n_pre, n_post)
            return self._connect_later(lambda lo, hi: (connectors.one_to_one_rows(n_pre, n_post, lo, hi), None, None),
                                       weights, delays)
        post, pre = connectors.one_to_one(n_pre, n_post)
        return self._connect(post, pre, weights, delays)

    def connect_fixed_probability(self, probability: float, weights: Any = 1.0, delays: Any = 0.0,
                                  allow_self_connections: bool = False,
                                  force_multiple_weights: bool = False) -> "Projection":
        """Connect each (pre, post) pair with ``probability``.

        Parameters
        ----------
        probability : float
            In [0, 1].
        weights : float, Distribution or array
            Initial weights: one value, a random distribution, or one per synapse.
        delays : float, Distribution or array
            Delays in ms (a delay below one step counts as one step).
        allow_self_connections : bool
            When pre and post are the same population: allow neuron i -> i.
        force_multiple_weights : bool
            Accepted for ANNarchy's scripts (weights are always stored per synapse).
        """
        self._check_not_connected()
        probability = float(probability)
        n_pre, n_post, same = self._n_pre, self._n_post, self._same()
        if self._own_rows(weights, delays) is not None:
            connectors.check_probability(probability)
            generator = self._generator()
            # the whole count is needed only to draw the weights after every synapse's delay
            count_all = isinstance(delays, Distribution) and isinstance(weights, Distribution)
            return self._connect_later(lambda lo, hi: (connectors.fixed_probability_rows(
                probability, n_pre, n_post, same, allow_self_connections, generator, lo, hi, count_all), None, None),
                weights, delays)
        post, pre = connectors.fixed_probability(probability, n_pre, n_post, same, allow_self_connections,
                                                 self._generator())
        return self._connect(post, pre, weights, delays, allow_self_connections)

    def connect_fixed_number_pre(self, number: int, weights: Any = 1.0, delays: Any = 0.0,
                                 allow_self_connections: bool = False,
                                 force_multiple_weights: bool = False) -> "Projection":
        """Give each post neuron exactly ``number`` pre neurons.

        Parameters
        ----------
        number : int
            Pre neurons per post neuron.
        weights : float, Distribution or array
            Initial weights: one value, a random distribution, or one per synapse.
        delays : float, Distribution or array
            Delays in ms (a delay below one step counts as one step).
        allow_self_connections : bool
            When pre and post are the same population: allow neuron i -> i.
        force_multiple_weights : bool
            Accepted for ANNarchy's scripts (weights are always stored per synapse).
        """
        self._check_not_connected()
        number, n_pre, n_post, same = int(number), self._n_pre, self._n_post, self._same()
        if self._own_rows(weights, delays) is not None:
            connectors.check_number("fixed_number_pre", number, n_pre - (1 if same and not allow_self_connections
                                                                         else 0))
            generator = self._generator()
            return self._connect_later(lambda lo, hi: (connectors.fixed_number_pre_rows(
                number, n_pre, n_post, same, allow_self_connections, generator, lo, hi), None, None), weights, delays)
        post, pre = connectors.fixed_number_pre(number, n_pre, n_post, same, allow_self_connections,
                                                self._generator())
        return self._connect(post, pre, weights, delays, allow_self_connections)

    def connect_fixed_number_post(self, number: int, weights: Any = 1.0, delays: Any = 0.0,
                                  allow_self_connections: bool = False,
                                  force_multiple_weights: bool = False) -> "Projection":
        """Give each pre neuron exactly ``number`` post neurons.

        Parameters
        ----------
        number : int
            Post neurons per pre neuron.
        weights : float, Distribution or array
            Initial weights: one value, a random distribution, or one per synapse.
        delays : float, Distribution or array
            Delays in ms (a delay below one step counts as one step).
        allow_self_connections : bool
            When pre and post are the same population: allow neuron i -> i.
        force_multiple_weights : bool
            Accepted for ANNarchy's scripts (weights are always stored per synapse).
        """
        self._check_not_connected()
        number, n_pre, n_post, same = int(number), self._n_pre, self._n_post, self._same()
        if self._own_rows(weights, delays) is not None:
            connectors.check_number("fixed_number_post", number, n_post - (1 if same and not allow_self_connections
                                                                           else 0))
            generator = self._generator()
            return self._connect_later(lambda lo, hi: (connectors.fixed_number_post_rows(
                number, n_pre, n_post, same, allow_self_connections, generator, lo, hi), None, None), weights, delays)
        post, pre = connectors.fixed_number_post(number, n_pre, n_post, same, allow_self_connections,
                                                 self._generator())
        return self._connect(post, pre, weights, delays, allow_self_connections)

    def connect_from_matrix(self, weights: Any, delays: Any = 0.0, pre_post: bool = False) -> "Projection":
        """Connect from a dense (post, pre) matrix (``pre_post=True``: (pre, post)); None or NaN: no synapse.

        Delays: one value, a distribution, or a matrix of the weights' shape.

        Parameters
        ----------
        weights : array_like
            The weight matrix; None or NaN entries are no synapse.
        delays : float, Distribution or array
            One value, a distribution, or a matrix of the weights' shape.
        pre_post : bool
            The matrix is (pre, post) instead of (post, pre).
        """
        self._check_not_connected()
        if pre_post:
            weights = np.asarray(weights, dtype=object).T
            if not isinstance(delays, Distribution) and np.ndim(delays) > 0:
                delays = np.asarray(delays).T
        block = self._own_rows(None, delays, data=True)
        if block is not None:
            post, pre, values, delay_values, first, total = connectors.from_matrix_rows(
                weights, self._n_pre, self._n_post, *block, delays, check=self._check_delays)
            return self._connect_data(connectors.Rows(post, pre, first, total), values, delays, delay_values, block)
        post, pre, values, delay_values = connectors.from_matrix(weights, self._n_pre, self._n_post, delays)
        return self._connect(post, pre, values, delays if delay_values is None else delay_values)

    def connect_from_sparse(self, weights: Any, delays: Any = 0.0) -> "Projection":
        """Connect from a scipy.sparse **(pre, post)** matrix, as ANNarchy 5 reads it.

        Note the orientation: the transpose of :meth:`connect_from_matrix`'s
        (measured on ANNarchy 5.0.4.1).  Stored zeros are synapses of weight 0.

        Parameters
        ----------
        weights : scipy.sparse matrix
            (pre, post); every stored entry is a synapse.
        delays : float or scipy.sparse matrix
            One delay in ms, or a (pre, post) matrix of per-synapse delays.
        """
        self._check_not_connected()
        block = self._own_rows(None, delays, data=True)
        if block is not None:
            post, pre, values, delay_values, first, total = connectors.from_sparse_rows(
                weights, self._n_pre, self._n_post, *block, delays, check=self._check_delays)
            return self._connect_data(connectors.Rows(post, pre, first, total), values, delays, delay_values, block)
        post, pre, values, delay_values = connectors.from_sparse(weights, self._n_pre, self._n_post, delays)
        return self._connect(post, pre, values, delays if delay_values is None else delay_values)

    def connect_from_list(self, synapses: Any) -> "Projection":
        """Connect from ``[(pre, post, w, d), ...]`` (the delay may be left out).

        Parameters
        ----------
        synapses : list of tuple
            ``(pre rank, post rank, weight[, delay in ms])`` per synapse.
        """
        self._check_not_connected()
        block = self._own_rows(None, 0.0, data=True)
        if block is not None:
            post, pre, values, delay_values, first, total = connectors.from_list_rows(
                synapses, self._n_pre, self._n_post, *block, check=self._check_delays)
            return self._connect_data(connectors.Rows(post, pre, first, total), values, 0.0, delay_values, block)
        post, pre, values, delay_values = connectors.from_list(synapses, self._n_pre, self._n_post)
        return self._connect(post, pre, values, 0.0 if delay_values is None else delay_values)

    # ANNarchy 5 spellings
    all_to_all = connect_all_to_all
    one_to_one = connect_one_to_one
    fixed_probability = connect_fixed_probability
    fixed_number_pre = connect_fixed_number_pre
    fixed_number_post = connect_fixed_number_post
    from_matrix = connect_from_matrix
    from_sparse = connect_from_sparse
    from_list = connect_from_list
    connect_from_ls = connect_from_list

    def delays_in_steps(self, delays_ms: np.ndarray) -> np.ndarray:
        """Delays in ms as steps (int64) by this projection's rules (at least 1; 1 on rate-coded projections).

        Parameters
        ----------
        delays_ms : numpy.ndarray
            One delay in ms per synapse.

        Raises
        ------
        StructureError
            For a non-finite or negative delay, one above ``MAX_DELAY_STEPS``
            steps (checked before any cast), or a delay on a rate-coded projection.
        """
        if not np.all(np.isfinite(delays_ms)) or np.any(delays_ms < 0):
            raise StructureError(f"projection {self.name!r}: delays must be finite and non-negative")
        steps = np.rint(delays_ms / self.network.dt)
        if len(steps) and steps.max() > MAX_DELAY_STEPS:
            raise StructureError(f"projection {self.name!r}: delays must be at most {MAX_DELAY_STEPS} steps "
                                 f"({MAX_DELAY_STEPS * self.network.dt:g} ms at dt = {self.network.dt} ms), "
                                 f"found {float(np.max(delays_ms)):g} ms")
        steps = steps.astype(np.int64)
        if not self.spec.spiking:
            if np.any(steps > 1):
                raise StructureError(f"projection {self.name!r}: delays on rate-coded projections are not supported")
            return np.ones_like(steps)
        # A delay below one step behaves as one step: spikes are delivered in the next step.
        return np.maximum(steps, 1)

    def _connect(self, post: np.ndarray, pre: np.ndarray, weights: Any, delays: Any,
                 allow_self: bool = True) -> "Projection":
        generator = self._generator()
        if self._pre_view is not None or self._post_view is not None:
            post, pre, weights, delays = self._from_view_ranks(post, pre, weights, delays, allow_self)
        count = len(post)
        if isinstance(delays, Distribution):
            delays_ms = delays.draw(generator, count)
        else:
            delays_ms = np.broadcast_to(np.asarray(delays, dtype=np.float64), (count,))
        steps = self.delays_in_steps(np.asarray(delays_ms, dtype=np.float64))
        self._set_connectivity(post, pre, steps)
        self._set_attribute("w", weights, generator=generator)
        return self

    # -- under comm: the synapses onto this process's post neurons only (gpunet.network.block_build) ----------
    def _own_rows(self, weights: Any, delays: Any, data: bool = False) -> Optional[tuple[int, int]]:
        """This process's post rows when a ``connect_*`` call can build them alone, else None (built whole).

        Under comm, without views, for a local ``w`` given as a number or a distribution (``data``: the
        connector gives the weights), and delays given as a number or a distribution with bounds that are valid
        delays (``data``: or per-synapse values, checked whole by the connector), so no draw can fail later.
        """
        net = self.network
        if net.comm is None or self._pre_view is not None or self._post_view is not None:
            return None
        attribute = self.spec.attributes.get("w")
        if attribute is None or attribute.is_global or attribute.semiglobal:
            return None
        if not data and not (isinstance(weights, Distribution) or np.isscalar(weights)):
            return None
        if not isinstance(delays, Distribution) and np.ndim(delays) > 0:
            if not data:
                return None
        else:
            bounds = delay_bounds(delays)
            if bounds is None:
                return None
            try:  # invalid delays are left to the whole build, which fails as without comm
                self.delays_in_steps(np.asarray(bounds, dtype=np.float64))
            except (StructureError, TypeError, ValueError):
                return None
        return block_of(self.post.size, int(net.comm.Get_size()), int(net.comm.Get_rank()))

    def _check_delays(self, delays_ms: np.ndarray) -> None:
        """Raise as the whole build would for these delays (data connectors check the other processes' rows)."""
        self.delays_in_steps(np.asarray(delays_ms, dtype=np.float64))

    def _connect_later(self, rows: Any, weights: Any, delays: Any) -> "Projection":
        """Keep a connector to run at compile for this process's post rows (its generators made now)."""
        block = block_of(self.post.size, int(self.network.comm.Get_size()), int(self.network.comm.Get_rank()))
        if not isinstance(weights, Distribution):  # the errors of a bad weight now, as without comm
            coerce_values(weights, owner=self.name, attribute=self.spec.attributes["w"], size=1, shape=(1,),
                          dtype=self.spec.attributes["w"].dtype(self.network.precision), generator=None)
        pending = PendingSynapses(rows, weights, delays, self._generator(), block)
        pending.globals = self._state
        for name in _BUILT_ON_DEMAND:
            self.__dict__.pop(name, None)
        self._pending = pending
        self._connected = True
        return self

    def _connect_data(self, rows: "connectors.Rows", values: np.ndarray, delays: Any,
                      delay_values: Optional[np.ndarray], block: tuple[int, int]) -> "Projection":
        """Keep the block's synapses cut from data (their weights, and delays when per synapse)."""
        if delay_values is not None:
            self._check_delays(delay_values)
        return self._connect_later(data_rows(self.name, (rows, values, delay_values), block), 0.0, delays)

    def __getattr__(self, name: str) -> Any:
        if name in _BUILT_ON_DEMAND and self.__dict__.get("_pending") is not None:
            self._build_whole()  # asked for before compile: the whole projection, as without comm
            return object.__getattribute__(self, name)
        return super().__getattr__(name)

    @property
    def builds_per_block(self) -> bool:
        """Whether this projection's synapses are still to be made, for this process's post neurons (under comm).

        True between a ``connect_*`` call of a network under comm and
        :meth:`Network.compile` (the ``gpunet.network.block_build`` module).
        """
        return self.__dict__.get("_pending") is not None

    def _install_pending(self, lo: int, hi: int) -> tuple[int, int, Optional[int]]:
        """Make the pending synapses onto post rows ``[lo, hi)`` this projection's; their first synapse, the
        next one and the whole count (None when not counted)."""
        pending = self._pending
        rows, weights, delays_ms = pending.make(lo, hi)
        steps = self.delays_in_steps(delays_ms)
        self._state = pending.globals
        self._pending = None
        self._host_cache, self._groups, self._csr = {}, [], None
        self._install_connectivity(self.prepare_connectivity(rows.post, rows.pre, steps,
                                                             indexes=self.network.compiled))
        attribute = self.spec.attributes["w"]
        self.network.backend.assign(self._state["w"], np.asarray(weights, dtype=attribute.dtype(
            self.network.precision)))
        first = rows.first
        return first, first + len(rows.post), rows.total

    def _build_whole(self) -> None:
        """The whole projection, made before compile (something asked for it)."""
        self._install_pending(0, self.post.size)

    def build_own_block(self) -> tuple[int, int, Optional[int]]:
        """Make the synapses onto this process's post neurons (at compile under comm, its block kept).

        Returns
        -------
        tuple of int
            The first synapse made, the next one, and the whole projection's count (None when it
            was not counted), in the whole projection's post-major order.
        """
        return self._install_pending(*self.post._block)

    def _from_view_ranks(self, post: np.ndarray, pre: np.ndarray, weights: Any, delays: Any, allow_self: bool):
        """Map connector ranks (positions in the views) to population ranks, back in post-major order.

        Views of one population: without ``allow_self`` the pairs of a neuron
        with itself are left out, whatever the views (ANNarchy's rule).
        """
        if self._pre_view is not None:
            pre = self._pre_view[pre]
        if self._post_view is not None:
            post = self._post_view[post]
        count = len(post)
        if self.pre is self.post and not allow_self:
            kept = np.nonzero(pre != post)[0]
            connectivity, order = Connectivity.from_synapses(post[kept], pre[kept])
            order = kept[order]
        else:
            connectivity, order = Connectivity.from_synapses(post, pre)

        def reorder(value: Any) -> Any:
            if isinstance(value, Distribution) or np.ndim(value) == 0:
                return value
            array = np.asarray(value)
            return array[order] if array.shape == (count,) else value
        if connectivity.duplicate() is not None:
            raise StructureError(f"projection {self.name!r}: a view lists a neuron twice, so a (pre, post) pair "
                                 "would appear twice")
        return connectivity.post_per_synapse(), connectivity.pre_ranks, reorder(weights), reorder(delays)

    def _set_connectivity(self, post: np.ndarray, pre: np.ndarray, delay_steps: np.ndarray,
                          values: Optional[dict[str, np.ndarray]] = None) -> None:
        """Install a connectivity (post-major arrays) and (re)allocate the synaptic state.

        ``values`` optionally gives host arrays for attributes (all synapses);
        missing attributes start at their initial values.
        """
        self._install_connectivity(self.prepare_connectivity(post, pre, delay_steps, values,
                                                             indexes=self.network.compiled))

    def prepare_connectivity(self, post: np.ndarray, pre: np.ndarray, delay_steps: np.ndarray,
                             values: Optional[dict[str, np.ndarray]] = None, indexes: bool = True) -> dict:
        """Everything a new connectivity needs (device arrays, indexes), without touching the projection.

        ``post`` / ``pre`` give every synapse's ranks in post-major order (by
        post rank, then pre rank, no pair twice), ``delay_steps`` its delay
        (:meth:`delays_in_steps`), ``values`` host arrays of attributes (one
        value per synapse, or 0-d for globals; ``_last_event`` too); the
        others start at their initial values, globals keep theirs.  All
        allocations and casts happen here: give the result to
        :meth:`load_state_dict` as ``_connectivity``, which only assigns it,
        so a load prepares every rebuild first and installs them only when
        all succeeded.

        Parameters
        ----------
        post, pre : numpy.ndarray
            The post- and pre-synaptic rank of every synapse, post-major.
        delay_steps : numpy.ndarray
            Every synapse's delay in steps.
        values : dict, optional
            Host arrays of attributes (per synapse, or 0-d for globals).
        indexes : bool
            Also build the spike-propagation indexes.
        """
        backend, precision = self.network.backend, self.network.precision
        if self.post._block is not None:  # under comm: the synapses onto this process's neurons, post ranks local
            post, pre, delay_steps, values = self.network._distributed.own_synapses(self, post, pre, delay_steps,
                                                                                    values)
        post = np.asarray(post)
        pre = np.asarray(pre)
        count = len(post)
        row_ptr = np.zeros(self.post._count + 1, dtype=np.int64)  # _count: the post neurons held here
        np.cumsum(np.bincount(post, minlength=self.post._count), out=row_ptr[1:])
        index_type = index_dtype(count, self.pre.size, self.post.size)
        arrays: dict[str, Any] = {}
        hosts: dict[str, np.ndarray] = {}  # the values so far, for inits that are expressions of parameters
        values = values or {}
        for name, attribute in self.spec.attributes.items():
            dtype = attribute.dtype(precision)
            if name in values:
                host = np.asarray(values[name], dtype=dtype)
            else:
                init = attribute.init
                if isinstance(init, sympy.Basic) and not init.is_number:
                    # STP's ``u : init = U``: the parameters' values (declared above it) at connect
                    printer = NumpyPrinter({n: f"V[{n!r}]" for n in hosts})
                    init = eval(printer.doprint(init), {"xp": np, "V": hosts})  # noqa: S307 - generated
                shape = () if attribute.is_global else (self.post._count,) if attribute.semiglobal else (count,)
                host = np.array(np.broadcast_to(np.asarray(init, dtype=dtype), shape))
            # globals and semiglobals (one value per post neuron) do not depend on the connectivity
            kept = (attribute.is_global or attribute.semiglobal) and name in self._state and name not in values
            if kept:
                hosts[name] = backend.to_host(self._state[name])
            else:
                hosts[name] = host
            if kept:
                arrays[name] = self._state[name]  # keep the current global / semiglobal value
            else:
                arrays[name] = backend.asarray(host)
        arrays["_post_idx"] = backend.asarray(post.astype(index_type, copy=False))
        arrays["_row_ptr"] = backend.asarray(row_ptr.astype(index_type))
        host_delays = np.asarray(delay_steps)
        if len(host_delays) and not 0 <= host_delays.min() <= host_delays.max() <= MAX_DELAY_STEPS:
            raise StructureError(f"projection {self.name!r}: delays must lie in [0, {MAX_DELAY_STEPS}] steps")
        if host_delays.ndim == 0 or len(host_delays) == 0 or np.all(host_delays == host_delays[0]):
            uniform = int(host_delays) if host_delays.ndim == 0 else int(host_delays[0]) if len(host_delays) else 1
            delays = np.asarray(uniform, dtype=np.int32)
        else:
            delays = np.array(host_delays, dtype=np.int32)  # owned, contiguous; the range fits int32
        if self.spec.event_driven:
            last = values.get("_last_event", np.full(count, LAST_SPIKE_NEVER, dtype=np.int64))
            arrays["_last_event"] = backend.asarray(np.asarray(last, dtype=np.int64))
        groups, csr = None, None
        # on a device, a host copy of the pre ranks (and delays) lets saves read them without a transfer
        host_pre = pre.astype(index_type) if backend.xp is not np else None
        if indexes and self.spec.spiking:
            # the pre-major index replaces the pre ranks and the per-synapse delays, which follow from it
            groups = [(delay, backend.asarray(pre_ptr), backend.asarray(pre_syn))
                      for delay, pre_ptr, pre_syn in pre_major_groups(pre, delays, self.pre.size, index_type)]
            if delays.ndim and host_pre is None:
                delays = None
        else:
            arrays["_pre_idx"] = backend.asarray(pre.astype(index_type, copy=False))
            if indexes:
                csr = self._csr_of(arrays)
        state = SynapseState(arrays, ("_pre_idx", "_delays"), self._derive_index)
        # "post", "pre", "delay_steps": what it was made from, for a process that keeps its part (distributed.py)
        prepared = {"projection": self, "state": state, "row_ptr": row_ptr, "count": count, "delays": delays,
                    "host_pre": host_pre, "max_delay": int(host_delays.max()) if count else 1, "groups": groups,
                    "csr": csr, "post": post, "pre": pre, "delay_steps": host_delays}
        return prepared

    def _install_connectivity(self, prepared: dict) -> None:
        """Make a :meth:`prepare_connectivity` result the projection's connectivity (assignments only)."""
        self._state = prepared["state"]
        self._host_row_ptr, self._count, self._delay_steps = prepared["row_ptr"], prepared["count"], prepared["delays"]
        self._host_pre = prepared["host_pre"]
        self._host_cache = {}
        self._connected = True
        self._groups, self._csr = prepared["groups"] or [], prepared["csr"]

    # -- derived indexes and code -------------------------------------------
    def _build_indexes(self) -> None:
        """Pre-major index of each delay group, for spike propagation (spiking projections).

        ``_groups[k] = (delay, pre_ptr, synapses)``: the synapses of pre neuron
        ``i`` with that delay are ``synapses[pre_ptr[i]:pre_ptr[i + 1]]``
        (ascending post rank); ``synapses`` has the type of ``_post_idx``.  The
        per-synapse pre ranks and delays are dropped: they follow from it
        (:meth:`_derive_index` builds them again where they are read).
        """
        backend, state = self.network.backend, self._state
        self._csr = None
        if not self.spec.spiking:
            self._groups = []
            self._csr = self._csr_of(state)
            return
        pre, delays = self._host_pre_ranks(), self._delay_steps
        if delays is None:
            delays = self._host_delay_steps()
        index_type = np.dtype(state["_post_idx"].dtype)
        self._groups = [(delay, backend.asarray(pre_ptr), backend.asarray(pre_syn))
                        for delay, pre_ptr, pre_syn in pre_major_groups(pre, delays, self.pre.size, index_type)]
        if self._delay_steps is not None and self._delay_steps.ndim and self._host_pre is None:
            self._delay_steps = None
        for key in ("_pre_idx", "_delays"):
            state.pop(key, None)

    def _csr_of(self, state: Mapping[str, Any]) -> Any:
        """The sparse matrix of a rate-coded projection whose input is ``w * pre.r`` (else None)."""
        if self.spec.spiking or self.spec.psp != sympy.Symbol("w") * sympy.Symbol("_pre_r"):
            return None
        return self.network.backend.csr_matrix(state["w"], state["_pre_idx"], state["_row_ptr"],
                                               (self.post._count, self.pre.size))  # _count: the rows held here

    def _host_groups(self) -> list:
        """Host copies of the pre-major index (the arrays themselves on NumPy)."""
        host = self.network.backend.to_host if self.network.backend.xp is not np else np.asarray
        return [(delay, host(pre_ptr), host(pre_syn)) for delay, pre_ptr, pre_syn in self._groups]

    def _derive_index(self, key: str) -> Any:
        """The device array of a per-synapse index that is not kept (``_pre_idx``, ``_delays``), newly built."""
        backend = self.network.backend
        if key == "_pre_idx":
            return backend.asarray(self._host_pre_ranks().astype(self._state["_post_idx"].dtype))
        if key == "_delays":
            return backend.asarray(np.ascontiguousarray(self._host_delay_steps(), dtype=np.int32))
        raise KeyError(key)

    def _cached(self, key: str) -> Optional[np.ndarray]:
        """The host array of ``key`` if anyone still holds it."""
        reference = self._host_cache.get(key)
        return reference() if reference is not None else None

    def _cached_host(self, key: str, build: Any) -> np.ndarray:
        """A read-only host array made by ``build()``, shared while anyone holds it (kept only weakly)."""
        array = self._cached(key)
        if array is None:
            array = build()
            array.flags.writeable = False
            self._host_cache[key] = weakref.ref(array)
        return array

    def _host_pre_ranks(self) -> np.ndarray:
        """Every synapse's pre rank (int64, post-major), from ``_pre_idx`` when it exists, else from the groups."""
        def build() -> np.ndarray:
            if self._host_pre is not None:
                return self._host_pre.astype(np.int64)
            if self._state.built("_pre_idx"):
                return self.network.backend.to_host(self._state["_pre_idx"]).astype(np.int64)
            return pre_ranks_from_groups(self._host_groups(), self._count)
        return self._cached_host("pre", build)

    def _host_post_ranks(self) -> np.ndarray:
        """Every synapse's post rank (int64, post-major), from the row pointers."""
        return self._cached_host("post", lambda: post_ranks_from_rows(self._host_row_ptr))

    def _host_delay_steps(self) -> np.ndarray:
        """Every synapse's delay in steps (int32, post-major)."""
        def build() -> np.ndarray:
            steps = self._delay_steps
            if steps is None:
                return delays_from_groups(self._host_groups(), self._count)
            return np.full(self._count, int(steps), dtype=np.int32) if steps.ndim == 0 else steps.copy()
        return self._cached_host("delays", build)

    def _uniform_delay(self) -> Optional[int]:
        """The delay in steps when every synapse has the same one (1 without synapses), else None."""
        if self._delay_steps is not None:
            return int(self._delay_steps) if self._delay_steps.ndim == 0 else None
        return self._groups[0][0] if len(self._groups) == 1 else None

    def _compile(self) -> None:
        if not self._connected:
            raise StructureError(f"projection {self.name!r} ({self.pre.name} -> {self.post.name}) is not connected; "
                                 "call one of its connect_* methods before compile()")
        self.generated_source = {}
        self._functions = self._compile_functions(self.spec, self.generated_source)
        self._learning_functions = {}
        self._build_indexes()
        if not self._learning:
            self._apply_learning_mode()

    def _compile_functions(self, spec: Any, sources_out: Optional[dict] = None) -> dict[str, Any]:
        net = self.network
        xp, dtype = net.backend.xp, net.precision
        sources = {"pre_event": synapse_event_source(spec, "pre", dtype),
                   "post_event": synapse_event_source(spec, "post", dtype),
                   "continuous": synapse_continuous_source(spec),
                   "psp": synapse_psp_source(spec)}
        functions = {}
        for function, source in sources.items():
            if source is not None:
                if sources_out is not None:
                    sources_out[function] = source
                functions[function] = compile_function(source, function, xp, net.dt, dtype, net.backend.scatter_add)
        return functions

    # -- learning on and off (ANNarchy's enable_learning / disable_learning) ---------------
    def disable_learning(self) -> None:
        """Stop learning, as ANNarchy does.

        Spiking projections stop changing ``w``: the statements and equations
        that assign ``w`` are skipped, everything else (traces, transmission)
        goes on.  Rate-coded projections stop updating every synaptic
        variable.  While learning is off the projection runs its array code
        (on every backend).  Before ``compile()`` it takes effect at compile.
        """
        self._learning = False
        self._apply_learning_mode()

    def enable_learning(self, period: Optional[float] = None, offset: Optional[float] = None) -> None:
        """Learn again after :meth:`disable_learning` (ANNarchy's ``period`` / ``offset`` are not supported).

        Parameters
        ----------
        period, offset : float, optional
            Must be None (learning runs at every step).
        """
        if period is not None or offset is not None:
            raise NotImplementedError(f"projection {self.name!r}: enable_learning(period=, offset=) (learning every "
                                      "period ms) is not supported by gpunet; learning runs at every step")
        self._learning = True
        self._apply_learning_mode()

    @property
    def learning(self) -> bool:
        """Whether the projection learns (see :meth:`disable_learning`)."""
        return self._learning

    def _frozen_spec(self) -> Any:
        spec = self.spec
        if spec.spiking:
            def keep(statements: list) -> list:
                return [statement for statement in statements if statement.target != "w"]
            return dataclasses.replace(spec, pre_spike=keep(spec.pre_spike), post_spike=keep(spec.post_spike),
                                       equations=keep(spec.equations))
        return dataclasses.replace(spec, equations=[])

    def _apply_learning_mode(self) -> None:
        self.network._runners_changed()  # the runner property depends on learning
        if not self._functions:  # not compiled yet: compile() applies the mode
            return
        if self._learning:
            if self._learning_functions:
                self._functions, self._learning_functions = self._learning_functions, {}
            return
        if not self._learning_functions:
            self._learning_functions = self._functions
            self._functions = self._compile_functions(self._frozen_spec())

    # -- step runner (gpunet.network.runners) ---------------------------------
    @property
    def runner(self) -> ProjectionRunner:
        """What runs this projection's phases in each step.

        The runner :meth:`set_runner` chose (the array code by default); while
        learning is off, the array code, whose frozen rules skip the learning
        (generated kernels hold the learning rules).
        """
        return self._runner if self._learning else self._array_runner

    @property
    def array_runner(self) -> ProjectionRunner:
        """The array code (NumPy or CuPy) of this projection's phases."""
        return self._array_runner

    def set_runner(self, runner: Optional[ProjectionRunner]) -> None:
        """Run this projection's phases with ``runner`` from the next step on (None: the array code again).

        Parameters
        ----------
        runner : ProjectionRunner or None
            An object with ``transmit``, ``pre_events``, ``continuous`` and ``post_events`` (each taking the
            step); None: the projection's array code.

        Raises
        ------
        StructureError
            Before the network is compiled (runners are chosen at compile).
        TypeError
            When ``runner`` lacks one of ``transmit``, ``pre_events``, ``continuous``, ``post_events``.
        """
        if not self.network.compiled:
            raise StructureError(f"projection {self.name!r}: set_runner() needs a compiled network")
        if runner is not None:
            check_runner(runner, PROJECTION_PHASES, f"projection {self.name!r}")
        self._runner = self._array_runner if runner is None else runner
        self.network._runners_changed()

    def step_arrays(self) -> ProjectionArrays:
        """The live arrays a step of this projection reads and writes, for runners (no copy).

        Read them again at every step: a load may replace them between steps.
        """
        self._require_connected()
        return ProjectionArrays(self._state, self._groups)

    @property
    def max_delay(self) -> int:
        """Largest delay in steps (1 when there is no delay)."""
        if not self._connected or self._count == 0:
            return 1
        if self._delay_steps is not None:
            return int(self._delay_steps.max())
        return max(delay for delay, _pre_ptr, _pre_syn in self._groups)

    # -- one simulation step -------------------------------------------------
    def _side_arrays(self) -> tuple[Any, Any]:
        """The arrays ``pre.x`` / ``post.x`` read: each population's state, with its sums when the model reads them.

        ``pre.sum(exc)`` reads ``_sum_exc``: the population's summed input of this
        step, which is not part of its state (nothing saves it).
        """
        sides = []
        for side, population in (("pre", self.pre), ("post", self.post)):
            if side == "pre" and population._remote is not None:  # under comm: the whole pre population's
                sides.append(population._remote)
            elif any(s == side and a.startswith("_sum_") for s, a in self.spec.prepost):
                sides.append({**population._state, **{f"_sum_{t}": a for t, a in population._sums.items()}})
            else:
                sides.append(population._state)
        return sides[0], sides[1]

    def _transmit(self, step: int) -> None:
        if self.spec.spiking:
            self._pre_events(step)
        elif self.target in self.post._sums:
            total = self.post._sums[self.target]
            if self._csr is not None:
                total += self._csr @ self.pre._presynaptic_state()["r"]
            else:
                contribution = self._functions["psp"](self._state, self._state["_pre_idx"],
                                                      self._state["_post_idx"], *self._side_arrays())
                self.network.backend.scatter_add(total, self._state["_post_idx"], contribution)

    def _pre_events(self, step: int) -> None:
        function = self._functions.get("pre_event")
        if function is None:
            return
        backend, xp = self.network.backend, self.network.backend.xp
        conductance = self.post._state[f"g_{self.target}"]
        post_idx = self._state["_post_idx"]
        pre_idx = self._state["_pre_idx"] if self._event_uses_pre else None  # built at the first use
        for delay, pre_ptr, pre_syn in self._groups:
            spiking = xp.flatnonzero(self.pre._delayed_spikes(step, delay))
            if len(spiking) == 0:
                continue
            starts = pre_ptr[spiking]
            positions = backend.expand_ranges(starts, pre_ptr[spiking + 1] - starts)
            if len(positions) == 0:
                continue
            synapses = pre_syn[positions]
            if xp is np:  # NumPy casts int32 indexes to intp at every use: once here instead
                synapses = synapses.astype(np.intp)
            post = post_idx[synapses]
            pre = pre_idx[synapses] if pre_idx is not None else None
            if xp is np:
                post = post.astype(np.intp)
                pre = pre.astype(np.intp) if pre is not None else None
            function(self._state, synapses, pre, post, step, step * self.network.dt, conductance,
                     *self._side_arrays())

    def _update_continuous(self, step: int) -> None:
        function = self._functions.get("continuous")
        if function is not None:
            function(self._state, self._state["_pre_idx"], self._state["_post_idx"], step,
                     step * self.network.dt, *self._side_arrays())

    def _post_events(self, step: int) -> None:
        function = self._functions.get("post_event")
        if function is None:
            return
        backend, xp = self.network.backend, self.network.backend.xp
        spiking = xp.flatnonzero(self.post._spiked)
        if len(spiking) == 0:
            return
        row_ptr = self._state["_row_ptr"]
        starts = row_ptr[spiking]
        synapses = backend.expand_ranges(starts.astype(np.int64), (row_ptr[spiking + 1] - starts).astype(np.int64))
        if len(synapses) == 0:
            return
        # rows are contiguous: these gathers read consecutive memory
        pre = self._state["_pre_idx"][synapses] if self._event_uses_pre else None
        conductance = self.post._state.get(f"g_{self.target}")
        function(self._state, synapses, pre, self._state["_post_idx"][synapses], step, step * self.network.dt,
                 conductance, *self._side_arrays())

    # -- attribute access ----------------------------------------------------
    def _attribute_names(self) -> list[str]:
        return list(self.spec.attributes)

    def _label(self) -> str:
        return self.name

    def _require_connected(self) -> None:
        if not self._connected:
            raise StructureError(f"projection {self.name!r} is not connected yet")

    def _get_attribute(self, name: str) -> Any:
        attribute = self.spec.attributes[name]
        if not attribute.is_global:
            self._require_connected()
        if self.post._block is not None and not attribute.is_global:  # under comm: every process's rows
            return self.network._distributed.synapse_rows(self, name)
        host = self.network.backend.to_host(self._held(attribute)[name])
        if attribute.is_global:
            return python_scalar(host, attribute.kind)
        if attribute.semiglobal:
            return host[self.post_ranks].tolist()  # one value per post neuron with synapses, as ANNarchy
        return [host[a:b].tolist() for a, b in self._rows()]

    def _held(self, attribute: Any) -> Mapping[str, Any]:
        """Where ``attribute`` lives: the state, or its globals meanwhile for a projection built per block later."""
        if attribute.is_global and self.builds_per_block:
            return self._pending.globals
        return self._state

    def _rows(self) -> list[tuple[int, int]]:
        starts, stops = self._host_row_ptr[:-1], self._host_row_ptr[1:]
        return [(int(a), int(b)) for a, b in zip(starts, stops) if b > a]

    def _set_attribute(self, name: str, value: Any, generator=None) -> None:
        attribute = self.spec.attributes[name]
        if not attribute.is_global:
            self._require_connected()
        if self.post._block is not None and not attribute.is_global:  # under comm: this process's synapses
            self.network._distributed.set_synapses(self, name, value, generator)
            return
        if attribute.semiglobal:
            self._set_semiglobal(name, value, generator=generator)
            return
        dtype = attribute.dtype(self.network.precision)
        count = 1 if attribute.is_global else self.nb_synapses  # a global: no synapse needs to exist yet
        if not attribute.is_global and _is_per_row(value):
            value = self._flatten_rows(name, value)
        values = coerce_values(value, owner=self.name, attribute=attribute, size=count, shape=(count,),
                               dtype=dtype, generator=generator or (lambda: self.network._generator("init", 1 << 20 | self.id)))
        self.network.backend.assign(self._held(attribute)[name], values)

    def _set_semiglobal(self, name: str, value: Any, ranks: Optional[np.ndarray] = None, generator=None) -> None:
        """Set a semiglobal attribute at the post neurons ``ranks`` (default: ``post_ranks``, one value each)."""
        attribute = self.spec.attributes[name]
        ranks = np.asarray(self.post_ranks if ranks is None else ranks, dtype=np.int64)
        values = coerce_values(value, owner=self.name, attribute=attribute, size=len(ranks), shape=(len(ranks),),
                               dtype=attribute.dtype(self.network.precision),
                               generator=generator or (lambda: self.network._generator("init", 1 << 20 | self.id)))
        backend = self.network.backend
        host = backend.to_host(self._state[name]).copy()
        host[ranks] = values
        backend.assign(self._state[name], host)

    def _flatten_rows(self, name: str, value: Any) -> np.ndarray:
        """One value per synapse (post-major) from one row per dendrite (``post_ranks`` order).

        Raises
        ------
        ValueError
            When the number of rows or the length of a row differs from the
            connectivity.
        """
        rows = self._rows()
        value = list(value)
        lengths = [np.size(v) for v in value]
        expected = [b - a for a, b in rows]
        if lengths != expected:
            bad = next((k for k, (n, m) in enumerate(zip(lengths, expected)) if n != m), min(len(lengths),
                                                                                              len(expected)))
            raise ValueError(f"{self.name}.{name}: expected {len(rows)} rows (one per post neuron with synapses) "
                             f"of lengths {expected[:5]}{'...' if len(expected) > 5 else ''}; got {len(value)} rows, "
                             f"row {bad} has {lengths[bad] if bad < len(lengths) else 'none'} values instead of "
                             f"{expected[bad] if bad < len(expected) else 'none'}")
        if not rows:
            return np.zeros(0)
        return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in value])

    def device_view(self, name: str) -> Any:
        """The device array of attribute ``name`` over all synapses (post-major), no copy.

        Parameters
        ----------
        name : str
            A local attribute of the synapse model.
        """
        if name not in self.spec.attributes:
            raise AttributeError(f"projection {self.name!r} has no attribute {name!r}; "
                                 f"its model's attributes are: {', '.join(self.spec.attributes)}")
        self._require_connected()
        return self._state[name]

    # -- persistence ---------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The live arrays a save of this projection holds, by key, without copying them.

        Every attribute of the model (one value per synapse, post-major, a
        0-d global, or one value per post neuron for a semiglobal), then
        ``_last_event`` (event-driven models).  They change as
        the network runs: a save copies them before it returns.
        """
        return self._copy_targets()

    def _copy_targets(self) -> dict[str, Any]:
        """The live arrays :meth:`load_state_dict` copies into (and a save stages), by key."""
        arrays = {name: self._state[name] for name in self.spec.attributes if name in self._state}
        if "_last_event" in self._state:
            arrays["_last_event"] = self._state["_last_event"]
        return arrays

    def state_layout(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every array :meth:`load_state_dict` copies into, by key.

        Every attribute (one value per synapse, or ``()`` for a global; before
        a ``connect_*`` only the globals), then ``_last_event`` (event-driven models).
        """
        return {key: (tuple(array.shape), np.dtype(array.dtype)) for key, array in self._copy_targets().items()}

    def synapse_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(post, pre, delay_steps)`` of every synapse, post-major: read-only host arrays.

        Made from the projection's indexes at the first call and shared while
        anyone holds them (the same objects, so ``is`` tells a connectivity
        taken from here from another one); nothing keeps them otherwise.
        """
        self._require_connected()
        return self._host_post_ranks(), self._host_pre_ranks(), self._host_delay_steps()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load ``state`` into this projection; compiles an uncompiled network first.

        Parameters
        ----------
        state : mapping
            ``_connectivity``: a :meth:`prepare_connectivity` result, swapped
            in first; then keys of :meth:`state_layout` (of the new
            connectivity when one is given) with host arrays of exactly that
            shape and dtype, copied in.

        Raises
        ------
        StructureError
            Before anything changes: an unknown key, or an array of another
            shape or dtype.  See :meth:`Network.load_state_dict`.
        """
        self.network.load_state_dict({self: state})

    def _check_loadable(self, state: Mapping[str, Any]) -> None:
        """Raise StructureError when ``state`` could not apply as it is."""
        prepared = state.get("_connectivity")
        if prepared is not None:
            if not isinstance(prepared, dict) or prepared.get("projection") is not self:
                raise StructureError(f"projection {self.name!r}: _connectivity must come from its "
                                     "prepare_connectivity()")
            layout = {key: (tuple(array.shape), np.dtype(array.dtype)) for key, array in prepared["state"].items()
                      if key in self.spec.attributes or key == "_last_event"}
        else:
            layout = self.state_layout()
        for key, value in state.items():
            if key != "_connectivity":
                _check_copy(self.name, layout, key, value)

    def _swap_in(self, state: Mapping[str, Any]) -> None:
        """Install a prepared connectivity of ``state`` (assignments only)."""
        if "_connectivity" in state:
            self._install_connectivity(state["_connectivity"])

    def frozen_state(self, deferred: Optional[Any] = None) -> dict[str, Any]:
        """The connectivity: ``_post_ranks``, ``_row_ptr``, ``_pre_ranks`` and ``_delays`` (ms; 0-d when uniform).

        Read-only host arrays that are replaced, never modified, when the
        connectivity changes: a save may keep them without copying.  Under
        comm: this process's part (global post ranks, delays 0-d only when
        the whole projection's are uniform), a collective call.

        Parameters
        ----------
        deferred : callable, optional
            ``deferred(make, nbytes)`` wraps an array that must first be made
            from the projection's indexes (the pre ranks, unless something
            holds them already): ``make()`` builds it later, on another thread
            if need be, from arrays it captured now.  None: every array is
            made here.
        """
        if self.post._block is not None:
            return self.network._distributed.frozen_connectivity(self)
        if deferred is not None and self.network.backend.xp is np and self._cached("pre") is None:
            # what make() reads is replaced, never modified, when the connectivity changes
            if self._state.built("_pre_idx"):
                make = PreRanks(self._count, pre_idx=self._state["_pre_idx"])
            else:
                make = PreRanks(self._count, groups=self._host_groups())
            pre_ranks = deferred(make, 8 * self._count)
            post_ranks, row_ptr, _pre, delays = self._compressed_connectivity(with_pre=False)
        else:
            post_ranks, row_ptr, pre_ranks, delays = self._compressed_connectivity()
        return {"_post_ranks": post_ranks, "_row_ptr": row_ptr, "_pre_ranks": pre_ranks, "_delays": delays}

    def save(self, filename: str, **options: Any):
        """Save this projection's state alone (format by suffix, see :func:`gpunet.save`).

        Parameters
        ----------
        filename : str or Path
            The file.
        **options
            As for :func:`gpunet.save`.
        """
        from gpunet.io.api import save_object
        return save_object(self, filename, "projection", **options)

    def load(self, filename: str, strict: bool = False) -> None:
        """Restore this projection from a file of it alone or of a whole network (see :func:`gpunet.load`).

        Parameters
        ----------
        filename : str or Path
            The file.
        strict : bool
            Make a variable missing on either side an error.
        """
        from gpunet.io.api import load_object
        load_object(self, filename, "projection", strict=strict)

    # -- connectivity queries ------------------------------------------------
    @property
    def nb_synapses(self) -> int:
        """Number of synapses."""
        return self._count if self._connected else 0

    @property
    def post_ranks(self) -> list[int]:
        """Ranks of the post neurons that have at least one synapse (ascending)."""
        self._require_connected()
        if self.post._block is not None:  # under comm: the whole projection's (one allgather)
            return self.network._distributed.whole_connectivity(self)[0].tolist()
        return np.nonzero(np.diff(self._host_row_ptr))[0].tolist()

    @property
    def size(self) -> int:
        """Number of post neurons with synapses (dendrites), as in ANNarchy."""
        return len(self.post_ranks) if self._connected else 0

    def __len__(self) -> int:
        return self.size

    def connectivity(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(post_ranks, row_ptr, pre_ranks)``: rows only for post neurons with synapses.

        ``pre_ranks[row_ptr[k]:row_ptr[k+1]]`` are the pre ranks (ascending) of
        post neuron ``post_ranks[k]``.  Under comm: the whole projection's (one allgather).
        """
        if self.post._block is not None:
            return self.network._distributed.whole_connectivity(self)
        return tuple(array.copy() for array in self._compressed_connectivity()[:3])

    def _compressed_connectivity(self, with_pre: bool = True) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
        """Read-only ``(post_ranks, row_ptr, pre_ranks, delays_ms)``, shared until the connectivity changes.

        ``delays_ms`` is 0-d when every synapse has the same delay.  Saves
        reference these arrays instead of copying them.  The per-synapse ones
        are made from the indexes and kept only while anyone holds them.
        """
        self._require_connected()

        def rows() -> np.ndarray:
            counts = np.diff(self._host_row_ptr)
            return np.nonzero(counts)[0].astype(np.int64)

        def row_ptr() -> np.ndarray:
            counts = np.diff(self._host_row_ptr)
            pointers = np.zeros(np.count_nonzero(counts) + 1, dtype=np.int64)
            np.cumsum(counts[counts > 0], out=pointers[1:])
            return pointers

        def delays() -> np.ndarray:
            uniform = self._uniform_delay()
            if uniform is not None:
                return np.asarray(uniform * self.network.dt, dtype=np.float64)
            return self._host_delay_steps().astype(np.float64) * self.network.dt
        return (self._cached_host("rows", rows), self._cached_host("row_ptr", row_ptr),
                self._host_pre_ranks() if with_pre else None, self._cached_host("delays_ms", delays))

    def dendrite(self, post_rank: int) -> Dendrite:
        """The synapses of post neuron ``post_rank``.

        Parameters
        ----------
        post_rank : int
            Rank in the post population.
        """
        self._require_connected()
        self._check_dendrites_here()
        if not 0 <= post_rank < self.post.size:
            raise IndexError(f"post rank {post_rank} is outside population {self.post.name!r} of size {self.post.size}")
        return Dendrite(self, post_rank)

    @property
    def dendrites(self) -> list[Dendrite]:
        """One :class:`Dendrite` (the synapses of one post neuron) per post neuron with synapses."""
        self._check_dendrites_here()
        pre_ranks = self._host_pre_ranks()
        return [Dendrite(self, rank, pre_ranks) for rank in self.post_ranks]

    def _check_dendrites_here(self) -> None:
        """Dendrites read this process's rows by global rank: refused under comm (StructureError)."""
        if self.post._block is not None:
            raise StructureError(f"projection {self.name!r}: dendrite() is not available for a network simulated "
                                 "by several processes yet; read proj.w and proj.connectivity()")

    def nb_synapses_per_dendrite(self) -> list[int]:
        """The number of synapses of each post neuron that has any, in ``post_ranks`` order."""
        if self.post._block is not None:  # under comm: the whole projection's (one allgather)
            return np.diff(self.network._distributed.whole_connectivity(self)[1]).tolist()
        counts = np.diff(self._host_row_ptr)
        return counts[counts > 0].tolist()

    @property
    def delays(self) -> Any:
        """Delays in ms: one float when uniform, else one list per dendrite (under comm: the whole projection's)."""
        self._require_connected()
        if self.post._block is not None:
            return self.network._distributed.whole_delays(self)
        uniform = self._uniform_delay()
        if uniform is not None:
            return float(np.int32(uniform) * self.network.dt)
        milliseconds = self._host_delay_steps() * self.network.dt
        return [milliseconds[a:b].tolist() for a, b in self._rows()]

    @property
    def delay(self) -> Any:
        """ANNarchy 5's name of :attr:`delays`: ms, one float when uniform (``dt`` without delays)."""
        return self.delays

    def _synapses_label(self) -> str:
        if self.builds_per_block:  # a description must not make them
            return "synapses made at compile"
        return f"{self.nb_synapses} synapses"

    def __repr__(self) -> str:
        return (f"<Projection {self.name!r}: {self.pre.name} -> {self.post.name} ({self.target}), "
                f"{self.spec.name}, {self._synapses_label()}>")

    def _repr_html_(self) -> str:
        synapses = "not connected" if not self._connected else self._synapses_label() if self.builds_per_block \
            else f"{self.nb_synapses} ({self.size} post neurons with synapses)"
        return summary.table(f"Projection {self.name}", [
            ("pre -> post", f"{self.pre.name} -> {self.post.name}"), ("target", self.target),
            ("model", self.spec.name), ("synapses", synapses),
            ("parameters", summary.names(self.spec.parameters)), ("variables", summary.names(self.spec.variables)),
            ("learning", "on" if self._learning else "off")])
