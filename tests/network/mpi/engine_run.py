"""Run under ``mpiexec -n N python engine_run.py MODE OUT``: one network simulated by N processes.

MODE ``run``: 200 ms of the engine-test network; process 0 writes every result gathered for the whole network
to ``OUT/results.npz``; every process writes ``OUT/part-<rank>.json`` (the neurons and synapses it holds and the
bytes its spike exchange sent).

MODE ``snapshot``: 101 ms, a save into ``OUT/s.shards`` (mid-interval: one step of spikes buffered), two saves
refused (``OUT/refused-<rank>.txt``: with the monitors' recordings, and to a single file), the monitors emptied, 99 ms with periodic snapshots into ``OUT/snaps`` every 33 ms; process 0 writes
``OUT/uninterrupted.npz``.  MODE ``restore``: loads ``OUT/s.shards``, runs 99 ms and writes ``OUT/restored.npz``;
then a fresh network takes ``load_latest(OUT/snaps)`` and writes ``OUT/latest.npz`` (and the path's name in
``OUT/latest.txt``).
"""
import json
import sys
from pathlib import Path

import numpy as np


def main(mode: str, out: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine_network import build, build_and_assign, results

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = build_and_assign(comm) if mode == "run" else build(comm)
    if mode == "run":
        net.simulate(200.0)
        gathered = results(net)
        if rank == 0:
            np.savez(out / "results.npz", **gathered)
        engine = net._distributed
        held = {p.name: [p._first, p._count] for p in net.populations}
        held.update((p.name, p.nb_synapses) for p in net.projections)
        held["exchange"] = [engine.interval, engine.exchange.exchanges, engine.exchange.bytes_sent]
        (out / f"part-{rank}.json").write_text(json.dumps(held))
    elif mode == "snapshot":
        net.simulate(101.0)
        net.save(out / "s.shards")
        refusals = []
        for name, options in (("m.shards", {"monitors": True}), ("x.npz", {})):
            try:
                net.save(out / name, **options)
                refusals.append("saved")
            except Exception as exc:  # noqa: BLE001 - the test reads the message
                refusals.append(f"{type(exc).__name__}: {exc}")
        (out / f"refused-{rank}.txt").write_text("\n".join(refusals))
        for monitor in net.monitors:
            monitor.get()
        net.simulate(99.0, snapshot_every=33.0, snapshot_dir=out / "snaps", keep_last=2)
        write(rank, out / "uninterrupted.npz", results(net))
    elif mode == "restore":
        net.load(out / "s.shards")
        net.simulate(99.0)
        write(rank, out / "restored.npz", results(net))
        fresh = build(comm)
        path = fresh.load_latest(out / "snaps")
        write(rank, out / "latest.npz", results(fresh))
        if rank == 0:
            (out / "latest.txt").write_text(path.name)


def write(rank: int, path: Path, arrays: dict) -> None:
    if rank == 0:
        np.savez(path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
