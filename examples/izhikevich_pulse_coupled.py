"""Izhikevich (2003) pulse-coupled network: 80 % regular-spiking excitatory, 20 % fast-spiking inhibitory neurons.

Each neuron has its own ``a, b, c, d`` (drawn as in the paper: ``r`` uniform in [0, 1], excitatory
``c = -65 + 15 r^2``, ``d = 8 - 6 r^2``; inhibitory ``a = 0.02 + 0.08 r``, ``b = 0.25 - 0.05 r``), a thalamic
input of Gaussian noise (standard deviation 5 for excitatory, 2 for inhibitory neurons), and all-to-all synapses
(excitatory weights uniform in [0, 0.5], inhibitory in [0, 1]). The network settles into alpha and gamma rhythms.

    python examples/izhikevich_pulse_coupled.py --neurons 1000 --duration 1000 --out figures

Reference: E. M. Izhikevich, "Simple model of cortical spiking neurons", IEEE Trans. Neural Networks 14 (2003).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gpunet as gn


def build(neurons: int, seed: int = 1, backend: str = "auto") -> tuple[gn.Network, gn.Monitor, gn.Monitor]:
    """The network with ``neurons`` neurons, and a spike monitor per population."""
    n_exc = int(0.8 * neurons)
    n_inh = neurons - n_exc
    rng = np.random.default_rng(seed)
    net = gn.Network(dt=1.0, seed=seed, backend=backend)
    exc = net.create(n_exc, gn.Izhikevich, name="exc")
    inh = net.create(n_inh, gn.Izhikevich, name="inh")
    r_exc, r_inh = rng.random(n_exc), rng.random(n_inh)
    exc.a, exc.b = 0.02, 0.2
    exc.c, exc.d = -65.0 + 15.0 * r_exc ** 2, 8.0 - 6.0 * r_exc ** 2
    inh.a, inh.b = 0.02 + 0.08 * r_inh, 0.25 - 0.05 * r_inh
    inh.c, inh.d = -65.0, 2.0
    exc.noise, inh.noise = 5.0, 2.0
    for pop in (exc, inh):
        pop.v = -65.0
        pop.u = pop.b * pop.v
    for pre, target, w_max in ((exc, "exc", 0.5), (inh, "inh", 1.0)):
        for post in (exc, inh):
            net.connect(pre, post, target, name=f"{pre.name}_{post.name}").connect_all_to_all(
                weights=gn.Uniform(0.0, w_max), allow_self_connections=True)
    return net, net.monitor(exc, "spike"), net.monitor(inh, "spike")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1000, help="total number of neurons (default 1000)")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--out", type=Path, help="folder for the raster plot (PNG, needs matplotlib)")
    args = parser.parse_args(argv)

    net, m_exc, m_inh = build(args.neurons, backend=args.backend)
    net.compile()
    net.simulate(args.duration)
    spikes_exc, spikes_inh = m_exc.get("spike", keep=True), m_inh.get("spike", keep=True)
    rate_exc, rate_inh = m_exc.mean_fr(spikes_exc), m_inh.mean_fr(spikes_inh)
    t_exc, n_exc = m_exc.raster_plot(spikes_exc)
    t_inh, n_inh = m_inh.raster_plot(spikes_inh)
    print(f"{args.neurons} neurons, {args.duration:g} ms: excitatory {rate_exc:.1f} Hz, inhibitory {rate_inh:.1f} Hz")
    if args.out is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        args.out.mkdir(parents=True, exist_ok=True)
        figure, axis = plt.subplots(figsize=(9, 4))
        axis.scatter(t_exc, n_exc, s=0.3, c="tab:blue", label="excitatory")
        axis.scatter(t_inh, n_inh + len(net.get_population("exc")), s=0.3, c="tab:red", label="inhibitory")
        axis.set(xlabel="time (ms)", ylabel="neuron", title="Izhikevich (2003) pulse-coupled network")
        axis.legend(loc="upper right", markerscale=10)
        figure.savefig(args.out / "izhikevich_raster.png", dpi=120, bbox_inches="tight")
        print(f"wrote {args.out / 'izhikevich_raster.png'}")


if __name__ == "__main__":
    main()
