"""Call generated kernels with a network's arrays: the calling contract of the fused path.

The classes here know *what* to pass to each kernel of a
:class:`~gpunet.codegen.cuda.common.CudaUnit`; a *launcher* knows *how*:
:class:`gpunet.codegen.runtime.cupy_kernels.CupyLauncher` launches on a GPU,
:class:`gpunet.codegen.runtime.host_build.HostLauncher` runs the same source compiled
as host C++ (sequential loops), which is how the kernels are tested without a
GPU.  A launcher is any callable ``launcher(kernel, values)`` taking a
:class:`~gpunet.codegen.cuda.common.KernelInfo` and one value per parameter.

Contract (each call does in place what the named array-code step does)
----------------------------------------------------------------------
``PopulationKernels.update(state, sums, spiked, step)``
    ``Population._update(step)`` for the population's model: the global
    equations (a kernel of one thread, when the model has some), noise, equations,
    conductance reset, spike test and reset, refractory counter, last spike
    step.  ``state`` is ``population._state``, ``sums`` ``population._sums``;
    the spike mask is written into ``spiked`` (``population._spiked``).
``ProjectionKernels.pre_events(state, step, g_target, pre_state, post_state, lists, group_table, rows)``
    ``Projection._pre_events(step)``; ``lists`` are the projection's
    :class:`SpikeLists` of the pre population's spike ring (``_history``),
    of which ``rows`` rows are listed first (1: the row the previous step
    wrote; the ring's depth: every row), ``group_table`` the projection's
    ``_groups`` as a device table (see ``KernelProjectionRunner.group_table``).
``ProjectionKernels.post_events(state, step, spiked, pre_state, post_state)``
    ``Projection._post_events(step)``; ``spiked`` is the post population's mask.
``ProjectionKernels.continuous(state, step, pre_state, post_state)``
    ``Projection._update_continuous(step)``: the semiglobal equations (one
    thread per post neuron), the global ones (one thread), then the synapse-wise ones.
``ProjectionKernels.rate_sum(state, step, total, pre_state, post_state)``
    The rate-coded branch of ``Projection._transmit(step)``: adds to ``total``
    (the post population's ``_sums[target]``).

Every projection call also takes ``pre_sums`` and ``post_sums`` (keywords):
the pre and post populations' summed inputs by target, which
``pre.sum(exc)``/``post.sum(exc)`` read (``PopulationArrays.sums``).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Optional, Protocol, Sequence

import numpy as np

from gpunet.codegen.cuda.codegen import PACK_KERNELS, RNG_KERNELS
from gpunet.codegen.cuda.common import CudaUnit, KernelInfo
from gpunet.codegen.cuda.synapse import SPIKE_CHUNK, merged_row_params
from gpunet.codegen.runtime.launch_plan import C_DTYPES, BoundKernel, check_arguments, kernel_plan

__all__ = ["C_DTYPES", "check_arguments", "Launcher", "PopulationKernels", "ProjectionKernels", "RandomStreams",
           "Packer", "pack_layout", "SpikeLists", "spike_lists"]

#: Post neurons per block of the ordered propagation kernel (at most ``SPIKE_CHUNK``: its shared table of sums).
POST_SLICE = SPIKE_CHUNK
#: Warps of the atomic propagation kernel (they share the arriving events; more only add idle warps).
ATOMIC_WARPS = 1024

PACK_ALIGNMENT = 64  # the alignment of gpunet.io.pipeline.host_pool's buffers: a packed buffer maps onto a BufferSet


_NO_SUMS: Mapping[str, Any] = MappingProxyType({})  # a projection call's default pre_sums / post_sums


@dataclass
class SpikeLists:
    """The spiking ranks of each row of a spike ring, on the device, for the one-launch propagation kernels.

    Attributes
    ----------
    history : array
        The spike ring listed (``depth x pre_size`` bool).
    chunk_counts : array
        int64 ``depth x chunks``: spikes per chunk of ``SPIKE_CHUNK`` neurons of each row.
    counts : array
        int64 ``depth``: spikes of each row.
    lists : array
        ``depth x pre_size`` of the projection's index type: row ``r``'s spiking ranks, ascending, in
        ``lists[r, :counts[r]]``.

    Projections from one population may share them (a step graph lists each ring once per step).
    """

    history: Any
    chunk_counts: Any
    counts: Any
    lists: Any

    @property
    def depth(self) -> int:
        """Rows of the spike ring."""
        return int(self.history.shape[0])

    @property
    def chunks(self) -> int:
        """Chunks of ``SPIKE_CHUNK`` neurons per row."""
        return int(self.chunk_counts.shape[1])


def spike_lists(history: Any, index: Any, zeros: Callable[..., Any]) -> SpikeLists:
    """Empty :class:`SpikeLists` for ``history`` (listed by the first propagation, every row).

    Parameters
    ----------
    history : array
        A population's spike ring (``depth x size`` bool), on the device.
    index : numpy.dtype
        The projection's index type (of ``_post_idx``).
    zeros : callable
        ``zeros(shape, dtype)``: a new zeroed device array (``xp.zeros``).
    """
    depth, size = (int(d) for d in history.shape)
    chunks = max(1, -(-size // SPIKE_CHUNK))
    return SpikeLists(history, zeros((depth, chunks), dtype=np.int64), zeros(depth, dtype=np.int64),
                      zeros((depth, size), dtype=np.dtype(index)))


class _PostForPre(Mapping):
    """A projection state where ``_pre_idx`` reads ``_post_idx``: for kernels whose element reads no pre rank.

    The post-synaptic events kernel takes the pre rank of each synapse for
    the element function; a model that reads no ``pre.`` never uses it, and
    binding ``_post_idx`` in its place keeps the pre ranks off the device
    (``_pre_idx`` is built where something reads it).
    """

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state

    def __getitem__(self, key: str) -> Any:
        return self.state["_post_idx" if key == "_pre_idx" else key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.state)

    def __len__(self) -> int:
        return len(self.state)


class Launcher(Protocol):
    def __call__(self, kernel: KernelInfo, values: Sequence[Any]) -> None: ...


class PopulationKernels:
    """The fused neuron update of one population.

    Parameters
    ----------
    unit : CudaUnit
        The population's neuron unit (:func:`gpunet.codegen.cuda.codegen.neuron_unit`).
    launcher : callable
        Runs a kernel (see the module docstring).
    size : int
        Number of neurons.
    dt : float
        Step size (ms).
    noise_keys : mapping of int to int
        Stream key of each noise site (``population._noise_keys``, kept by reference).
    clock : device array, optional
        The one-element step counter that clocked kernels read
        (:func:`gpunet.codegen.cuda.clocked.clocked_unit`), for units made of them.
    noise_first : int
        Global rank of the first neuron updated (``size`` neurons from it): the noise counter of neuron ``i`` is
        ``noise_first + i``, as the array code draws for one process's block under comm (0: the whole population).

    The arguments are checked at the first launch and again only when an
    array has been replaced (:class:`~gpunet.codegen.runtime.launch_plan.BoundKernel`).
    """

    def __init__(self, unit: CudaUnit, launcher: Launcher, *, size: int, dt: float,
                 noise_keys: Mapping[int, int], clock: Any = None, noise_first: int = 0) -> None:
        self.unit = unit
        self.kernel = unit.kernels["neuron_update"]
        self.launcher = launcher
        self.size = int(size)
        self.dt = float(dt)
        # The population's own mapping, not a copy: a load that restores another seed
        # updates the keys in place, and the kernels must follow.
        self.noise_keys = noise_keys
        self.bound = BoundKernel(self.kernel, launcher)
        self._context: dict[str, Any] = {"n": self.size, "dt": self.dt, "key": noise_keys, "clock": clock,
                                         "noise_first": int(noise_first)}
        # The updates of global variables (one thread), before the neuron-wise kernel that reads them.
        kernel = unit.kernels.get("neuron_globals")
        self.globals_bound = None if kernel is None else BoundKernel(kernel, launcher)
        self._globals_context: dict[str, Any] = {"n": 1, "dt": self.dt, "key": noise_keys, "clock": clock}

    def update(self, state: Mapping[str, Any], sums: Mapping[str, Any], spiked: Any, step: int) -> None:
        """Integrate one step of all neurons (see ``PopulationKernels`` in the module docstring)."""
        self.update_globals(state, step)
        context = self._context
        context["step"], context["t"] = int(step), step * self.dt
        context["attr"], context["sum"], context["spiked"] = state, sums, spiked
        self.bound(context)

    def update_globals(self, state: Mapping[str, Any], step: int) -> None:
        """The global equations' kernel (one thread) of step ``step``, when the model has one; else nothing.

        Parameters
        ----------
        state : mapping
            ``population._state``.
        step : int
            The step.
        """
        if self.globals_bound is not None:
            context = self._globals_context
            context["step"], context["t"], context["attr"] = int(step), step * self.dt, state
            self.globals_bound(context)

    def merged_row(self, state: Mapping[str, Any], sums: Mapping[str, Any], spiked: Any) -> tuple:
        """The arguments of this population's update that a row of the unit's merged update kernel holds.

        The number of neurons, then the values :meth:`update` passes to ``neuron_update`` after ``dt_host``
        (checked like them): arrays, noise keys, the noise counters' offset.

        Parameters
        ----------
        state, sums, spiked
            As for :meth:`update`.
        """
        context = {**self._context, "step": 0, "t": 0.0, "attr": state, "sum": sums, "spiked": spiked}
        values = self.bound.plan.values(context)
        self.bound.plan.check(values, self.bound.plan.checked)
        first = [p.name for p in self.kernel.params].index("dt_host") + 1  # the clocked kernel has no step, t_host
        return (self.size,) + tuple(values[first:])


class ProjectionKernels:
    """The fused synaptic phases of one projection.

    Parameters
    ----------
    unit : CudaUnit
        The projection's synapse unit (:func:`gpunet.codegen.cuda.codegen.synapse_unit`),
        generated for its index type.
    launcher : callable
        Runs a kernel.
    dt : float
        Step size (ms).
    pre_size, post_size : int
        Sizes of the pre and post populations.
    mode : {"ordered", "atomic"}
        Spike propagation: ``"ordered"`` adds to ``g_target`` in the array
        code's order (bitwise reproducible, equal to NumPy's results),
        ``"atomic"`` uses atomicAdd (the last bits of ``g_target`` vary from
        run to run on a GPU).  Both do work proportional to the arriving spikes.
    clock : device array, optional
        The step counter of clocked kernels (see :class:`PopulationKernels`).

    Both modes deliver a step's spikes in three launches whatever the delays:
    the spiking ranks of the spike ring's newest row are listed
    (:class:`SpikeLists`, two launches), then one launch walks the arriving
    events (``"ordered"``: one block per slice of post neurons, the events in
    the array code's order; ``"atomic"``: warps sharing the events).  Each
    phase keeps its context; arguments are checked once, and again only when
    an array has been replaced.
    """

    def __init__(self, unit: CudaUnit, launcher: Launcher, *, dt: float, pre_size: int, post_size: int,
                 mode: str = "ordered", clock: Any = None) -> None:
        if mode not in ("ordered", "atomic"):
            raise ValueError(f"mode must be 'ordered' or 'atomic', got {mode!r}")
        self.unit = unit
        self.launcher = launcher
        self.dt = float(dt)
        self.pre_size, self.post_size = int(pre_size), int(post_size)
        self.mode = mode
        self.clock = clock
        # the merged propagation is launched by a step graph for several projections (see merged_row)
        unused = {"pre_events_atomic", "pre_events_merged", "spike_count_merged", "spike_list_merged"}
        unused |= {"pre_events_atomic_groups"} if mode == "ordered" else {"pre_events_ordered"}
        self.bound = {name: BoundKernel(kernel, launcher) for name, kernel in unit.kernels.items()
                      if name not in unused}
        self._contexts: dict[str, dict[str, Any]] = {}
        post = unit.kernels.get("post_events")
        #: Whether the post-synaptic events read pre ranks (else ``_post_idx`` is bound in their place).
        self.post_events_read_pre = post is not None and any(p.role in ("pre", "pre_sum") for p in post.params)
        self._aliased: Optional[_PostForPre] = None

    def has(self, phase: str) -> bool:
        """Whether the model has ``phase`` (``"pre_events"``, ``"post_events"``, ``"continuous"``, ``"rate_sum"``).

        ``"continuous"`` covers the kernels of the semiglobal and the global equations too.
        """
        kernels = self.unit.kernels
        if phase == "continuous":
            return any(name in kernels for name in ("semiglobal", "synapse_globals", "continuous"))
        return f"{phase}_ordered" in kernels if phase == "pre_events" else phase in kernels

    def _context(self, phase: str, n: int, step: int, state: Mapping[str, Any], pre_state: Mapping[str, Any],
                 post_state: Mapping[str, Any], pre_sums: Mapping[str, Any] = _NO_SUMS,
                 post_sums: Mapping[str, Any] = _NO_SUMS) -> dict[str, Any]:
        context = self._contexts.get(phase)
        if context is None:
            context = self._contexts[phase] = {"dt": self.dt, "clock": self.clock}
        context["n"], context["step"], context["t"] = n, int(step), step * self.dt
        context["attr"], context["pre"], context["post"] = state, pre_state, post_state
        context["pre_sum"], context["post_sum"] = pre_sums, post_sums
        return context

    def list_spikes(self, step: int, lists: SpikeLists, rows: int, lag: int) -> None:
        """List the spiking ranks of ``rows`` rows of the spike ring: those of steps ``step - lag``, ``step - lag - 1``...

        Parameters
        ----------
        step : int
            The step about to deliver its arriving spikes (clocked kernels read it from the clock).
        lists : SpikeLists
            The lists to write.
        rows : int
            How many rows (1: the row first read at ``step``; ``lists.depth``: all).
        lag : int
            The projection's smallest delay (steps): the row of step ``step - lag`` is the newest one read.
        """
        rows = max(0, min(int(rows), lists.depth))
        for phase in ("spike_count", "spike_list"):
            context = self._contexts.get(phase)
            if context is None:
                context = self._contexts[phase] = {"dt": self.dt, "clock": self.clock}
            context["n"], context["step"], context["t"] = rows * lists.chunks, int(step), step * self.dt
            context["history"], context["depth"], context["pre_size"] = lists.history, lists.depth, self.pre_size
            context["chunks"], context["chunk_counts"], context["lag"] = lists.chunks, lists.chunk_counts, int(lag)
            context["spike_counts"], context["spike_lists"] = lists.counts, lists.lists
            self.bound[phase](context)

    def pre_events(self, state: Mapping[str, Any], step: int, g_target: Any, pre_state: Mapping[str, Any],
                   post_state: Mapping[str, Any], lists: SpikeLists, group_table: Any, work: Any, rows: int = 1,
                   lag: int = 1, *, pre_sums: Mapping[str, Any] = _NO_SUMS,
                   post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Deliver the spikes that arrive at ``step``: list ``rows`` rows of the spike ring (0: listed already),
        then one launch.

        ``group_table``: uint64 ``(delay, pre_ptr address, pre_syn address)`` per delay group (ascending
        delay) on the device (see ``KernelProjectionRunner.group_table``); ``work``: uint64 ``[events x post
        slices visited, synapses delivered]``, added to; ``lag``: the smallest delay (see :meth:`list_spikes`).
        """
        if rows:
            self.list_spikes(step, lists, rows, lag)
        kernel = "pre_events_ordered" if self.mode == "ordered" else "pre_events_atomic_groups"
        context = self._delivery_context(state, step, g_target, pre_state, post_state, lists, group_table, work,
                                         pre_sums, post_sums)
        self.bound[kernel](context)

    def _delivery_context(self, state: Mapping[str, Any], step: int, g_target: Any, pre_state: Mapping[str, Any],
                          post_state: Mapping[str, Any], lists: SpikeLists, group_table: Any, work: Any,
                          pre_sums: Mapping[str, Any], post_sums: Mapping[str, Any]) -> dict[str, Any]:
        if self.mode == "ordered":
            n, phase = self.slices, "pre_events"
        else:
            n, phase = min(ATOMIC_WARPS, max(self.pre_size, 1)), "pre_events_atomic"
        context = self._context(phase, n, step, state, pre_state, post_state, pre_sums, post_sums)
        context["depth"], context["pre_size"] = lists.depth, self.pre_size
        context["group_table"], context["n_groups"] = group_table, int(group_table.shape[0]) // 3
        context["spike_counts"], context["spike_lists"], context["work"] = lists.counts, lists.lists, work
        context["slice"], context["post_size"], context["g_target"] = POST_SLICE, self.post_size, g_target
        return context

    @property
    def slices(self) -> int:
        """Blocks of the ordered propagation: slices of ``POST_SLICE`` post neurons."""
        return -(-self.post_size // POST_SLICE)

    def merged_row(self, state: Mapping[str, Any], g_target: Any, pre_state: Mapping[str, Any],
                   post_state: Mapping[str, Any], lists: SpikeLists, group_table: Any, work: Any, *,
                   pre_sums: Mapping[str, Any] = _NO_SUMS, post_sums: Mapping[str, Any] = _NO_SUMS) -> tuple:
        """The arguments of this projection's ordered propagation that a row of the unit's merged kernel holds.

        The same values :meth:`pre_events` passes to ``pre_events_ordered`` (checked like them), those after
        ``dt_host`` (:func:`gpunet.codegen.cuda.synapse.merged_row_params`): arrays and integers.

        Parameters
        ----------
        state, g_target, pre_state, post_state, lists, group_table, work
            As for :meth:`pre_events`.
        pre_sums, post_sums : mapping
            The pre and post populations' summed inputs by target.

        Raises
        ------
        ValueError
            In the ``"atomic"`` mode (the merged kernel is an ordered one).
        """
        if self.mode != "ordered":
            raise ValueError("the merged propagation kernel runs the ordered mode only")
        context = self._delivery_context(state, 0, g_target, pre_state, post_state, lists, group_table, work,
                                         pre_sums, post_sums)
        bound = self.bound["pre_events_ordered"]
        values = bound.plan.values(context)
        bound.plan.check(values, bound.plan.checked)
        return tuple(values[len(values) - len(merged_row_params(bound.kernel)):])

    def post_events(self, state: Mapping[str, Any], step: int, spiked: Any, pre_state: Mapping[str, Any],
                    post_state: Mapping[str, Any], *, pre_sums: Mapping[str, Any] = _NO_SUMS,
                    post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Run ``post_spike`` for the synapses of the post neurons that spiked at ``step``."""
        if not self.post_events_read_pre:  # the element ignores the pre rank: bind no pre ranks for it
            if self._aliased is None or self._aliased.state is not state:
                self._aliased = _PostForPre(state)
            state = self._aliased
        context = self._context("post_events", self.post_size, step, state, pre_state, post_state, pre_sums,
                                post_sums)
        context["spiked"] = spiked
        self.bound["post_events"](context)

    def continuous(self, state: Mapping[str, Any], step: int, pre_state: Mapping[str, Any],
                   post_state: Mapping[str, Any], *, pre_sums: Mapping[str, Any] = _NO_SUMS,
                   post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Integrate the continuous synaptic equations once: the semiglobal ones per post neuron, then the others."""
        bound = self.bound
        if "semiglobal" in bound:
            bound["semiglobal"](self._context("semiglobal", self.post_size, step, state, pre_state, post_state,
                                              pre_sums, post_sums))
        if "synapse_globals" in bound:
            bound["synapse_globals"](self._context("synapse_globals", 1, step, state, pre_state, post_state,
                                                   pre_sums, post_sums))
        if "continuous" in bound:
            bound["continuous"](self._context("continuous", len(state["_post_idx"]), step, state, pre_state,
                                              post_state, pre_sums, post_sums))

    def rate_sum(self, state: Mapping[str, Any], step: int, total: Any, pre_state: Mapping[str, Any],
                 post_state: Mapping[str, Any], *, pre_sums: Mapping[str, Any] = _NO_SUMS,
                 post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Add the projection's weighted sums to ``total``."""
        context = self._context("rate_sum", self.post_size, step, state, pre_state, post_state, pre_sums, post_sums)
        context["total"] = total
        self.bound["rate_sum"](context)


class RandomStreams:
    """Draw the counter-based streams of ``kernels/rng.cuh`` into arrays (counters ``0 .. n-1``).

    The results equal :mod:`gpunet.network.rng`'s: ``bits`` and ``uniform01``
    bit for bit, ``normal`` up to the last bit of ``log``/``cos``.
    """

    def __init__(self, launcher: Launcher, xp: Any) -> None:
        self.launcher = launcher
        self.xp = xp

    def _draw(self, name: str, dtype: Any, n: int, key: int, step: int, **extra: Any) -> Any:
        out = self.xp.empty(int(n), dtype=dtype)
        kernel = RNG_KERNELS[name]
        context = {"n": int(n), "key": int(key), "step": int(step), "out": out, **extra}
        self.launcher(kernel, kernel_plan(kernel).values(context))
        return out

    def bits(self, key: int, step: int, n: int) -> Any:
        """64 random bits per counter (uint64), as ``rng.random_bits``."""
        return self._draw("bits", np.uint64, n, key, step)

    def uniform01(self, key: int, step: int, n: int) -> Any:
        """Uniform doubles in [0, 1), as ``rng.uniform01``."""
        return self._draw("uniform01", np.float64, n, key, step)

    def uniform(self, key: int, step: int, n: int, low: float, high: float) -> Any:
        """Uniform(low, high) doubles, as ``rng.uniform``."""
        return self._draw("uniform", np.float64, n, key, step, low=float(low), high=float(high))

    def normal(self, key: int, step: int, n: int, mean: float, std: float) -> Any:
        """Normal(mean, std) doubles, as ``rng.normal``."""
        return self._draw("normal", np.float64, n, key, step, mean=float(mean), std=float(std))


def pack_layout(sizes: Sequence[int], alignment: int = PACK_ALIGNMENT) -> tuple[list[int], int]:
    """Byte offsets of segments of ``sizes`` bytes, each aligned, and the total size.

    The rule is :func:`gpunet.io.pipeline.host_pool.layout_nbytes`'s, so a packed
    device buffer has the layout of a host :class:`~gpunet.io.pipeline.host_pool.BufferSet`.

    >>> pack_layout([10, 3, 64], alignment=16)
    ([0, 16, 32], 96)
    """
    offsets, total = [], 0
    for size in sizes:
        total = -(-total // alignment) * alignment
        offsets.append(total)
        total += int(size)
    return offsets, total


class Packer:
    """Gather a fixed list of arrays into one contiguous byte buffer, and scatter it back.

    Parameters
    ----------
    arrays : sequence of arrays
        C-contiguous arrays (device arrays on a GPU); their addresses are
        recorded once, so the arrays must stay allocated while the packer is used.
    launcher : callable
        Runs the kernels of ``kernels/pack.cu``.
    xp : module
        NumPy or CuPy.
    address : callable
        Address of an array's first byte (``a.ctypes.data`` / ``a.data.ptr``).
    alignment : int
        Alignment of each segment in the buffer.
    """

    def __init__(self, arrays: Sequence[Any], launcher: Launcher, xp: Any, address: Callable[[Any], int],
                 alignment: int = PACK_ALIGNMENT) -> None:
        for k, array in enumerate(arrays):
            if not array.flags.c_contiguous:
                raise ValueError(f"Packer: array {k} is not C-contiguous")
        self.arrays = list(arrays)
        sizes = [int(a.nbytes) for a in self.arrays]
        offsets, self.nbytes = pack_layout(sizes, alignment)
        self.offsets = offsets
        self.launcher = launcher
        self.xp = xp
        self._addresses = xp.asarray(np.asarray([address(a) for a in self.arrays], dtype=np.uint64))
        self._offsets = xp.asarray(np.asarray(offsets, dtype=np.int64))
        self._sizes = xp.asarray(np.asarray(sizes, dtype=np.int64))

    def _run(self, name: str, buffer: Any) -> None:
        kernel = PACK_KERNELS[name]
        self.launcher(kernel, [len(self.arrays), self._addresses, self._offsets, self._sizes, buffer])

    def pack(self, buffer: Optional[Any] = None) -> Any:
        """Copy every array into ``buffer`` (a new uint8 array when None) and return it."""
        if buffer is None:
            buffer = self.xp.empty(self.nbytes, dtype=np.uint8)
        if buffer.nbytes < self.nbytes:
            raise ValueError(f"Packer: buffer of {buffer.nbytes} bytes, {self.nbytes} needed")
        self._run("pack", buffer)
        return buffer

    def unpack(self, buffer: Any) -> None:
        """Copy the segments of ``buffer`` back into the arrays."""
        if buffer.nbytes < self.nbytes:
            raise ValueError(f"Packer: buffer of {buffer.nbytes} bytes, {self.nbytes} needed")
        self._run("unpack", buffer)
