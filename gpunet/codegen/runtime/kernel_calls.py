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
``ProjectionKernels.pre_events(state, step, g_target, pre_state, post_state, history, groups, row_order)``
    ``Projection._pre_events(step)``; ``history`` is the pre population's
    ``_history``, ``groups`` the projection's ``_groups`` (read by the
    ``atomic`` mode only) and ``row_order`` the walk of
    :func:`~gpunet.codegen.runtime.delay_order.delay_row_order` on the
    device, or None (the ``ordered`` mode only).
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

from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

import numpy as np

from gpunet.codegen.cuda.codegen import PACK_KERNELS, RNG_KERNELS
from gpunet.codegen.cuda.common import CudaUnit, KernelInfo
from gpunet.codegen.runtime.launch_plan import C_DTYPES, BoundKernel, check_arguments, kernel_plan

__all__ = ["C_DTYPES", "check_arguments", "Launcher", "PopulationKernels", "ProjectionKernels", "RandomStreams",
           "Packer", "pack_layout"]

PACK_ALIGNMENT = 64  # the alignment of gpunet.io.pipeline.host_pool's buffers: a packed buffer maps onto a BufferSet


_NO_SUMS: Mapping[str, Any] = MappingProxyType({})  # a projection call's default pre_sums / post_sums


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
        if self.globals_bound is not None:
            context = self._globals_context
            context["step"], context["t"], context["attr"] = int(step), step * self.dt, state
            self.globals_bound(context)
        context = self._context
        context["step"], context["t"] = int(step), step * self.dt
        context["attr"], context["sum"], context["spiked"] = state, sums, spiked
        self.bound(context)


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
        code's order (bitwise reproducible, equal to NumPy's results; work
        proportional to the synapses), ``"atomic"`` uses atomicAdd from a
        pre-major walk (work proportional to the events; the last bits of
        ``g_target`` vary from run to run).
    clock : device array, optional
        The step counter of clocked kernels (see :class:`PopulationKernels`).

    Both modes deliver a step's spikes in one launch whatever the delays
    (``"ordered"``: each synapse reads the spike ring's row of its own
    delay; ``"atomic"``: one warp per delay group and pre neuron, given a
    table of the groups), ``"atomic"`` without a table once per delay value.  Each phase keeps its
    contexts, made again only when the projection's delay groups are
    replaced; arguments are checked once, and again only when an array has
    been replaced.
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
        other = ("pre_events_atomic", "pre_events_atomic_groups") if mode == "ordered" else ("pre_events_ordered",)
        self.bound = {name: BoundKernel(kernel, launcher) for name, kernel in unit.kernels.items()
                      if name not in other}
        self._contexts: dict[str, dict[str, Any]] = {}
        self._groups: Optional[Sequence[tuple]] = None  # the groups the event contexts were made for
        self._event_contexts: list[dict[str, Any]] = []
        self._history: Any = None  # the spike history last checked

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

    def pre_events(self, state: Mapping[str, Any], step: int, g_target: Any, pre_state: Mapping[str, Any],
                   post_state: Mapping[str, Any], history: Any, groups: Sequence[tuple],
                   row_order: Optional[Any] = None, group_table: Optional[Any] = None, *,
                   pre_sums: Mapping[str, Any] = _NO_SUMS, post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Deliver the spikes that arrive at ``step``: one launch, or (``atomic`` without a ``group_table``) one
        per delay value.  ``group_table``: uint64 ``(delay, pre_ptr address, pre_syn address)`` per group of
        ``groups`` on the device (see ``KernelProjectionRunner.group_table``)."""
        if self.mode == "ordered":
            context = self._context("pre_events", self.post_size, step, state, pre_state, post_state, pre_sums,
                                    post_sums)
            context["history"], context["depth"], context["pre_size"] = history, history.shape[0], self.pre_size
            # without a permutation the kernel never reads row_order: any index array of the right type will do
            context["row_order"] = state["_post_idx"] if row_order is None else row_order
            context["permuted"], context["g_target"] = int(row_order is not None), g_target
            self.bound["pre_events_ordered"](context)
            return
        if group_table is not None and "pre_events_atomic_groups" in self.bound:
            context = self._context("pre_events_atomic", len(groups) * self.pre_size, step, state, pre_state,
                                    post_state, pre_sums, post_sums)
            context["history"], context["depth"], context["pre_size"] = history, history.shape[0], self.pre_size
            context["group_table"], context["g_target"] = group_table, g_target
            self.bound["pre_events_atomic_groups"](context)
            return
        bound = self.bound["pre_events_atomic"]
        if history is not self._history:
            bound.check_source("spikes", history)
            self._history = history
        if groups is not self._groups:
            self._event_contexts = [{"n": self.pre_size, "dt": self.dt, "clock": self.clock, "delay": int(delay),
                                     "pre_ptr": pre_ptr,
                                     "pre_syn": pre_syn} for delay, pre_ptr, pre_syn in groups]
            self._groups = groups
        depth = history.shape[0]
        step, t = int(step), step * self.dt
        for context in self._event_contexts:
            context["step"], context["t"] = step, t
            context["attr"], context["pre"], context["post"], context["g_target"] = (state, pre_state, post_state,
                                                                                      g_target)
            context["pre_sum"], context["post_sum"] = pre_sums, post_sums
            context["spikes"] = history[(step - context["delay"]) % depth]
            bound(context)

    def post_events(self, state: Mapping[str, Any], step: int, spiked: Any, pre_state: Mapping[str, Any],
                    post_state: Mapping[str, Any], *, pre_sums: Mapping[str, Any] = _NO_SUMS,
                    post_sums: Mapping[str, Any] = _NO_SUMS) -> None:
        """Run ``post_spike`` for the synapses of the post neurons that spiked at ``step``."""
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
