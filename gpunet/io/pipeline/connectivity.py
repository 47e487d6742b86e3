"""The synapses of one projection in ANNarchy's compressed form, with the checks and the sort everyone shares.

``post_ranks`` lists the post neurons that have synapses (one row each), ``row_ptr`` the offsets of their rows
in ``pre_ranks`` (``len(post_ranks) + 1`` of them).  The canonical order is post-major: ascending post ranks,
then ascending pre ranks within a row.  Files, the network's connectors and loads all go through
:meth:`Connectivity.validate` and :meth:`Connectivity.sorted` (or :meth:`Connectivity.from_synapses` for
synapses listed one by one), so the rules are written once.  Host NumPy arrays only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from gpunet.errors import StructureError


@dataclass(frozen=True)
class Connectivity:
    """``post_ranks``, ``row_ptr`` and ``pre_ranks`` of a projection (see the module); arrays are not copied."""

    post_ranks: np.ndarray
    row_ptr: np.ndarray
    pre_ranks: np.ndarray

    @classmethod
    def from_synapses(cls, post: np.ndarray, pre: np.ndarray) -> tuple["Connectivity", np.ndarray]:
        """The synapses ``(post[k], pre[k])``, given in any order, sorted post-major.

        Returns the connectivity (int64 arrays) and the order: synapse ``k`` of
        it is synapse ``order[k]`` of the input (a stable sort, so pairs given
        twice keep their input order; :meth:`duplicate` finds them).

        >>> conn, order = Connectivity.from_synapses(np.array([2, 0, 0]), np.array([1, 5, 3]))
        >>> conn.post_ranks.tolist(), conn.row_ptr.tolist(), conn.pre_ranks.tolist(), order.tolist()
        ([0, 2], [0, 2, 3], [3, 5, 1], [2, 1, 0])
        """
        post = np.asarray(post, dtype=np.int64)
        pre = np.asarray(pre, dtype=np.int64)
        order = np.lexsort((pre, post))
        ranks, counts = np.unique(post[order], return_counts=True)
        return cls(ranks.astype(np.int64), _offsets(counts), pre[order]), order

    @property
    def nb_synapses(self) -> int:
        return int(len(self.pre_ranks))

    def post_per_synapse(self) -> np.ndarray:
        """The post rank of every synapse (int64, in the order of ``pre_ranks``)."""
        return np.repeat(np.asarray(self.post_ranks, dtype=np.int64), np.diff(np.asarray(self.row_ptr, np.int64)))

    def validate(self, pre_size: Optional[int] = None, post_size: Optional[int] = None,
                 rows_only: bool = False) -> None:
        """Raise :class:`~gpunet.errors.StructureError` (the problem, without a location) unless well-formed.

        Well-formed: 1-D integer arrays; ``row_ptr`` starts at 0, never
        decreases and ends at ``len(pre_ranks)``, one more entry than
        ``post_ranks``; post ranks strictly ascending, in ``[0, post_size)``;
        pre ranks in ``[0, pre_size)``; no (pre, post) pair twice.  A size
        None is not checked.  ``rows_only``: only the row pointer (what a
        writer needs to cut rows).  Ranges are checked before any cast, so
        no value wraps.
        """
        for label in ("post_ranks", "row_ptr", "pre_ranks"):
            array = getattr(self, label)
            if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
                raise StructureError(f"{label} must be a 1-D integer array, found {array.dtype} {array.shape}")
        post_ranks, row_ptr, pre_ranks = self.post_ranks, self.row_ptr, self.pre_ranks
        if len(row_ptr) != len(post_ranks) + 1 or (len(row_ptr) and (
                row_ptr[0] != 0 or row_ptr[-1] != len(pre_ranks) or row_ptr.min() < 0
                or row_ptr.max() > len(pre_ranks))) or np.any(np.diff(row_ptr.astype(np.int64)) < 0):
            raise StructureError(f"the row pointer does not match post_ranks ({len(post_ranks)} rows) and "
                                 f"pre_ranks ({len(pre_ranks)} synapses)")
        if rows_only:
            return
        if len(post_ranks) and (post_ranks.min() < 0 or (post_size is not None and post_ranks.max() >= post_size)):
            raise StructureError(f"post ranks must lie in [0, {post_size}), found "
                                 f"[{post_ranks.min()}, {post_ranks.max()}]")
        if np.any(np.diff(post_ranks.astype(np.int64)) <= 0):
            raise StructureError("post_ranks must be strictly ascending")
        if len(pre_ranks) and (pre_ranks.min() < 0 or (pre_size is not None and pre_ranks.max() >= pre_size)):
            raise StructureError(f"pre ranks must lie in [0, {pre_size}), found "
                                 f"[{pre_ranks.min()}, {pre_ranks.max()}]")
        if self.sorted()[0].duplicate() is not None:
            raise StructureError("a (pre, post) pair appears twice")

    def sorted(self) -> tuple["Connectivity", Optional[np.ndarray]]:
        """This connectivity post-major (rows of one post rank merged) and the order of its synapses.

        ``order`` is None, and the connectivity this one, when it is sorted
        already (the usual case, checked without sorting); otherwise synapse
        ``k`` of the result is synapse ``order[k]`` of this one.  Expects a
        row pointer that :meth:`validate` (``rows_only``) accepts.
        """
        post_ranks, row_ptr, pre_ranks = self.post_ranks, self.row_ptr, self.pre_ranks
        counts = np.diff(np.asarray(row_ptr, dtype=np.int64))
        if len(post_ranks) < 2 or bool(np.all(np.diff(post_ranks.astype(np.int64)) > 0)):
            row_of = np.repeat(np.arange(len(post_ranks)), counts)
            if len(pre_ranks) < 2 or not np.any((row_of[1:] == row_of[:-1])
                                                & (np.diff(pre_ranks.astype(np.int64)) < 0)):
                return self, None
        post_of = np.repeat(post_ranks, counts)
        order = np.lexsort((pre_ranks, post_of))
        ranks, new_counts = np.unique(post_of[order], return_counts=True)
        return Connectivity(ranks.astype(np.int64), _offsets(new_counts), pre_ranks[order]), order

    def duplicate(self) -> Optional[int]:
        """In a sorted connectivity: the first synapse whose (pre, post) pair the next one repeats, or None."""
        post = self.post_per_synapse()
        repeated = (np.diff(post) == 0) & (np.diff(np.asarray(self.pre_ranks, dtype=np.int64)) == 0)
        return int(np.argmax(repeated)) if repeated.any() else None


def _offsets(counts: np.ndarray) -> np.ndarray:
    """Row pointer (int64) of rows of ``counts`` synapses."""
    row_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    return row_ptr
