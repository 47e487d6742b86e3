"""Memory per STDP synapse (issue 19): the extra bytes 10 M synapses hold over 1 M, per extra synapse.

The reference network (2 x 10,000 Izhikevich neurons, STDP, float64, one uniform
delay) is built with connection probability 0.01 (about 1 M synapses) and 0.1
(about 10 M), compiled and simulated for 5 ms, each in a fresh process with
``tracemalloc`` on (NumPy reports its array memory to it).  The neurons are the
same in both, so the difference divided by the difference in synapses is what
one synapse costs: its state, its indexes, host copies of its connectivity.
Each run also lists the arrays the projection keeps alive (name, dtype, bytes
per synapse from their ``nbytes``), device and host.

Paths: ``numpy`` (the array code: everything on the host); ``compiled`` (the
compiled C++ step loop, where a C++ compiler exists); ``standin-fused`` (the
CuPy stand-in with fused kernels, ``GPUNET_CUPY_STANDIN=1`` set for the child:
its device arrays are host memory too, so the figure is device plus host bytes
of the GPU path; the breakdown tells the device arrays apart).

Usage::

    python benchmarks/bench_synapse_memory.py [--paths numpy,compiled,standin-fused] [--low 0.01 --high 0.1]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Optional

CHILD = """
import json, sys, tracemalloc, weakref
import numpy as np
tracemalloc.start()
from gpunet.examples import reference_network
backend, runner, probability = sys.argv[1], sys.argv[2], float(sys.argv[3])
net = reference_network(10_000, probability=probability, backend=backend, seed=1)
net.runner = runner
net.compile()
net.simulate(5.0, progress=False)
current, peak = tracemalloc.get_traced_memory()
proj = net.projections[0]
arrays = {}  # what the projection keeps alive: name -> (dtype, nbytes, on the device)
def add(name, array):
    if array is not None and hasattr(array, "nbytes"):
        kind = arrays.get(name, (str(array.dtype), 0, not isinstance(array, np.ndarray)))
        arrays[name] = (kind[0], kind[1] + int(array.nbytes), kind[2])
for key, array in proj._state.items():
    add(key, array)
for _delay, pre_ptr, pre_syn in proj._groups:
    add("pre_ptr", pre_ptr)
    add("pre_syn", pre_syn)
add("host row_ptr", proj._host_row_ptr)
add("host delays", proj._delay_steps)
add("host pre ranks", proj._host_pre)
for key, reference in proj._host_cache.items():
    add("host " + key, reference())
print(json.dumps({"synapses": proj.nb_synapses, "bytes": current, "peak": peak, "arrays": arrays}))
"""

PATHS = {"numpy": ("numpy", "numpy", False), "compiled": ("numpy", "compiled", False),
         "standin-fused": ("cupy", "numpy", True)}


def measure(path: str, probability: float) -> dict:
    env = dict(os.environ)
    backend, runner, standin = PATHS[path]
    if standin:
        env["GPUNET_CUPY_STANDIN"] = "1"
    result = subprocess.run([sys.executable, "-c", CHILD, backend, runner, str(probability)], env=env,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", default="numpy,compiled,standin-fused")
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
        totals = {True: 0.0, False: 0.0}
        for name, (dtype, nbytes, on_device) in high["arrays"].items():
            share = nbytes / high["synapses"]
            totals[on_device] += share
            if share < 0.005:  # globals, per-neuron arrays
                continue
            print(f"{'':>16}{name:<16} {dtype:<8} {'device' if on_device else 'host':<7}{share:6.2f} B per synapse")
        print(f"{'':>16}kept alive: device {totals[True]:.2f} B, host {totals[False]:.2f} B per synapse "
              f"({high['synapses']:,} synapses)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
