"""A network's step as one fixed list of kernel launches, replayed per step: a CUDA graph where CuPy captures.

:class:`StepGraph` records one step of a network whose objects all run
generated kernels: the input sums zeroed, spikes delivered (the spiking ranks of each
spike ring's newest row listed, two launches for all the spiking populations, then the
ordered propagation of every projection of a synapse unit in one launch, whatever
the delays: :mod:`gpunet.codegen.runtime.merged_propagation`; one launch per
projection where :attr:`StepGraph.merge_reason` says why not), populations updated (those of one
neuron unit in one launch: :mod:`gpunet.codegen.runtime.merged_updates`),
spike masks written into the spike rings (one launch for all the populations), synaptic equations and
post-synaptic events, then the step counter advanced.  Every kernel is a
clocked one (:mod:`gpunet.codegen.cuda.clocked`): it reads the step from a
one-element device array, so no argument changes from step to step and the
recorded launches (the *launch list*) are valid for every step until an array
is replaced.  A step whose clock was set (:meth:`StepGraph.set_step`) first
lists every row of the spike rings again (the *list rebuild*, launched
outside the graph).  Where CuPy can capture a stream
(``Stream.begin_capture``/``end_capture``), the launch list is captured once
into a CUDA graph and a step costs one ``Graph.launch``; otherwise each step
replays the launch list (one CuPy call per kernel, nothing else).

Objects are duck-typed (``step_arrays()``, ``synapse_arrays()``, ``runner``):
this module imports nothing of :mod:`gpunet.network`; the network's side
(monitors, the step counter) is :mod:`gpunet.network.device_loop`.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Optional, Sequence

import numpy as np

from gpunet.codegen.cuda.clocked import STEP_KERNELS, clocked_unit, step_source
from gpunet.codegen.cuda.common import KernelInfo
from gpunet.codegen.cuda.inputs import input_kind
from gpunet.codegen.runtime.eligibility import kernel_unit
from gpunet.codegen.runtime.kernel_calls import PopulationKernels, ProjectionKernels, SpikeLists, spike_lists
from gpunet.codegen.runtime.launch_plan import check_arguments
from gpunet.codegen.runtime.merged_propagation import MergedLaunch, MergedListing, merge_reason, merge_rounds
from gpunet.codegen.runtime.merged_updates import MergedUpdate, update_description, update_groups
from gpunet.codegen.runtime.runners import KernelPopulationRunner, KernelProjectionRunner, array_address


def graph_reason(network: Any) -> Optional[str]:
    """Why ``network``'s steps cannot be one fixed launch list, or None.

    Parameters
    ----------
    network : Network
        A compiled network on a GPU.
    """
    if getattr(network, "comm", None) is not None:  # a step exchanges through MPI between the kernels
        return "the network runs under comm (its steps exchange between processes)"
    for obj in list(network.populations) + list(network.projections):
        if input_kind(obj) is not None:
            # the inputs' kernels (codegen/cuda/inputs.py) have no clocked form yet
            return f"input {obj.name!r} ({type(obj).__name__}) has no clocked kernels"
        if getattr(obj.runner, "kind", None) != "kernels":
            kind = "population" if hasattr(obj, "equations_update") else "projection"
            learning = "" if getattr(obj, "learning", True) else " (learning is off)"
            return f"{kind} {obj.name!r} runs the array code{learning}"
    return None


class _Recorder:
    """A launcher that appends each launch, prepared but not run, to the graph's current list (``sink``)."""

    def __init__(self, target: Any, graph: "StepGraph") -> None:
        self.target = target
        self.graph = graph

    def bind(self, kernel: KernelInfo) -> Callable[[Sequence[Any]], None]:
        prepare = self.target.prepare(kernel)

        def record(values: Sequence[Any]) -> None:
            launch = prepare(values)
            if launch is not None:
                self.graph.sink.append(launch)
        return record

    def __call__(self, kernel: KernelInfo, values: Sequence[Any]) -> None:
        check_arguments(kernel, values)
        self.bind(kernel)(values)


class StepGraph:
    """One step of ``network`` as a launch list (and a CUDA graph where capture works).

    Parameters
    ----------
    network : Network
        A compiled network on a GPU whose objects all run generated kernels
        (:func:`graph_reason` is None).
    launcher_for : callable
        Makes the launcher of a source (default
        :func:`gpunet.codegen.runtime.cupy_kernels.CupyLauncher`); it must
        offer ``prepare(kernel)``.

    Attributes
    ----------
    clock : device array
        int64 ``[step]``: the step the next replay runs.
    mode : str
        ``"graph"`` (a captured CUDA graph), ``"launch list"`` or ``"empty"``
        (nothing recorded yet).
    capture_error : str or None
        Why the last capture failed (the launch list is replayed then).
    """

    def __init__(self, network: Any, launcher_for: Optional[Callable[[str], Any]] = None) -> None:
        if launcher_for is None:
            from gpunet.codegen.runtime.cupy_kernels import CupyLauncher
            launcher_for = CupyLauncher
        xp = network.backend.xp
        self.network = network
        self.clock = xp.zeros(1, dtype=np.int64)
        self.launches: list[tuple] = []
        #: The launches that list every row of the spike rings (run by :meth:`set_step`, outside the graph).
        self.rebuild_launches: list[tuple] = []
        self.sink = self.launches  # where the recorders append
        self.graph: Any = None
        self.mode = "empty"
        self.capture_error: Optional[str] = None
        self._signature: tuple = ()
        self._ring_table: Any = None  # the spike rings the merged ring write fills (kept: it holds their addresses)
        precision = network.precision.name
        #: Spike propagation: "atomic" for a network with ``kernels="atomic"`` (one launch through its group table).
        self.mode_of_propagation = "atomic" if getattr(network, "kernels", "auto") == "atomic" else "ordered"
        sources: dict[str, Any] = {}

        def recorder(source: str) -> _Recorder:
            if source not in sources:
                sources[source] = launcher_for(source)
            return _Recorder(sources[source], self)
        self._step_kernels = recorder(step_source())
        self._populations = []
        for pop in network.populations:
            unit = clocked_unit(kernel_unit(pop, precision))
            kernels = PopulationKernels(unit, recorder(unit.source), size=pop.size, dt=network.dt,
                                        noise_keys=pop.step_arrays().noise_keys, clock=self.clock)
            self._populations.append((pop, KernelPopulationRunner(pop, kernels)))
        groups, self._alone = update_groups(self._populations)
        #: The merged neuron updates (one launch per neuron unit of two populations or more).
        self.updates: list[MergedUpdate] = [
            MergedUpdate(members, recorder(members[0][1].kernels.unit.source), self.clock, network.dt,
                         network.backend.asarray) for members in groups]
        self._projections = []
        self._lists: dict[tuple, SpikeLists] = {}  # (id of a spike ring, index type) -> the lists its projections share
        for proj in network.projections:
            unit = clocked_unit(kernel_unit(proj, precision))
            kernels = ProjectionKernels(unit, recorder(unit.source), dt=network.dt, pre_size=proj.pre.size,
                                        post_size=proj.post.size, mode=self.mode_of_propagation, clock=self.clock)
            self._projections.append((proj, KernelProjectionRunner(proj, kernels, self._shared_lists)))
        spiking = [(proj, runner) for proj, runner in self._projections
                   if proj.spec.spiking and "pre_events" in runner.phases]
        #: Why the spiking projections keep one propagation launch each (None: merged, see :attr:`merged`).
        self.merge_reason: Optional[str] = None
        if self.mode_of_propagation != "ordered":
            self.merge_reason = "the atomic propagation (kernels='atomic') has no merged kernel"
        elif spiking:
            self.merge_reason = merge_reason(spiking)
        #: The merged ordered propagation launches, in the order they run (empty when not merged).
        self.merged: list[MergedLaunch] = []
        #: The merged listings of the spike rings (one per unit that lists rings; empty when not merged).
        self.listings: list[MergedListing] = []
        if self.merge_reason is None:
            self.merged = [MergedLaunch(members, recorder(members[0][1].kernels.unit.source), self.clock,
                                        network.dt, network.backend.asarray) for members in merge_rounds(spiking)]
            listers: dict[str, list[Any]] = {}
            rings: set = set()
            for proj, runner in spiking:  # the first projection from each population lists its ring
                ring = (id(proj.pre), np.dtype(proj.step_arrays().state["_post_idx"].dtype).name)
                if ring not in rings:
                    rings.add(ring)
                    listers.setdefault(runner.kernels.unit.source, []).append(runner)
            self.listings = [MergedListing(group, recorder(source), self.clock, network.dt, network.backend.asarray)
                             for source, group in listers.items()]

    def description(self) -> str:
        """One line on what the graph merged: the neuron updates, then the spike propagation (or why not)."""
        return f"{update_description(self.updates, self._alone)}; {self.propagation_description()}"

    def propagation_description(self) -> str:
        """One line on the graph's spike propagation: merged launches and their projections, or why not merged."""
        if self.merge_reason is not None:
            return f"spike propagation: one launch per projection ({self.merge_reason})"
        projections = sum(len(launch.members) for launch in self.merged)
        return (f"spike propagation: {len(self.merged)} merged launch(es) for {projections} spiking "
                "projection(s)")

    def _shared_lists(self, history: Any, index: Any) -> SpikeLists:
        """The spike lists of ``history`` that every projection from its population shares (one listing a step)."""
        key = (id(history), np.dtype(index).name)
        lists = self._lists.get(key)
        if lists is None or lists.history is not history:
            lists = self._lists[key] = spike_lists(history, index, self.network.backend.xp.zeros)
        return lists

    def runner_of(self, obj: Any) -> Any:
        """The kernel runner whose launches this graph recorded for population or projection ``obj``.

        Parameters
        ----------
        obj : Population or Projection
            An object of the network.

        Raises
        ------
        KeyError
            For an object of another network.
        """
        for recorded, runner in self._populations + self._projections:
            if recorded is obj:
                return runner
        raise KeyError(f"{getattr(obj, 'name', obj)!r} is not an object of this step graph's network")

    # -- what the launches were recorded with ------------------------------------------------
    def signature(self) -> tuple:
        """``(arrays, noise keys)`` the recorded launches hold: other arrays or keys mean record again."""
        arrays: list[Any] = []
        keys: list[int] = []
        for pop, _runner in self._populations:
            step_arrays = pop.step_arrays()
            arrays += step_arrays.state.values()
            arrays += step_arrays.sums.values()
            arrays += (step_arrays.spiked, step_arrays.history)
            keys += step_arrays.noise_keys.values()
        for proj, _runner in self._projections:
            # the state holds the post index, which a new connectivity (and so a new row walk) replaces
            arrays += proj.step_arrays().state.values()
        return tuple(arrays), tuple(keys)

    def current(self) -> bool:
        """Whether the recorded launches still hold the network's arrays and noise keys."""
        (arrays, keys), (old_arrays, old_keys) = self.signature(), self._signature or ((), ())
        return keys == old_keys and len(arrays) == len(old_arrays) and all(map(operator.is_, arrays, old_arrays))

    # -- recording, capture, replay ------------------------------------------------------------
    def record(self) -> None:
        """Record one step's launches (in the step order of :class:`gpunet.network.runners.StepLoop`)."""
        self.launches.clear()
        self.rebuild_launches.clear()
        self.graph, self.mode = None, "empty"
        step = self._step_kernels
        for pop, _runner in self._populations:
            for total in pop.step_arrays().sums.values():
                step(STEP_KERNELS[f"zero_{np.dtype(total.dtype).name}"], [total.size, total])
        self._lists.clear()  # made again for the rings recorded now, shared by the runners
        for _proj, runner in self._projections:
            runner.forget_spike_lists()
        listed: set = set()
        for proj, runner in self._projections:
            if self.merged and proj.spec.spiking and "pre_events" in runner.phases:
                # listed below by the merged listings, then the merged launches read the lists
                listed.add((id(proj.pre.step_arrays().history),
                            np.dtype(proj.step_arrays().state["_post_idx"].dtype).name))
            elif proj.spec.spiking and "pre_events" in runner.phases:
                # the row the step before wrote (one process: complete), listed by the first projection from
                # the population; set_step lists every row
                key = (id(proj.pre.step_arrays().history), np.dtype(proj.step_arrays().state["_post_idx"].dtype).name)
                runner.pre_events(0, rows=0 if key in listed else 1, lag=1)
                listed.add(key)
            elif not proj.spec.spiking and "transmit" in runner.phases:
                runner.transmit(0)
        for listing in self.listings:
            listing.record()
        for launch in self.merged:
            launch.record()
        for update in self.updates:
            update.record()
        for _pop, runner, _reason in self._alone:
            runner.update(0)
        self._record_ring_writes()
        for _proj, runner in self._projections:
            if "continuous" in runner.phases:
                runner.continuous(0)
        for _proj, runner in self._projections:
            if "post_events" in runner.phases:
                runner.post_events(0)
        step(STEP_KERNELS["tick"], [1, self.clock])
        self.sink = self.rebuild_launches
        try:
            rebuilt: set = set()
            for proj, runner in self._projections:
                key = (id(proj.pre.step_arrays().history), np.dtype(proj.step_arrays().state["_post_idx"].dtype).name)
                if key in listed and key not in rebuilt:
                    runner.list_all_spikes(0)
                    rebuilt.add(key)
        finally:
            self.sink = self.launches
        self._signature = self.signature()
        self.mode = "launch list"

    def _record_ring_writes(self) -> None:
        """The spike masks of every spiking population into their spike rings: one launch (a table of the rings)."""
        rows: list[tuple[int, ...]] = []
        first = 0
        for pop, _runner in self._populations:
            arrays = pop.step_arrays()
            if arrays.history is not None and getattr(pop, "spiking", False) and pop.size > 0:
                rows.append((first, pop.size, int(arrays.history.shape[0]), array_address(arrays.spiked),
                             array_address(arrays.history)))
                first += pop.size
        if rows:
            self._ring_table = self.network.backend.asarray(np.asarray(rows, dtype=np.uint64).reshape(-1))
            self._step_kernels(STEP_KERNELS["push_spikes_merged"], [first, self.clock, len(rows), self._ring_table])

    def capture(self, stream: Any) -> bool:
        """Capture the launch list into a CUDA graph on ``stream`` (the current one); False when capture fails.

        Parameters
        ----------
        stream : cupy.cuda.Stream
            The network's compute stream (capture needs a stream other than the legacy default one).
        """
        self.graph = None
        try:
            stream.begin_capture()
        except Exception as exc:  # no capture API (old CuPy) or a stream that cannot capture
            self.capture_error = f"{type(exc).__name__}: {exc}"
            return False
        try:
            self._replay_list()
        finally:
            try:
                graph = stream.end_capture()
            except Exception as exc:
                self.capture_error = f"{type(exc).__name__}: {exc}"
                return False
        self.graph, self.mode, self.capture_error = graph, "graph", None
        return True

    def set_step(self, step: int) -> None:
        """Make the next replay run step ``step`` (one host-to-device write), its spike lists made from every row."""
        self.clock.fill(int(step))
        for function, grid, block, arguments in self.rebuild_launches:
            function(grid, block, arguments)

    def _replay_list(self) -> None:
        for function, grid, block, arguments in self.launches:
            function(grid, block, arguments)

    def replay(self, stream: Any = None) -> None:
        """Run one step: the graph's launch, or the launch list."""
        if self.graph is not None:
            self.graph.launch(stream)
        else:
            self._replay_list()
