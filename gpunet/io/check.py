"""Consistency checks of a NetworkState on its own (no network needed).

:func:`check_state`, used by ``gpunet verify`` and ``gpunet convert``: every
array has the size its object declares, connectivity is well-formed and within
the sizes of the populations the file names, delays are finite and
non-negative.  :func:`check_writable`, run by every save before it writes: the
file will load back (object names a network can have).
"""
from __future__ import annotations

import numpy as np

from gpunet.errors import FormatError, GpunetError
from gpunet.io.state_types import NetworkState
from gpunet.network.limits import check_name


def check_state(state: NetworkState) -> list[str]:
    """Problems found in ``state`` (an empty list when it is consistent)."""
    problems: list[str] = []
    sizes = {}
    for pop in state.populations:
        sizes[pop.name] = int(pop.size)
        if pop.geometry and int(np.prod(pop.geometry)) != int(pop.size):
            problems.append(f"population {pop.name!r}: geometry {tuple(pop.geometry)} does not hold {pop.size} neurons")
        for key, value in pop.values.items():
            array = np.asarray(value)
            if array.ndim and array.size != pop.size:
                problems.append(f"population {pop.name!r}, {key!r}: {array.size} values for {pop.size} neurons")
    for proj in state.projections:
        where = f"projection {proj.name!r}"
        post_ranks, row_ptr, pre_ranks = (np.asarray(a) for a in (proj.post_ranks, proj.row_ptr, proj.pre_ranks))
        count = len(pre_ranks)
        if len(row_ptr) != len(post_ranks) + 1 or (len(row_ptr) and (row_ptr[0] != 0 or row_ptr[-1] != count)) \
                or np.any(np.diff(row_ptr) < 0):
            problems.append(f"{where}: row pointer inconsistent with {len(post_ranks)} rows and {count} synapses")
        if np.any(np.diff(post_ranks) <= 0):
            problems.append(f"{where}: post ranks are not strictly ascending")
        for side, ranks in (("pre", pre_ranks), ("post", post_ranks)):
            size = sizes.get(getattr(proj, side))
            if len(ranks) and (ranks.min() < 0 or (size is not None and ranks.max() >= size)):
                problems.append(f"{where}: {side} ranks outside [0, {size if size is not None else '...'})")
        delays = np.asarray(proj.delays, dtype=np.float64)
        if delays.ndim and delays.size != count:
            problems.append(f"{where}: {delays.size} delays for {count} synapses")
        if not np.all(np.isfinite(delays)) or np.any(delays < 0):
            problems.append(f"{where}: delays must be finite and non-negative")
        for key, value in proj.values.items():
            array = np.asarray(value)
            if array.ndim and array.size != count:
                problems.append(f"{where}, {key!r}: {array.size} values for {count} synapses")
    return problems


def check_writable(state: NetworkState, path: object) -> None:
    """Raise :class:`FormatError` (naming ``path``) when a file of ``state`` would not load back.

    Cheap checks of what the formats cannot carry: every object name must be
    one a network accepts (see :mod:`gpunet.network.limits`) and names must be
    distinct.  Networks only hold such names; this catches states from other
    sources (``gpunet convert`` of a foreign file) before a good file is replaced.
    """
    seen: set[str] = set()
    for obj in state.populations + state.projections:
        try:
            check_name(obj.name, obj.kind)
        except GpunetError as exc:
            raise FormatError(f"{path}: cannot save: {exc}; the file would not load back") from exc
        if obj.name in seen:
            raise FormatError(f"{path}: cannot save: two objects are named {obj.name!r}")
        seen.add(obj.name)
