"""The ``gpunet`` command."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Optional, Sequence

from gpunet.errors import GpunetError
from gpunet.version import __version__


def _demo(args: argparse.Namespace) -> int:
    from gpunet.examples import reference_network
    start = time.perf_counter()
    net = reference_network(neurons=args.neurons, backend=args.backend, seed=args.seed)
    pop0, pop1 = net.populations
    proj = net.projections[0]
    monitor = net.monitor(pop1, ["spike"])
    net.compile()
    built = time.perf_counter()
    w_before = proj.device_view("w").sum()
    net.simulate(args.duration, progress=None)
    net.backend.synchronize()
    done = time.perf_counter()
    spikes = monitor.get("spike")
    count = sum(len(t) for t in spikes.values())
    w_after = proj.device_view("w").sum()
    rows = [
        ("backend", net.backend.describe()),
        ("neurons", f"{pop0.size + pop1.size}"),
        ("synapses", f"{proj.nb_synapses}"),
        ("simulated", f"{args.duration:.0f} ms ({net.get_current_step()} steps of {net.dt} ms)"),
        ("build + compile", f"{built - start:.2f} s"),
        ("wall time", f"{done - built:.2f} s"),
        (f"spikes in {pop1.name}", f"{count} ({count / pop1.size / (args.duration / 1000.0):.1f} Hz)"),
        ("mean weight", f"{float(w_before) / max(proj.nb_synapses, 1):.6f} -> "
                        f"{float(w_after) / max(proj.nb_synapses, 1):.6f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print("gpunet demo: two Izhikevich populations connected with STDP")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpunet", description="gpunet: GPU-resident neural networks, "
                                     "saved and restored without loss.")
    parser.add_argument("--version", action="version", version=f"gpunet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build, simulate and report on the reference STDP network")
    demo.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    demo.add_argument("--neurons", type=int, default=1000, help="neurons per population (default 1000)")
    demo.add_argument("--duration", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (GpunetError, OSError, ValueError) as exc:
        if args.debug:
            raise
        print(f"gpunet: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gpunet: interrupted", file=sys.stderr)
        return 130
