"""Run under ``mpiexec -n N python block_build_run.py OUT``: networks connected per block by N processes.

Process 0 writes the connectivity, weights and delays of :func:`block_network.every_connector`, gathered after
distributions were assigned to it (:func:`block_network.assign_after_compile`), to ``OUT/results.npz``.  Every
process writes ``OUT/part-<rank>.json``: its post block and synapses per projection of both networks, whether
any was built whole before compile, the peak of traced memory (bytes) while it built and compiled
:func:`block_network.big`, and what a load into a network from data did before and after compile
(:func:`load_into_data_network`).
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
    part["data_load"] = load_into_data_network(comm, out)
    (out / f"part-{rank}.json").write_text(json.dumps(part))


def load_into_data_network(comm, out: Path) -> list:
    """A network from data loads a one-process file only once compiled: before, each process holds its rows only
    (the error's type and message); after, the weights are the file's (whether they are)."""
    import gpunet as gn
    from gpunet.errors import GpunetError

    def network(comm=None):
        net = gn.Network(backend="numpy", seed=5, runner="numpy", comm=comm)
        a = net.create(6, gn.Izhikevich, name="a")
        net.connect(a, a, "exc", name="p").connect_from_matrix(np.arange(36.0).reshape(6, 6))
        return net
    if comm.Get_rank() == 0:
        saved = network()
        saved.get_projection("p").w = [[-w for w in row] for row in saved.get_projection("p").w]
        saved.save(out / "data.npz")
    comm.Barrier()
    net = network(comm)
    try:
        net.load(out / "data.npz")
        refused = "loaded"
    except GpunetError as exc:
        refused = f"{type(exc).__name__}: {exc}"
    net.compile()
    net.load(out / "data.npz")
    return [refused, net.get_projection("p").w == [[-w for w in row] for row in np.arange(36.0).reshape(6, 6)]]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
