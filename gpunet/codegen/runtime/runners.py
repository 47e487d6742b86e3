"""Step runners that run generated kernels (CuPy launchers or the host C++ build).

They follow the runner contract of :mod:`gpunet.network.runners` (methods
``update``; ``transmit``, ``pre_events``, ``continuous``, ``post_events``) and
call :mod:`gpunet.codegen.runtime.kernel_calls` with the arrays the objects
give through their public ``step_arrays()``, read again at every call (a load
may replace them between steps).  A projection phase the generator emits no
kernel for runs the object's array code (``array_runner``).  Objects are
duck-typed: this module imports nothing of :mod:`gpunet.network`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from gpunet.codegen.runtime.kernel_calls import PopulationKernels, ProjectionKernels, SpikeLists, spike_lists


class KernelPopulationRunner:
    """A population's update through its generated neuron kernel."""

    kind = "kernels"

    def __init__(self, population: Any, kernels: PopulationKernels) -> None:
        self.kernels = kernels
        self._arrays = population.step_arrays

    def update(self, step: int) -> None:
        arrays = self._arrays()
        self.kernels.update(arrays.state, arrays.sums, arrays.spiked, step)

    def update_globals(self, step: int) -> None:
        """The population's global equations of ``step`` (one thread), when its model has some."""
        self.kernels.update_globals(self._arrays().state, step)

    def merged_row(self) -> tuple:
        """This population's arguments of the update, for a row of its unit's merged update kernel."""
        arrays = self._arrays()
        return self.kernels.merged_row(arrays.state, arrays.sums, arrays.spiked)


class KernelProjectionRunner:
    """A projection's phases through its generated synapse kernels, the array code for phases without one."""

    kind = "kernels"

    def __init__(self, projection: Any, kernels: ProjectionKernels,
                 lists_for: Optional[Callable[[Any, Any], SpikeLists]] = None) -> None:
        self.kernels = kernels
        self.target = projection.target
        self.spiking = projection.spec.spiking
        self._arrays = projection.step_arrays
        self._to_device = projection.network.backend.asarray
        self._zeros = projection.network.backend.xp.zeros
        self._lists: Any = None  # the spike lists of the pre population's spike ring (SpikeLists)
        self._lists_for = lists_for  # a provider of lists shared with other projections (a step graph's)
        self._listed_step: Any = None  # the last step whose arrivals they listed (None: not listed yet)
        self._work: Any = None
        self._table_of: Any = None  # the groups the group table was made for (kept: the table holds their addresses)
        self._table: Any = None
        # what the projection reads as pre: under comm the whole population's gathered values and spike ring
        self._pre_arrays = projection.pre.presynaptic_arrays
        self._post_arrays = projection.post.step_arrays
        fallback = projection.array_runner
        kernel_of = {"pre_events": "pre_events", "post_events": "post_events", "continuous": "continuous"}
        if not self.spiking:
            kernel_of["transmit"] = "rate_sum"
        #: The phases that run generated kernels (a spiking projection's transmit is its pre_events).
        self.phases = tuple(phase for phase, kernel in kernel_of.items() if kernels.has(kernel))
        for phase in kernel_of:
            if phase not in self.phases:  # the runner's own attribute, set once: the array code of that phase
                setattr(self, phase, getattr(fallback, phase))

    def transmit(self, step: int) -> None:
        if self.spiking:
            self.pre_events(step)
            return
        post = self._post_arrays()
        if self.target in post.sums:
            arrays, pre = self._arrays(), self._pre_arrays()
            self.kernels.rate_sum(arrays.state, step, post.sums[self.target], pre.state, post.state,
                                  pre_sums=pre.sums, post_sums=post.sums)

    def pre_events(self, step: int, rows: Optional[int] = None, lag: Optional[int] = None) -> None:
        """Deliver the spikes arriving at ``step``.

        Parameters
        ----------
        step : int
            The step.
        rows : int, optional
            Rows of the spike ring to list first; default: the row first read at ``step`` when this runner
            delivered the previous step from the same ring, else every row (a load, a reset, another runner
            ran the steps in between).  A recorded step graph gives 1, or 0 where another projection from the
            same population lists the row.
        lag : int, optional
            The row listed is the one of step ``step - lag``; default: the projection's smallest delay (its
            first read of a row, which under comm is complete by then).  A step graph (one process) gives 1.
        """
        arrays, pre, post = self._arrays(), self._pre_arrays(), self._post_arrays()
        lists = self.spike_lists(pre.history, arrays.state)
        if rows is None:
            rows = 1 if self._listed_step is not None and self._listed_step == step - 1 else lists.depth
            self._listed_step = step
        if self._work is None:
            self._work = self._zeros(2, dtype=np.uint64)
        self.kernels.pre_events(arrays.state, step, post.state[f"g_{self.target}"], pre.state, post.state, lists,
                                self.group_table(arrays.groups, arrays.state), self._work, rows,
                                _lag(arrays.groups) if lag is None else lag, pre_sums=pre.sums, post_sums=post.sums)

    def current_spike_lists(self) -> SpikeLists:
        """The spike lists of the pre population's spike ring as it is now (made or shared if needed)."""
        return self.spike_lists(self._pre_arrays().history, self._arrays().state)

    def merged_row(self) -> tuple:
        """This projection's arguments of the ordered propagation, for a row of its unit's merged kernel.

        The spike lists, the group table and the work counters are those :meth:`pre_events` passes (made
        here if needed), so the merged kernel and this runner's launches share them.
        """
        arrays, pre, post = self._arrays(), self._pre_arrays(), self._post_arrays()
        lists = self.spike_lists(pre.history, arrays.state)
        if self._work is None:
            self._work = self._zeros(2, dtype=np.uint64)
        return self.kernels.merged_row(arrays.state, post.state[f"g_{self.target}"], pre.state, post.state, lists,
                                       self.group_table(arrays.groups, arrays.state), self._work,
                                       pre_sums=pre.sums, post_sums=post.sums)

    def list_all_spikes(self, step: int) -> None:
        """List every row of the pre population's spike ring as it is before ``step`` (a step graph's new clock).

        Parameters
        ----------
        step : int
            The next step to run (clocked kernels read it from the clock).
        """
        arrays, pre = self._arrays(), self._pre_arrays()
        lists = self.spike_lists(pre.history, arrays.state)
        self.kernels.list_spikes(step, lists, lists.depth, _lag(arrays.groups))

    def spike_lists(self, history: Any, state: Any) -> SpikeLists:
        """The spike lists of ``history`` (made at the first call for that ring: a load brings a new one).

        Parameters
        ----------
        history : device array
            The pre population's spike ring.
        state : mapping
            The projection's ``step_arrays().state`` (the lists have the type of ``_post_idx``).
        """
        lists = self._lists
        index = np.dtype(state["_post_idx"].dtype)
        if lists is None or lists.history is not history or np.dtype(lists.lists.dtype) != index:
            made = self._lists_for(history, index) if self._lists_for is not None else None
            lists = self._lists = made if made is not None else spike_lists(history, index, self._zeros)
            self._listed_step = None
        return lists

    def forget_spike_lists(self) -> None:
        """Take the spike lists from the provider again at the next delivery (and list every row then)."""
        self._lists, self._listed_step = None, None

    @property
    def work(self) -> Any:
        """uint64 device counters ``[events x post slices visited, synapses delivered]`` of this runner's spike
        deliveries (the ordered kernel visits each event once per slice of 256 post neurons; the atomic one
        once), or None before its first delivery."""
        return self._work

    def group_table(self, groups: Any, state: Any) -> Any:
        """The table of the delay groups on the device, made once per connectivity.

        Parameters
        ----------
        groups : list
            The projection's ``step_arrays().groups``: ``(delay, pre_ptr, pre_syn)`` per delay value, ascending.
        state : mapping
            Its ``step_arrays().state`` (``pre_syn`` must have the index type of ``_post_idx``).

        Raises
        ------
        TypeError
            When ``pre_ptr`` is not int64 or ``pre_syn`` not of the index type (the kernels read them so).
        """
        if groups is not self._table_of:
            index = np.dtype(state["_post_idx"].dtype)
            for _delay, pre_ptr, pre_syn in groups:
                if np.dtype(pre_ptr.dtype) != np.int64 or np.dtype(pre_syn.dtype) != index:
                    raise TypeError(f"the pre-major index must be int64 pointers and {index} synapses, got "
                                    f"{pre_ptr.dtype} and {pre_syn.dtype}")
            rows = [(int(delay), array_address(pre_ptr), array_address(pre_syn))
                    for delay, pre_ptr, pre_syn in groups]
            self._table = self._to_device(np.asarray(rows, dtype=np.uint64).reshape(-1))
            self._table_of = groups
        return self._table

    def post_events(self, step: int) -> None:
        pre, post = self._pre_arrays(), self._post_arrays()
        self.kernels.post_events(self._arrays().state, step, post.spiked, pre.state, post.state,
                                 pre_sums=pre.sums, post_sums=post.sums)

    def continuous(self, step: int) -> None:
        pre, post = self._pre_arrays(), self._post_arrays()
        self.kernels.continuous(self._arrays().state, step, pre.state, post.state, pre_sums=pre.sums,
                                post_sums=post.sums)


def _lag(groups: Any) -> int:
    """The smallest delay of a projection's groups (ascending): its spike lists list the row of ``step - lag``."""
    return int(groups[0][0]) if len(groups) else 1


def array_address(array: Any) -> int:
    """Address of a contiguous array's first element: a device address for CuPy, a host one for NumPy.

    Parameters
    ----------
    array : array
        A C-contiguous CuPy or NumPy array.
    """
    pointer = getattr(array.data, "ptr", None)
    return int(pointer) if pointer is not None else int(array.ctypes.data)
