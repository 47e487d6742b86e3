"""Poisson input to conductance-based neurons: the output rate against the input rate.

``--groups`` groups of ``IF_cond_exp`` neurons each receive 400 excitatory and 100 inhibitory Poisson inputs
(fixed number of inputs per neuron); group ``k``'s excitatory inputs fire at its own rate, from 2 to 20 Hz, the
inhibitory ones at 10 Hz. Excitatory synapses drive the membrane towards ``e_rev_E = 0 mV``, inhibitory ones
towards ``e_rev_I = -70 mV``. The figure shows the membrane potential of one neuron per group and the
input-output curve.

    python examples/poisson_conductance.py --neurons 50 --duration 1000 --out figures
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gpunet as gn


def build(groups: int, neurons: int, seed: int = 7, backend: str = "auto"):
    """Returns (network, input rates per group, [(spike and v monitor) per group])."""
    rates = np.linspace(2.0, 20.0, groups)
    net = gn.Network(dt=0.5, seed=seed, backend=backend)
    neuron = gn.IF_cond_exp(tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=10.0)
    inhibition = net.create(gn.PoissonPopulation(500, rates=10.0, name="inh_input"))
    monitors = []
    for k, rate in enumerate(rates):
        excitation = net.create(gn.PoissonPopulation(1000, rates=float(rate), name=f"exc_input{k}"))
        group = net.create(neurons, neuron, name=f"group{k}")
        net.connect(excitation, group, "exc", name=f"exc{k}").connect_fixed_number_pre(400, weights=0.0025)
        net.connect(inhibition, group, "inh", name=f"inh{k}").connect_fixed_number_pre(100, weights=0.02)
        monitors.append((net.monitor(group, "spike"), net.monitor(group[0:1], "v")))
    return net, rates, monitors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=6, help="input rates from 2 to 20 Hz (default 6)")
    parser.add_argument("--neurons", type=int, default=50, help="neurons per group (default 50)")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--out", type=Path, help="folder for the figure (PNG, needs matplotlib)")
    args = parser.parse_args(argv)

    net, rates, monitors = build(args.groups, args.neurons, backend=args.backend)
    net.compile()
    net.simulate(args.duration)
    output = [spikes.mean_fr() for spikes, _ in monitors]
    traces = [np.asarray(v.get("v")).reshape(-1) for _, v in monitors]
    for rate, out_rate in zip(rates, output):
        print(f"excitatory input {rate:5.1f} Hz -> output {out_rate:6.1f} Hz")
    if args.out is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        args.out.mkdir(parents=True, exist_ok=True)
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        shown = min(len(traces[0]), int(round(200.0 / net.dt)))  # the first 200 ms
        time = np.arange(shown) * net.dt
        for k in sorted({0, len(rates) // 2, len(rates) - 1}):
            left.plot(time, traces[k][:shown], lw=0.8, label=f"{rates[k]:.1f} Hz")
        left.set(xlabel="time (ms)", ylabel="v (mV)", title="one neuron of three groups")
        left.legend(fontsize="small")
        right.plot(rates, output, "o-")
        right.set(xlabel="excitatory input rate (Hz)", ylabel="output rate (Hz)", title="input-output curve")
        figure.savefig(args.out / "poisson_conductance.png", dpi=120, bbox_inches="tight")
        print(f"wrote {args.out / 'poisson_conductance.png'}")


if __name__ == "__main__":
    main()
