"""Connection patterns: each returns post-major (post, pre) rank arrays on the host.

Post-major means sorted by post rank, then by pre rank; every connector
returns that order and no duplicate pair.  Random patterns draw from the
NumPy Generator they are given (seeded from the network seed), so a network is
rebuilt identically from its seed.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from gpunet.errors import StructureError
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.network.distributions import Distribution


def _without_self(post: np.ndarray, pre: np.ndarray, same: bool, allow_self: bool):
    if same and not allow_self:
        keep = post != pre
        return post[keep], pre[keep]
    return post, pre


def all_to_all(n_pre: int, n_post: int, same: bool, allow_self: bool):
    post = np.repeat(np.arange(n_post, dtype=np.int64), n_pre)
    pre = np.tile(np.arange(n_pre, dtype=np.int64), n_post)
    return _without_self(post, pre, same, allow_self)


def one_to_one(n_pre: int, n_post: int):
    if n_pre != n_post:
        raise StructureError(f"one_to_one needs populations of the same size, got pre {n_pre} and post {n_post}")
    ranks = np.arange(n_post, dtype=np.int64)
    return ranks, ranks.copy()


def fixed_probability(probability: float, n_pre: int, n_post: int, same: bool, allow_self: bool,
                      generator: np.random.Generator):
    """Each (pre, post) pair independently with ``probability``.

    Positions in the flattened post-major matrix are drawn by geometric gaps,
    which costs time proportional to the number of synapses, not of pairs.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"connection probability must be in [0, 1], got {probability}")
    total = n_pre * n_post
    if probability == 0.0 or total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    if probability == 1.0:
        return all_to_all(n_pre, n_post, same, allow_self)
    positions = []
    cursor = -1
    expected = int(total * probability + 6 * np.sqrt(total * probability) + 16)
    while True:
        gaps = generator.geometric(probability, size=expected)
        chunk = cursor + np.cumsum(gaps, dtype=np.int64)
        inside = chunk[chunk < total]
        positions.append(inside)
        if len(inside) < len(chunk):
            break
        cursor = int(chunk[-1])
    flat = np.concatenate(positions)
    post, pre = np.divmod(flat, n_pre)
    return _without_self(post.astype(np.int64), pre.astype(np.int64), same, allow_self)


def fixed_number_pre(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                     generator: np.random.Generator):
    """Each post neuron receives exactly ``number`` distinct pre neurons."""
    available = n_pre - (1 if same and not allow_self else 0)
    if not 0 <= number <= available:
        raise ValueError(f"fixed_number_pre: number must be in [0, {available}], got {number}")
    posts, pres = [], []
    for post in range(n_post):
        if same and not allow_self:
            candidates = generator.choice(n_pre - 1, number, replace=False)
            candidates = candidates + (candidates >= post)
        else:
            candidates = generator.choice(n_pre, number, replace=False)
        pres.append(np.sort(candidates))
        posts.append(np.full(number, post, dtype=np.int64))
    return np.concatenate(posts).astype(np.int64), np.concatenate(pres).astype(np.int64)


def fixed_number_post(number: int, n_pre: int, n_post: int, same: bool, allow_self: bool,
                      generator: np.random.Generator):
    """Each pre neuron projects to exactly ``number`` distinct post neurons."""
    available = n_post - (1 if same and not allow_self else 0)
    if not 0 <= number <= available:
        raise ValueError(f"fixed_number_post: number must be in [0, {available}], got {number}")
    posts, pres = [], []
    for pre in range(n_pre):
        if same and not allow_self:
            candidates = generator.choice(n_post - 1, number, replace=False)
            candidates = candidates + (candidates >= pre)
        else:
            candidates = generator.choice(n_post, number, replace=False)
        posts.append(candidates)
        pres.append(np.full(number, pre, dtype=np.int64))
    connectivity, _ = Connectivity.from_synapses(np.concatenate(posts), np.concatenate(pres))
    return connectivity.post_per_synapse(), connectivity.pre_ranks


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
    matrix = np.asarray(weights, dtype=object if _has_none(weights) else np.float64)
    if matrix.shape != (n_post, n_pre):
        raise StructureError(f"from_matrix: expected a (post, pre) = ({n_post}, {n_pre}) matrix, got {matrix.shape}")
    present = _present(matrix)
    post, pre = np.nonzero(present)
    values = matrix[post, pre].astype(np.float64)
    delay_values = None
    if _per_synapse_delays(delays):
        delay_matrix = np.asarray(delays, dtype=np.float64)
        if delay_matrix.shape != matrix.shape:
            raise StructureError(f"from_matrix: delays must have shape {matrix.shape}, got {delay_matrix.shape}")
        delay_values = delay_matrix[post, pre]
    return post.astype(np.int64), pre.astype(np.int64), values, delay_values


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
    if not scipy.sparse.issparse(weights):
        raise TypeError(f"from_sparse expects a scipy.sparse matrix, got {type(weights).__name__}")
    if weights.shape != (n_pre, n_post):
        raise StructureError(f"from_sparse: expected a (pre, post) = ({n_pre}, {n_post}) matrix (ANNarchy's "
                             f"orientation), got {weights.shape}")
    matrix = scipy.sparse.csr_matrix(weights.T, copy=True)  # post-major; sorting must not touch the caller's
    matrix.sum_duplicates()
    matrix.sort_indices()
    post = np.repeat(np.arange(n_post, dtype=np.int64), np.diff(matrix.indptr))
    pre = matrix.indices.astype(np.int64)
    delay_values = None
    if _per_synapse_delays(delays):
        delay_matrix = scipy.sparse.csr_matrix(delays)
        if delay_matrix.shape != weights.shape:
            raise StructureError(f"from_sparse: delays must have the weights' (pre, post) shape {weights.shape}, "
                                 f"got {delay_matrix.shape}")
        delay_values = np.asarray(delay_matrix[pre, post]).ravel()
    return post, pre, matrix.data.astype(np.float64), delay_values


def from_list(synapses: Any, n_pre: int, n_post: int):
    """Synapses from ``[(pre, post, w, d), ...]`` (delay optional); sorted post-major."""
    rows = [tuple(s) for s in synapses]
    if any(len(r) not in (3, 4) for r in rows) or len({len(r) for r in rows}) > 1:
        raise ValueError("from_list expects tuples (pre, post, w) or (pre, post, w, d), all of the same length")
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), None
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
    return post, pre, weights, delays
