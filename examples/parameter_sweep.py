"""A parameter sweep driven by parameter files: one JSON file per point, written and read with gpunet.

``save_parameters`` writes the global parameters of a base network (here those of its STDP projection) to
``base.json``. The script then writes one file per value of the depression-to-potentiation ratio
``A_minus / A_plus``, each with a ``"network"`` dictionary naming its point. Every point runs in a fresh network
built by the same code: ``load_parameters`` sets the file's values and returns its ``"network"`` dictionary.
The files are the sweep's record: any point can be rerun from its file alone. The figure shows the mean
weight and the output rate against the ratio.

    python examples/parameter_sweep.py --points 5 --duration 5000 --out sweep
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import gpunet as gn


def build(inputs: int = 200, outputs: int = 5) -> gn.Network:
    """Poisson inputs -> STDP -> integrate-and-fire neurons (the STDP parameters are global: in the file)."""
    net = gn.Network(dt=1.0, seed=9, backend="numpy")
    source = net.create(gn.PoissonPopulation(inputs, rates=15.0, name="input"))
    neurons = net.create(outputs, gn.IF_cond_exp(tau_refrac=2.0, v_rest=-70.0, v_thresh=-54.0, v_reset=-60.0),
                         name="output")
    w_max = 0.0004 * 1000.0 / inputs
    learning = gn.STDP(A_plus=0.03, A_minus=0.0315, w_max=w_max)
    net.connect(source, neurons, "exc", learning, name="plastic").connect_all_to_all(
        weights=gn.Uniform(0.0, w_max))
    net.monitor(neurons, "spike")
    return net


def write_points(folder: Path, ratios: np.ndarray) -> list[Path]:
    """Save the base network's parameters, then one file per ratio."""
    folder.mkdir(parents=True, exist_ok=True)
    build().save_parameters(folder / "base.json")
    base = json.loads((folder / "base.json").read_text())
    files = []
    for k, ratio in enumerate(ratios):
        point = json.loads(json.dumps(base))
        stdp = point["projections"]["plastic"]
        stdp["A_minus"] = float(ratio) * stdp["A_plus"]
        point["network"] = {"point": k, "ratio": float(ratio)}
        files.append(folder / f"point-{k:03d}.json")
        files[-1].write_text(json.dumps(point, indent=2))
    return files


def run_point(path: Path, duration: float) -> tuple[float, float, float]:
    """Run one point from its file alone: (ratio, mean w / w_max, output rate in Hz)."""
    net = build()
    info = net.load_parameters(path)
    net.compile()
    net.simulate(duration)
    proj = net.get_projection("plastic")
    mean_w = float(np.mean(np.concatenate(proj.w)) / proj.w_max)
    return info["ratio"], mean_w, net.get_monitors()[0].mean_fr()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5, help="ratios from 0.9 to 1.3 (default 5)")
    parser.add_argument("--duration", type=float, default=5000.0, help="simulated time per point in ms")
    parser.add_argument("--out", type=Path, default=Path("sweep"), help="folder for the files and the figure")
    args = parser.parse_args(argv)

    files = write_points(args.out, np.linspace(0.9, 1.3, args.points))
    results = [run_point(path, args.duration) for path in files]
    for (ratio, mean_w, rate), path in zip(results, files):
        print(f"{path.name}: A_minus / A_plus = {ratio:.2f} -> mean w / w_max {mean_w:.3f}, output {rate:.1f} Hz")
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ratios, mean_w, rates = np.array(results).T
    figure, left = plt.subplots(figsize=(7, 4))
    left.plot(ratios, mean_w, "o-", color="tab:blue")
    left.set(xlabel="A_minus / A_plus", title="STDP parameter sweep")
    left.set_ylabel("mean w / w_max", color="tab:blue")
    right = left.twinx()
    right.plot(ratios, rates, "s--", color="tab:red")
    right.set_ylabel("output rate (Hz)", color="tab:red")
    figure.savefig(args.out / "sweep.png", dpi=120, bbox_inches="tight")
    print(f"wrote {args.out / 'sweep.png'}")


if __name__ == "__main__":
    main()
