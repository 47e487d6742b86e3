"""A ``connect_*`` call of a network under comm, made for one process's block of post neurons at compile.

Under comm a process keeps only the synapses onto its own block of post neurons
(:mod:`gpunet.network.distributed`).  A connector then runs at compile for that
block alone (:mod:`gpunet.network.connectors`' ``*_rows`` functions), and the
weights and delays drawn from distributions are the block's part of the whole
draw (:meth:`gpunet.network.distributions.Distribution.draw_part`): the synapses,
weights and delays a process holds are those of a one-process build, bit for
bit, but it never holds the others.  The generators are made at the
``connect_*`` call, so the network's later draws are those of a one-process
build too.

A script that reads or changes the synapses before compile (``proj.w``,
``len(proj)``, a save) gets the whole projection built then, as without comm;
a projection from data (``from_matrix``, ``from_sparse``, ``from_list``) keeps
only its block's rows of the data, so that is refused for it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from gpunet.errors import StructureError
from gpunet.network.connectors import Rows
from gpunet.network.distributions import Distribution

__all__ = ["PendingSynapses", "data_rows", "delay_bounds"]


def delay_bounds(delays: Any) -> Optional[tuple[float, float]]:
    """The lowest and highest delay (ms) ``delays`` can give: a number, or a distribution with both bounds.

    None when unknown (a distribution without ``min`` and ``max``): its delays must be drawn to be checked.

    Parameters
    ----------
    delays : float or Distribution
        Delays of a ``connect_*`` call.
    """
    if isinstance(delays, Distribution):
        low, high = getattr(delays, "min", None), getattr(delays, "max", None)
        if low is None or high is None:
            return None
        return float(low), float(high)
    return float(delays), float(delays)


class PendingSynapses:
    """The synapses of one ``connect_*`` call, to be made for a block of post rows.

    Parameters
    ----------
    rows : callable
        ``rows(lo, hi)`` -> ``(Rows, weights, delays)``: the synapses onto post rows ``[lo, hi)``, with their
        weights and delays when the connector gives them (data), else None (then ``weights`` / ``delays`` below).
    weights, delays : number or Distribution
        Of the call (delays in ms).
    generator : numpy.random.Generator
        Where the call's weights and delays are drawn from (delays first, as without comm).
    block : tuple of int
        The post rows ``[lo, hi)`` of this process.
    """

    def __init__(self, rows: Callable[[int, int], tuple[Rows, Any, Any]], weights: Any, delays: Any,
                 generator: np.random.Generator, block: tuple[int, int]) -> None:
        self.rows = rows
        self.weights, self.delays = weights, delays
        self.generator = generator
        self.block = block
        self.globals: dict[str, Any] = {}  # the projection's global attributes meanwhile

    def make(self, lo: int, hi: int) -> tuple[Rows, np.ndarray, np.ndarray]:
        """The synapses onto post rows ``[lo, hi)``, their weights and their delays in ms (once: draws advance).

        Parameters
        ----------
        lo, hi : int
            Post rows (global ranks).
        """
        rows, weights, delays = self.rows(lo, hi)
        count = len(rows.post)
        first = rows.first
        size = rows.total if rows.total is not None else first + count
        generator = self.generator
        if delays is None:
            if isinstance(self.delays, Distribution):  # drawn first: the weights follow the whole projection's delays
                delays = self.delays.draw_part(generator, size, first, first + count,
                                               finish=isinstance(self.weights, Distribution))
            else:
                delays = np.full(count, float(self.delays))
        if weights is None:
            if isinstance(self.weights, Distribution):
                weights = self.weights.draw_part(generator, size, first, first + count)
            else:
                weights = np.full(count, self.weights)
        return rows, np.asarray(weights), np.asarray(delays, dtype=np.float64)


def data_rows(name: str, kept: tuple[Rows, Any, Any], block: tuple[int, int]) -> Callable:
    """``rows`` of a :class:`PendingSynapses` from data: the block's synapses, cut at the ``connect_*`` call.

    Parameters
    ----------
    name : str
        The projection (for the error).
    kept : tuple
        ``(Rows, weights, delays)`` of the block.
    block : tuple of int
        Its post rows.
    """
    def rows(lo: int, hi: int) -> tuple[Rows, Any, Any]:
        if (lo, hi) != tuple(block):
            raise StructureError(f"projection {name!r}: under comm a projection connected from data keeps only the "
                                 f"rows of this process's post neurons {list(block)} until compile(); read or "
                                 "change its synapses, save or load it after compile()")
        return kept
    return rows
