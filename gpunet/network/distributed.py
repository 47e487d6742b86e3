"""One network simulated by the processes of an MPI communicator: the partitioned NumPy engine (issue 15).

``Network(comm=...)``: every process describes the whole network; at compile :meth:`DistributedEngine.split`
keeps this process's part: each population's contiguous block of neurons (:mod:`gpunet.io.pipeline.partition`)
and, of each projection, the synapses onto those neurons (post ranks made local, pre ranks global).  A
projection connected under comm is made then for those neurons alone (:mod:`gpunet.network.block_build`: the
connector's rows of the block, the block's part of the weight and delay draws, bit-identical to a one-process
build); one connected with views, per-synapse arrays or unbounded delay distributions was built whole at its
``connect_*`` call and is cut.  Populations hold every neuron until compile.

In a step (:class:`DistributedStepLoop`, the order of :mod:`gpunet.network.network`) each process updates its
own neurons, drawing their noise with their global ranks as counters (so the draws are those of a one-process
run), and its own synapses.  What crosses processes:

- spikes: each process buffers its neurons' spikes of one minimum-delay interval and
  :class:`~gpunet.network.spike_exchange.SpikeExchange` makes one ``allgather`` per interval; every process
  then writes them into the spike rings of the whole populations, which the projections read with their
  (uniform or per-synapse) delays exactly as in one process: a spike of step ``t`` is first read at step
  ``t + d_min``, after the exchange;
- pre-synaptic attributes that synapses read (``pre.r`` of rate-coded projections and of ``CurrentInjection``,
  any ``pre.x``, the summed inputs ``pre.sum(target)``): one ``allgather`` per step, after the neuron update, of
  every such attribute at once.  It serves the synaptic
  equations and post-spike statements of that step and the transmission of the next (synaptic statements do
  not write pre-synaptic attributes); after a compile, a load or an assignment the next step gathers first.

Semiglobal synaptic attributes hold this process's post neurons; a monitor of a population view records the
view's neurons of this process's block (gathered in the view's order); scheduled inputs set their block from
the global schedule.  Every process's spike rings have the depth of the whole network's longest delay from the
population, so the shards of a save hold rings of one depth.

User access answers for the whole network: ``pop.v`` and ``proj.w`` gather every process's part with one
``allgather`` (every process must ask, as for any collective), and an assignment keeps this process's part of
the whole value given on every process.
"""
from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from gpunet.errors import StructureError
from gpunet.io.pipeline.partition import block_of
from gpunet.io.pipeline.restore import LoadWarning
from gpunet.io.pipeline.state_types import ring_row
from gpunet.network.distributed_device import PinnedTransfers, presynaptic_array
from gpunet.network.runners import StepLoop
from gpunet.network.spike_exchange import SpikeExchange
from gpunet.network.values import coerce_values

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network

__all__ = ["DistributedEngine", "DistributedStepLoop", "check_comm"]

log = logging.getLogger("gpunet")


def check_comm(comm: Any) -> Any:
    """Return ``comm`` when it behaves as an mpi4py communicator (``Get_rank``, ``Get_size``, ``allgather``).

    Parameters
    ----------
    comm : mpi4py communicator
        The processes that simulate one network together.

    Raises
    ------
    TypeError
        For anything else, naming what it lacks.
    """
    missing = [name for name in ("Get_rank", "Get_size", "allgather", "allreduce")
               if not callable(getattr(comm, name, None))]
    if missing:
        raise TypeError(f"comm must be an mpi4py communicator (such as MPI.COMM_WORLD); "
                        f"{type(comm).__name__} has no {', '.join(missing)}")
    return comm


def _per_neuron(population: Any, name: str) -> bool:
    """Whether ``pre.<name>`` of ``population`` holds one value per neuron (``_sum_<target>``: its summed input)."""
    return name.startswith("_sum_") or not population.spec.attributes[name].is_global


def _semiglobal(projection: Any, name: str) -> bool:
    attribute = projection.spec.attributes.get(name)
    return attribute is not None and attribute.semiglobal


class DistributedEngine:
    """This process's part of a network spread over the processes of ``comm``, and what they exchange.

    Parameters
    ----------
    network : Network
        The network (described whole on every process), about to compile.
    comm : mpi4py communicator
        Its processes.
    """

    def __init__(self, network: "Network", comm: Any) -> None:
        self.network = network
        self.comm = comm
        self.rank, self.nprocs = int(comm.Get_rank()), int(comm.Get_size())
        self._frozen: dict[Any, tuple[Any, dict]] = {}  # projection -> (its delays array, its frozen_state part)
        self._split_at: dict[Any, tuple[int, int, int]] = {}
        self.depths: dict[Any, int] = {}  # population -> the longest delay from it over the whole network (steps)  # projection -> whole synapses [s0, s1) kept, of count
        self.reads: list[tuple[Any, list[str]]] = []  # population -> the attributes projections read as pre.x
        self.spiking: list = []  # the spiking populations
        self.sent: list = []  # those whose spikes are exchanged: the pre-synaptic ones of spiking projections
        self.exchange: Optional[SpikeExchange] = None
        self.interval = 1
        self.start = 0  # step of the first buffered spikes
        self.pending = 0  # steps whose spikes are buffered, not exchanged yet
        self.fresh = False  # whether the populations' _remote arrays hold the current values
        self.transfers: Optional[PinnedTransfers] = None  # on a GPU: the pinned host buffers of the exchanges

    # -- compile -----------------------------------------------------------------
    def check(self) -> None:
        """Raise before anything changes when the network uses what the distributed engine cannot run yet."""
        net = self.network
        for population in net.populations:  # an update of its own must know how to run on a block
            if (not population.equations_update and not hasattr(population, "prepare_spike_times")
                    and not getattr(population, "scheduled_attributes", ())):
                raise StructureError(f"Network(comm=...): population {population.name!r} "
                                     f"({type(population).__name__}) updates without its model's equations; the "
                                     "distributed engine does not split it yet")
        for projection in net.projections:
            if not projection.equations_transmit and not getattr(projection, "injects_current", False):
                raise StructureError(f"Network(comm=...): projection {projection.name!r} "
                                     f"({type(projection).__name__}) transmits without a synapse model; the "
                                     "distributed engine does not split it yet")

    def split(self) -> None:
        """Keep this process's blocks of neurons and the synapses onto them (at compile, before the objects compile;
        after :meth:`check`)."""
        net = self.network
        for population in net.populations:
            population._keep_block(*block_of(population.size, self.nprocs, self.rank))
        backend = net.backend
        for projection in net.projections:  # prepare_connectivity keeps the synapses onto this process's neurons
            if projection.builds_per_block:  # connected under comm: made for this process's post neurons only
                first, stop, total = projection.build_own_block()
                if total is not None:
                    self._split_at[projection] = (first, stop, total)
                continue
            values = {name: backend.to_host(projection._state[name]) for name in projection.spec.attributes}
            if "_last_event" in projection._state:
                values["_last_event"] = backend.to_host(projection._state["_last_event"])
            post, pre, delays = projection.synapse_arrays()
            lo, hi = projection.post._block
            row_ptr = projection._host_row_ptr
            self._split_at[projection] = (int(row_ptr[lo]), int(row_ptr[hi]), len(post))
            projection._install_connectivity(projection.prepare_connectivity(post, pre, delays, values,
                                                                             indexes=False))
        self._whole_delays()
        reads: dict[Any, list[str]] = {}
        for projection in net.projections:
            names = [name for side, name in projection.spec.prepost if side == "pre"]
            if ((not projection.spec.spiking or getattr(projection, "injects_current", False))
                    and "r" in projection.pre.spec.attributes):
                names.append("r")  # the weighted sum's (or the injected current's) pre.r
            for name in names:
                if _per_neuron(projection.pre, name) and name not in reads.get(projection.pre, []):
                    reads.setdefault(projection.pre, []).append(name)
        self.reads = [(population, reads[population]) for population in net.populations if population in reads]
        self.spiking = [p for p in net.populations if p.spiking]
        # only the spikes some spiking projection reads cross processes (a save holds each process's own columns)
        self.sent = [p for p in self.spiking if any(proj.pre is p and proj.spec.spiking for proj in net.projections)]
        self.exchange = SpikeExchange(self.comm, [(p.name, p.size) for p in self.sent], self.interval)
        self.pending, self.fresh = 0, False
        for monitor in net.monitors:
            monitor._place_view()  # a view's neurons of this process's block
        if backend.is_gpu:  # populations compile their rings later: the buffers need only their sizes
            self.transfers = PinnedTransfers(backend, self.sent, self.reads, self.interval)
        chosen = "given by device=" if net.device_request is not None else "by its rank on its node"
        log.info("gpunet: process %d of %d runs on %s%s", self.rank, self.nprocs, backend.describe(),
                 f" (device {chosen})" if backend.is_gpu else "")

    def _whole_delays(self) -> None:
        """The exchange interval (the whole network's minimum delay) and each population's longest delay (the
        depth of every process's spike ring: a save's shards hold rings of one depth), from every process's
        synapses (one allgather)."""
        net = self.network
        local = [(int(p._host_delay_steps().min()) if p.spec.spiking and p.nb_synapses else None, p.max_delay)
                 for p in net.projections]
        parts = self.comm.allgather(local)
        minimums = [part[k][0] for part in parts for k in range(len(local)) if part[k][0] is not None]
        self.interval = min(minimums, default=1)
        self.depths = {}
        for k, projection in enumerate(net.projections):
            longest = max(part[k][1] for part in parts)
            self.depths[projection.pre] = max(self.depths.get(projection.pre, 1), longest)

    # -- a step ------------------------------------------------------------------
    def changed(self) -> None:
        """A population's attributes were assigned or loaded: gather the pre-synaptic ones again before a step."""
        self.fresh = False

    def share_presynaptic(self) -> None:
        """One allgather of every attribute projections read as ``pre.x``, into the populations' ``_remote``."""
        if not self.reads:
            self.fresh = True
            return
        if self.transfers is not None:
            self._share_presynaptic_device()
            return
        backend = self.network.backend
        mine = [backend.to_host(presynaptic_array(population, name)) for population, names in self.reads
                for name in names]
        parts = self.comm.allgather(mine)
        index = 0
        for population, names in self.reads:
            remote = dict(population._state)
            for name in names:
                remote[name] = backend.asarray(np.concatenate([part[index] for part in parts]))
                index += 1
            population._remote = remote
        self.fresh = True

    def record_spikes(self, step: int) -> None:
        """Buffer the global ranks of this process's neurons that spiked at ``step`` (and write its own ring columns).

        Parameters
        ----------
        step : int
            The step just computed.
        """
        if self.pending == 0:
            self.start = step
        if self.transfers is not None:
            self._record_spikes_device(step)
            return
        backend = self.network.backend
        for population in self.spiking:
            spiked = backend.to_host(population._spiked)
            if population in self.sent:
                self.exchange.record(step - self.start, population.name, np.flatnonzero(spiked) + population._first)
            # this process's own columns of the ring are written at once, so a save needs no exchange
            ring = population._history
            ring[ring_row(step, ring.shape[0]), population._first:population._first + population._count] = spiked
        self.pending += 1

    def exchange_spikes(self) -> None:
        """One allgather of the buffered spikes; every process writes them into the whole populations' rings."""
        if self.pending == 0:
            return
        steps = self.exchange.exchange()
        if self.transfers is not None:
            for population in self.sent:
                self.transfers.write_rows(population, self.start, steps[:self.pending])
            self.pending = 0
            return
        backend = self.network.backend
        for offset in range(self.pending):
            step = self.start + offset
            for population in self.sent:
                ring = population._history
                row = np.zeros(population.size, dtype=bool)
                row[steps[offset][population.name]] = True
                ring[ring_row(step, ring.shape[0])] = backend.asarray(row)
        self.pending = 0

    def after_step(self) -> None:
        """Exchange the buffered spikes when they span one minimum-delay interval."""
        if self.pending >= self.interval:
            self.exchange_spikes()

    def reset(self) -> None:
        """Forget the buffered spikes (``Network.reset``, a load), and exchange once per the minimum delay of the
        connectivity now installed (a load may have changed it; one allgather)."""
        if self.exchange is not None:
            self.exchange.clear()
        self.pending, self.fresh = 0, False
        # a load may have rebuilt the synapses of some processes only: every process gathers its frozen
        # connectivity again at the next save, so the allgather of frozen_connectivity stays collective
        self._frozen.clear()
        local = [int(p._host_delay_steps().min()) for p in self.network.projections
                 if p.spec.spiking and p.nb_synapses]
        minimums = [m for m in self.comm.allgather(min(local, default=None)) if m is not None]
        interval = min(minimums, default=1)
        if self.exchange is not None and interval != self.interval:
            counters = (self.exchange.bytes_sent, self.exchange.bytes_received, self.exchange.exchanges)
            self.exchange = SpikeExchange(self.comm, [(p.name, p.size) for p in self.sent], interval)
            self.exchange.bytes_sent, self.exchange.bytes_received, self.exchange.exchanges = counters
        self.interval = interval
        if self.transfers is not None:
            self.transfers.reserve_rows(interval)

    # -- a step on a GPU: the exchanges through pinned host buffers (gpunet.network.distributed_device) -----------
    def _share_presynaptic_device(self) -> None:
        transfers = self.transfers
        mine = [transfers.own_values(population, name) for population, names in self.reads for name in names]
        parts = self.comm.allgather(mine)
        index = 0
        for population, names in self.reads:
            remote = dict(population._state)
            for name in names:
                remote[name] = transfers.whole_values(population, name, [part[index] for part in parts])
                index += 1
            population._remote = remote
        self.fresh = True

    def _record_spikes_device(self, step: int) -> None:
        for population in self.spiking:
            if population in self.sent:
                spiked = self.transfers.spikes(population)
                self.exchange.record(step - self.start, population.name, np.flatnonzero(spiked) + population._first)
            ring = population._history  # this process's own columns, on the device
            ring[ring_row(step, ring.shape[0]), population._first:population._first + population._count] = \
                population._spiked
        self.pending += 1

    def agree(self, value: bool, any_neuron: bool) -> bool:
        """A stop condition over every process's neurons (one allreduce).

        Parameters
        ----------
        value : bool
            Whether it holds on this process's neurons.
        any_neuron : bool
            True: it holds when it holds on any process; False: on all.
        """
        from mpi4py import MPI  # only here: a communicator exists, so mpi4py does
        return bool(self.comm.allreduce(bool(value), op=MPI.LOR if any_neuron else MPI.LAND))

    # -- the state protocol: this process's part ------------------------------------------
    def own_synapses(self, projection: Any, post: np.ndarray, pre: np.ndarray, delay_steps: np.ndarray,
                     values: Optional[dict]) -> tuple:
        """Of a whole connectivity (post-major, global ranks): the synapses onto this process's post neurons.

        Returns ``(post - lo, pre, delay_steps, values)`` of those synapses (``values``: per-synapse arrays
        cut, 0-d ones kept), for ``Projection.prepare_connectivity``.

        Parameters
        ----------
        projection : Projection
            Its post population holds its block.
        post, pre, delay_steps : numpy.ndarray
            Every synapse of the whole projection, post-major.
        values : dict or None
            Host arrays of attributes (per synapse, or 0-d).
        """
        lo, hi = projection.post._block
        post = np.asarray(post, dtype=np.int64)
        s0, s1 = (int(i) for i in np.searchsorted(post, [lo, hi], side="left"))
        count = len(post)
        kept = None
        if values is not None:
            kept = {name: self._own_value(projection, name, value, s0, s1, count) for name, value in values.items()}
        return post[s0:s1] - lo, np.asarray(pre)[s0:s1], np.asarray(delay_steps)[s0:s1], kept

    @staticmethod
    def _own_value(projection: Any, name: str, value: Any, s0: int, s1: int, count: int) -> Any:
        """This process's part of a whole value: a semiglobal's post neurons, a local's synapses ``[s0, s1)``."""
        if _semiglobal(projection, name):
            lo, hi = projection.post._block
            return np.asarray(value)[lo:hi] if np.shape(value) == (projection.post.size,) else value
        return value if np.ndim(value) == 0 or np.shape(value) != (count,) else np.asarray(value)[s0:s1]

    def frozen_connectivity(self, projection: Any) -> dict[str, np.ndarray]:
        """``Projection.frozen_state`` of this process's part: global post ranks; delays 0-d only when the whole
        projection's are uniform (one allgather when the connectivity changed, so every process's part agrees).

        Parameters
        ----------
        projection : Projection
            A projection of this network.
        """
        delays_steps = projection._host_delay_steps()
        cached = self._frozen.get(projection)
        if cached is not None and cached[0] is delays_steps:
            return cached[1]
        post_ranks, row_ptr, pre_ranks, _ = projection._compressed_connectivity()
        span = (int(delays_steps.min()), int(delays_steps.max())) if len(delays_steps) else None
        spans = [s for s in self.comm.allgather(span) if s is not None]
        dt = self.network.dt
        if len({value for s in spans for value in s}) <= 1:  # uniform over the whole projection (or empty)
            delays = np.asarray((spans[0][0] if spans else 1) * dt, dtype=np.float64)
        else:
            delays = delays_steps.astype(np.float64) * dt
        frozen = {"_post_ranks": post_ranks + projection.post._first, "_row_ptr": row_ptr,
                  "_pre_ranks": pre_ranks, "_delays": delays}
        for array in frozen.values():
            array.flags.writeable = False
        self._frozen[projection] = (delays_steps, frozen)
        return frozen

    def own_states(self, states: list) -> list:
        """``Network.load_state_dict``'s states (whole populations) with this process's block of each array.

        A load planned before compile (the network compiles as it loads) gave projections whole values: they
        are cut to the synapses kept at the split, and a connectivity prepared whole is prepared again for
        this process's part.

        Parameters
        ----------
        states : list of (object, dict)
            Population or projection and the state ``load_state_dict`` takes, validated.
        """
        owned = []
        for obj, state in states:
            block = getattr(obj, "_block", None)
            if block is not None:  # whole values are cut; a load of this process's rows gave its block already
                state = {key: value[..., block[0]:block[1]]
                         if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] == obj.size
                         else value for key, value in state.items()}
            elif obj in self._split_at:
                state = self._own_projection_state(obj, state)
            elif any(_semiglobal(obj, key) for key in state):  # one value per post neuron of the whole population
                state = {key: self._own_value(obj, key, value, 0, 0, -1) if _semiglobal(obj, key) else value
                         for key, value in state.items()}
            if "_connectivity" in state:  # recordings of the old synapses no longer fit (a load keeps none here)
                for monitor in self.network.monitors:
                    if monitor.projection is obj and monitor.nbytes:
                        warnings.warn(f"projection {obj.name!r} gets other synapses from the file; monitor "
                                      f"{monitor.name!r} drops what it recorded before the load", LoadWarning,
                                      stacklevel=4)
                        monitor.reset()
            owned.append((obj, state))
        self._split_at = {}  # only a plan made before the split can hold whole projections
        return owned

    def _own_projection_state(self, projection: Any, state: dict) -> dict:
        s0, s1, total = self._split_at[projection]
        state = dict(state)
        prepared = state.get("_connectivity")
        if prepared is not None and len(prepared["row_ptr"]) != projection.post._count + 1:
            backend = self.network.backend
            values = {key: backend.to_host(value) for key, value in prepared["state"].items()
                      if key in projection.spec.attributes or key == "_last_event"}
            state["_connectivity"] = projection.prepare_connectivity(prepared["post"], prepared["pre"],
                                                                     prepared["delay_steps"], values)
        local = projection.nb_synapses
        for key, value in state.items():
            if key == "_connectivity":
                continue
            if _semiglobal(projection, key) or (total != local and np.shape(value) == (total,)):
                state[key] = self._own_value(projection, key, value, s0, s1, total)
        return state

    # -- user access ---------------------------------------------------------------
    def gather_neurons(self, local: np.ndarray) -> np.ndarray:
        """The whole population's values from every process's block (one allgather).

        Parameters
        ----------
        local : numpy.ndarray
            This process's block.
        """
        return np.concatenate(self.comm.allgather(np.asarray(local)))

    def gather_synapses(self, local: np.ndarray) -> np.ndarray:
        """The whole projection's values, post-major, from every process's synapses (one allgather).

        Parameters
        ----------
        local : numpy.ndarray
            One value per synapse of this process.
        """
        return np.concatenate(self.comm.allgather(np.asarray(local)))

    def _whole_rows(self, projection: Any, local: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """One allgather: the whole projection's values, its row offsets (one row per post neuron) and this
        process's first synapse."""
        counts = np.diff(np.asarray(projection._host_row_ptr, dtype=np.int64))
        parts = self.comm.allgather((counts, np.asarray(local)))
        all_counts = np.concatenate([p[0] for p in parts])
        row_ptr = np.concatenate(([0], np.cumsum(all_counts)))
        first = int(sum(int(p[0].sum()) for p in parts[:self.rank]))
        return np.concatenate([p[1] for p in parts]), row_ptr, first

    def synapse_rows(self, projection: Any, name: str) -> list:
        """``proj.<name>`` of the whole projection: one list per post neuron with synapses (ANNarchy's layout).

        Parameters
        ----------
        projection : Projection
            A projection of this network.
        name : str
            A local synaptic attribute.
        """
        local = self.network.backend.to_host(projection._state[name])
        if _semiglobal(projection, name):  # one value per post neuron with synapses, as one process answers
            values, row_ptr, _ = self._whole_rows(projection, local)
            return values[np.flatnonzero(np.diff(row_ptr))].tolist()
        values, row_ptr, _ = self._whole_rows(projection, local)
        return [values[a:b].tolist() for a, b in zip(row_ptr[:-1], row_ptr[1:]) if b > a]

    def whole_connectivity(self, projection: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``Projection.connectivity()`` of the whole projection (one allgather of every process's part).

        Parameters
        ----------
        projection : Projection
            A projection of this network.
        """
        post_ranks, row_ptr, pre_ranks, _ = projection._compressed_connectivity()
        parts = self.comm.allgather((post_ranks + projection.post._first, np.diff(row_ptr), pre_ranks))
        counts = np.concatenate([part[1] for part in parts])
        return (np.concatenate([part[0] for part in parts]), np.concatenate(([0], np.cumsum(counts))),
                np.concatenate([part[2] for part in parts]))

    def whole_delays(self, projection: Any) -> Any:
        """``Projection.delays`` of the whole projection: ms, one float when uniform, else one list per dendrite.

        Parameters
        ----------
        projection : Projection
            A projection of this network.
        """
        steps, row_ptr, _ = self._whole_rows(projection, projection._host_delay_steps())
        milliseconds = steps * self.network.dt
        if not len(steps):
            return float(self.network.dt)
        if np.all(steps == steps[0]):
            return float(milliseconds[0])
        return [milliseconds[a:b].tolist() for a, b in zip(row_ptr[:-1], row_ptr[1:]) if b > a]

    def set_synapses(self, projection: Any, name: str, value: Any, generator: Any = None) -> None:
        """Assign ``value`` (for the whole projection, the same on every process) and keep this process's part.

        Parameters
        ----------
        projection : Projection
            A projection of this network.
        name : str
            A local synaptic attribute.
        value : number, array, rows or Distribution
            For the whole projection (one row per post neuron with synapses, or one value per synapse).
        generator : callable, optional
            The generator factory of a distribution's draws.
        """
        attribute = projection.spec.attributes[name]
        _, row_ptr, s0 = self._whole_rows(projection, np.zeros(0))
        if attribute.semiglobal:
            self._set_semiglobal(projection, name, value, np.flatnonzero(np.diff(row_ptr)), generator)
            return
        s1 = s0 + projection.nb_synapses
        counts = np.diff(row_ptr)
        size = int(row_ptr[-1])
        if isinstance(value, (list, tuple)) and value and all(np.ndim(v) == 1 for v in value):
            lengths = [len(v) for v in value]
            if lengths != counts[counts > 0].tolist():
                raise ValueError(f"{projection.name}.{name}: expected one row per post neuron with synapses "
                                 f"({int(np.count_nonzero(counts))} rows of the connectivity's lengths)")
            value = np.concatenate([np.asarray(v, dtype=np.float64) for v in value])
        network = self.network
        values = coerce_values(value, owner=projection.name, attribute=attribute, size=size, shape=(size,),
                               dtype=attribute.dtype(network.precision),
                               generator=generator or (lambda: network._generator("init", 1 << 20 | projection.id)),
                               part=(s0, s1))  # a distribution draws this process's synapses only
        network.backend.assign(projection._state[name], values)

    def _set_semiglobal(self, projection: Any, name: str, value: Any, ranks: np.ndarray, generator: Any) -> None:
        """A semiglobal attribute set at the whole projection's post neurons with synapses ``ranks``: this process
        keeps those of its block (the values are coerced, or drawn, for all ``ranks`` as by one process)."""
        network = self.network
        attribute = projection.spec.attributes[name]
        values = coerce_values(value, owner=projection.name, attribute=attribute, size=len(ranks),
                               shape=(len(ranks),), dtype=attribute.dtype(network.precision),
                               generator=generator or (lambda: network._generator("init", 1 << 20 | projection.id)))
        lo, hi = projection.post._block
        mine = (ranks >= lo) & (ranks < hi)
        host = network.backend.to_host(projection._state[name]).copy()
        host[ranks[mine] - lo] = values[mine]
        network.backend.assign(projection._state[name], host)

    def gather_recordings(self, monitor: Any, raw: dict) -> dict:
        """A monitor's recordings of every process, in the whole object's order (one allgather per variable).

        Parameters
        ----------
        monitor : Monitor
            A monitor of this network.
        raw : dict
            Its recordings on this process: ``{name: (values or spike indexes, steps)}``.
        """
        held = monitor._view_held  # a view: the positions in the view of the neurons recorded here
        gathered = {}
        for name, (values, steps) in raw.items():
            if name == "spike":
                index = held[values] if held is not None else np.asarray(values) + monitor.population._first
                parts = self.comm.allgather((index, np.asarray(steps)))
                gathered[name] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            elif np.ndim(values) == 2 and held is not None:  # columns back in the view's order
                parts = self.comm.allgather((np.asarray(values), held))
                whole = np.empty((values.shape[0], len(monitor._view_ranks)), dtype=values.dtype)
                whole[:, np.concatenate([p[1] for p in parts])] = np.concatenate([p[0] for p in parts], axis=1)
                gathered[name] = (whole, steps)
            elif np.ndim(values) == 2:
                parts = self.comm.allgather(np.asarray(values))
                gathered[name] = (np.concatenate(parts, axis=1), steps)
            else:
                gathered[name] = (values, steps)
        return gathered


class DistributedStepLoop(StepLoop):
    """The step loop of a network under comm: the default step loop's phases plus the exchanges.

    Parameters
    ----------
    network : Network
        A compiled network under comm.
    engine : DistributedEngine
        Its part and exchanges.
    """

    kind = "distributed"

    def __init__(self, network: "Network", engine: DistributedEngine) -> None:
        super().__init__(network)
        self.engine = engine

    def _begin_step(self, t: int) -> None:
        if not self.engine.fresh:
            self.engine.share_presynaptic()

    def _spikes_written(self, t: int) -> None:
        self.engine.record_spikes(t)  # the block's spikes into its ring columns and the exchange buffer
        self.engine.share_presynaptic()

    def _end_step(self, t: int) -> None:
        self.engine.after_step()
