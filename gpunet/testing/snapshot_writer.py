"""A process that snapshots at every step and keeps only the newest: the worst case for a concurrent reader.

``python -m gpunet.testing.snapshot_writer DIR SECONDS`` builds the small reference STDP network
(10 neurons per population, seed 3), takes one snapshot into ``DIR``, prints ``ready``, then for
``SECONDS`` steps and snapshots at every step with ``keep_last=1`` (each commit deletes the previous
file), and finally prints the step it reached.  The snapshot-folder race test and
``benchmarks/bench_snapshot_race.py`` run it beside ``load_latest``.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    import gpunet as gn
    from gpunet.examples import reference_network
    folder, seconds = (sys.argv[1:] if argv is None else list(argv))[:2]
    net = reference_network(neurons=10, probability=0.2, backend="numpy", seed=3)
    net.compile()
    snapshotter = gn.Snapshotter(net, folder, every=1.0, keep_last=1)
    net.step()
    snapshotter.snapshot().result()
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        net.step()
        snapshotter.after_step()
    snapshotter.close()
    print(net.get_current_step(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
