"""Issue 2 benchmark: neuron updates per second for 2 x 10,000 Izhikevich neurons over 1000 steps.

The two populations of :func:`gpunet.examples.reference_network` without their
projection: ``pop0`` driven by an ``i_offset`` spread over 0..12, ``pop1`` by
``i_offset`` 2, each neuron with ``noise * Normal(0, 1)`` in its current.  Each
noise level is a separate run (noise 0 skips the random draws altogether).
When ANNarchy can be run, the same populations (same parameters and drive) are
simulated there too, one compile and one run per noise level, and the ratio of
the times is printed.

``--populations 1`` keeps ``pop0`` only; ``--record v`` adds variables that
monitors record at every step (besides the spikes, always recorded), in both
tools; ``--runners numpy compiled`` times each gpunet runner (one line each).
The monitor benchmark of docs/performance.md (issue 19)::

    python benchmarks/bench_neurons.py --backend numpy --populations 1 --neurons 1000 --noise 0 --record v \
        --runners numpy compiled

Usage::

    python benchmarks/bench_neurons.py [--backend numpy] [--neurons 10000] [--steps 1000] [--noise 0 2]
        [--populations 2] [--record VAR ...] [--runners auto] [--annarchy-python PATH | --no-annarchy]
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


def build_gpunet(args: argparse.Namespace, noise: float, runner: str = "auto") -> Any:
    import gpunet as gn

    net = gn.Network(dt=1.0, seed=args.seed, backend=args.backend, runner=runner)
    pop0 = net.create(args.neurons, gn.Izhikevich, name="pop0")
    pop0.i_offset = np.linspace(0.0, 12.0, args.neurons)
    pop0.noise = noise
    if args.populations == 2:
        pop1 = net.create(args.neurons, gn.Izhikevich, name="pop1")
        pop1.i_offset = 2.0
        pop1.noise = noise
    return net


def run_gpunet(net: Any, steps: int, record: tuple = ()) -> dict[str, Any]:
    """Simulate ``steps`` steps with monitors of the spikes and of ``record``; timings and spike counts."""
    monitors = [net.monitor(pop, ["spike", *record]) for pop in net.populations]
    net.compile()
    net.step()  # first-call costs (generated code, allocations) are not part of the rate
    net.backend.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    net.simulate(float(steps), progress=False)
    net.backend.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    spikes = [sum(len(t) for t in m.get("spike").values()) for m in monitors]
    for m in monitors:
        for variable in record:
            if m.get(variable).shape[0] != steps + 1:  # the untimed first step, then every timed one
                raise RuntimeError(f"{m.name}: {variable} recorded {m.get(variable).shape[0]} steps")
    return {"backend": net.backend.describe(), "runner": net.runner_in_use, "simulate_s": wall, "cpu_s": cpu,
            "spikes": spikes}


def line(label: str, noise: float, result: dict[str, Any], args: argparse.Namespace) -> str:
    updates = args.populations * args.neurons * args.steps / result["simulate_s"]
    rates = [count / args.neurons / (args.steps / 1000.0) for count in result["spikes"]]
    cpu = f" ({result['cpu_s']:.3f} s CPU)" if "cpu_s" in result else ""
    return (f"{label:<18} noise {noise:4.1f} | {result['simulate_s']:7.3f} s{cpu} | {updates / 1e6:7.2f} M neuron "
            f"updates/s | rates {' / '.join(f'{rate:5.2f}' for rate in rates)} Hz")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--neurons", type=int, default=10_000, help="neurons per population")
    parser.add_argument("--steps", type=int, default=1000, help="steps of 1 ms")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0], help="noise levels, one run each")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--populations", type=int, default=2, choices=[1, 2], help="pop0 only, or pop0 and pop1")
    parser.add_argument("--record", nargs="*", default=[], help="variables recorded at every step (e.g. v)")
    parser.add_argument("--runners", nargs="+", default=["auto"], choices=["auto", "numpy", "compiled"],
                        help="gpunet runners, one run each")
    parser.add_argument("--annarchy-python", help="Python interpreter with ANNarchy installed")
    parser.add_argument("--no-annarchy", action="store_true", help="print gpunet's figures only")
    args = parser.parse_args(argv)
    from gpunet.backend.cupy_backend import STANDIN, STANDIN_NAME
    if STANDIN and args.backend in ("auto", "cupy"):  # CPU timings must not pass for GPU figures
        print(f"{STANDIN_NAME}: GPU timings are not measured on it; run with --backend numpy or on a GPU")
        return 0

    python = None if args.no_annarchy else find_annarchy_python(args.annarchy_python)
    ours = {}
    with tempfile.TemporaryDirectory(prefix="gpunet-bench-") as folder:
        exported = Path(folder) / "network.npz"
        for runner in args.runners:
            for noise in args.noise:
                net = build_gpunet(args, noise, runner)
                if python is not None and not exported.exists():
                    export_network(net, exported)
                ours[(runner, noise)] = run_gpunet(net, args.steps, tuple(args.record))
        recorded = f", monitors of spikes and {', '.join(args.record)} every step" if args.record else ""
        print(f"{args.populations} x {args.neurons:,} Izhikevich neurons, {args.steps} steps of 1 ms{recorded}; "
              f"gpunet on {next(iter(ours.values()))['backend']}")
        for (runner, noise), result in ours.items():
            print(line(f"gpunet {result['runner']}", noise, result, args))
        if python is None:
            print("ANNarchy: skipped (--no-annarchy)" if args.no_annarchy else
                  "ANNarchy: not found (pip install annarchy, or --annarchy-python PATH); gpunet figures only")
            return 0
        theirs = run_in_subprocess(python, {"network_file": str(exported), "duration": float(args.steps),
                                            "noise": list(args.noise), "record": list(args.record)})
    if "error" in theirs:
        print(f"ANNarchy ({python}) failed: {theirs['error']}")
        return 1
    print(f"ANNarchy {theirs['version']} ({python}; generated C++, 1 thread; compile {theirs['build_s']:.1f} s)")
    for run in theirs["runs"]:
        print(line("ANNarchy", run["noise"], run, args))
    for (runner, noise), result in ours.items():
        run = next(run for run in theirs["runs"] if run["noise"] == noise)
        ratio = result["simulate_s"] / run["simulate_s"]
        print(f"ratio gpunet {result['runner']} / ANNarchy time, noise {noise:.1f}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
