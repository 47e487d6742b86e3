"""Which process holds which rows: contiguous blocks of neurons, synapses with their post-synaptic neuron.

A network spread over ``nprocs`` processes splits every population into
``nprocs`` contiguous blocks of neuron ranks, one per process, in process
order; the first ``size % nprocs`` blocks hold one neuron more (as
:func:`numpy.array_split`).  A projection's synapses live on the process that
owns their post-synaptic neuron: with the synapses stored post-major
(``post_ranks`` ascending, ``row_ptr`` offsets), a block of post neurons is a
contiguous run of rows and of synapses.

Everything here is a pure function of sizes and connectivity, so every
process computes the same answer without communicating, and a sharded
snapshot written by N processes can be cut again for M.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["block_bounds", "block_of", "owner_of", "synapse_block", "Partition"]


def _check(size: int, nprocs: int) -> None:
    if int(nprocs) < 1:
        raise ValueError(f"the number of processes must be >= 1, got {nprocs}")
    if int(size) < 0:
        raise ValueError(f"a size must be >= 0, got {size}")


def block_bounds(size: int, nprocs: int) -> np.ndarray:
    """The ``nprocs + 1`` offsets of the blocks of ``size`` neurons: block r is ``[bounds[r], bounds[r + 1])``.

    Examples
    --------
    >>> block_bounds(10, 3).tolist()
    [0, 4, 7, 10]
    >>> block_bounds(2, 4).tolist()
    [0, 1, 2, 2, 2]
    """
    _check(size, nprocs)
    base, extra = divmod(int(size), int(nprocs))
    counts = np.full(int(nprocs), base, dtype=np.int64)
    counts[:extra] += 1
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def block_of(size: int, nprocs: int, rank: int) -> tuple[int, int]:
    """The neuron ranks ``[lo, hi)`` that process ``rank`` of ``nprocs`` owns in a population of ``size``.

    >>> block_of(10, 3, 1)
    (4, 7)
    """
    if not 0 <= int(rank) < int(nprocs):
        raise ValueError(f"process rank {rank} is not in [0, {nprocs})")
    bounds = block_bounds(size, nprocs)
    return int(bounds[rank]), int(bounds[rank + 1])


def owner_of(ranks: np.ndarray, size: int, nprocs: int) -> np.ndarray:
    """The process owning each neuron rank of ``ranks`` (all in ``[0, size)``).

    >>> owner_of(np.array([0, 3, 4, 9]), 10, 3).tolist()
    [0, 0, 1, 2]
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if ranks.size and (ranks.min() < 0 or ranks.max() >= size):
        raise ValueError(f"neuron ranks must lie in [0, {size})")
    return np.searchsorted(block_bounds(size, nprocs), ranks, side="right").astype(np.int64) - 1


def synapse_block(post_ranks: np.ndarray, row_ptr: np.ndarray, lo: int, hi: int) -> tuple[int, int, int, int]:
    """The rows ``[r0, r1)`` and synapses ``[s0, s1)`` of a post-major connectivity whose post rank is in ``[lo, hi)``.

    ``post_ranks`` are the ascending post ranks having synapses, ``row_ptr``
    their ``len(post_ranks) + 1`` synapse offsets.

    >>> synapse_block(np.array([0, 2, 5]), np.array([0, 3, 4, 8]), 1, 5)
    (1, 2, 3, 4)
    """
    post_ranks = np.asarray(post_ranks, dtype=np.int64)
    r0, r1 = (int(i) for i in np.searchsorted(post_ranks, [lo, hi], side="left"))
    return r0, r1, int(row_ptr[r0]), int(row_ptr[r1])


@dataclass(frozen=True)
class Partition:
    """The blocks of every population of a network over ``nprocs`` processes.

    Parameters
    ----------
    nprocs : int
        Number of processes.
    sizes : Mapping[str, int]
        Population name -> number of neurons.

    Examples
    --------
    >>> part = Partition.of({"exc": 10, "inh": 3}, 2)
    >>> part.rows("exc", 1), part.rows("inh", 0)
    ((5, 10), (0, 2))
    """

    nprocs: int
    bounds: Mapping[str, tuple[int, ...]]

    @classmethod
    def of(cls, sizes: Mapping[str, int], nprocs: int) -> "Partition":
        """The partition of populations of ``sizes`` over ``nprocs`` processes."""
        return cls(int(nprocs), {name: tuple(int(b) for b in block_bounds(size, nprocs))
                                 for name, size in sizes.items()})

    def rows(self, population: str, rank: int) -> tuple[int, int]:
        """Neuron ranks ``[lo, hi)`` of ``population`` held by process ``rank``."""
        if not 0 <= int(rank) < self.nprocs:
            raise ValueError(f"process rank {rank} is not in [0, {self.nprocs})")
        bounds = self.bounds[population]
        return bounds[rank], bounds[rank + 1]
