"""Issue 15 benchmark: sharded snapshots (``.shards``) against the single-file native format.

What exists so far is measured: the simulation is not distributed yet (every process simulates the whole
network), so there is no speed-up, parallel efficiency or exchange volume to print; docs/scaling.md has the
arithmetic for those.

1. One process, the 2 x 10,000 Izhikevich / ~1M STDP-synapse network: blocking, durable ``save`` to ``.npz`` and
   to ``.shards`` (one shard + manifest), and ``load`` of each into a compiled twin, alternated round by round
   so both meet the same moments of a noisy machine; the ratios of the medians (goal: within 1.1x); and the
   parse alone (``read_state``), alternated.
2. With ``--processes N`` (needs the ``mpi`` extra): the same script under ``mpiexec -n N``; each process saves
   its shard of the same network; the time from the call to the committed manifest and the aggregate
   bandwidth (state bytes / that time) are printed, next to one process's ``.npz`` save of the whole state.
   Then the spikes of ``--exchange-ms`` of simulation are replayed through the spike exchange
   (:mod:`gpunet.network.spike_exchange`, one allgather per minimum delay), each process sending its own rows':
   bytes sent and received per step and the time per exchange.

Usage::

    python benchmarks/bench_distributed.py [--neurons 10000] [--synapses 1000000] [--rounds 7] [--processes 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def under_mpi(args, folder: Path) -> None:
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    net, _ = build(args.neurons, args.synapses)
    nbytes = state_bytes(net)
    times = []
    for _ in range(args.rounds):
        comm.Barrier()
        start = time.perf_counter()
        net.save(folder / "state.shards", comm=comm)
        comm.Barrier()
        times.append(time.perf_counter() - start)
    single = []
    if rank == 0:
        for _ in range(args.rounds):
            start = time.perf_counter()
            net.save(folder / "single.npz")
            single.append(time.perf_counter() - start)
        took, alone = statistics.median(times), statistics.median(single)
        print(f"state: {nbytes / 1e6:.1f} MB, {size} processes on {os.cpu_count()} cores "
              f"(each process simulates the whole network; the engine is not distributed yet)")
        print(f"  sharded save, call to committed manifest: median {took * 1e3:.1f} ms -> aggregate "
              f"{nbytes / took / 1e9:.2f} GB/s")
        print(f"  one process's .npz save of the whole state: median {alone * 1e3:.1f} ms -> "
              f"{nbytes / alone / 1e9:.2f} GB/s")
    exchange_volume(args, comm)


def exchange_volume(args, comm) -> None:
    """The spikes of the network replayed through the spike exchange (one allgather per minimum delay)."""
    import numpy as np

    from gpunet.io.pipeline.partition import Partition
    from gpunet.network.spike_exchange import SpikeExchange

    probability = min(1.0, args.synapses / args.neurons ** 2)
    net = reference_network(neurons=args.neurons, probability=probability, backend="numpy", seed=1)
    monitors = {pop.name: net.monitor(pop, ["spike"]) for pop in net.populations}
    steps = int(round(args.exchange_ms / net.dt))
    net.simulate(args.exchange_ms)
    interval = max(1, int(round(min(float(np.min(p.delays)) for p in net.projections) / net.dt)))
    partition = Partition.of({pop.name: pop.size for pop in net.populations}, comm.Get_size())
    by_step = {name: [[] for _ in range(steps)] for name in monitors}
    for name, monitor in monitors.items():
        for rank, spike_steps in monitor.get("spike").items():
            lo, hi = partition.rows(name, comm.Get_rank())
            if lo <= rank < hi:
                for step in spike_steps:
                    by_step[name][step].append(rank)
    exchange = SpikeExchange(comm, [(pop.name, pop.size) for pop in net.populations], interval)
    comm.Barrier()
    took = 0.0
    for start in range(0, steps - steps % interval, interval):
        for offset in range(interval):
            for name in monitors:
                exchange.record(offset, name, np.asarray(by_step[name][start + offset], dtype=np.int64))
        begin = time.perf_counter()
        exchange.exchange()
        took += time.perf_counter() - begin
    done = exchange.exchanges * interval
    totals = comm.gather((exchange.bytes_sent, exchange.bytes_received, took), root=0)
    if comm.Get_rank() == 0:
        sent = sum(t[0] for t in totals) / len(totals) / done
        received = sum(t[1] for t in totals) / len(totals) / done
        per_exchange = max(t[2] for t in totals) / exchange.exchanges
        print(f"  spike exchange, {args.exchange_ms:g} ms replayed, one allgather per {interval} steps (the minimum "
              f"delay): per process and step {sent:.0f} B sent, {received:.0f} B received (8 B per spike); "
              f"{per_exchange * 1e6:.0f} us per exchange (the engine does not exchange yet: measured apart)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--synapses", type=int, default=1_000_000, help="about this many synapses")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--exchange-ms", type=float, default=200.0, help="simulated time replayed through the "
                        "spike exchange (with --processes)")
    parser.add_argument("--processes", type=int, default=0, help="also run N processes under mpiexec")
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
            command = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(args.processes), sys.executable,
                       __file__, "--neurons", str(args.neurons), "--synapses", str(args.synapses), "--exchange-ms",
                       str(args.exchange_ms), "--rounds", str(args.rounds),
                       "--mpi-child", str(folder)]
            subprocess.run(command, check=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
