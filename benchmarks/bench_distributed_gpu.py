"""Issue 15, item 7: the distributed engine on GPUs, one short run under ``mpiexec -n N`` (run by gpu_check.py).

The reference STDP network (``--neurons`` per population, about 100 synapses per post neuron) on the CuPy
backend, simulated by the processes of ``COMM_WORLD``, each on the GPU of its rank on the node (all on one GPU
when there is one).  Process 0 prints the time per step, the spike bytes each process sends and receives per
step (the SpikeExchange counters: one allgather per minimum delay), the pinned host memory each process
reserved for the exchanges, and a checksum of the weights (equal for every N: the run is bit-identical).

Usage::

    mpiexec -n 2 python benchmarks/bench_distributed_gpu.py [--neurons 4000] [--simulate-ms 500]
"""
from __future__ import annotations

import argparse
import time
import zlib

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=4000)
    parser.add_argument("--simulate-ms", type=float, default=500.0)
    args = parser.parse_args()
    from mpi4py import MPI

    from gpunet.examples import reference_network

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    net = reference_network(neurons=args.neurons, backend="cupy", seed=1, comm=comm)
    net.simulate(20.0)  # compiled, split, warm
    engine = net._distributed  # the benchmark reads the engine's counters
    exchange = engine.exchange
    sent0, received0 = exchange.bytes_sent, exchange.bytes_received
    steps = int(round(args.simulate_ms / net.dt))
    net.backend.synchronize()
    comm.Barrier()
    start = time.perf_counter()
    net.simulate(args.simulate_ms)
    net.backend.synchronize()
    comm.Barrier()
    took = time.perf_counter() - start
    counters = comm.gather((exchange.bytes_sent - sent0, exchange.bytes_received - received0,
                            engine.transfers.nbytes, net.backend.describe()), root=0)
    weights = net.projections[0].w  # gathered on every process (a collective)
    if rank == 0:
        crc = zlib.crc32(np.concatenate([np.asarray(row, dtype=np.float64) for row in weights]).tobytes())
        note = " (the CuPy stand-in: not a GPU timing)" if counters[0][3].startswith("CuPy stand-in") else ""
        print(f"{size} process(es), {2 * args.neurons} neurons, {net.projections[0].nb_synapses} synapses on "
              f"process 0, {steps} steps: {took / steps * 1e6:.1f} us per step{note}")
        for r, (sent, received, pinned, device) in enumerate(counters):
            print(f"  process {r} on {device}: spikes sent {sent / steps:.1f} B/step, received "
                  f"{received / steps:.1f} B/step, pinned exchange buffers {pinned} B")
        print(f"  w CRC-32 {crc:08x} (the same for every N)")


if __name__ == "__main__":
    main()
