"""Spike exchange between processes: buffered for one minimum-delay interval, then one collective.

A building block of the distributed engine (issue 15; not wired into the step loop yet): a spike emitted at step
``t`` reaches its synapses ``delay >= d_min`` steps later, so the processes need each other's spikes only once per
``d_min`` steps.  Each process records the global ranks of its own neurons that spiked at each step of the
interval; :meth:`SpikeExchange.exchange` makes one ``allgather`` and gives every process every spike of the
interval, per step and population, in ascending rank order: the same arrays whatever the number of processes,
so what is computed from them does not depend on it.

On the wire a spike is one int64 code ``(offset * populations + population) * stride + rank`` (``stride``: the
largest population size); :attr:`SpikeExchange.bytes_sent` and :attr:`bytes_received` count what this process
sends and receives (the figures docs/scaling.md estimates).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["SpikeExchange"]


class SpikeExchange:
    """The spikes of one interval of ``interval`` steps, exchanged among the processes of ``comm``.

    Parameters
    ----------
    comm : mpi4py communicator (or any object with ``allgather``)
        The processes that simulate the network together.
    populations : sequence of (name, size)
        Every population of the network, in creation order (the same on every process).
    interval : int
        Steps per exchange: the minimum delay of the network's projections, in steps.

    Examples
    --------
    >>> class Alone:
    ...     def allgather(self, value):
    ...         return [value]
    >>> exchange = SpikeExchange(Alone(), [("exc", 10), ("inh", 4)], interval=2)
    >>> exchange.record(0, "exc", np.array([7, 3]))
    >>> exchange.record(1, "inh", np.array([2]))
    >>> [{name: ids.tolist() for name, ids in step.items()} for step in exchange.exchange()]
    [{'exc': [3, 7], 'inh': []}, {'exc': [], 'inh': [2]}]
    """

    def __init__(self, comm: Any, populations: Sequence[tuple[str, int]], interval: int) -> None:
        if int(interval) < 1:
            raise ValueError(f"the exchange interval must be >= 1 step, got {interval}")
        self.comm = comm
        self.names = [str(name) for name, _ in populations]
        self.sizes = [int(size) for _, size in populations]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.interval = int(interval)
        self.stride = max(self.sizes, default=1) or 1
        if self.interval * max(len(self.names), 1) * self.stride >= 2 ** 63:
            raise ValueError("interval x populations x largest population size must stay below 2**63")
        self._pending: list[np.ndarray] = []
        self.bytes_sent = 0
        self.bytes_received = 0
        self.exchanges = 0

    def record(self, offset: int, population: str, ranks: np.ndarray) -> None:
        """The global ranks of ``population``'s neurons of this process that spiked at step ``offset`` of the interval."""
        if not 0 <= int(offset) < self.interval:
            raise ValueError(f"step offset {offset} is not in [0, {self.interval})")
        ranks = np.asarray(ranks, dtype=np.int64)
        size = self.sizes[self.index[population]]
        if ranks.size and (ranks.min() < 0 or ranks.max() >= size):
            raise ValueError(f"population {population!r}: spiking ranks must lie in [0, {size})")
        base = (int(offset) * len(self.names) + self.index[population]) * self.stride
        self._pending.append(ranks + base)

    def clear(self) -> None:
        """Forget the spikes recorded since the last exchange (a load or a reset replaced them)."""
        self._pending = []

    def exchange(self) -> list[dict[str, np.ndarray]]:
        """One collective: every process's spikes of the interval, per step offset and population, ranks ascending.

        Every process of ``comm`` must call it at the same step; the buffer is then empty for the next interval.
        """
        mine = np.concatenate(self._pending) if self._pending else np.zeros(0, dtype=np.int64)
        self._pending = []
        gathered = self.comm.allgather(mine)
        codes = np.sort(np.concatenate(gathered)) if gathered else mine
        self.bytes_sent += mine.nbytes
        self.bytes_received += codes.nbytes - mine.nbytes
        self.exchanges += 1
        slot, ranks = np.divmod(codes, self.stride)
        bounds = np.searchsorted(slot, np.arange(self.interval * len(self.names) + 1))
        steps = []
        for offset in range(self.interval):
            first = offset * len(self.names)
            steps.append({name: ranks[bounds[first + i]:bounds[first + i + 1]] for i, name in enumerate(self.names)})
        return steps
