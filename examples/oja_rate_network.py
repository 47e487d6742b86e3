"""A rate-coded network learning with Oja's rule: the weights find the inputs' first principal component.

One rate-coded ``source`` neuron follows slow noise (an Ornstein-Uhlenbeck process); the ``inputs`` population receives
it through fixed weights (a direction ``d``) and adds its own noise, so the inputs' covariance is
``d d^T + sigma^2 I``. A linear ``output`` neuron reads the inputs through ``gn.Oja`` synapses; Oja's rule
(``dw/dt = eta (pre.r post.r - alpha post.r^2 w)``) turns its weight vector into the covariance's principal
eigenvector, ``d / |d|``, of norm ``1 / sqrt(alpha)``.

    python examples/oja_rate_network.py --inputs 20 --duration 5000 --out figures
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gpunet as gn

Source = gn.Neuron(parameters="tau = 20.0 : population", equations="tau * dr/dt + r = sqrt(2 * tau) * Normal(0.0, 1.0)",
                   name="Source", description="Slowly varying noise (correlation time tau, variance about 1).")
NoisyInput = gn.Neuron(parameters="sigma = 0.3 : population", equations="r = sum(exc) + sigma * Normal(0.0, 1.0)",
                       name="NoisyInput", description="Its weighted input plus Gaussian noise.")
Linear = gn.Neuron(equations="r = sum(exc)", name="Linear", description="A linear rate neuron.")


def build(inputs: int, seed: int = 5, backend: str = "auto"):
    """Returns (network, Oja projection, the direction d of the inputs' correlations)."""
    rng = np.random.default_rng(seed)
    direction = rng.uniform(0.2, 1.0, inputs)  # positive: the built-in Oja synapse keeps w >= 0
    net = gn.Network(dt=1.0, seed=seed, backend=backend)
    source = net.create(1, Source, name="source")
    layer = net.create(inputs, NoisyInput, name="inputs")
    output = net.create(1, Linear, name="output")
    net.connect(source, layer, "exc", name="drive").connect_from_matrix(direction[:, None])
    learning = net.connect(layer, output, "exc", gn.Oja(eta=0.002, alpha=1.0), name="learning")
    learning.connect_all_to_all(weights=gn.Uniform(0.0, 0.1))
    return net, learning, direction


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=20, help="input neurons (default 20)")
    parser.add_argument("--duration", type=float, default=5000.0, help="learning time in ms (default 5000)")
    parser.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    parser.add_argument("--out", type=Path, help="folder for the weight plot (PNG, needs matplotlib)")
    args = parser.parse_args(argv)

    net, learning, direction = build(args.inputs, backend=args.backend)
    net.compile()
    net.simulate(args.duration)
    w = np.asarray(learning.w[0])
    component = direction / np.linalg.norm(direction)
    cosine = float(w @ component / np.linalg.norm(w))
    print(f"{args.inputs} inputs, {args.duration:g} ms: |w| = {np.linalg.norm(w):.3f} (Oja: 1), "
          f"cosine with the principal component {cosine:.4f}")
    if args.out is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        args.out.mkdir(parents=True, exist_ok=True)
        figure, axis = plt.subplots(figsize=(7, 4))
        axis.bar(np.arange(args.inputs) - 0.2, component, width=0.4, label="principal component")
        axis.bar(np.arange(args.inputs) + 0.2, w, width=0.4, label="learned weights")
        axis.set(xlabel="input neuron", ylabel="weight", title="Oja's rule")
        axis.legend()
        figure.savefig(args.out / "oja_weights.png", dpi=120, bbox_inches="tight")
        print(f"wrote {args.out / 'oja_weights.png'}")


if __name__ == "__main__":
    main()
