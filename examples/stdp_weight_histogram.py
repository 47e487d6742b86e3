"""STDP learning: Poisson inputs onto integrate-and-fire neurons, and the weight histogram it shapes.

Each of ``--outputs`` conductance-based neurons receives every one of ``--inputs`` Poisson spike trains (15 Hz)
through an STDP synapse whose depression slightly outweighs its potentiation, and static inhibition (Song,
Miller and Abbott, 2000). The weights start uniform; competition between the inputs drives them towards 0 and
``w_max`` (the histogram becomes U-shaped) while the output rate falls and settles. The figure shows the weight
histogram before and after learning.

    python examples/stdp_weight_histogram.py --inputs 1000 --duration 40000 --out figures
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gpunet as gn


def build(inputs: int, outputs: int, seed: int = 3, backend: str = "auto"):
    """Poisson inputs -> STDP -> IF_cond_exp neurons (plus static Poisson inhibition).

    Returns (network, plastic projection, output spike monitor).
    """
    net = gn.Network(dt=1.0, seed=seed, backend=backend)
    source = net.create(gn.PoissonPopulation(inputs, rates=15.0, name="input"))
    inhibition = net.create(gn.PoissonPopulation(max(1, inputs // 5), rates=10.0, name="inhibition"))
    neuron = gn.IF_cond_exp(v_rest=-70.0, v_reset=-60.0, v_thresh=-54.0, tau_m=20.0, tau_refrac=2.0,
                            e_rev_E=0.0, e_rev_I=-70.0)
    neurons = net.create(outputs, neuron, name="output")
    scale = 1000.0 / inputs  # the same total drive whatever the number of inputs
    w_max = 0.00075 * scale  # uS: 1.5 % of the leak conductance, as in Song et al.
    learning = gn.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.02, A_minus=0.021, w_max=w_max)
    proj = net.connect(source, neurons, "exc", learning, name="input_output")
    proj.connect_all_to_all(weights=gn.Uniform(0.0, w_max))
    net.connect(inhibition, neurons, "inh", name="inhibition_output").connect_all_to_all(weights=0.005 * scale)
    return net, proj, net.monitor(neurons, "spike")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1000, help="Poisson inputs (default 1000)")
    parser.add_argument("--outputs", type=int, default=10, help="learning neurons (default 10)")
    parser.add_argument("--duration", type=float, default=40000.0, help="learning time in ms (default 40000)")
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--out", type=Path, help="folder for the weight histogram (PNG, needs matplotlib)")
    args = parser.parse_args(argv)

    net, proj, monitor = build(args.inputs, args.outputs, backend=args.backend)
    net.compile()
    w_max = proj.w_max
    before = np.concatenate(proj.w)
    net.simulate(args.duration)
    after = np.concatenate(proj.w)
    rate = monitor.mean_fr()
    edges = np.mean((after < 0.1 * w_max) | (after > 0.9 * w_max))
    print(f"{args.inputs} inputs x {args.outputs} neurons, {args.duration:g} ms: output {rate:.1f} Hz; "
          f"weights within 10 % of 0 or w_max: {100 * np.mean((before < 0.1 * w_max) | (before > 0.9 * w_max)):.0f} %"
          f" before, {100 * edges:.0f} % after")
    if args.out is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        args.out.mkdir(parents=True, exist_ok=True)
        figure, axis = plt.subplots(figsize=(7, 4))
        bins = np.linspace(0.0, w_max, 41)
        axis.hist(before / w_max, bins=bins / w_max, alpha=0.6, label="before learning")
        axis.hist(after / w_max, bins=bins / w_max, alpha=0.6, label=f"after {args.duration:g} ms")
        axis.set(xlabel="w / w_max", ylabel="synapses", title="STDP weight distribution")
        axis.legend()
        figure.savefig(args.out / "stdp_weights.png", dpi=120, bbox_inches="tight")
        print(f"wrote {args.out / 'stdp_weights.png'}")


if __name__ == "__main__":
    main()
