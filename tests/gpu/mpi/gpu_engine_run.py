"""Run under ``mpiexec -n N python gpu_engine_run.py OUT [SHARDS]`` with ``GPUNET_CUPY_STANDIN=1`` (or on GPUs).

The engine-test network (tests/network/mpi/engine_network.py) on the CuPy backend, each process on the
device of its rank on the node: 200 ms, then a save into ``OUT/s.shards``.  Then a fresh GPU network loads
``SHARDS`` (default: that folder), runs 20 ms and process 0 writes ``OUT/restored.npz``.  Process 0 writes every result
gathered for the whole network to ``OUT/results.npz``; every process writes ``OUT/part-<rank>.json``: its
device, its backend's description, the log line naming its device, the pinned bytes of its exchanges (and
whether every pinned buffer is the one reserved at compile), its spike exchange's counters, the kind of runner
of each object (generated kernels or array code, with the reasons) and the step loop's log line.
"""
import json
import logging
import sys
from pathlib import Path

import numpy as np


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def arrays(transfers) -> list:
    return [*transfers.masks.values(), *transfers.own.values(), *transfers.whole.values(), *transfers.rows.values()]


def buffers(transfers) -> list[int]:
    """The addresses of every pinned buffer (they must not change from step to step)."""
    return [int(a.ctypes.data) for a in arrays(transfers)]


def all_pinned(transfers) -> bool:
    """Whether every buffer lies in page-locked memory (the stand-in registers it; True on a real GPU)."""
    import cupy
    if not getattr(cupy, "IS_STANDIN", False):
        return True
    from gpunet.testing.cupy_standin import _state
    found = [_state.find(int(a.ctypes.data), max(int(a.nbytes), 1)) for a in arrays(transfers)]
    return bool(found) and all(item is not None and item.pinned for item in found)


def main(out: Path, shards: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "network" / "mpi"))
    from engine_network import build, build_and_assign, results

    lines = Lines()
    logger = logging.getLogger("gpunet")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = build_and_assign(comm, backend="cupy")
    engine = net._distributed
    net.simulate(1.0)
    reserved = buffers(engine.transfers)
    net.simulate(199.0)
    gathered = results(net)
    if rank == 0:
        np.savez(out / "results.npz", **gathered)
    net.save(out / "s.shards")
    part = {"device": net.device, "backend": net.backend.describe(),
            "log": [line for line in lines.lines if line.startswith("gpunet: process")],
            "pinned": engine.transfers.nbytes, "all_pinned": all_pinned(engine.transfers), "same_buffers": buffers(engine.transfers) == reserved,
            "state_on_device": all(net.backend.is_device_array(a) for p in net.populations for a in p._state.values()
                                   if not np.isscalar(a) and getattr(a, "ndim", 0)),
            "exchange": [engine.interval, engine.exchange.exchanges, engine.exchange.bytes_sent],
            # which objects ran generated kernels, why the others did not, and the step loop's log line
            "runners": {obj.name: obj.runner.kind for obj in [*net.populations, *net.projections]},
            "array_code": net.fused.array_code,
            "steps": [line for line in lines.lines if line.startswith("steps:")]}
    (out / f"part-{rank}.json").write_text(json.dumps(part))
    fresh = build(comm, backend="cupy")
    fresh.load(shards)
    fresh.simulate(20.0)
    restored = results(fresh)
    if rank == 0:
        np.savez(out / "restored.npz", **restored)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path(sys.argv[1]) / "s.shards")
