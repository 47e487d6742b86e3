"""The generated kernels under comm on the CPU: 3 processes step the engine-test network with the kernels compiled
as host C++ (the per-object runners a GPU runs, see mpi/host_kernels_run.py), bit-identical to one process running
the same kernels (host C++ and NumPy differ in the last bits of exp/log, so the reference runs the kernels too).

Three processes give blocks of uneven sizes and first ranks other than 0, so the neuron kernels' noise counters
(the block's first global rank plus the local index), the sizes of the loops and the gathered pre-synaptic values
are all exercised.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.slow]  # slow: starts processes of its own

from gpunet.codegen.runtime import fused  # noqa: E402
from gpunet.codegen.runtime.host_build import HostLauncher, find_compiler  # noqa: E402

HERE = Path(__file__).with_name("mpi")
sys.path.insert(0, str(HERE))
from engine_network import build_and_assign, results  # noqa: E402
from test_mpi_engine import mpiexec  # noqa: E402

#: The engine-test network's objects with generated kernels; the others (a spike source, the inputs) run array code.
KERNEL_OBJECTS = sorted(["inp", "exc", "rin", "rout", "stdp", "recurrent", "timed", "oja", "rrec", "sums", "fromta",
                         "fromtp", "fromhc"])


@pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)")
def test_3_processes_running_the_generated_kernels_give_the_bits_of_one_process_running_them(tmp_path):
    done = subprocess.run([mpiexec(), "-n", "3", sys.executable, str(HERE / "host_kernels_run.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    reference = build_and_assign(None)
    fused.attach(reference, lambda unit: HostLauncher.from_source(unit.source))
    reference.simulate(200.0)
    expected = results(reference)
    with np.load(tmp_path / "results.npz") as archive:
        assert sorted(archive.files) == sorted(expected)
        for key, value in expected.items():
            assert archive[key].dtype == value.dtype, key
            assert np.array_equal(archive[key], value), key
    for rank in range(3):
        part = json.loads((tmp_path / f"part-{rank}.json").read_text())
        assert sorted(name for name, kind in part["runners"].items() if kind == "kernels") == KERNEL_OBJECTS
        assert sorted(name for name, kind in part["runners"].items() if kind == "array") == sorted(part["array_code"])
