"""The order in which the ordered spike-propagation kernel walks each row of a projection.

The NumPy path adds the contributions of arriving spikes to a post neuron's
conductance one delay value after the other (ascending), each over the pre
neurons in ascending rank.  Synapses are stored post-major by pre rank, so
when every synapse of a row has the same delay the storage order is that
order; otherwise the kernel walks the row through a permutation that sorts
its synapses by (delay, pre rank), built here once per connectivity.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


def delay_row_order(post: np.ndarray, delays: np.ndarray, dtype: Any) -> Optional[np.ndarray]:
    """Synapse indices sorted by (post rank, delay, storage position), or None when no row mixes delays.

    Parameters
    ----------
    post : numpy.ndarray
        Post-synaptic rank of every synapse, in storage (post-major) order.
    delays : numpy.ndarray
        Delay in steps of every synapse, same order.
    dtype : numpy.dtype
        Index type of the result (the projection's synapse index type).

    Returns
    -------
    numpy.ndarray or None
        ``order[k]`` is the synapse at position ``k`` of the walk; rows keep
        their ranges (``row_ptr``) since the sort is by post rank first.

    >>> delay_row_order(np.array([0, 0, 0, 1]), np.array([2, 1, 2, 3]), np.int32).tolist()
    [1, 0, 2, 3]
    >>> delay_row_order(np.array([0, 0, 1]), np.array([2, 2, 1]), np.int32) is None
    True
    """
    post, delays = np.asarray(post), np.asarray(delays)
    if len(post) < 2:
        return None
    same_row = post[1:] == post[:-1]
    if not np.any(delays[1:][same_row] != delays[:-1][same_row]):
        return None
    # post < 2**31 and delays <= MAX_DELAY_STEPS (2**20): the key fits an int64
    key = post.astype(np.int64) * (int(delays.max()) + 1) + delays.astype(np.int64)
    return np.argsort(key, kind="stable").astype(dtype, copy=False)
