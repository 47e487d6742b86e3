"""The rows one of M processes owns, read from any state file: resharding on load.

A ``.shards`` folder gives each process only the shards that hold its rows
(:func:`gpunet.io.formats.state_shards.read_rows`); a single file (``.npz``,
``.txt``, ``.gz``, ``.mat``) is read whole and cut
(:func:`gpunet.io.pipeline.shard_state.cut_rows`).  Either way the result is the same
part: what process ``rank`` of ``nprocs`` holds under
:class:`gpunet.io.pipeline.partition.Partition`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from gpunet.errors import FormatError
from gpunet.io import formats
from gpunet.io.api import read_state
from gpunet.io.storage.atomic import PathLike
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut
from gpunet.io.pipeline.state_types import NetworkState

__all__ = ["read_part"]


def read_part(filename: PathLike, nprocs: int, rank: int, *, max_output: Optional[int] = None) -> NetworkState:
    """The rows process ``rank`` of ``nprocs`` owns, from any state file or ``.shards`` folder.

    Parameters
    ----------
    filename : str or Path
        A state file or a ``.shards`` folder.
    nprocs, rank : int
        The partition (contiguous blocks of every population; synapses with
        their post-synaptic neuron) and the process.
    max_output : int, optional
        See :func:`gpunet.io.api.read_state`.

    Returns
    -------
    NetworkState
        A part: global object descriptions, the rows in ``annotations["rows"]``.

    Raises
    ------
    FormatError
        An unreadable file, or a file of one object whose projection's post
        population it does not hold (the partition needs its size).
    """
    path = Path(filename)
    if formats.state_format(path).directory:
        from gpunet.io.formats import state_shards
        return state_shards.read_rows(path, nprocs, rank, max_output=max_output)
    state = read_state(path, max_output=max_output)
    sizes = {pop.name: int(pop.size) for pop in state.populations}
    lacking = sorted({proj.post for proj in state.projections} - set(sizes))
    if lacking:
        raise FormatError(f"{path}: cannot be cut into the rows of processes: it lacks the post-synaptic "
                          f"population(s) {lacking} of its projections")
    return cut(state, Partition.of(sizes, nprocs), rank)
