"""Host time per kernel launch and per step of the fused GPU path (issue 19).

The reference network (2 populations of Izhikevich neurons, one STDP projection,
``--neurons`` per population, small so that the device work does not hide the
host's; delay 2 ms, or ``--delays per-synapse``: Uniform(1, 20) ms, 20 delay
values) runs with fused kernels on CuPy, or on the CuPy stand-in
(``GPUNET_CUPY_STANDIN=1``).  Printed:

* ``runner us/launch``: wall time of the kernel runners' calls (neuron updates,
  pre- and post-synaptic events) divided by their raw-kernel launches.  On the
  stand-in the kernels themselves (and a graph's launch) are replaced by a no-op
  (``--keep-kernels`` keeps them), so the figure is gpunet's own Python per launch: context,
  argument check, scalar conversion, the CuPy call's argument tuple.  On a GPU
  it is the host time to issue the launch (CuPy's own call included).
* per step loop, the host time of ``simulate`` per step (until it returns,
  the device may still be working), its wall time (until the device is done)
  and the launches the host issues per step (a graph launch counts once;
  counted on the stand-in, for the per-object runners on a GPU "nan"): ``graph`` (one CUDA graph per step, ``gpunet.network.device_loop``),
  ``launch list`` (the same launches replayed one by one, as where CuPy cannot
  capture) and ``runners`` (the per-object kernel runners, one Python call
  chain per kernel: the path before the step graph).

Usage::

    GPUNET_CUPY_STANDIN=1 python benchmarks/bench_launch_overhead.py [--neurons 100] [--steps 2000]
        [--delays uniform|per-synapse]
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
            stream = cupy.cuda.get_current_stream()
            if stream.capture is not None:  # captured into a graph: replayed as a no-op too
                stream.capture.append((self.name, lambda *converted: None, (), [], []))
                return
            cupy.launches.count(self.name)

    _raw.RawModule.get_function = lambda self, name: NoopKernel(self, name)
    # a graph launch is one call into the driver on a GPU: here one counted no-op (not the stand-in's replay)
    cupy.cuda.graph.Graph.launch = lambda self, stream=None: cupy.launches.count_graph()


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


LOOPS = ("graph", "launch list", "runners")


def _delays(kind: str) -> Any:
    from gpunet import Uniform
    return 2.0 if kind == "uniform" else Uniform(1.0, 20.0)


def _whole_steps(net: Any, steps: int, cupy: Any, standin: bool) -> tuple[float, float, float]:
    """(host us per step to issue ``simulate``, wall us per step until the device is done, launches issued per
    step or NaN where nothing counts them)."""
    net.simulate(5.0, progress=False)
    issued = cupy.launches.issued if standin else 0
    net.backend.synchronize()
    start = time.perf_counter()
    net.simulate(float(steps) * net.dt, progress=False)
    host = time.perf_counter() - start
    net.backend.synchronize()
    whole = time.perf_counter() - start
    launches = (cupy.launches.issued - issued) / steps if standin else float("nan")
    return host / steps * 1e6, whole / steps * 1e6, launches


def measure(neurons: int, steps: int, keep_kernels: bool, delays: str = "uniform") -> dict[str, float]:
    from gpunet.examples import reference_network
    import cupy
    standin = getattr(cupy, "IS_STANDIN", False)
    if standin and not keep_kernels:
        _noop_kernels(cupy)
    results: dict[str, float] = {}
    for loop in LOOPS:
        begin_capture = cupy.cuda.Stream.begin_capture
        if loop == "launch list":  # as where CuPy cannot capture: the launch list is replayed
            def refuse(self: Any, mode: Any = None) -> None:
                raise RuntimeError("capture switched off by the benchmark")
            cupy.cuda.Stream.begin_capture = refuse
        try:
            net = reference_network(neurons=neurons, backend="cupy", seed=42, delay=_delays(delays))
            net.compile()
        finally:
            cupy.cuda.Stream.begin_capture = begin_capture
        if loop == "runners":
            net.use_step_loop(None)
        else:
            assert net.step_loop.kind == "graph" and net.step_loop.graph.mode == loop, net.step_loop.graph.mode
        host, wall, launches = _whole_steps(net, steps, cupy, standin)
        results[f"{loop} us"], results[f"{loop} wall us"] = host, wall
        kernels = len(net.step_loop.graph.launches) if loop != "runners" else float("nan")
        if launches != launches and loop != "runners":  # a GPU counts nothing: the graph is 1, the list its kernels
            launches = 1.0 if loop == "graph" else float(kernels)
        results[f"{loop} launches"], results[f"{loop} kernels"] = launches, kernels
        if loop == "runners":
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
            kernel_launches = (cupy.launches.total - launches_before) if standin else steps * len(calls)
            results["us_per_launch"] = runners / kernel_launches * 1e6
            results["launches"] = kernel_launches / steps
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=100, help="neurons per population")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--keep-kernels", action="store_true",
                        help="on the stand-in, run the kernels (host C++) instead of a no-op")
    parser.add_argument("--delays", choices=("uniform", "per-synapse"), default="uniform",
                        help="one delay of 2 ms, or Uniform(1, 20) ms per synapse (20 delay values)")
    args = parser.parse_args(argv)
    import gpunet  # noqa: F401 - registers the stand-in as cupy under GPUNET_CUPY_STANDIN=1
    import cupy as cp
    kind = "CuPy stand-in" + ("" if args.keep_kernels else " (raw kernels: no-op)") \
        if getattr(cp, "IS_STANDIN", False) else f"CuPy {cp.__version__}"
    results = [measure(args.neurons, args.steps, args.keep_kernels, args.delays) for _ in range(args.repeats)]
    best = {key: min(r[key] for r in results) for key in results[0] if key.endswith("us") or key == "us_per_launch"}
    print(f"fused path on {kind}, 2 x {args.neurons} neurons, {args.delays} delays, {args.steps} steps, "
          f"best of {args.repeats}")
    print(f"kernel runners: {best['us_per_launch']:.2f} us per raw-kernel launch "
          f"({results[0]['launches']:g} launches per step)")
    for loop in LOOPS:
        kernels = results[0][f"{loop} kernels"]
        inside = f", {kernels:g} kernels in it" if kernels == kernels else ""
        print(f"whole step, {loop:<11}: {best[f'{loop} us']:7.1f} us of host per step, "
              f"{best[f'{loop} wall us']:7.1f} us wall ({results[0][f'{loop} launches']:g} launches issued per "
              f"step{inside}; monitors none)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
