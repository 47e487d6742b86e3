"""Network(comm=) on the CuPy backend: one device per process, exchanges through pinned host memory.

Under mpiexec (one run per N, on the CuPy stand-in in CI: GPUNET_CUPY_STANDIN=1 reaches the processes through
the environment) the engine-test network gives, for N = 1 and 2, the bits of the one-process NumPy run, its
neurons and synapses stepped by the generated CUDA kernels (per-object runners, each on its process's block).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn

MPI = pytest.importorskip("mpi4py.MPI")
pytestmark = [pytest.mark.gpu, pytest.mark.mpi]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "network" / "mpi"))
sys.path.insert(0, str(HERE.parent / "io"))
from engine_network import build_and_assign, results  # noqa: E402


#: The engine-test network's objects that run generated kernels under comm, and its inputs (the array code).
KERNEL_OBJECTS = sorted(["inp", "exc", "rin", "rout", "stdp", "recurrent", "timed", "oja", "rrec", "sums", "fromta",
                         "fromtp", "fromhc"])
INPUTS = ["ta", "currents", "tp", "hc", "inject"]


def mpiexec() -> str:
    beside = Path(sys.executable).with_name("mpiexec")  # the one of the environment that has mpi4py
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: install the mpi extra (pip install -e '.[mpi]')")
    return found


@pytest.fixture(scope="module")
def one_process() -> dict:
    """The one-process NumPy run (the reference of every N)."""
    net = build_and_assign(None)
    net.simulate(200.0)
    return results(net)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The output folders of N = 2 (restoring its own snapshot) and N = 1 (restoring the one of N = 2)."""
    folders = {}
    for nprocs in (2, 1):
        out = tmp_path_factory.mktemp(f"gpu-n{nprocs}")
        shards = [] if nprocs == 2 else [str(folders[2] / "s.shards")]
        done = subprocess.run([mpiexec(), "-n", str(nprocs), sys.executable, str(HERE / "mpi" / "gpu_engine_run.py"),
                               str(out), *shards], capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        folders[nprocs] = out
    return folders


@pytest.mark.parametrize("nprocs", [1, 2])
def test_n_processes_on_the_cupy_backend_give_the_bits_of_one_numpy_process(runs, one_process, nprocs):
    with np.load(runs[nprocs] / "results.npz") as archive:
        gathered = {key: archive[key] for key in archive.files}
    assert sorted(gathered) == sorted(one_process)
    for key, expected in one_process.items():
        assert gathered[key].dtype == expected.dtype, key
        assert np.array_equal(gathered[key], expected), key
    parts = [json.loads((runs[nprocs] / f"part-{rank}.json").read_text()) for rank in range(nprocs)]
    for rank, part in enumerate(parts):
        # each process on the device of its rank on the node (the stand-in has 2), saying so in one log line
        assert part["device"] == rank and part["backend"].endswith(f"device {rank}")
        assert part["log"] == [f"gpunet: process {rank} of {nprocs} runs on {part['backend']} "
                               "(device by its rank on its node)"]
        assert part["state_on_device"]
        # the exchanges went through page-locked buffers reserved at compile, the same at every step
        assert part["pinned"] > 0 and part["all_pinned"] and part["same_buffers"]
        assert part["exchange"][:2] == [2, 100]  # one exchange per minimum-delay interval (2 steps)
        # every object with generated kernels ran them on its block (population kernels with the block's noise
        # counters); the spike source's own update and the inputs ran the array code, saying why
        assert sorted(name for name, kind in part["runners"].items() if kind == "kernels") == KERNEL_OBJECTS
        assert sorted(name for name, kind in part["runners"].items() if kind == "array") == sorted(part["array_code"])
        assert {part["array_code"][name] for name in INPUTS} == {"under comm inputs run the array code (their "
                                                                 "kernels cover whole populations)"}
        assert part["steps"] == ["steps: per-object kernel runners (no step graph: the network runs under comm "
                                 "(its steps exchange between processes))"]
    spikes = sum(one_process[f"{name}.spike"].shape[1] for name in ("m_exc", "m_inp", "m_tp", "m_hc"))
    spikes += sum(len(range(3 + k, 200, 7 + k)) for k in range(6))
    assert sum(part["exchange"][2] for part in parts) == 8 * spikes


def test_the_sharded_save_of_2_gpu_processes_is_the_one_process_state_and_continues_on_2_and_on_1(runs, tmp_path):
    from state_examples import assert_states_equal
    plain = build_and_assign(None)
    plain.simulate(200.0)
    plain.save(tmp_path / "one.npz")
    assert_states_equal(gn.read_state(runs[2] / "s.shards"), gn.read_state(tmp_path / "one.npz"))
    plain.simulate(20.0)
    expected = results(plain)
    for nprocs in (2, 1):  # loaded by GPU processes (2: its own part each; 1: resharded), 20 ms more
        with np.load(runs[nprocs] / "restored.npz") as archive:
            for key in (key for key in expected if not key.startswith("m_")):  # fresh monitors record 20 ms
                assert archive[key].dtype == expected[key].dtype, key
                assert np.array_equal(archive[key], expected[key]), key


class FakeNode:
    def __init__(self, rank: int) -> None:
        self.rank, self.freed = rank, False

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's names
        return self.rank

    def Free(self) -> None:  # noqa: N802
        self.freed = True


class FakeComm:
    """One process of 4 on a node (a communicator's methods that Network(comm=) needs before compile)."""

    def __init__(self, node_rank: int) -> None:
        self.node = FakeNode(node_rank)
        self.splits = []

    def Get_rank(self) -> int:  # noqa: N802
        return 5

    def Get_size(self) -> int:  # noqa: N802
        return 8

    def Split_type(self, kind, key=0):  # noqa: N802
        self.splits.append((kind, key))
        return self.node

    def allgather(self, value):
        raise AssertionError("no collective before compile")

    allreduce = allgather


@pytest.mark.parametrize("node_rank, device", [(0, 0), (1, 1), (2, 0), (3, 1)])
def test_a_cupy_network_under_comm_takes_the_device_of_its_rank_on_the_node(node_rank, device):
    comm = FakeComm(node_rank)
    net = gn.Network(backend="cupy", comm=comm)  # the stand-in has 2 devices
    assert net.device == device and net.backend.device == device
    assert comm.splits == [(MPI.COMM_TYPE_SHARED, 5)] and comm.node.freed
    pop = net.create(4, gn.Izhikevich, name="p")
    assert net.backend.is_device_array(pop.device_view("v"))


def test_device_given_wins_over_the_rank_on_the_node():
    comm = FakeComm(1)
    net = gn.Network(backend="cupy", device=0, comm=comm)
    assert net.device == 0 and comm.splits == []
    net = gn.Network(backend="numpy", comm=comm)  # NumPy: no device to choose, no split
    assert net.device == 0 and comm.splits == []


def test_setup_with_comm_chooses_the_device_by_the_rank_on_the_node_unless_one_is_given():
    net = gn.Network(backend="numpy")
    comm = FakeComm(1)
    net.setup(backend="cupy", comm=comm)
    assert net.device == 1 and len(comm.splits) == 1
    net.setup(device=0)  # given: kept, no split
    assert net.device == 0 and len(comm.splits) == 1
    net.setup(dt=0.5)  # still the device given
    assert net.device == 0 and len(comm.splits) == 1
