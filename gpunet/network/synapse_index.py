"""The per-synapse indexes of a projection: their integer type, the pre-major index, and what derives from it.

A spiking projection keeps, per synapse, its post rank (``_post_idx``, post-major) and its place in the
pre-major index of spike propagation (``pre_syn`` of one delay group); the pre rank and the delay of each
synapse follow from that index (the synapses of pre neuron ``i`` in group ``(delay, pre_ptr, pre_syn)`` are
``pre_syn[pre_ptr[i]:pre_ptr[i + 1]]``), so they are built only where something reads them: a kernel
signature, the array code of a model that reads ``pre.``, a save.  Indexes are int32 while every count
fits (:func:`index_dtype`).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

#: Counts from this value on need 64-bit indexes.
INT32_LIMIT = 2 ** 31


def index_dtype(*counts: int) -> np.dtype:
    """The integer type of per-synapse indexes: int32 when every count is below 2**31, else int64.

    Parameters
    ----------
    *counts : int
        The number of synapses and the sizes of the populations the indexes point into.

    Returns
    -------
    numpy.dtype
        ``int32`` or ``int64``.
    """
    return np.dtype(np.int32) if all(int(count) < INT32_LIMIT for count in counts) else np.dtype(np.int64)


def pre_major_groups(pre: np.ndarray, delays: np.ndarray, pre_size: int,
                     dtype: Any) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(delay, pre_ptr, pre_syn)`` per delay value (ascending), on the host; none without synapses.

    Parameters
    ----------
    pre : numpy.ndarray
        The pre rank of every synapse, post-major.
    delays : numpy.ndarray
        Every synapse's delay in steps, or one 0-d value for all.
    pre_size : int
        Size of the pre-synaptic population.
    dtype : numpy.dtype
        Type of ``pre_syn`` (:func:`index_dtype`); ``pre_ptr`` is int64.
    """
    pre = np.asarray(pre)
    delays = np.asarray(delays)
    if len(pre) == 0:
        return
    values = [int(delays)] if delays.ndim == 0 else [int(d) for d in np.unique(delays)]
    for delay in values:
        members = None if delays.ndim == 0 else np.nonzero(delays == delay)[0]
        ranks = pre if members is None else pre[members]
        order = np.argsort(ranks, kind="stable")
        if members is not None:
            order = members[order]
        pre_ptr = np.zeros(pre_size + 1, dtype=np.int64)
        np.cumsum(np.bincount(ranks, minlength=pre_size), out=pre_ptr[1:])
        yield delay, pre_ptr, order.astype(dtype, copy=False)


def pre_ranks_from_groups(groups: Iterable[tuple[int, np.ndarray, np.ndarray]], count: int,
                          dtype: Any = np.int64) -> np.ndarray:
    """The pre rank of every synapse (post-major) from host copies of its pre-major index.

    Parameters
    ----------
    groups : iterable of (delay, pre_ptr, pre_syn)
        Host arrays, as :func:`pre_major_groups` gives.
    count : int
        Number of synapses.
    dtype : numpy.dtype
        Type of the result.
    """
    groups = list(groups)
    if sum(len(pre_syn) for _delay, _pre_ptr, pre_syn in groups) != count:
        raise ValueError(f"the pre-major index lists {sum(len(g[2]) for g in groups)} synapses, not {count}")
    ranks = np.empty(count, dtype=dtype)
    for _delay, pre_ptr, pre_syn in groups:
        pre_ptr = np.asarray(pre_ptr)
        ranks[pre_syn] = np.repeat(np.arange(len(pre_ptr) - 1, dtype=dtype), np.diff(pre_ptr))
    return ranks


def delays_from_groups(groups: Iterable[tuple[int, np.ndarray, np.ndarray]], count: int) -> np.ndarray:
    """Every synapse's delay in steps (int32, post-major) from host copies of its pre-major index.

    Parameters
    ----------
    groups : iterable of (delay, pre_ptr, pre_syn)
        Host arrays, as :func:`pre_major_groups` gives.
    count : int
        Number of synapses.
    """
    groups = list(groups)
    if sum(len(pre_syn) for _delay, _pre_ptr, pre_syn in groups) != count:
        raise ValueError(f"the pre-major index lists {sum(len(g[2]) for g in groups)} synapses, not {count}")
    delays = np.empty(count, dtype=np.int32)
    for delay, _pre_ptr, pre_syn in groups:
        delays[pre_syn] = delay
    return delays


def post_ranks_from_rows(row_ptr: np.ndarray) -> np.ndarray:
    """The post rank (int64) of every synapse from the row pointers of a post-major connectivity.

    Parameters
    ----------
    row_ptr : numpy.ndarray
        ``row_ptr[j]:row_ptr[j + 1]`` are the synapses of post neuron ``j``.
    """
    row_ptr = np.asarray(row_ptr)
    return np.repeat(np.arange(len(row_ptr) - 1, dtype=np.int64), np.diff(row_ptr))


class PreRanks:
    """A callable that makes every synapse's pre rank (int64, post-major) from host arrays it holds.

    It holds nothing but those arrays (no projection, no network), so a save
    may call it on its writer thread: ``pre_idx`` (the pre ranks in the
    index type) when given, else the pre-major ``groups``.

    Parameters
    ----------
    count : int
        Number of synapses.
    groups : list of (delay, pre_ptr, pre_syn), optional
        Host arrays of the pre-major index.
    pre_idx : numpy.ndarray, optional
        The pre ranks, post-major.
    """

    def __init__(self, count: int, groups: Sequence[tuple] = (), pre_idx: Any = None) -> None:
        self.count, self.groups, self.pre_idx = int(count), list(groups), pre_idx

    def __call__(self) -> np.ndarray:
        if self.pre_idx is not None:
            return np.asarray(self.pre_idx).astype(np.int64)
        return pre_ranks_from_groups(self.groups, self.count)


class SynapseState(dict):
    """A projection's arrays by name, where the keys in ``derived`` are built at their first read, then kept.

    ``key in state`` is true for a derived key not built yet; iterating lists only the arrays that exist,
    so a derived array costs memory only once something has read it.

    Parameters
    ----------
    arrays : mapping
        The arrays that exist from the start.
    derived : sequence of str
        Keys built on demand by ``derive(key)``.
    derive : callable
        Builds the array of a derived key.
    """

    def __init__(self, arrays: Any = (), derived: Sequence[str] = (),
                 derive: Callable[[str], Any] = lambda key: None) -> None:
        super().__init__(arrays)
        self.derived = frozenset(derived)
        self._derive = derive

    def __missing__(self, key: str) -> Any:
        if key not in self.derived:
            raise KeyError(key)
        value = self._derive(key)
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.derived

    def get(self, key: str, default: Any = None) -> Any:
        """The array of ``key`` (building a derived one), or ``default``.

        Parameters
        ----------
        key : str
            The array's name.
        default : object
            What a key that is neither present nor derived gives.
        """
        return self[key] if key in self else default

    def built(self, key: str) -> bool:
        """Whether the array of ``key`` exists now (a derived one only after its first read).

        Parameters
        ----------
        key : str
            The array's name.
        """
        return dict.__contains__(self, key)
