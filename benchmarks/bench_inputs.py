"""The inputs through their generated kernels: NumPy runner against the compiled CPU runner (and CuPy on a GPU).

One network holds a TimedArray injected (CurrentInjection) into IF_curr_exp neurons, a TimedPoissonPopulation
and HomogeneousCorrelatedSpikeTrains, ``--neurons`` each; every runner simulates ``--steps`` steps and the final
states are compared bit for bit with the NumPy runner's.

Usage::

    python benchmarks/bench_inputs.py [--neurons 10000] [--steps 1000] [--runners numpy compiled cupy]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def build(backend: str, runner: str, neurons: int):
    import gpunet as gn
    net = gn.Network(dt=1.0, seed=4, backend=backend, runner=runner)
    rows = np.random.default_rng(0).uniform(0.0, 3.0, (20, neurons))
    timed = gn.TimedArray(rows, schedule=25.0, period=500.0, name="timed", network=net)
    post = net.create(neurons, gn.IF_curr_exp, name="post")
    gn.CurrentInjection(timed, post, "exc", name="injection", network=net).connect_current()
    gn.TimedPoissonPopulation(neurons, rates=[10.0, 50.0, 20.0], schedule=[0.0, 200.0, 400.0], period=600.0,
                              name="poisson", network=net)
    gn.HomogeneousCorrelatedSpikeTrains(neurons, rates=[20.0, 60.0], corr=[0.1, 0.3], tau=10.0,
                                        schedule=[0.0, 500.0], name="correlated", network=net)
    return net


def run(backend: str, runner: str, args: argparse.Namespace) -> tuple[float, dict, str]:
    net = build(backend, runner, args.neurons)
    net.compile()
    net.step()  # first-call costs are not part of the time
    net.backend.synchronize()
    start = time.perf_counter()
    net.simulate(float(args.steps - 1), progress=False)
    net.backend.synchronize()
    wall = time.perf_counter() - start
    state = {(p.name, k): net.backend.to_host(v) for p in net.populations for k, v in p.state_dict(args.steps).items()}
    return wall, state, net.runner_in_use if backend == "numpy" else net.backend.describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runners", nargs="+", default=["numpy", "compiled"], choices=["numpy", "compiled", "cupy"])
    args = parser.parse_args()
    reference = None
    for name in args.runners:
        wall, state, label = run("cupy" if name == "cupy" else "numpy", "numpy" if name == "cupy" else name, args)
        if reference is None:
            reference, reference_wall = state, wall
        same = all(np.array_equal(state[key], value) for key, value in reference.items())
        print(f"{name:<9} {label:<12.40} | {wall:7.3f} s for {args.steps} steps of 4 x {args.neurons} neurons | "
              f"{reference_wall / wall:5.2f}x the first | state bit-identical to the first: {same}")


if __name__ == "__main__":
    main()
