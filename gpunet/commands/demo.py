"""``gpunet demo``: the main job -- simulate, snapshot, restore, continue, compare, report.

It builds the reference network (two Izhikevich populations connected with
STDP, driven so that they spike and learn), simulates it with periodic
asynchronous snapshots, restores the newest snapshot into a freshly built
network (on another GPU where there is one), continues both, checks that they
stay bit-identical and prints a report.  With matplotlib installed it also
draws a spike raster and the weight histograms before and after learning.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gpunet.backend import gpu_available
from gpunet.examples import reference_network
from gpunet.io.pipeline.gather import gather_state
from gpunet.io.snapshots import Snapshotter, list_snapshots, load_latest

CONTINUE_MS = 100.0
MAX_NEURONS = 10 ** 8
MAX_MS = 2.0 ** 53  # steps of 1 ms counted exactly


def _device_for_restore(backend: str) -> int:
    """Another GPU id when there are several, so the restore lands on a fresh device."""
    if backend == "numpy" or not gpu_available():
        return 0
    return 1 if gpu_available(1) else 0


def _identical(a: Any, b: Any) -> tuple[bool, str]:
    state_a, state_b = gather_state(a), gather_state(b)
    for obj_a, obj_b in zip(state_a.populations + state_a.projections, state_b.populations + state_b.projections):
        for key in list(obj_a.values) + list(obj_a.internal):
            x = obj_a.values.get(key, obj_a.internal.get(key))
            y = obj_b.values.get(key, obj_b.internal.get(key))
            if x is None or y is None or not np.array_equal(x, y, equal_nan=True):
                return False, f"{obj_a.name}.{key} differs"
    if state_a.step != state_b.step:
        return False, "step counters differ"
    return True, "every variable, weight and spike queue is equal"


def _plots(out: Path, spikes: dict, weights_before: np.ndarray, weights_after: np.ndarray) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    figure, axis = plt.subplots(figsize=(9, 4))
    offset = 0
    for name, (times, ranks, size) in spikes.items():
        axis.scatter(times, ranks + offset, s=0.5, label=name)
        offset += size
    axis.set_xlabel("time (ms)")
    axis.set_ylabel("neuron")
    axis.set_title("spike raster")
    axis.legend(loc="upper right", markerscale=10)
    raster = out / "raster.png"
    figure.savefig(raster, dpi=120, bbox_inches="tight")
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(7, 4))
    bins = np.linspace(min(weights_before.min(), weights_after.min()), max(weights_before.max(),
                                                                          weights_after.max()), 60)
    axis.hist(weights_before, bins=bins, alpha=0.6, label="before learning")
    axis.hist(weights_after, bins=bins, alpha=0.6, label="after learning")
    axis.set_xlabel("weight")
    axis.set_ylabel("synapses")
    axis.legend()
    histogram = out / "weights.png"
    figure.savefig(histogram, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return [str(raster), str(histogram)]


def run_demo(backend: str = "auto", neurons: int = 4000, duration: float = 1000.0, out: str = "gpunet-demo-output",
             seed: int = 42, snapshot_every: Optional[float] = None, progress: Optional[bool] = None) -> int:
    """Run the demo and print its report; return the exit status (0 when bit-identical)."""
    out_dir = Path(out)
    snapshot_dir = out_dir / "snapshots"
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    for _, stale in list_snapshots(snapshot_dir):  # the demo's own folder: start from a clean slate
        stale.unlink()
    every = snapshot_every or max(duration / 10.0, 1.0)

    build_start = time.perf_counter()
    net = reference_network(neurons=neurons, backend=backend, seed=seed)
    pop0, pop1 = net.populations
    proj = net.projections[0]
    monitors = {p.name: net.monitor(p, "spike") for p in (pop0, pop1)}
    net.compile()
    weights_before = net.backend.to_host(proj.device_view("w")).copy()
    build_time = time.perf_counter() - build_start
    print(f"gpunet demo: {pop0.size} + {pop1.size} Izhikevich neurons, {proj.nb_synapses} STDP synapses, "
          f"{duration:g} ms on {net.backend.describe()}")

    snapshotter = Snapshotter(net, snapshot_dir, every=every, keep_last=3)
    sim_start = time.perf_counter()
    net.simulate(duration, progress=progress, snapshotter=snapshotter)
    snapshotter.close()
    net.backend.synchronize()
    sim_time = time.perf_counter() - sim_start
    weights_after = net.backend.to_host(proj.device_view("w")).copy()

    restore_device = _device_for_restore(net.backend.name)
    fresh = reference_network(neurons=neurons, backend=backend, seed=seed + 1, device=restore_device)
    fresh.compile()  # so that the load time below is the load's own
    load_start = time.perf_counter()
    loaded = load_latest(snapshot_dir, network=fresh)
    fresh.backend.synchronize()
    load_time = time.perf_counter() - load_start
    resumed_at = fresh.get_current_step()
    if resumed_at < net.get_current_step():  # bring the original back to the snapshot's moment
        net.load(loaded)
    net.simulate(CONTINUE_MS, progress=False)
    fresh.simulate(CONTINUE_MS, progress=False)
    same, detail = _identical(net, fresh)

    spikes = {}
    for population in (pop0, pop1):
        recorded = monitors[population.name].get("spike")
        times = np.concatenate([np.asarray(t) * net.dt for t in recorded.values()]) if recorded else np.zeros(0)
        ranks = np.concatenate([np.full(len(t), r) for r, t in recorded.items()]) if recorded else np.zeros(0)
        spikes[population.name] = (times, ranks, population.size)
    held = [h.durations.get("held", 0.0) for h in snapshotter.completed]
    sizes = [h.nbytes for h in snapshotter.completed]
    rate = {name: np.count_nonzero(t < duration) / size / (duration / 1000.0)
            for name, (t, _r, size) in spikes.items()}
    rows = [
        ("backend and device", net.backend.describe()),
        ("restored onto", fresh.backend.describe()),
        ("neurons", f"{pop0.size + pop1.size:,}"),
        ("synapses", f"{proj.nb_synapses:,}"),
        ("simulated time", f"{duration:g} ms + {CONTINUE_MS:g} ms after the restore (dt = {net.dt} ms)"),
        ("wall time", f"{sim_time:.2f} s simulating, {build_time:.2f} s building"),
        ("firing rates", ", ".join(f"{n} {r:.1f} Hz" for n, r in rate.items())),
        ("mean weight", f"{weights_before.mean():.4f} -> {weights_after.mean():.4f}"),
        ("snapshots taken", f"{snapshotter.taken} (every {every:g} ms, newest 3 kept in {snapshot_dir})"),
        ("bytes per snapshot", f"{statistics.median(sizes) / 1e6:.2f} MB" if sizes else "-"),
        ("loop held per snapshot", f"{statistics.median(held) * 1e3:.2f} ms (median)" if held else "-"),
        ("load time", f"{load_time * 1e3:.1f} ms ({loaded.name}; the fresh network was built with another "
                      "seed, so its projection is rebuilt from the file)"),
        ("verdict", ("bit-identical after restore: " if same else "DIFFERENT after restore: ") + detail),
    ]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    pictures = _plots(out_dir, spikes, weights_before, weights_after)
    if pictures:
        print(f"  plots: {', '.join(pictures)}")
    else:
        print("  plots: install matplotlib (pip install -e '.[plot]') to get a spike raster and weight histograms")
    return 0 if same else 1


def _positive_ms(text: str) -> float:
    """argparse type: a finite number of ms > 0 (``inf``, ``nan``, 0 and negative values are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of ms, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of ms > 0, got {text!r}")
    if value > MAX_MS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_MS:g} ms, got {text!r}")
    return value


def _count(text: str) -> int:
    """argparse type: a whole number of neurons from 1 to 10**8."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_NEURONS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_NEURONS:,} neurons, got {value}")
    return value


def _seed(text: str) -> int:
    """argparse type: a seed from 0 to 2**62 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2 ** 62:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**62 - 1, got {value}")
    return value


def add_parser(commands: Any) -> None:
    demo = commands.add_parser("demo", help="simulate the reference STDP network with snapshots, restore, compare")
    demo.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    demo.add_argument("--neurons", type=_count, default=4000, help="neurons per population (default 4000)")
    demo.add_argument("--duration", type=_positive_ms, default=1000.0, help="simulated time in ms (default 1000)")
    demo.add_argument("--out", default="gpunet-demo-output", help="folder for snapshots and plots")
    demo.add_argument("--seed", type=_seed, default=42)
    demo.add_argument("--snapshot-every", type=_positive_ms, default=None,
                      help="ms between snapshots (default duration/10)")
    demo.set_defaults(handler=lambda args: run_demo(args.backend, args.neurons, args.duration, args.out, args.seed,
                                                    args.snapshot_every))
