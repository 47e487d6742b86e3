"""Snapshots every N ms, a ``kill -9`` in the middle of the run, and the run resumed from the newest snapshot.

The script starts a second Python process that simulates an STDP network with ``snapshot_every``; as soon as
that process has committed two snapshots it is killed with SIGKILL (on any save in progress: writes are atomic,
so a torn file is never left under a snapshot's name). A fresh network, built by the same code, then loads
the newest snapshot with ``load_latest`` and simulates to the end. A third network runs the whole duration
without interruption: the resumed run ends bit-identical to it.

    python examples/snapshot_resume.py --neurons 500 --duration 2000 --every 100 --out resume-run
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import gpunet as gn


def build(neurons: int, backend: str = "numpy") -> gn.Network:
    """The same network in every process: the seed fixes connectivity, initial weights and noise."""
    net = gn.Network(dt=1.0, seed=2024, backend=backend)
    pre = net.create(neurons, gn.Izhikevich, name="pre")
    post = net.create(neurons, gn.Izhikevich, name="post")
    pre.i_offset = np.linspace(0.0, 12.0, neurons)
    pre.noise, post.noise, post.i_offset = 2.0, 2.0, 2.0
    learning = gn.STDP(w_max=3.0, A_plus=0.05, A_minus=0.0525)
    net.connect(pre, post, "exc", learning, name="pre_post").connect_fixed_probability(
        min(1.0, 100.0 / neurons), weights=gn.Uniform(0.0, 1.5), delays=2.0)
    net.compile()
    return net


def state(net: gn.Network) -> dict[str, np.ndarray]:
    """Every variable of every population and the weights and traces of every synapse, as host arrays."""
    values = {}
    for pop in net.get_populations():
        for name in pop.variables:
            values[f"{pop.name}.{name}"] = np.asarray(pop.get(name))
    for proj in net.get_projections():
        for name in ("w", "x", "y"):
            values[f"{proj.name}.{name}"] = np.concatenate([np.asarray(row) for row in getattr(proj, name)])
    return values


def child(args: argparse.Namespace) -> None:
    """The process that gets killed: simulate with periodic snapshots (far longer than the parent waits)."""
    net = build(args.neurons)
    net.simulate(100 * args.duration, snapshot_every=args.every, snapshot_dir=args.out / "snapshots", keep_last=3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=500, help="neurons per population (default 500)")
    parser.add_argument("--duration", type=float, default=2000.0, help="simulated time in ms (default 2000)")
    parser.add_argument("--every", type=float, default=100.0, help="snapshot period in ms (default 100)")
    parser.add_argument("--out", type=Path, default=Path("resume-run"), help="folder for the snapshots")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    snapshots = args.out / "snapshots"
    args.out.mkdir(parents=True, exist_ok=True)
    for old in snapshots.glob("snapshot-*"):
        old.unlink()
    command = [sys.executable, __file__, "--child", "--neurons", str(args.neurons), "--duration",
               str(args.duration), "--every", str(args.every), "--out", str(args.out)]
    process = subprocess.Popen(command)
    while process.poll() is None and len(gn.list_snapshots(snapshots)) < 2:
        time.sleep(0.01)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        print(f"killed the simulating process (SIGKILL) after {len(gn.list_snapshots(snapshots))} snapshots")
    else:
        sys.exit(f"the simulating process ended by itself (exit status {process.returncode}) before the kill")

    resumed = build(args.neurons)
    path = resumed.load_latest(snapshots)
    print(f"resumed from {path.name} at t = {resumed.time:g} ms")
    end = max(args.duration, resumed.time)  # a slow parent may have found a snapshot past --duration
    resumed.simulate(end - resumed.time)
    uninterrupted = build(args.neurons)
    uninterrupted.simulate(end)
    a, b = state(resumed), state(uninterrupted)
    differing = [key for key in a if not np.array_equal(a[key], b[key], equal_nan=True)]
    if differing:
        sys.exit(f"the resumed run differs from the uninterrupted one in {', '.join(differing)}")
    print(f"t = {resumed.time:g} ms: the resumed run is bit-identical to the uninterrupted one "
          f"({len(a)} arrays compared)")


if __name__ == "__main__":
    main()
