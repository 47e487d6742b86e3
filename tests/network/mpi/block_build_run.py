"""Run under ``mpiexec -n N python block_build_run.py OUT``: networks connected per block by N processes.

Process 0 writes the connectivity, weights and delays of :func:`block_network.every_connector`, gathered after
distributions were assigned to it (:func:`block_network.assign_after_compile`), to ``OUT/results.npz``; every process writes ``OUT/part-<rank>.json``: its post block and synapses per projection of
both networks, whether any was built whole before compile, and the peak of traced memory (bytes) while it built
and compiled :func:`block_network.big`.
"""
import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np


def main(out: Path) -> None:
    from mpi4py import MPI

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from block_network import assign_after_compile, big, every_connector, whole_results

    from gpunet.network import connectors

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    net = every_connector(comm)
    part = {"built_whole": [p.name for p in net.projections if not p.builds_per_block]}
    net.compile()
    part["blocks"] = {p.name: list(p.block) for p in net.populations}
    part["synapses"] = {p.name: p.nb_synapses for p in net.projections}
    assign_after_compile(net)
    results = whole_results(net)
    if rank == 0:
        np.savez(out / "results.npz", **results)
    connectors.GAP_CHUNK = 1 << 14  # the geometric gaps drawn at once stay small beside a process's synapses
    tracemalloc.start()
    network = big(comm)
    network.compile()
    part["peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    part["big_synapses"] = {p.name: p.nb_synapses for p in network.projections}
    part["big_block"] = list(network.get_population("post").block)
    (out / f"part-{rank}.json").write_text(json.dumps(part))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
