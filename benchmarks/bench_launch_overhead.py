"""Host time per kernel launch and per step of the fused GPU path (issue 19, item 3).

The reference network (2 populations of Izhikevich neurons, one STDP projection,
delay 2 ms; ``--neurons`` per population, small so that the device work does
not hide the host's) runs with fused kernels on CuPy, or on the CuPy stand-in
(``GPUNET_CUPY_STANDIN=1``).  Printed:

* ``runner us/launch``: wall time of the kernel runners' calls (neuron updates,
  pre- and post-synaptic events) divided by their raw-kernel launches.  On the
  stand-in the kernels themselves are replaced by a no-op (``--keep-kernels``
  keeps them), so the figure is gpunet's own Python per launch: context,
  argument check, scalar conversion, the CuPy call's argument tuple.  On a GPU
  it is the host time to issue the launch (CuPy's own call included).
* ``step us``: wall time of ``simulate`` per step (the step loop with its array
  operations: input resets, spike-history writes), and launches per step.

Usage::

    GPUNET_CUPY_STANDIN=1 python benchmarks/bench_launch_overhead.py [--neurons 100] [--steps 2000]
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Optional


def _noop_kernels(cupy: Any) -> None:
    """Make the stand-in's raw kernels do nothing but count (gpunet's host path alone is timed)."""
    from gpunet.testing.cupy_standin import _raw

    class NoopKernel:
        def __init__(self, module: Any, name: str) -> None:
            self.name = name

        def __call__(self, grid: Any, block: Any, args: Any, **kwargs: Any) -> None:
            cupy.launches.count(self.name)

    _raw.RawModule.get_function = lambda self, name: NoopKernel(self, name)


def runner_phases(net: Any) -> list:
    """The kernel runners' calls of one step, in step order (array-code phases left out)."""
    calls = []
    for projection in net.projections:
        runner = projection.runner
        if getattr(runner, "kind", "") == "kernels":
            calls += [getattr(runner, phase) for phase in ("pre_events", "post_events") if phase in runner.phases]
    for population in net.populations:
        runner = population.runner
        if getattr(runner, "kind", "") == "kernels":
            calls.append(runner.update)
    return calls


def measure(neurons: int, steps: int, keep_kernels: bool) -> dict[str, float]:
    from gpunet.examples import reference_network
    import cupy
    standin = getattr(cupy, "IS_STANDIN", False)
    if standin and not keep_kernels:
        _noop_kernels(cupy)
    net = reference_network(neurons=neurons, backend="cupy", seed=42)
    net.compile()
    net.simulate(5.0, progress=False)
    calls = runner_phases(net)
    start_step = net.get_current_step()
    launches_before = cupy.launches.total if standin else 0
    net.backend.synchronize()
    start = time.perf_counter()
    for step in range(start_step, start_step + steps):
        for call in calls:
            call(step)
    net.backend.synchronize()
    runners = time.perf_counter() - start
    kernel_launches = (cupy.launches.total - launches_before) if standin else None
    if kernel_launches is None:  # real CuPy counts nothing: one launch per call and delay value
        kernel_launches = steps * len(calls)
    launches_before = cupy.launches.total if standin else 0
    start = time.perf_counter()
    net.simulate(float(steps) * net.dt, progress=False)
    net.backend.synchronize()
    whole = time.perf_counter() - start
    per_step_launches = (cupy.launches.total - launches_before) / steps if standin else float("nan")
    return {"us_per_launch": runners / kernel_launches * 1e6, "launches": kernel_launches / steps,
            "us_per_step": whole / steps * 1e6, "step_launches": per_step_launches}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=100, help="neurons per population")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--keep-kernels", action="store_true",
                        help="on the stand-in, run the kernels (host C++) instead of a no-op")
    args = parser.parse_args(argv)
    import gpunet  # noqa: F401 - registers the stand-in as cupy under GPUNET_CUPY_STANDIN=1
    import cupy as cp
    kind = "CuPy stand-in" + ("" if args.keep_kernels else " (raw kernels: no-op)") \
        if getattr(cp, "IS_STANDIN", False) else f"CuPy {cp.__version__}"
    results = [measure(args.neurons, args.steps, args.keep_kernels) for _ in range(args.repeats)]
    best = {key: min(r[key] for r in results) for key in ("us_per_launch", "us_per_step")}
    print(f"fused path on {kind}, 2 x {args.neurons} neurons, {args.steps} steps, best of {args.repeats}")
    print(f"kernel runners: {best['us_per_launch']:.2f} us per raw-kernel launch "
          f"({results[0]['launches']:g} launches per step)")
    print(f"whole step (simulate): {best['us_per_step']:.1f} us per step "
          f"({results[0]['step_launches']:g} launches per step, array operations included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
