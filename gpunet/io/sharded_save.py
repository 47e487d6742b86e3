"""Saving a ``.shards`` snapshot: each process writes its own shard, process 0 commits the manifest.

Each process runs the ordinary save pipeline (gather, stage into reused host
buffers, serialize and commit on the network's background writer thread) for
its own shard: the rows of the partition's block it owns
(:mod:`gpunet.io.pipeline.partition`, :func:`gpunet.io.pipeline.shard_state.cut`).  Once its
shard is durable (fsync, rename, fsync of the folder), the writer thread takes
part in one gather on a private duplicate of the communicator; process 0 then
writes, fsyncs and renames the manifest, and tells every process the outcome
(a failure on one process fails the save on all; the previous snapshot of
that folder stays the committed one).

Every process must call the save at the same point of the script (it is
collective, as every MPI save is): process 0 draws the save's identity and
broadcasts it on the user's communicator at the call, on the calling thread;
the writer threads talk only on their duplicate, so a background save never
interleaves with the user's own collectives.  Without a communicator the
process writes one shard and the manifest itself.
"""
from __future__ import annotations

import contextlib
import weakref
from pathlib import Path
from typing import Any, Optional

from gpunet.errors import GpunetError
from gpunet.io.check import check_writable
from gpunet.io.formats.state_shards import (PreparedManifest, SaveIds, commit_manifest, manifest_of, new_ids,
                                            shard_name, write_part)
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.saving import SaveHandle, SaveOptions, save_network
from gpunet.io.pipeline.shard_state import cut
from gpunet.io.pipeline.state_types import NetworkState

__all__ = ["save_sharded"]

# network -> (the user's communicator, the writer thread's duplicate of it)
_duplicates: "weakref.WeakKeyDictionary[Any, tuple[Any, Any]]" = weakref.WeakKeyDictionary()


def _writer_comm(network: Any, comm: Any) -> Any:
    """The duplicate of ``comm`` the network's writer thread uses (made once, collectively, at the first save)."""
    cached = _duplicates.get(network)
    if cached is not None and cached[0] is comm:
        return cached[1]
    duplicate = comm.Dup()
    _duplicates[network] = (comm, duplicate)
    return duplicate


class _ShardJob:
    """The shard of one process and the manifest step of one sharded save."""

    def __init__(self, path: Path, partition: Partition, ids: SaveIds, rank: int, nprocs: int, comm: Any,
                 fsync: bool, compress: bool) -> None:
        self.path, self.partition, self.ids = path, partition, ids
        self.rank, self.nprocs, self.comm, self.fsync, self.compress = rank, nprocs, comm, fsync, compress
        self.summary = None
        self.state: Optional[NetworkState] = None
        self.prepared: Optional[PreparedManifest] = None

    def serialize(self, state: NetworkState, stream: Any) -> None:
        check_writable(state, self.path)
        self.summary = write_part(stream, cut(state, self.partition, self.rank), self.ids, self.rank, self.nprocs,
                                  compress=self.compress)
        self.state = state
        if self.comm is None:  # the only shard: its manifest is written and fsynced while the shard is made durable
            self.prepared = PreparedManifest(self.path, manifest_of(state, self.ids, [self.summary]), self.fsync)

    def _finish_alone(self, error: Optional[BaseException]) -> None:
        prepared, self.prepared, self.state = self.prepared, None, None
        if prepared is None:
            return
        if error is not None:
            prepared.cancel()
            return
        try:
            prepared.commit()
        except BaseException:
            with contextlib.suppress(OSError):  # this shard will never be named by a manifest
                (self.path / shard_name(self.ids, self.rank)).unlink()
            raise

    def finish(self, error: Optional[BaseException]) -> None:
        if self.comm is None:
            self._finish_alone(error)
            return
        mine = ("ok", self.summary) if error is None else ("error", f"{type(error).__name__}: {error}")
        reports = [mine] if self.comm is None else self.comm.gather(mine, root=0)
        verdict = None
        if self.rank == 0:
            failed = [f"process {rank}: {text}" for rank, (status, text) in enumerate(reports) if status != "ok"]
            if failed:
                verdict = "; ".join(failed)
            else:
                try:
                    manifest = manifest_of(self.state, self.ids, [summary for _, summary in reports])
                    commit_manifest(self.path, manifest, fsync=self.fsync)
                except Exception as exc:  # told to every process, raised on process 0 as it is
                    verdict = f"process 0: manifest: {type(exc).__name__}: {exc}"
                    if self.comm is not None:
                        self.comm.bcast(verdict, root=0)
                    raise
        if self.comm is not None:
            verdict = self.comm.bcast(verdict, root=0)
        self.state = None
        if verdict is not None and error is None:
            with contextlib.suppress(OSError):  # this process's shard of a save that will never be committed
                (self.path / shard_name(self.ids, self.rank)).unlink()
            raise GpunetError(f"{self.path}: the sharded save failed, the folder's previous snapshot stays the "
                              f"committed one ({verdict})")


def save_sharded(network: Any, path: Path, options: SaveOptions, comm: Any = None, run: Optional[str] = None,
                 populations: Any = True, projections: Any = True, monitors: bool = False) -> SaveHandle:
    """Save ``network`` as the ``.shards`` folder ``path``: this process's shard, then (process 0) the manifest.

    Parameters
    ----------
    network : Network
        The network (every process describes the whole network).
    path : Path
        The folder (its name ends in ``.shards``).
    options : SaveOptions
        ``blocking=False`` returns at once; the shard and the manifest are
        written by the network's writer thread.
    comm : mpi4py communicator, optional
        The processes that save together; None: this process alone (one shard).
    run : str, optional
        The run the snapshot belongs to (recorded in the manifest and in every shard).
    populations, projections : bool or list
        What to save (see :func:`gpunet.save`).
    monitors : bool
        Also save the monitors' recordings: each shard holds what its process
        records (its neurons' and synapses' columns, their spikes).
    """
    path = Path(path)
    nprocs, rank = (1, 0) if comm is None else (comm.Get_size(), comm.Get_rank())
    if nprocs > 1 and options.on_full == "raise":
        # a full queue on one process only would leave the others' writer threads waiting for its shard forever
        raise ValueError(f"{path}: on_full='raise' cannot be used when {nprocs} processes save together "
                         "(a save must happen on all of them); use on_full='wait'")
    ids = new_ids(run) if rank == 0 else None
    writer_comm = None
    if comm is not None:
        ids = comm.bcast(ids, root=0)
        writer_comm = _writer_comm(network, comm)
    partition = Partition.of({pop.name: int(pop.size) for pop in network.populations}, nprocs)
    job = _ShardJob(path, partition, ids, rank, nprocs, writer_comm, options.fsync, options.compress)
    return save_network(network, path / shard_name(ids, rank), job.serialize, options, populations=populations,
                        projections=projections, monitors=monitors, finish=job.finish, shown_path=path)
