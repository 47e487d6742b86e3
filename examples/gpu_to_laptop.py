"""Train a network on a GPU, save it, and carry on with it on a machine without one.

The network learns on the GPU (CuPy) for ``--duration`` ms and is saved to ``trained.npz``. A second network,
built by the same code with ``backend="numpy"`` (a laptop), loads the file: every weight, variable and
in-flight spike is checked to equal the GPU's, bit for bit, and the laptop then simulates on.

Without a GPU, run it on the CuPy stand-in, which executes the GPU code paths on the CPU:

    GPUNET_CUPY_STANDIN=1 python examples/gpu_to_laptop.py --neurons 1000 --duration 1000 --out moved
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import gpunet as gn


def build(neurons: int, backend: str) -> gn.Network:
    """Two Izhikevich populations connected by STDP on the given backend."""
    net = gn.Network(dt=1.0, seed=11, backend=backend)
    pre = net.create(neurons, gn.Izhikevich, name="pre")
    post = net.create(neurons, gn.Izhikevich, name="post")
    pre.i_offset = np.linspace(0.0, 12.0, neurons)
    pre.noise, post.noise, post.i_offset = 2.0, 2.0, 2.0
    learning = gn.STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525)
    net.connect(pre, post, "exc", learning, name="pre_post").connect_fixed_probability(
        min(1.0, 100.0 / neurons), weights=gn.Uniform(0.0, 1.5), delays=2.0)
    net.compile()
    return net


def weights(net: gn.Network) -> np.ndarray:
    """All weights of the projection as one host array."""
    return np.concatenate([np.asarray(row) for row in net.get_projection("pre_post").w])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1000, help="neurons per population (default 1000)")
    parser.add_argument("--duration", type=float, default=1000.0, help="training time in ms (default 1000)")
    parser.add_argument("--out", type=Path, default=Path("moved"), help="folder for trained.npz")
    args = parser.parse_args(argv)
    if not gn.gpu_available():
        sys.exit("no GPU: run with GPUNET_CUPY_STANDIN=1 to use the CuPy stand-in")

    gpu = build(args.neurons, backend="cupy")
    print(f"training on {gpu.backend.describe()}")
    gpu.simulate(args.duration)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "trained.npz"
    gpu.save(path)
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) at t = {gpu.time:g} ms")

    laptop = build(args.neurons, backend="numpy")
    laptop.load(path)
    for pop in laptop.get_populations():
        for name in pop.variables:
            assert np.array_equal(np.asarray(pop.get(name)), np.asarray(gpu.get_population(pop.name).get(name)),
                                  equal_nan=True), f"{pop.name}.{name} differs"
    assert np.array_equal(weights(laptop), weights(gpu))
    print(f"loaded on NumPy: t = {laptop.time:g} ms, {weights(laptop).size} weights equal to the GPU's")
    laptop.simulate(200.0)
    print(f"the laptop simulated on to t = {laptop.time:g} ms; mean weight {weights(laptop).mean():.4f}")


if __name__ == "__main__":
    main()
