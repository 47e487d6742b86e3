"""Work of the fused spike propagation per step against the synapses it holds (issue 19).

The propagation kernels count, on the device, the (event, post slice) pairs they
visit and the synapses they deliver (``runner.work``).  This script runs the
reference network (2 x N Izhikevich neurons, STDP, about N * N * p synapses)
with the fused kernels and its step graph, and prints per step: the pre
neurons' spikes, the visits, the synapses delivered, and the synapses held
(what the former ordered kernel read at every step).  On the CuPy stand-in
(``GPUNET_CUPY_STANDIN=1``) the counts are those a GPU would do; no timing.

Usage::

    GPUNET_CUPY_STANDIN=1 python benchmarks/bench_propagation_work.py [--neurons 10000] [--steps 100]
"""
from __future__ import annotations

import argparse
from typing import Optional

import numpy as np

from gpunet.examples import reference_network


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--probability", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=20.0, help="ms simulated first")
    args = parser.parse_args(argv)
    net = reference_network(neurons=args.neurons, probability=args.probability, backend="cupy", seed=42)
    net.compile()
    net.simulate(args.warmup, progress=False)
    projection = net.projections[0]
    loop = net.step_loop
    runner = loop.graph.runner_of(projection) if loop.kind == "graph" else projection.runner
    before = net.backend.to_host(runner.work).astype(np.int64)
    monitor = net.monitor(net.populations[0], ["spike"])
    net.simulate(args.steps * net.dt, progress=False)
    after = net.backend.to_host(runner.work).astype(np.int64)
    spikes = sum(len(times) for times in monitor.get("spike").values())
    visits, delivered = (after - before) / args.steps
    print(f"{net.backend.describe()}, step loop {loop.kind}, {args.steps} steps after {args.warmup:g} ms")
    print(f"synapses held {projection.nb_synapses:,}; per step: {spikes / args.steps:.1f} pre spikes, "
          f"{visits:,.1f} (event, post slice) visits, {delivered:,.0f} synapses delivered "
          f"({delivered / projection.nb_synapses:.2%} of the synapses)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
