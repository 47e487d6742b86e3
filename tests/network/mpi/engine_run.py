"""Run under ``mpiexec -n N python engine_run.py MODE OUT``: one network simulated by N processes.

MODE ``run``: 200 ms of the engine-test network; process 0 writes every result gathered for the whole network
to ``OUT/results.npz``; every process writes ``OUT/part-<rank>.json`` (the neurons and synapses it holds and the
bytes its spike exchange sent).
"""
import json
import sys
from pathlib import Path

import numpy as np


def main(mode: str, out: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine_network import build, results

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = build(comm)
    if mode == "run":
        net.simulate(200.0)
        gathered = results(net)
        if rank == 0:
            np.savez(out / "results.npz", **gathered)
        engine = net._distributed
        held = {p.name: [p._first, p._count] for p in net.populations}
        held.update((p.name, p.nb_synapses) for p in net.projections)
        held["exchange"] = [engine.interval, engine.exchange.exchanges, engine.exchange.bytes_sent]
        (out / f"part-{rank}.json").write_text(json.dumps(held))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
