"""Issue 3 benchmark: the 2 x 10,000 Izhikevich network with ~1,000,000 STDP synapses, side by side with ANNarchy.

The network is :func:`gpunet.examples.reference_network` with 10,000 neurons
per population and connection probability 0.01 (``pop0`` driven by an
``i_offset`` spread over 0..12, ``pop1`` by ``i_offset`` 2, both with noise;
STDP, delay 2 ms).  It is simulated for 1000 ms at dt = 1 ms with a spike
monitor on both populations, in gpunet (current backend) and, when ANNarchy can
be run, in ANNarchy: the same synapses, weights, parameters and drive are
exported to it (see ``annarchy_side.py``), so only the noise realisations
differ.

Printed: build and simulation wall times, firing rates, synaptic events
(emitted pre-synaptic spikes times their synapses) per second, and the ratio of
the simulation times.  Goal (issue 3): on the NumPy backend of a 2-core
machine, within 3x of ANNarchy's generated C++.

Usage::

    python benchmarks/bench_stdp_network.py [--backend numpy] [--neurons 10000] [--probability 0.01]
        [--duration 1000] [--noise 2.0] [--annarchy-python PATH | --no-annarchy]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annarchy_side import export_network, find_annarchy_python, run_in_subprocess  # noqa: E402

GOAL_RATIO = 3.0


def build_gpunet(args: argparse.Namespace) -> Any:
    from gpunet.examples import reference_network

    return reference_network(args.neurons, probability=args.probability, seed=args.seed, backend=args.backend,
                             noise=args.noise, delay=args.delay)


def run_gpunet(net: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Compile and simulate the network; timings and counts."""
    import gpunet as gn

    proj = net.projections[0]
    monitors = [net.monitor(pop, "spike") for pop in net.populations]
    started = time.perf_counter()
    net.compile()
    compiled = time.perf_counter()
    net.simulate(args.duration, progress=False)
    net.backend.synchronize()
    wall = time.perf_counter() - compiled
    spikes = [m.get("spike") for m in monitors]
    out_degree = np.bincount(proj.connectivity()[2], minlength=net.populations[0].size)
    w = net.backend.to_host(proj.device_view("w"))
    return {"version": gn.__version__, "backend": net.backend.describe(), "build_s": compiled - started,
            "simulate_s": wall, "spikes": [sum(len(t) for t in s.values()) for s in spikes],
            "synapses": proj.nb_synapses,
            "events": int(sum(len(times) * out_degree[rank] for rank, times in spikes[0].items())),
            "w_mean": float(w.mean()) if w.size else 0.0}


def report(label: str, result: dict[str, Any], args: argparse.Namespace) -> None:
    seconds = args.duration / 1000.0
    rates = [count / args.neurons / seconds for count in result["spikes"]]
    events_per_s = result["events"] / result["simulate_s"]
    print(f"{label:<9} compile {result['build_s']:6.2f} s | simulate {result['simulate_s']:7.3f} s | "
          f"rates {rates[0]:5.2f} / {rates[1]:5.2f} Hz | synapses {result['synapses']:,} | "
          f"events {result['events']:,} = {events_per_s / 1e6:5.2f} M/s | mean w after {result['w_mean']:.4f}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--neurons", type=int, default=10_000, help="neurons per population")
    parser.add_argument("--probability", type=float, default=0.01)
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated ms (dt = 1 ms)")
    parser.add_argument("--delay", type=float, default=2.0, help="synaptic delay in ms")
    parser.add_argument("--noise", type=float, default=2.0, help="noise * Normal(0, 1) in every neuron's current")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--annarchy-python", help="Python interpreter with ANNarchy installed")
    parser.add_argument("--no-annarchy", action="store_true", help="print gpunet's figures only")
    args = parser.parse_args(argv)
    from gpunet.backend.cupy_backend import STANDIN, STANDIN_NAME
    if STANDIN and args.backend in ("auto", "cupy"):  # CPU timings must not pass for GPU figures
        print(f"{STANDIN_NAME}: GPU timings are not measured on it; run with --backend numpy or on a GPU")
        return 0

    print(f"network: 2 x {args.neurons:,} Izhikevich, STDP fixed_probability {args.probability}, "
          f"delay {args.delay} ms, noise {args.noise}, {args.duration:g} ms at dt = 1 ms")
    net = build_gpunet(args)
    python = None if args.no_annarchy else find_annarchy_python(args.annarchy_python)
    with tempfile.TemporaryDirectory(prefix="gpunet-bench-") as folder:
        exported = Path(folder) / "network.npz"
        if python is not None:
            export_network(net, exported)  # before simulating: the initial weights
        ours = run_gpunet(net, args)
        print(f"gpunet {ours['version']} on {ours['backend']}")
        report("gpunet", ours, args)
        if python is None:
            print("ANNarchy: skipped (--no-annarchy)" if args.no_annarchy else
                  "ANNarchy: not found (pip install annarchy, or --annarchy-python PATH); gpunet figures only")
            return 0
        theirs = run_in_subprocess(python, {"network_file": str(exported), "duration": args.duration})
    if "error" in theirs:
        print(f"ANNarchy ({python}) failed: {theirs['error']}")
        return 1
    theirs.update(theirs["runs"][0])
    print(f"ANNarchy {theirs['version']} ({python}; generated C++, 1 thread; same synapses, weights and drive)")
    report("ANNarchy", theirs, args)
    ratio = ours["simulate_s"] / theirs["simulate_s"]
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    print(f"ratio gpunet / ANNarchy simulate time: {ratio:.2f} ({verdict} the goal of <= {GOAL_RATIO:g}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
