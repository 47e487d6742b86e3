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

from typing import Any

import numpy as np

from gpunet.codegen.runtime.delay_order import delay_row_order
from gpunet.codegen.runtime.kernel_calls import PopulationKernels, ProjectionKernels


class KernelPopulationRunner:
    """A population's update through its generated neuron kernel."""

    kind = "kernels"

    def __init__(self, population: Any, kernels: PopulationKernels) -> None:
        self.kernels = kernels
        self._arrays = population.step_arrays

    def update(self, step: int) -> None:
        arrays = self._arrays()
        self.kernels.update(arrays.state, arrays.sums, arrays.spiked, step)


class KernelProjectionRunner:
    """A projection's phases through its generated synapse kernels, the array code for phases without one."""

    kind = "kernels"

    def __init__(self, projection: Any, kernels: ProjectionKernels) -> None:
        self.kernels = kernels
        self.target = projection.target
        self.spiking = projection.spec.spiking
        self._arrays = projection.step_arrays
        self._synapses = projection.synapse_arrays
        self._to_device = projection.network.backend.asarray
        self._order_of: Any = None  # the post index (connectivity) the row order was made for
        self._row_order: Any = None
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

    def pre_events(self, step: int) -> None:
        arrays, pre, post = self._arrays(), self._pre_arrays(), self._post_arrays()
        self.kernels.pre_events(arrays.state, step, post.state[f"g_{self.target}"], pre.state, post.state,
                                pre.history, arrays.groups, self.row_order(arrays.state),
                                self.group_table(arrays.groups, arrays.state), pre_sums=pre.sums, post_sums=post.sums)

    def group_table(self, groups: Any, state: Any) -> Any:
        """The atomic mode's table of the delay groups on the device, made once per connectivity (None: none).

        Parameters
        ----------
        groups : list
            The projection's ``step_arrays().groups``: ``(delay, pre_ptr, pre_syn)`` per delay value.
        state : mapping
            Its ``step_arrays().state`` (``pre_syn`` must have the index type of ``_pre_idx``).
        """
        if self.kernels.mode != "atomic":
            return None
        if groups is not self._table_of:
            index = np.dtype(state["_post_idx"].dtype)
            usable = all(np.dtype(ptr.dtype) == np.int64 and np.dtype(syn.dtype) == index for _d, ptr, syn in groups)
            rows = [(int(delay), _address(pre_ptr), _address(pre_syn)) for delay, pre_ptr, pre_syn in groups]
            self._table = self._to_device(np.asarray(rows, dtype=np.uint64).reshape(-1)) if usable else None
            self._table_of = groups
        return self._table

    def row_order(self, state: Any) -> Any:
        """The ordered kernel's walk of the rows on the device (None: storage order), made once per connectivity.

        Parameters
        ----------
        state : mapping
            The projection's ``step_arrays().state`` (its index type is the walk's).
        """
        if self.kernels.mode != "ordered":
            return None
        # a new connectivity comes with a new post index: the key, holding no host copy of the synapses
        key = state["_post_idx"]
        if key is not self._order_of:
            post, _pre, delays = self._synapses()
            order = delay_row_order(post, delays, np.dtype(key.dtype))
            self._row_order = None if order is None else self._to_device(order)
            self._order_of = key
        return self._row_order

    def post_events(self, step: int) -> None:
        pre, post = self._pre_arrays(), self._post_arrays()
        self.kernels.post_events(self._arrays().state, step, post.spiked, pre.state, post.state,
                                 pre_sums=pre.sums, post_sums=post.sums)

    def continuous(self, step: int) -> None:
        pre, post = self._pre_arrays(), self._post_arrays()
        self.kernels.continuous(self._arrays().state, step, pre.state, post.state, pre_sums=pre.sums,
                                post_sums=post.sums)


def _address(array: Any) -> int:
    """Address of a contiguous array's first element: a device address for CuPy, a host one for NumPy."""
    pointer = getattr(array.data, "ptr", None)
    return int(pointer) if pointer is not None else int(array.ctypes.data)
