"""Issue 4 benchmark: fused CUDA kernels vs the CuPy array-code path vs NumPy, side by side.

Two networks, both :func:`gpunet.examples.reference_network` (Izhikevich
populations, STDP, delay 2 ms, float64):

* ``1M``: 2 x 10,000 neurons, connection probability 0.01 (about 1,000,000 synapses);
* ``10M``: 2 x 50,000 neurons (100,000 in all), probability 0.004 (about 10,000,000 synapses).

For each network and each path the network is built, compiled, warmed up
(``--warmup`` ms: kernel compilation and CuPy's own JIT happen there), then
simulated for ``--duration`` ms (NumPy: ``--numpy-duration``, it is slower).
Printed per path: steps per second and synaptic events per second (pre spikes
emitted times their synapses, per second of wall time), then the ratios.
Without a usable GPU the NumPy figures are printed and the GPU columns are
reported as skipped, with the reason.  On the CuPy stand-in
(``GPUNET_CUPY_STANDIN=1``) no timing is printed for the GPU paths, but the
kernel launches and device-to-host synchronisations per step of the fused
path are counted and printed (``tests/gpu/test_step_budget.py`` holds them).

Usage::

    python benchmarks/bench_kernels.py [--networks 1M,10M] [--duration 1000] [--numpy-duration 200]
        [--warmup 20] [--mode ordered|atomic] [--seed 42]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

NETWORKS = {"1M": (10_000, 0.01), "10M": (50_000, 0.004)}
PATHS = ("numpy", "cupy-array", "cupy-fused")


@dataclass
class Figures:
    steps_per_s: float
    events_per_s: float
    synapses: int
    rate_hz: float


def _events(projection: Any, spikes: dict) -> int:
    out_degree = np.bincount(projection.connectivity()[2], minlength=projection.pre.size)
    return int(sum(len(times) * out_degree[rank] for rank, times in spikes.items()))


def measure(neurons: int, probability: float, backend: str, fuse: Optional[Callable[[Any], Any]],
            duration: float, warmup: float, seed: int) -> Figures:
    """Build, warm up and time one network on one path."""
    from gpunet.examples import reference_network
    # kernels="off": the network keeps its array code unless ``fuse`` attaches kernels
    net = reference_network(neurons, probability=probability, backend=backend, seed=seed, kernels="off")
    projection = net.projections[0]
    monitor = net.monitor(net.populations[0], ["spike"])
    net.compile()
    if fuse is not None:
        fuse(net)
    net.simulate(warmup, progress=False)
    net.backend.synchronize()
    monitor.get("spike")  # drop the warm-up spikes
    start = time.perf_counter()
    net.simulate(duration, progress=False)
    net.backend.synchronize()
    wall = time.perf_counter() - start
    spikes = monitor.get("spike")
    steps = int(round(duration / net.dt))
    count = sum(len(t) for t in spikes.values())
    return Figures(steps / wall, _events(projection, spikes) / wall, projection.nb_synapses,
                   count / neurons / (duration / 1000.0))


def count_per_step(neurons: int, probability: float, seed: int, steps: int = 10) -> tuple[float, float]:
    """Kernel launches and syncs per step of the fused path (monitors off), counted by the CuPy stand-in."""
    import cupy  # the stand-in, registered by gpunet under GPUNET_CUPY_STANDIN=1

    from gpunet.examples import reference_network
    net = reference_network(neurons, probability=probability, backend="cupy", seed=seed)
    net.compile()
    net.simulate(2.0, progress=False)
    cupy.launches.reset()
    cupy.syncs.reset()
    net.simulate(float(steps) * net.dt, progress=False)
    return cupy.launches.total / steps, cupy.syncs.total / steps


def gpu_reason() -> Optional[str]:
    from gpunet.backend import gpu_unavailable_reason
    reason = gpu_unavailable_reason(0)
    if reason is None:
        from gpunet.backend.cupy_backend import STANDIN, STANDIN_NAME
        if STANDIN:  # its timings would be CPU figures labelled GPU
            return f"{STANDIN_NAME}: GPU timings are not measured on it"
    return reason


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default="1M,10M", help="comma-separated subset of: 1M, 10M")
    parser.add_argument("--duration", type=float, default=1000.0, help="timed simulation on the GPU paths (ms)")
    parser.add_argument("--numpy-duration", type=float, default=200.0, help="timed simulation on NumPy (ms)")
    parser.add_argument("--warmup", type=float, default=20.0, help="untimed simulation first (ms)")
    parser.add_argument("--mode", default="ordered", choices=["ordered", "atomic"],
                        help="spike propagation of the fused path")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    reason = gpu_reason()
    if reason is None:
        from gpunet.backend import get_backend
        from gpunet.codegen.runtime.cupy_kernels import attach_fused
        device = get_backend("cupy").describe()
    else:
        device = f"none ({reason})"
    print(f"gpunet kernels benchmark; GPU: {device}; fused spike propagation: {args.mode}")
    header = f"{'network':<8}{'synapses':>12}  " + "".join(f"{p + ' steps/s':>20}{'events/s':>12}" for p in PATHS)
    print(header)
    for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
        neurons, probability = NETWORKS[name]
        results: dict[str, Optional[Figures]] = {p: None for p in PATHS}
        results["numpy"] = measure(neurons, probability, "numpy", None, args.numpy_duration, args.warmup, args.seed)
        if reason is None:
            results["cupy-array"] = measure(neurons, probability, "cupy", None, args.duration, args.warmup, args.seed)
            results["cupy-fused"] = measure(neurons, probability, "cupy", lambda net: attach_fused(net, args.mode),
                                            args.duration, args.warmup, args.seed)
        synapses = results["numpy"].synapses
        row = f"{name:<8}{synapses:>12,}  "
        for path in PATHS:
            figures = results[path]
            row += (f"{figures.steps_per_s:>20,.1f}{figures.events_per_s / 1e6:>10.2f} M" if figures
                    else f"{'skipped':>20}{'-':>12}")
        print(row)
        numpy_figures = results["numpy"]
        print(f"{'':<8}firing rate of pop0: {numpy_figures.rate_hz:.1f} Hz (NumPy run)")
        if reason is None:
            fused, array = results["cupy-fused"], results["cupy-array"]
            print(f"{'':<8}ratios (steps/s): fused / array {fused.steps_per_s / array.steps_per_s:.2f}x, "
                  f"fused / numpy {fused.steps_per_s / numpy_figures.steps_per_s:.1f}x, "
                  f"array / numpy {array.steps_per_s / numpy_figures.steps_per_s:.1f}x")
        else:
            print(f"{'':<8}GPU columns skipped: {reason}")
            if "stand-in" in reason:
                launches, syncs = count_per_step(neurons, probability, args.seed)
                print(f"{'':<8}fused path per step, counted on the stand-in: {launches:g} kernel launches "
                      f"(2 populations, 1 projection), {syncs:g} device-to-host syncs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
