"""The rows one of M processes owns, from a ``.shards`` folder (only the shards holding them) or a single file.

The reading behind :func:`gpunet.io.parts.read_part` and the loads of a network spread over processes
(:mod:`gpunet.io.collective_load`); the whole-file reader is given, so that this module needs no other
part of the public API.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from gpunet.errors import FormatError
from gpunet.io import formats
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.io.storage.atomic import PathLike

__all__ = ["read_own_rows"]


def read_own_rows(filename: PathLike, nprocs: int, rank: int, read_whole: Callable[[], NetworkState], *,
                  max_output: Optional[int] = None) -> NetworkState:
    """The part of process ``rank`` of ``nprocs``: ``read_rows`` of a ``.shards`` folder, else ``read_whole()``
    cut (a single file is read whole: its formats have no rows to seek to).

    Parameters
    ----------
    filename : str or Path
        A state file or a ``.shards`` folder.
    nprocs, rank : int
        The partition and the process.
    read_whole : callable
        Reads the whole state of a single file.
    max_output : int, optional
        See :func:`gpunet.io.api.read_state` (``.shards`` folders).
    """
    path = Path(filename)
    if formats.state_format(path).directory:
        from gpunet.io.formats import state_shards
        return state_shards.read_rows(path, nprocs, rank, max_output=max_output)
    state = read_whole()
    sizes = {pop.name: int(pop.size) for pop in state.populations}
    lacking = sorted({proj.post for proj in state.projections} - set(sizes))
    if lacking:
        raise FormatError(f"{path}: cannot be cut into the rows of processes: it lacks the post-synaptic "
                          f"population(s) {lacking} of its projections")
    return cut(state, Partition.of(sizes, nprocs), rank)
