"""The distributed engine on a GPU: one device per process, and the host side of its exchanges (issue 15).

Under ``Network(comm=..., backend="cupy")`` each process takes the GPU of its rank among the processes of its
node (:func:`device_for_rank`: ``MPI.COMM_TYPE_SHARED``, modulo the devices it sees) unless ``device=`` is given.

The exchanges themselves are host collectives (mpi4py ``allgather``; CUDA-aware MPI would skip the host but is
not required).  :class:`PinnedTransfers` holds the page-locked host buffers they go through, reserved at
compile (and again only when the exchange interval changes), never per step:

- each exchanged population's spike mask of this process's block, device -> host every step;
- each exchanged population's spike rows of one minimum-delay interval, host -> device into the whole
  population's spike ring once per interval;
- each attribute projections read as ``pre.x``: this process's block device -> host, and the whole gathered
  population host -> device into a device array kept across steps, once per step.

A host -> device copy from a pinned buffer is asynchronous; the buffer is written again only after a
device -> host copy on the same stream (the next step's spike mask), which waits for it.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gpunet.io.pipeline.state_types import ring_row

__all__ = ["local_rank", "device_for_rank", "PinnedTransfers"]


def local_rank(comm: Any) -> int:
    """This process's rank among the processes of ``comm`` on its node (one ``Split_type``, collective).

    Parameters
    ----------
    comm : mpi4py communicator
        The processes that simulate one network.
    """
    from mpi4py import MPI  # only here: a communicator exists, so mpi4py does
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    try:
        return int(node.Get_rank())
    finally:
        node.Free()


def device_for_rank(comm: Any, device_count: int) -> int:
    """The GPU of this process: its rank on its node modulo ``device_count`` (0 when no device is seen).

    Parameters
    ----------
    comm : mpi4py communicator
        The processes that simulate one network (every process must call this: it splits ``comm``).
    device_count : int
        The devices this process sees (``CUDA_VISIBLE_DEVICES`` applied).
    """
    rank = local_rank(comm)
    return rank % int(device_count) if device_count > 0 else 0


def presynaptic_array(population: Any, name: str) -> Any:
    """The array of ``population`` that projections read as ``pre.<name>``: an attribute, or ``_sum_<target>``
    (``pre.sum(target)``), the population's summed input of that target."""
    if name.startswith("_sum_"):
        return population._sums[name[len("_sum_"):]]
    return population._state[name]


class PinnedTransfers:
    """The page-locked host buffers of a distributed network's exchanges on a GPU (see the module docstring).

    Parameters
    ----------
    backend : Backend
        The network's GPU backend (``host_buffer``, ``copy_to_host``, ``copy_from_host``).
    sent : list of Population
        The populations whose spikes are exchanged: their blocks' masks come to the host every step, their
        whole rows go back to the device once per interval.
    reads : list of (Population, list of str)
        The attributes projections read as ``pre.x``, per population.
    interval : int
        Steps of spikes per exchange.
    """

    def __init__(self, backend: Any, sent: list, reads: list, interval: int) -> None:
        self.backend = backend
        self.sent = list(sent)
        self.masks = {population: self._pinned((population._count,), np.bool_) for population in self.sent}
        self.own: dict[tuple[Any, str], np.ndarray] = {}
        self.whole: dict[tuple[Any, str], np.ndarray] = {}
        self.device: dict[tuple[Any, str], Any] = {}
        for population, names in reads:
            for name in names:
                # before compile (the buffers are reserved then) the summed inputs do not exist yet
                dtype = population.network.precision if name.startswith("_sum_") else population._state[name].dtype
                self.own[population, name] = self._pinned((population._count,), dtype)
                self.whole[population, name] = self._pinned((population.size,), dtype)
                self.device[population, name] = backend.xp.zeros(population.size, dtype=dtype)
        self.interval = 0
        self.rows: dict[Any, np.ndarray] = {}
        self.reserve_rows(interval)

    def _pinned(self, shape: tuple, dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        return self.backend.host_buffer(max(count, 1) * dtype.itemsize)[:count * dtype.itemsize].view(
            dtype).reshape(shape)

    def reserve_rows(self, interval: int) -> None:
        """Buffers for ``interval`` steps of spike rows of every exchanged population (only when it changed).

        Parameters
        ----------
        interval : int
            Steps of spikes per exchange.
        """
        if int(interval) != self.interval:
            self.interval = int(interval)
            self.rows = {population: self._pinned((self.interval, population.size), np.bool_)
                         for population in self.sent}

    def spikes(self, population: Any) -> np.ndarray:
        """This process's spike mask of ``population`` for the step just computed, in its pinned buffer.

        Parameters
        ----------
        population : Population
            A spiking population.
        """
        return self.backend.copy_to_host(population._spiked, self.masks[population])

    def write_rows(self, population: Any, start: int, steps: list) -> None:
        """Write the exchanged spikes of ``len(steps)`` steps from ``start`` into the whole population's ring.

        Parameters
        ----------
        population : Population
            An exchanged population.
        start : int
            The step of ``steps[0]``.
        steps : list of dict
            Per step, the global ranks that spiked, per population name (``SpikeExchange.exchange``).
        """
        rows = self.rows[population]
        count = len(steps)
        rows[:count] = False
        for offset, ranks in enumerate(steps):
            rows[offset, ranks[population.name]] = True
        ring = population._history
        depth = ring.shape[0]
        offset = 0
        while offset < count:  # contiguous runs of ring rows (two at most: the ring wraps once)
            first = ring_row(start + offset, depth)
            run = min(count - offset, depth - first)
            self.backend.copy_from_host(ring[first:first + run], rows[offset:offset + run])
            offset += run

    def own_values(self, population: Any, name: str) -> np.ndarray:
        """This process's block of ``population.<name>``, in its pinned buffer.

        Parameters
        ----------
        population : Population
            A population whose attribute projections read.
        name : str
            The attribute.
        """
        return self.backend.copy_to_host(presynaptic_array(population, name), self.own[population, name])

    def whole_values(self, population: Any, name: str, parts: list) -> Any:
        """The whole population's ``name`` from every process's block, on the device (an array kept across steps).

        Parameters
        ----------
        population : Population
            A population whose attribute projections read.
        name : str
            The attribute.
        parts : list of numpy.ndarray
            Every process's block, in rank order.
        """
        whole = self.whole[population, name]
        np.concatenate(parts, out=whole)
        device = self.device[population, name]
        self.backend.copy_from_host(device, whole)
        return device

    @property
    def nbytes(self) -> int:
        """Bytes of pinned host memory held."""
        buffers = [*self.masks.values(), *self.own.values(), *self.whole.values(), *self.rows.values()]
        return int(sum(buffer.nbytes for buffer in buffers))

