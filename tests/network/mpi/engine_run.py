"""Run under ``mpiexec -n N python engine_run.py OUT [--snapshot] [--restore FOLDER]``: one network, N processes.

Always: 200 ms of the engine-test network (values assigned after compile); process 0 writes every result
gathered for the whole network to ``OUT/results.npz``; every process writes ``OUT/part-<rank>.json`` (the
neurons and synapses it holds, and its spike exchange's counters).

``--snapshot``: a second network runs 101 ms and saves into ``OUT/s.shards`` (mid-interval: one step of spikes
buffered), and with the monitors' recordings into ``OUT/m.shards``; a save to a single file is refused
(``OUT/refused-<rank>.txt``); the monitors are emptied; 99 ms more with periodic snapshots into ``OUT/snaps``
every 33 ms; process 0 writes ``OUT/uninterrupted.npz``; a fresh network loads ``OUT/m.shards`` and runs 99 ms:
``OUT/monitors-3.npz``.

``--restore FOLDER``: a network loads ``FOLDER/s.shards``, runs 99 ms and writes ``OUT/restored.npz``; a compiled
one loads only its rows of it (and first fails to load a torn copy: :func:`compiled_load`); then a
fresh one takes ``load_latest(FOLDER/snaps)`` and writes ``OUT/latest.npz`` (the path's name in
``OUT/latest.txt``); recordings resume on 2 processes (:func:`monitors_elsewhere`).  Then ``FOLDER/other.npz`` (a single file of another connectivity, written by one process)
is loaded into a network before compile and into one that ran 5 ms (its projection monitor's recordings are
dropped, with a warning: ``OUT/other-<when>-<rank>.txt``), each then runs 50 ms: ``OUT/other-<when>.npz``.
"""
import argparse
import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np


def main(out: Path, snapshot: bool, restore: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine_network import build, build_and_assign, results

    from gpunet.io.formats import shard_blocks

    shard_blocks.BLOCK_BYTES = 256  # blocks of a few rows: a process reading its rows reads only theirs
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = build_and_assign(comm)
    net.simulate(200.0)
    write(rank, out / "results.npz", results(net))
    engine = net._distributed
    held = {p.name: [p._first, p._count] for p in net.populations}
    held.update((p.name, p.nb_synapses) for p in net.projections)
    held["exchange"] = [engine.interval, engine.exchange.exchanges, engine.exchange.bytes_sent]
    (out / f"part-{rank}.json").write_text(json.dumps(held))
    if snapshot:
        net = build(comm)
        net.simulate(101.0)
        net.save(out / "s.shards")
        net.save(out / "m.shards", monitors=True)
        try:
            net.save(out / "x.npz")
            refusal = "saved"
        except Exception as exc:  # noqa: BLE001 - the test reads the message
            refusal = f"{type(exc).__name__}: {exc}"
        (out / f"refused-{rank}.txt").write_text(refusal)
        for monitor in net.monitors:
            monitor.get()
        net.simulate(99.0, snapshot_every=33.0, snapshot_dir=out / "snaps", keep_last=2)
        write(rank, out / "uninterrupted.npz", results(net))
        resumed = build(comm)  # the recordings too, on the processes that saved them
        resumed.load(out / "m.shards")
        resumed.simulate(99.0)
        write(rank, out / "monitors-3.npz", results(resumed))
    if restore is not None:
        net = build(comm)
        net.load(restore / "s.shards")
        net.simulate(99.0)
        write(rank, out / "restored.npz", results(net))
        compiled_load(comm, restore, out)
        uneven_depths(comm, restore, out)
        fresh = build(comm)
        path = fresh.load_latest(restore / "snaps")
        write(rank, out / "latest.npz", results(fresh))
        if rank == 0:
            (out / "latest.txt").write_text(path.name)
        monitors_elsewhere(comm, restore, out)
        for when in ("uncompiled", "compiled"):
            net = build(comm)
            if when == "compiled":  # after 5 ms: the projection's monitor holds recordings of the old synapses
                net.simulate(5.0)
                for monitor in net.monitors:
                    if monitor.projection is None:
                        monitor.get()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                net.load(restore / "other.npz")
            (out / f"other-{when}-{rank}.txt").write_text("\n".join(str(w.message) for w in caught))
            net.simulate(50.0)
            write(rank, out / f"other-{when}.npz", results(net))


def compiled_load(comm, restore: Path, out: Path) -> None:
    """A network that ran 5 ms (compiled: each process holds its part) loads only its rows of ``s.shards``.

    First a copy whose last shard is truncated: only the processes whose rows it holds fail to read, and the
    load fails on all without changing any network (``OUT/torn-<rank>.txt``: the error, then whether the
    results stayed).  Then ``s.shards`` itself, counting the shards each process opens
    (``OUT/opened-<rank>.json``), and 99 ms more: ``OUT/restored-compiled.npz``.
    """
    import shutil

    from engine_network import build, results

    from gpunet.io.formats import shard_blocks, state_shards

    rank = comm.Get_rank()
    torn = out / "torn.shards"
    if rank == 0:
        shutil.copytree(restore / "s.shards", torn)
        last = sorted(torn.glob("shard-*.npz"))[-1]
        last.write_bytes(last.read_bytes()[:-100])
    comm.Barrier()
    net = build(comm)
    net.simulate(5.0)
    before = results(net)
    try:
        net.load(torn)
        outcome = "loaded"
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        outcome = f"{type(exc).__name__}: {exc}"
    after = results(net)
    same = sorted(before) == sorted(after) and all(np.array_equal(before[k], after[k]) for k in before)
    (out / f"torn-{rank}.txt").write_text(f"{outcome}\n{same}")
    corrupted_block(comm, restore, out, net, before)
    opened = []
    reader = state_shards._read_shard

    def counting(directory, manifest, shard, **options):
        opened.append(shard)
        return reader(directory, manifest, shard, **options)

    state_shards._read_shard = counting
    shard_blocks.tally.reset()
    try:
        net.load(restore / "s.shards")
    finally:
        state_shards._read_shard = reader
    (out / f"opened-{rank}.json").write_text(json.dumps(opened))
    (out / f"read-{rank}.json").write_text(json.dumps(dataclasses.asdict(shard_blocks.tally)))
    for monitor in net.monitors:  # what they recorded before the load
        monitor.get()
    net.simulate(99.0)
    write(rank, out / "restored-compiled.npz", results(net))


def monitors_elsewhere(comm, restore: Path, out: Path) -> None:
    """Recordings saved by 3 processes (``FOLDER/m.shards``, loaded before compile) and by one (``FOLDER/m.npz``,
    loaded after 5 ms: compiled) resume on 2: ``OUT/monitors-2.npz``, ``OUT/monitors-2-single.npz``."""
    from engine_network import build, results

    rank = comm.Get_rank()
    net = build(comm)
    net.load(restore / "m.shards")
    net.simulate(99.0)
    write(rank, out / "monitors-2.npz", results(net))
    net = build(comm)
    net.simulate(5.0)
    net.load(restore / "m.npz")
    net.simulate(99.0)
    write(rank, out / "monitors-2-single.npz", results(net))


def corrupted_block(comm, restore: Path, out: Path, net, before: dict) -> None:
    """A copy of ``s.shards`` with one byte flipped in the last block of ``stdp.w`` of shard 1 (exc rows
    [13, 25)): process 1 of 2 (rows [19, 37)) reads that block, process 0 (rows [0, 19)) reads only blocks of
    shard 1 before it.  Both fail, no network changes (``OUT/corrupt-<rank>.txt``)."""
    import shutil
    import zipfile

    from engine_network import results

    from gpunet.io.formats import state_npz, state_shards

    rank = comm.Get_rank()
    corrupt = out / "corrupt.shards"
    if rank == 0:
        shutil.copytree(restore / "s.shards", corrupt)
        shard = corrupt / state_shards.read_manifest(corrupt)["shards"][1]["file"]
        blocks = state_npz.load(shard).annotations["blocks"]
        first = blocks["objects"]["stdp"]["offsets"]["synapses"][-2]  # the first synapse of the last block
        with zipfile.ZipFile(shard) as archive:
            info = archive.getinfo("projection/stdp/w.npy")
        data = bytearray(shard.read_bytes())
        name_length, extra_length = (int.from_bytes(data[info.header_offset + k:info.header_offset + k + 2],
                                                    "little") for k in (26, 28))
        data[info.header_offset + 30 + name_length + extra_length + 128 + 8 * first] ^= 0xFF
        shard.write_bytes(bytes(data))
    comm.Barrier()
    try:
        net.load(corrupt)
        outcome = "loaded"
    except Exception as exc:  # noqa: BLE001 - the test reads the message
        outcome = f"{type(exc).__name__}: {exc}"
    after = results(net)
    same = sorted(before) == sorted(after) and all(np.array_equal(before[k], after[k]) for k in before)
    (out / f"corrupt-{rank}.txt").write_text(f"{outcome}\n{same}")


def uneven_depths(comm, restore: Path, out: Path) -> None:
    """Spike rings of one depth on every process, though their own synapses need less (shards join).

    ``build_uneven`` runs 12 ms and saves ``OUT/uneven.shards``; then one with short delays everywhere runs 5 ms
    and loads ``FOLDER/uneven.npz`` (long delays onto the last process's rows only: only it rebuilds), runs
    10 ms more and saves ``OUT/uneven-loaded.shards``.
    """
    from engine_network import build_uneven

    net = build_uneven(comm)
    net.simulate(12.0)
    net.save(out / "uneven.shards")
    short = build_uneven(comm, long_delay=2.0)
    short.simulate(5.0)
    short.load(restore / "uneven.npz")
    short.simulate(10.0)
    short.save(out / "uneven-loaded.shards")


def write(rank: int, path: Path, arrays: dict) -> None:
    if rank == 0:
        np.savez(path, **arrays)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--snapshot", action="store_true")
    parser.add_argument("--restore", type=Path)
    args = parser.parse_args()
    main(args.out, args.snapshot, args.restore)
