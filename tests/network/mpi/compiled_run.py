"""Run under ``mpiexec -n 3 python compiled_run.py OUT``: the compiled runner under comm on 3, 2 and 1 processes
(sub-communicators of the 3, one after the other), writing into ``OUT/n<N>/``.

For each N, with ``runner="compiled"``:

- ``results.npz``: the engine-test network (values assigned after compile), 200 ms: its projections read
  pre-synaptic values every step, so each step runs in two calls of the loop;
- ``results-spiking.npz``: the spiking network (:func:`engine_network.build_spiking`), 200 ms in chunks of the
  3-step exchange interval, learning of ``stdp`` switched off from 80 to 100 ms (those steps run the array code);
- ``restored.npz`` / ``restored-spiking.npz``: each network loads the snapshot the 3 processes took at step 101
  (``OUT/n3/s.shards``, ``OUT/n3/s-spiking.shards``) and runs 99 ms;
- ``part-<rank>.json``: the runner and loop kind, calls of the loop, steps of array code, exchange counters
  (and each process's log line on stderr).

N = 3 first takes the snapshots: each network runs 101 ms, saves, empties its monitors and runs 99 ms more
(``uninterrupted.npz``, ``uninterrupted-spiking.npz``), the spiking one with periodic snapshots every 33 ms into
``OUT/n3/snaps``.
"""
import json
import logging
import sys
from pathlib import Path

import numpy as np


def write(comm, path: Path, results: dict) -> None:
    if comm.Get_rank() == 0:
        np.savez(path, **results)


def spiking_run(net) -> None:
    """200 ms with the learning of ``stdp`` off from 80 to 100 ms (the reference does the same)."""
    net.simulate(80.0)
    net.disable_learning([net.get_projection("stdp")])
    net.simulate(20.0)
    net.enable_learning([net.get_projection("stdp")])
    net.simulate(100.0)


def run(comm, out: Path, first: Path) -> None:
    from engine_network import build, build_and_assign, build_spiking, results

    rank = comm.Get_rank()
    out.mkdir(exist_ok=True)
    part = {}
    net = build_and_assign(comm, runner="compiled")
    net.simulate(200.0)
    write(comm, out / "results.npz", results(net))
    exchange = net._distributed.exchange
    part["reference"] = {"runner": net.runner_in_use, "kind": net.step_loop.kind, "calls": net.step_loop.calls,
                         "array_steps": net.step_loop.array_steps,
                         "exchange": [exchange.exchanges, exchange.bytes_sent]}
    spiking = build_spiking(comm, runner="compiled")
    spiking_run(spiking)
    write(comm, out / "results-spiking.npz", results(spiking))
    exchange = spiking._distributed.exchange
    part["spiking"] = {"runner": spiking.runner_in_use, "calls": spiking.step_loop.calls,
                       "array_steps": spiking.step_loop.array_steps,
                       "exchange": [exchange.exchanges, exchange.bytes_sent]}
    if comm.Get_size() == 3:
        for make, suffix, options in ((build, "", {}),
                                      (build_spiking, "-spiking", {"snapshot_every": 33.0, "snapshot_dir": first / "snaps",
                                                                   "keep_last": 2})):
            net = make(comm, runner="compiled")
            net.simulate(101.0)
            net.save(first / f"s{suffix}.shards")
            for monitor in net.monitors:
                monitor.get()
            net.simulate(99.0, **options)
            write(comm, first / f"uninterrupted{suffix}.npz", results(net))
    for make, suffix in ((build, ""), (build_spiking, "-spiking")):
        net = make(comm, runner="compiled")
        net.load(first / f"s{suffix}.shards")
        net.simulate(99.0)
        write(comm, out / f"restored{suffix}.npz", results(net))
        part[f"restored{suffix}"] = {"runner": net.runner_in_use, "array_steps": net.step_loop.array_steps}
    (out / f"part-{rank}.json").write_text(json.dumps(part))


def main(out: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the runner's line of each process, on stderr
    world = MPI.COMM_WORLD
    for nprocs in (3, 2, 1):
        sub = world.Split(0 if world.Get_rank() < nprocs else MPI.UNDEFINED, world.Get_rank())
        if sub != MPI.COMM_NULL:
            run(sub, out / f"n{nprocs}", out / "n3")
            sub.Free()
        world.Barrier()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
