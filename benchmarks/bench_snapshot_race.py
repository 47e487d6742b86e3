"""``load_latest`` against a process that snapshots and rotates at every step: failures per tries.

A writer process takes a snapshot at every step with ``keep_last=1`` (so each
commit deletes the previous file); this process resolves and reads the newest
snapshot in a loop, either the way gpunet did before run identities and
relisting ("single listing": list once, read newest first, fail when nothing
reads) or with :func:`gpunet.load_latest`'s resolution.  Usage::

    python benchmarks/bench_snapshot_race.py [SECONDS]
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import gpunet as gn
from gpunet.errors import FormatError



def single_listing(folder: Path) -> bool:
    """The former resolution: one listing, newest first, skip what does not read."""
    for _step, path in reversed(gn.list_snapshots(folder)):
        try:
            gn.read_state(path)
            return True
        except FormatError:
            continue
    return False


def with_load_latest(folder: Path, network) -> bool:
    try:
        gn.load_latest(folder, network=network)
        return True
    except FormatError:
        return False


def race(seconds: float, mode: str) -> tuple[int, int]:
    from gpunet.examples import reference_network
    with tempfile.TemporaryDirectory() as folder:
        writer = subprocess.Popen([sys.executable, "-m", "gpunet.testing.snapshot_writer", folder, str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        network = reference_network(neurons=10, probability=0.2, backend="numpy", seed=3)
        tries = failures = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while writer.poll() is None:
                ok = single_listing(Path(folder)) if mode == "single listing" else with_load_latest(Path(folder),
                                                                                                    network)
                tries += 1
                failures += not ok
        return tries, failures


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    for mode in ("single listing", "load_latest"):
        tries, failures = race(seconds, mode)
        print(f"{mode:<15} {tries:>7} tries in {seconds:g} s, {failures} failed (no readable snapshot)")


if __name__ == "__main__":
    main()
