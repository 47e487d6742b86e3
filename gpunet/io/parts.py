"""The rows one of M processes owns, read from any state file: resharding on load.

A ``.shards`` folder gives each process only the shards that hold its rows, and of those only the blocks
holding them (format version 2; :func:`gpunet.io.formats.state_shards.read_rows`); a single file (``.npz``,
``.txt``, ``.gz``, ``.mat``) is read whole and cut
(:func:`gpunet.io.pipeline.shard_state.cut_rows`).  Either way the result is the same
part: what process ``rank`` of ``nprocs`` holds under
:class:`gpunet.io.pipeline.partition.Partition`.
"""
from __future__ import annotations

from typing import Optional

from gpunet.io.api import read_state
from gpunet.io.part_reader import read_own_rows
from gpunet.io.storage.atomic import PathLike
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
    return read_own_rows(filename, nprocs, rank, lambda: read_state(filename, max_output=max_output),
                         max_output=max_output)
