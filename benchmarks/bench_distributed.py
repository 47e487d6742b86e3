"""Issue 15 benchmark: one network on 1 and N processes, and sharded snapshots against the single-file format.

1. One process, the 2 x 10,000 Izhikevich / ~1M STDP-synapse network: blocking, durable ``save`` to ``.npz`` and
   to ``.shards`` (one shard + manifest), and ``load`` of each into a compiled twin, alternated round by round
   so both meet the same moments of a noisy machine; the ratios of the medians (goal: within 1.1x); the
   parse alone (``read_state``), alternated; and the rows of each of 2 processes read from a snapshot cut for 3,
   in blocks (format version 2) and as whole shards (version 1), with the bytes read.
2. With ``--processes N`` (needs the ``mpi`` extra): the same network simulated by 1 and by N processes
   (``Network(comm=...)``, the distributed engine) under ``mpiexec``, with each runner of ``--runners`` (the NumPy
   step loop, the compiled C++ loop: ``$GPUNET_RUNNER`` of the processes): time per step, speed-up
   and parallel efficiency, the compiled runner's speed-up over the NumPy one, bytes of spikes each process sends and receives per step (the
   :class:`~gpunet.network.spike_exchange.SpikeExchange` counters: one allgather per minimum delay), and the
   sharded save of every process's part (call to committed manifest; aggregate bandwidth).

Usage::

    python benchmarks/bench_distributed.py [--neurons 10000] [--synapses 1000000] [--rounds 7] [--processes 2]
        [--simulate-ms 1000] [--runners numpy,compiled]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from gpunet.examples import reference_network
from gpunet.io.api import read_state
from gpunet.io.pipeline.gather import gather_state


def build(neurons: int, synapses: int = 1_000_000):
    probability = min(1.0, synapses / neurons ** 2)
    net = reference_network(neurons=neurons, probability=probability, backend="numpy", seed=1)
    net.simulate(50.0)
    fresh = reference_network(neurons=neurons, probability=probability, backend="numpy", seed=1)
    fresh.compile()
    return net, fresh


def state_bytes(net) -> int:
    state = gather_state(net)
    total = 0
    for obj in state.populations + state.projections:
        total += sum(a.nbytes for a in list(obj.values.values()) + list(obj.internal.values()))
        if hasattr(obj, "pre_ranks"):
            total += obj.pre_ranks.nbytes + obj.post_ranks.nbytes + obj.row_ptr.nbytes
    return total


def one_process(args, folder: Path) -> None:
    net, fresh = build(args.neurons, args.synapses)
    nbytes = state_bytes(net)
    print(f"state: {nbytes / 1e6:.1f} MB, {net.projections[0].nb_synapses:,} synapses, 1 process, "
          f"{net.backend.describe()}")
    times = {key: [] for key in ("save .npz", "save .shards", "load .npz", "load .shards")}
    single, sharded = folder / "state.npz", folder / "state.shards"
    net.save(single), net.save(sharded)  # warm-up: folders exist, code paths imported
    for _ in range(args.rounds):
        for label, path in (("npz", single), ("shards", sharded)):
            start = time.perf_counter()
            net.save(path)
            times[f"save .{label}"].append(time.perf_counter() - start)
        for label, path in (("npz", single), ("shards", sharded)):
            start = time.perf_counter()
            fresh.load(path)
            times[f"load .{label}"].append(time.perf_counter() - start)
    median = {key: statistics.median(values) for key, values in times.items()}
    for key, values in times.items():
        print(f"  {key:<13} median {median[key] * 1e3:7.1f} ms  (best {min(values) * 1e3:.1f}, "
              f"worst {max(values) * 1e3:.1f}, {len(values)} rounds)")
    reads = {".npz": [], ".shards": []}
    for _ in range(3 * args.rounds):  # the parse alone (no network), alternated
        for suffix, path in ((".npz", single), (".shards", sharded)):
            start = time.perf_counter()
            read_state(path)
            reads[suffix].append(time.perf_counter() - start)
    print(f"  read_state alone, {3 * args.rounds} rounds: .npz median {statistics.median(reads['.npz']) * 1e3:.1f} ms, "
          f".shards {statistics.median(reads['.shards']) * 1e3:.1f} ms")
    for what in ("save", "load"):
        ratio = median[f"{what} .shards"] / median[f"{what} .npz"]
        best = min(times[f"{what} .shards"]) / min(times[f"{what} .npz"])
        print(f"  {what}: .shards / .npz = {ratio:.3f} of the medians, {best:.3f} of the best rounds (goal <= 1.1)")
    reshard_reads(args, net, folder)


def reshard_reads(args, net, folder: Path) -> None:
    """The rows each of 2 processes owns, read from a snapshot cut for 3 (``read_rows``, one process after the
    other): in blocks (format version 2), against the same folder marked version 1 (whole shards, as before)."""
    from gpunet.io.formats import shard_blocks, state_shards
    blocks, whole = folder / "three.shards", folder / "three-v1.shards"
    state_shards.save(blocks, gather_state(net), nprocs=3)
    shutil.copytree(blocks, whole)
    manifest = json.loads((whole / "manifest.json").read_text())
    manifest["format_version"] = 1
    (whole / "manifest.json").write_text(json.dumps(manifest))
    times = {"blocks": [], "whole shards": []}
    read = {}
    for _ in range(3 * args.rounds):
        for label, path in (("blocks", blocks), ("whole shards", whole)):
            shard_blocks.tally.reset()
            start = time.perf_counter()
            for rank in range(2):
                state_shards.read_rows(path, 2, rank)
            times[label].append(time.perf_counter() - start)
            read[label] = shard_blocks.tally.data_bytes
    print(f"  rows of 2 processes from a 3-process snapshot ({3 * args.rounds} alternated rounds, both processes' "
          "reads): " + "; ".join(f"{label} median {statistics.median(t) * 1e3:.1f} ms (best {min(t) * 1e3:.1f}), "
                                 f"{read[label] / 1e6:.1f} MB read" for label, t in times.items()))


def under_mpi(args, folder: Path) -> None:
    """One network simulated by the processes of COMM_WORLD (the distributed engine); process 0 writes the figures."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    probability = min(1.0, args.synapses / args.neurons ** 2)
    net = reference_network(neurons=args.neurons, probability=probability, backend="numpy", seed=1, comm=comm)
    net.simulate(50.0)  # compiled, split, warm
    engine = net._distributed  # the benchmark reads the engine's counters
    sent0, received0, exchanges0 = engine.exchange.bytes_sent, engine.exchange.bytes_received, engine.exchange.exchanges
    steps = int(round(args.simulate_ms / net.dt))
    comm.Barrier()
    start = time.perf_counter()
    net.simulate(args.simulate_ms)
    comm.Barrier()
    took = time.perf_counter() - start
    counters = comm.gather((engine.exchange.bytes_sent - sent0, engine.exchange.bytes_received - received0,
                            engine.exchange.exchanges - exchanges0), root=0)
    nbytes = state_bytes(net)  # this process's part
    saves = []
    for _ in range(args.rounds):
        comm.Barrier()
        begin = time.perf_counter()
        net.save(folder / "state.shards")
        comm.Barrier()
        saves.append(time.perf_counter() - begin)
    total_bytes = comm.reduce(nbytes, root=0)
    if rank == 0:
        sent = sum(c[0] for c in counters) / size / steps
        received = sum(c[1] for c in counters) / size / steps
        figures = {"processes": size, "steps": steps, "seconds": took, "sent": sent, "received": received,
                   "exchanges": counters[0][2], "save": statistics.median(saves), "state_bytes": total_bytes,
                   "runner": net.runner_in_use}
        (folder / f"engine-{os.environ.get('GPUNET_RUNNER', 'auto')}-{size}.json").write_text(json.dumps(figures))


def report(figures: dict, numpy_figures: Optional[dict] = None) -> None:
    """Speed-up, efficiency, exchange volume and snapshot bandwidth of the runs by 1 and N processes (and the
    speed-up over the NumPy runner's run of as many processes, when given)."""
    one = figures[1]
    for size, run in sorted(figures.items()):
        speedup = one["seconds"] / run["seconds"]
        if numpy_figures and size in numpy_figures and run["runner"] != numpy_figures[size]["runner"]:
            print(f"  {size} process(es): {numpy_figures[size]['seconds'] / run['seconds']:.1f}x the NumPy runner")
        print(f"  {size} process(es): {run['seconds'] / run['steps'] * 1e3:.2f} ms per step, speed-up "
              f"{speedup:.2f}, efficiency {speedup / size:.2f}; per process and step {run['sent']:.0f} B sent, "
              f"{run['received']:.0f} B received ({run['exchanges']} exchanges in {run['steps']} steps); "
              f"sharded save of the {run['state_bytes'] / 1e6:.1f} MB state {run['save'] * 1e3:.1f} ms -> aggregate "
              f"{run['state_bytes'] / run['save'] / 1e9:.2f} GB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--synapses", type=int, default=1_000_000, help="about this many synapses")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--simulate-ms", type=float, default=1000.0, help="simulated time of the runs by 1 and N "
                        "processes (with --processes)")
    parser.add_argument("--processes", type=int, default=0, help="also simulate the network by 1 and by N "
                        "processes under mpiexec")
    parser.add_argument("--runners", default="numpy,compiled", help="runners of the runs by 1 and N processes "
                        "(comma-separated: numpy, compiled, auto)")
    parser.add_argument("--mpi-child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mpi_child:
        under_mpi(args, Path(args.mpi_child))
        return
    folder = Path(tempfile.mkdtemp(prefix="gpunet-bench-"))
    try:
        one_process(args, folder)
        if args.processes:
            mpiexec = Path(sys.executable).with_name("mpiexec")
            by_runner = {}
            for runner in args.runners.split(","):
                figures = by_runner[runner] = {}
                for size in sorted({1, args.processes}):
                    command = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(size), sys.executable,
                               __file__, "--neurons", str(args.neurons), "--synapses", str(args.synapses),
                               "--simulate-ms", str(args.simulate_ms), "--rounds", str(args.rounds),
                               "--mpi-child", str(folder)]
                    subprocess.run(command, check=True, env={**os.environ, "GPUNET_RUNNER": runner})
                    figures[size] = json.loads((folder / f"engine-{runner}-{size}.json").read_text())
                print(f"distributed engine, runner {runner!r} (ran: {figures[1]['runner']}), {args.simulate_ms:g} ms "
                      f"simulated, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}:")
                report(figures, by_runner.get("numpy"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
