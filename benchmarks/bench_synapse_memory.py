"""Memory per STDP synapse (issue 19): the extra bytes 10 M synapses hold over 1 M, per extra synapse.

The reference network (2 x 10,000 Izhikevich neurons, STDP, float64, one uniform
delay) is built with connection probability 0.01 (about 1 M synapses) and 0.1
(about 10 M), compiled and simulated for 5 ms, each in a fresh process with
``tracemalloc`` on (NumPy reports its array memory to it).  The neurons are the
same in both, so the difference divided by the difference in synapses is what
one synapse costs: its state, its indexes, host copies of its connectivity.

Paths: ``numpy`` (the array code: everything on the host); ``standin-fused``
(the CuPy stand-in with fused kernels, ``GPUNET_CUPY_STANDIN=1`` set for the
child: its device arrays are host memory too, so the figure is device plus
host bytes of the GPU path).

Usage::

    python benchmarks/bench_synapse_memory.py [--paths numpy,standin-fused] [--low 0.01 --high 0.1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Optional

CHILD = """
import json, sys, tracemalloc
tracemalloc.start()
from gpunet.examples import reference_network
backend, probability = sys.argv[1], float(sys.argv[2])
net = reference_network(10_000, probability=probability, backend=backend, seed=1)
net.compile()
net.simulate(5.0, progress=False)
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"synapses": net.projections[0].nb_synapses, "bytes": current, "peak": peak}))
"""


def measure(path: str, probability: float) -> dict:
    env = dict(os.environ)
    backend = "numpy"
    if path == "standin-fused":
        env["GPUNET_CUPY_STANDIN"] = "1"
        backend = "cupy"
    result = subprocess.run([sys.executable, "-c", CHILD, backend, str(probability)], env=env, capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", default="numpy,standin-fused")
    parser.add_argument("--low", type=float, default=0.01, help="connection probability of the small network")
    parser.add_argument("--high", type=float, default=0.1, help="connection probability of the large network")
    args = parser.parse_args(argv)
    for path in [p.strip() for p in args.paths.split(",") if p.strip()]:
        low, high = measure(path, args.low), measure(path, args.high)
        extra = high["synapses"] - low["synapses"]
        per_synapse = (high["bytes"] - low["bytes"]) / extra
        peak = (high["peak"] - low["peak"]) / extra
        print(f"{path:>14}: {low['synapses']:,} -> {high['synapses']:,} synapses: "
              f"{(high['bytes'] - low['bytes']) / 2**20:,.0f} MiB more, {per_synapse:.1f} bytes per synapse "
              f"(peak while building: {peak:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
