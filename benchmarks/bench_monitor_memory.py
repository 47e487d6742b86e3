"""Issue 16 benchmark: memory of a spike monitor, silent and busy neurons.

20,000 silent Izhikevich neurons and 2,000 driven ones (``i_offset = 10``), one
spike monitor each, 5,000 steps of 1 ms.  Prints the bytes each monitor holds
(``Monitor.nbytes``: spike events, grown by doubling), the Python heap traced
during the run and the wall time.  Spikes are stored as events, so a silent
population costs nothing whatever the duration.

Usage::

    python benchmarks/bench_monitor_memory.py [--silent 20000] [--busy 2000] [--steps 5000]
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import gpunet as gn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--silent", type=int, default=20000)
    parser.add_argument("--busy", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    net = gn.Network(dt=1.0, seed=1, backend=args.backend)
    silent = net.create(args.silent, gn.Izhikevich, name="silent")
    busy = net.create(args.busy, gn.Izhikevich, name="busy")
    busy.i_offset = 10.0
    monitors = {population.name: net.monitor(population, "spike") for population in (silent, busy)}
    net.compile(silent=True)
    tracemalloc.start()
    started = time.perf_counter()
    net.simulate(float(args.steps))
    wall = time.perf_counter() - started
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for name, monitor in monitors.items():
        count = sum(len(train) for train in monitor.get("spike", keep=True).values())
        print(f"{name:>7}: {count:>9,} spikes, monitor holds {monitor.nbytes / 1e6:8.2f} MB")
    print(f"Python heap traced during the run: {current / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB); "
          f"{args.steps} steps in {wall:.1f} s on {net.backend.name}")


if __name__ == "__main__":
    main()
