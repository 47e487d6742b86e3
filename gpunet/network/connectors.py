"""Connection patterns: each returns post-major (post, pre) rank arrays on the host.

Post-major means sorted by post rank, then by pre rank; every connector
returns that order and no duplicate pair.  Random patterns draw from the
NumPy Generator they are given (seeded from the network seed), so a network is
rebuilt identically from its seed.

A process of a network under comm holds the synapses onto its block of post
neurons only: the ``*_rows`` functions build the synapses of the post rows
``[lo, hi)`` of the pattern the whole function builds, bit for bit, and say
where they start among the whole pattern's synapses (``first``) and how many
the whole pattern has (``total``), so that the weights and delays drawn for
them are the whole draw's.  The random patterns keep one sequential stream
(their results, and so saved files, are those of one process): they run
through the draws of the rows before ``lo`` (and of every pre neuron, for
``fixed_number_post``) without keeping them; all_to_all and one_to_one make
the block's rows alone.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import scipy.sparse

from gpunet.errors import StructureError
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.network.distributions import Distribution


#: Geometric gaps drawn at once by fixed_probability (bounds its memory beyond the synapses kept).
GAP_CHUNK = 1 << 20


class Rows(NamedTuple):
    """The synapses onto post rows ``[lo, hi)`` of a pattern (post-major, global ranks).

    ``first``: how many synapses of the whole pattern come before them;
    ``total``: the whole pattern's synapses (None when not counted).
    """

    post: np.ndarray
    pre: np.ndarray
    first: int
    total: Optional[int]


def _without_self(post: np.ndarray, pre: np.ndarray, same: bool, allow_self: bool):
    if same and not allow_self:
        keep = post != pre
        return post[keep], pre[keep]
    return post, pre


def _whole(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    return rows.post, rows.pre


def _check_rows(lo: int, hi: int, n_post: int) -> None:
    if not 0 <= lo <= hi <= n_post:
        raise ValueError(f"post rows [{lo}, {hi}) are not inside [0, {n_post})")


def all_to_all(n_pre: int, n_post: int, same: bool, allow_self: bool):
    return _whole(all_to_all_rows(n_pre, n_post, same, allow_self, 0, n_post))


def all_to_all_rows(n_pre: int, n_post: int, same: bool, allow_self: bool, lo: int, hi: int) -> Rows:
    """:func:`all_to_all`'s synapses onto post rows ``[lo, hi)`` (``same``: pre and post are one population)."""
    _check_rows(lo, hi, n_post)
    post = np.repeat(np.arange(lo, hi, dtype=np.int64), n_pre)
    pre = np.tile(np.arange(n_pre, dtype=np.int64), hi - lo)
    post, pre = _without_self(post, pre, same, allow_self)
    per_row = n_pre - (1 if same and not allow_self else 0)  # same: n_pre == n_post, one self pair per row
    return Rows(post, pre, lo * per_row, n_post * per_row)


def one_to_one(n_pre: int, n_post: int):
    return _whole(one_to_one_rows(n_pre, n_post, 0, n_post))


def check_one_to_one(n_pre: int, n_post: int) -> None:
    """Raise StructureError unless the populations have the same size."""
    if n_pre != n_post:
        raise StructureError(f"one_to_one needs populations of the same size, got pre {n_pre} and post {n_post}")


def one_to_one_rows(n_pre: int, n_post: int, lo: int, hi: int) -> Rows:
    """:func:`one_to_one`'s synapses onto post rows ``[lo, hi)``."""
    check_one_to_one(n_pre, n_post)
    _check_rows(lo, hi, n_post)
    ranks = np.arange(lo, hi, dtype=np.int64)
    return Rows(ranks, ranks.copy(), lo, n_post)


def check_probability(probability: float) -> None:
    """Raise ValueError unless ``probability`` lies in [0, 1]."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"connection probability must be in [0, 1], got {probability}")


def fixed_probability(probability: float, n_pre: int, n_post: int, same: bool, allow_self: bool,
                      generator: np.random.Generator):
    """Each (pre, post) pair independently with ``probability``.

    Positions in the flattened post-major matrix are drawn by geometric gaps,
    which costs time proportional to the number of synapses, not of pairs.
    """
    return _whole(fixed_probability_rows(probability, n_pre, n_post, same, allow_self, generator, 0, n_post))


def fixed_probability_rows(probability: float, n_pre: int, n_post: int, same: bool, allow_self: bool,
                           generator: np.random.Generator, lo: int, hi: int, count_all: bool = True) -> Rows:
    """:func:`fixed_probability`'s synapses onto post rows ``[lo, hi)``.

    The gaps are one stream over the whole matrix: the positions before row
    ``lo`` are drawn and counted, not kept.  ``count_all=False`` stops at row
    ``hi`` (``total`` is then None).
    """
    check_probability(probability)
    _check_rows(lo, hi, n_post)
    total = n_pre * n_post
    if probability == 0.0 or total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Rows(empty, empty.copy(), 0, 0)
    if probability == 1.0:
        return all_to_all_rows(n_pre, n_post, same, allow_self, lo, hi)
    start, stop = lo * n_pre, hi * n_pre
    limit = total if count_all else stop
    drop_self = same and not allow_self
    expected = int(total * probability + 6 * np.sqrt(total * probability) + 16)
    chunk = min(expected, GAP_CHUNK)
    kept, before, after, cursor = [], 0, 0, -1
    while cursor < limit - 1:
        positions = cursor + np.cumsum(generator.geometric(probability, size=chunk), dtype=np.int64)
        cursor = int(positions[-1])
        positions = positions[positions < total]
        if drop_self:  # a pair (i, i) is no synapse: it is neither kept nor counted
            post, pre = np.divmod(positions, n_pre)
            positions = positions[post != pre]
        a, b = np.searchsorted(positions, [start, stop])  # ascending
        before += int(a)
        after += len(positions) - int(b)
        kept.append(positions[a:b])
    flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    post, pre = np.divmod(flat, n_pre)
    return Rows(post.astype(np.int64), pre.astype(np.int64), before,
                before + len(flat) + after if count_all else None)


def check_number(kind: str, number: int, available: int) -> None:
    """Raise ValueError unless ``0 <= number <= available`` (fixed_number_pre / fixed_number_post)."""
    if not 0 <= number <= available:
        raise ValueError(f"{kind}: number must be in [0, {available}], got {number}")


def _distinct(generator: np.random.Generator, size: int, number: int, skip: Optional[int]) -> np.ndarray:
    """``number`` distinct ranks of ``size`` (``skip``: of ``size - 1``, leaving that rank out), as drawn."""
    if skip is not None:
        candidates = generator.choice(size - 1, number, replace=False)
        return candidates + (candidates >= skip)
    return generator.choice(size, number, replace=False)


def fixed_number_pre(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                     generator: np.random.Generator):
    """Each post neuron receives exactly ``number`` distinct pre neurons."""
    return _whole(fixed_number_pre_rows(number, n_pre, n_post, same, allow_self, generator, 0, n_post))


def fixed_number_pre_rows(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                          generator: np.random.Generator, lo: int, hi: int) -> Rows:
    """:func:`fixed_number_pre`'s synapses onto post rows ``[lo, hi)``: the rows before ``lo`` are drawn, not kept,
    and the draws stop after row ``hi - 1``."""
    drop_self = same and not allow_self
    check_number("fixed_number_pre", number, n_pre - (1 if drop_self else 0))
    _check_rows(lo, hi, n_post)
    pres = []
    for post in range(hi):
        candidates = _distinct(generator, n_pre, number, post if drop_self else None)
        if post >= lo:
            pres.append(np.sort(candidates))
    post = np.repeat(np.arange(lo, hi, dtype=np.int64), number)
    pre = np.concatenate(pres).astype(np.int64) if pres else np.zeros(0, dtype=np.int64)
    return Rows(post, pre, lo * number, n_post * number)


def fixed_number_post(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                      generator: np.random.Generator):
    """Each pre neuron projects to exactly ``number`` distinct post neurons."""
    return _whole(fixed_number_post_rows(number, n_pre, n_post, same, allow_self, generator, 0, n_post))


def fixed_number_post_rows(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                           generator: np.random.Generator, lo: int, hi: int) -> Rows:
    """:func:`fixed_number_post`'s synapses onto post rows ``[lo, hi)``: every pre neuron's draw is made (a pre
    neuron may reach any post row), only the synapses onto the block are kept."""
    drop_self = same and not allow_self
    check_number("fixed_number_post", number, n_post - (1 if drop_self else 0))
    _check_rows(lo, hi, n_post)
    posts, pres, before = [], [], 0
    for pre in range(n_pre):
        candidates = _distinct(generator, n_post, number, pre if drop_self else None)
        before += int(np.count_nonzero(candidates < lo))
        mine = candidates[(candidates >= lo) & (candidates < hi)]
        posts.append(mine)
        pres.append(np.full(len(mine), pre, dtype=np.int64))
    if not posts:
        empty = np.zeros(0, dtype=np.int64)
        return Rows(empty, empty.copy(), 0, 0)
    connectivity, _ = Connectivity.from_synapses(np.concatenate(posts).astype(np.int64), np.concatenate(pres))
    return Rows(connectivity.post_per_synapse(), connectivity.pre_ranks, before, n_pre * number)


def _is_synapse(value: Any) -> bool:
    """Whether one entry of an object matrix is a weight (not None, not NaN of any float type)."""
    if value is None:
        return False
    number = float(value)
    return not np.isnan(number)


def _present(matrix: np.ndarray) -> np.ndarray:
    if matrix.dtype == object:
        return np.vectorize(_is_synapse, otypes=[bool])(matrix)
    return ~np.isnan(matrix.astype(np.float64))


def _per_synapse_delays(delays: Any) -> bool:
    """True when ``delays`` holds one value per matrix entry (not a number nor a distribution)."""
    return delays is not None and not isinstance(delays, Distribution) and np.ndim(delays) > 0


def from_matrix(weights: Any, n_pre: int, n_post: int, delays: Any = None):
    """Synapses where the dense **(post, pre)** matrix holds a number (None / NaN: no synapse).

    The orientation is ANNarchy 5.0.4.1's (``from_matrix``: first dimension =
    post-synaptic ranks unless ``pre_post``).  ANNarchy skips only None and
    makes a synapse of weight NaN from a NaN; gpunet skips NaN too (a NumPy
    float matrix cannot hold None).

    Returns post, pre, weights and per-synapse delays (None when ``delays`` is
    a scalar or absent).
    """
    return from_matrix_rows(weights, n_pre, n_post, 0, n_post, delays)[:4]


def from_matrix_rows(weights: Any, n_pre: int, n_post: int, lo: int, hi: int, delays: Any = None,
                     check: Optional[Callable[[np.ndarray], Any]] = None):
    """:func:`from_matrix`'s synapses onto post rows ``[lo, hi)``, then ``first`` and ``total`` (see :class:`Rows`).

    Only the block's rows of the matrix are turned into synapses; the others are only counted, and
    ``check`` is given their per-synapse delays (so that a bad delay fails on every process alike).
    """
    matrix = np.asarray(weights, dtype=object if _has_none(weights) else np.float64)
    if matrix.shape != (n_post, n_pre):
        raise StructureError(f"from_matrix: expected a (post, pre) = ({n_post}, {n_pre}) matrix, got {matrix.shape}")
    delay_matrix = None
    if _per_synapse_delays(delays):
        delay_matrix = np.asarray(delays, dtype=np.float64)
        if delay_matrix.shape != matrix.shape:
            raise StructureError(f"from_matrix: delays must have shape {matrix.shape}, got {delay_matrix.shape}")
    _check_rows(lo, hi, n_post)
    before = after = 0
    for a, b in ((0, lo), (hi, n_post)):
        if b > a:
            others = _present(matrix[a:b])
            if a == 0:
                before = int(np.count_nonzero(others))
            else:
                after = int(np.count_nonzero(others))
            if check is not None and delay_matrix is not None:
                check(delay_matrix[a:b][others])
    present = _present(matrix[lo:hi])
    post, pre = np.nonzero(present)
    values = matrix[lo:hi][post, pre].astype(np.float64)
    delay_values = None if delay_matrix is None else delay_matrix[lo:hi][post, pre]
    return (post.astype(np.int64) + lo, pre.astype(np.int64), values, delay_values, before,
            before + len(post) + after)


def _has_none(weights: Any) -> bool:
    if isinstance(weights, np.ndarray):
        return weights.dtype == object
    return any(v is None for row in weights for v in (row if isinstance(row, (list, tuple)) else [row]))


def from_sparse(weights: Any, n_pre: int, n_post: int, delays: Any = None):
    """Synapses of a scipy.sparse **(pre, post)** matrix, explicit zeros included.

    The orientation is ANNarchy 5.0.4.1's (``from_sparse``: first dimension =
    pre-synaptic ranks), the transpose of :func:`from_matrix`'s.  The caller's
    matrix is not modified.  Per-synapse ``delays`` (a gpunet extension:
    ANNarchy takes only one delay here) are a sparse or dense (pre, post)
    matrix, read at the positions of the weights.
    """
    return from_sparse_rows(weights, n_pre, n_post, 0, n_post, delays)[:4]


def from_sparse_rows(weights: Any, n_pre: int, n_post: int, lo: int, hi: int, delays: Any = None,
                     check: Optional[Callable[[np.ndarray], Any]] = None):
    """:func:`from_sparse`'s synapses onto post rows ``[lo, hi)``, then ``first`` and ``total`` (see :class:`Rows`).

    ``check`` is given the per-synapse delays of the other rows.
    """
    if not scipy.sparse.issparse(weights):
        raise TypeError(f"from_sparse expects a scipy.sparse matrix, got {type(weights).__name__}")
    if weights.shape != (n_pre, n_post):
        raise StructureError(f"from_sparse: expected a (pre, post) = ({n_pre}, {n_post}) matrix (ANNarchy's "
                             f"orientation), got {weights.shape}")
    delay_matrix = None
    if _per_synapse_delays(delays):
        delay_matrix = scipy.sparse.csr_matrix(delays)
        if delay_matrix.shape != weights.shape:
            raise StructureError(f"from_sparse: delays must have the weights' (pre, post) shape {weights.shape}, "
                                 f"got {delay_matrix.shape}")
    _check_rows(lo, hi, n_post)
    matrix = scipy.sparse.csr_matrix(weights.T, copy=True)  # post-major; sorting must not touch the caller's
    matrix.sum_duplicates()
    if (lo, hi) != (0, n_post):
        first, total = int(matrix.indptr[lo]), int(matrix.indptr[-1])
        if check is not None and delay_matrix is not None:
            for a, b in ((0, lo), (hi, n_post)):
                if b == a:
                    continue
                others = matrix[a:b]
                rows = np.repeat(np.arange(a, b, dtype=np.int64), np.diff(others.indptr))
                check(np.asarray(delay_matrix[others.indices, rows]).ravel())
        matrix = matrix[lo:hi]  # the block's rows: a copy of their part only
    else:
        first, total = 0, int(matrix.indptr[-1])
    matrix.sort_indices()
    post = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(matrix.indptr))
    pre = matrix.indices.astype(np.int64)
    delay_values = None if delay_matrix is None else np.asarray(delay_matrix[pre, post]).ravel()
    return post, pre, matrix.data.astype(np.float64), delay_values, first, total


def from_list(synapses: Any, n_pre: int, n_post: int):
    """Synapses from ``[(pre, post, w, d), ...]`` (delay optional); sorted post-major."""
    return from_list_rows(synapses, n_pre, n_post, 0, n_post)[:4]


def from_list_rows(synapses: Any, n_pre: int, n_post: int, lo: int, hi: int,
                   check: Optional[Callable[[np.ndarray], Any]] = None):
    """:func:`from_list`'s synapses onto post rows ``[lo, hi)``, then ``first`` and ``total`` (see :class:`Rows`).

    The whole list is read and checked (a bad synapse fails on every process alike), then cut; ``check`` is
    given the delays of the synapses of the other rows.
    """
    _check_rows(lo, hi, n_post)
    rows = [tuple(s) for s in synapses]
    if any(len(r) not in (3, 4) for r in rows) or len({len(r) for r in rows}) > 1:
        raise ValueError("from_list expects tuples (pre, post, w) or (pre, post, w, d), all of the same length")
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), None, 0, 0
    pre = np.array([r[0] for r in rows], dtype=np.int64)
    post = np.array([r[1] for r in rows], dtype=np.int64)
    for role, ranks, size in (("pre", pre, n_pre), ("post", post, n_post)):
        outside = (ranks < 0) | (ranks >= size)
        if outside.any():
            k = int(np.argmax(outside))
            raise StructureError(f"from_list: synapse {k} {rows[k]!r} has {role} rank {int(ranks[k])} outside "
                                 f"the {role}-synaptic population (size {size})")
    weights = np.array([r[2] for r in rows], dtype=np.float64)
    delays = np.array([r[3] for r in rows], dtype=np.float64) if len(rows[0]) == 4 else None
    connectivity, order = Connectivity.from_synapses(post, pre)
    post, pre, weights = connectivity.post_per_synapse(), connectivity.pre_ranks, weights[order]
    delays = delays[order] if delays is not None else None
    k = connectivity.duplicate()
    if k is not None:
        raise StructureError(f"from_list: synapse (pre {pre[k]}, post {post[k]}) is listed twice")
    s0, s1 = (int(i) for i in np.searchsorted(post, [lo, hi]))
    if check is not None and delays is not None:
        check(np.concatenate((delays[:s0], delays[s1:])))
    return (post[s0:s1], pre[s0:s1], weights[s0:s1], None if delays is None else delays[s0:s1], s0, len(post))
