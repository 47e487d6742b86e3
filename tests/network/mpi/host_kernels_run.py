"""Run under ``mpiexec -n N python host_kernels_run.py OUT``: the engine-test network on NumPy, N processes, its
objects stepped by the generated kernels compiled as host C++ (``fused.attach`` with host launchers, the per-object
runners a GPU runs).  Process 0 writes the gathered results to ``OUT/results.npz``; every process writes
``OUT/part-<rank>.json``: each object's runner kind and why the others run the array code.
"""
import json
import sys
from pathlib import Path

import numpy as np


def main(out: Path) -> None:
    from mpi4py import MPI

    from gpunet.codegen.runtime import fused
    from gpunet.codegen.runtime.host_build import HostLauncher

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine_network import build_and_assign, results

    comm = MPI.COMM_WORLD
    net = build_and_assign(comm)
    attached = fused.attach(net, lambda unit: HostLauncher.from_source(unit.source))
    net.simulate(200.0)
    gathered = results(net)
    if comm.Get_rank() == 0:
        np.savez(out / "results.npz", **gathered)
    part = {"runners": {obj.name: obj.runner.kind for obj in [*net.populations, *net.projections]},
            "array_code": attached.array_code}
    (out / f"part-{comm.Get_rank()}.json").write_text(json.dumps(part))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
