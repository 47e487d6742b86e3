"""Issue 20 benchmark: a rate-coded network with semiglobal variables and pre.sum()/post.sum(), numpy vs compiled.

The models of network ``language`` of :mod:`gpunet.testing.parity` (a rate neuron with one ODE per integration
method, a synapse with a semiglobal midpoint ODE read by its equation and psp, a synapse reading
``pre.sum(exc)`` and ``post.sum(exc)``) at a larger size: ``--neurons`` inputs, hidden and output neurons,
connection probability ``--probability``.  Before issue 20 such projections ran the array code on every
runner; now the compiled CPU runner (and CUDA on a GPU) runs them.  Prints the CPU seconds of each runner and
checks that both end in the same bits.

Usage::

    python benchmarks/bench_language.py [--neurons 2000] [--probability 0.05] [--steps 500]
"""
from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def build(args: argparse.Namespace, runner: str) -> Any:
    import gpunet as gn
    from gpunet.testing import parity

    net = gn.Network(dt=0.5, seed=3, backend="numpy", runner=runner)
    inputs = net.create(args.neurons, gn.LeakyIntegrator(tau=4.0), name="inputs")
    inputs.B = np.linspace(0.1, 1.0, args.neurons)
    hidden = net.create(args.neurons, gn.Neuron(**parity.METHODS_RATE), name="hidden")
    output = net.create(args.neurons, gn.LeakyIntegrator(tau=8.0), name="output")
    weights = gn.Uniform(0.0, 6.0 / (args.neurons * args.probability))
    net.connect(inputs, hidden, "exc", gn.Synapse(**parity.SEMIGLOBAL_RATE), name="semiglobal") \
        .connect_fixed_probability(args.probability, weights=weights)
    net.connect(hidden, output, "exc", gn.Synapse(**parity.READS_SUMS), name="sums") \
        .connect_fixed_probability(args.probability, weights=weights)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=2000)
    parser.add_argument("--probability", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    finals = {}
    for runner in ("numpy", "compiled"):
        net = build(args, runner)
        net.compile(silent=True)
        net.simulate(1.0, progress=False)  # warm-up: libraries loaded, arrays touched
        start = time.process_time()
        net.simulate(args.steps * 0.5, progress=False)
        seconds = time.process_time() - start
        synapses = sum(len(p.step_arrays().state["_post_idx"]) for p in net.projections)
        print(f"{runner:9s} ({net.runner_in_use}): {seconds:.2f} CPU s for {args.steps} steps, "
              f"{synapses} synapses, {3 * args.neurons} neurons")
        finals[runner] = [np.array(net.get_projection(name).step_arrays().state["w"]) for name in ("semiglobal", "sums")]
    same = all(np.array_equal(a, b) for a, b in zip(finals["numpy"], finals["compiled"]))
    print(f"final weights bit-identical: {same}")


if __name__ == "__main__":
    main()
