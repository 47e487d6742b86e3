"""Networks connected per block by N = 2 and 3 processes under mpiexec: the one-process build, a share of it each.

See mpi/block_build_run.py (one mpiexec run per N) and mpi/block_network.py (the networks).
"""
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.slow]  # slow: starts processes of its own

HERE = Path(__file__).with_name("mpi")
sys.path.insert(0, str(HERE))
from block_network import assign_after_compile, big, every_connector, whole_results  # noqa: E402
from test_mpi_engine import mpiexec  # noqa: E402

from gpunet.io.pipeline.partition import block_of  # noqa: E402
from gpunet.network import connectors  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[int, tuple[dict, list]]:
    """For N = 2 and 3: the gathered results of process 0 and every process's part."""
    out = {}
    for nprocs in (2, 3):
        folder = tmp_path_factory.mktemp(f"block{nprocs}")
        done = subprocess.run([mpiexec(), "-n", str(nprocs), sys.executable, str(HERE / "block_build_run.py"),
                               str(folder)], capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        with np.load(folder / "results.npz") as archive:
            results = {key: archive[key] for key in archive.files}
        out[nprocs] = (results, [json.loads((folder / f"part-{r}.json").read_text()) for r in range(nprocs)])
    return out


@pytest.fixture(scope="module")
def one_process():
    net = every_connector()
    assign_after_compile(net)
    return net, whole_results(net)


@pytest.mark.parametrize("nprocs", [2, 3])
def test_every_connector_gives_the_one_process_connectivity_weights_and_delays_bit_for_bit(runs, one_process,
                                                                                          nprocs):
    gathered, parts = runs[nprocs]
    net, expected = one_process
    assert sorted(gathered) == sorted(expected)
    for key, values in expected.items():
        assert gathered[key].dtype == values.dtype and np.array_equal(gathered[key], values), key
    assert all(part["built_whole"] == [] for part in parts)  # every projection was built per block
    # each process holds exactly the synapses onto its post block: the whole projection's rows there
    for rank, part in enumerate(parts):
        for projection in net.projections:
            lo, hi = block_of(projection.post.size, nprocs, rank)
            assert part["blocks"][projection.post.name] == [lo, hi]
            row_ptr = projection._host_row_ptr
            assert part["synapses"][projection.name] == int(row_ptr[hi] - row_ptr[lo]), projection.name
    assert sum(len(v) for k, v in expected.items() if k.endswith(".w")) > 500


def test_each_process_makes_and_holds_only_its_share_of_a_big_network(runs, monkeypatch):
    monkeypatch.setattr(connectors, "GAP_CHUNK", 1 << 14)  # as block_build_run.py
    tracemalloc.start()
    try:
        whole = big()
        whole.compile()
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense, sparse = whole.projections
    sparse_ptr = sparse._host_row_ptr
    _, parts = runs[3]
    for rank, part in enumerate(parts):
        lo, hi = part["big_block"]
        assert part["big_synapses"] == {"dense": 500 * (hi - lo), "sparse": int(sparse_ptr[hi] - sparse_ptr[lo])}
        # building the whole network and cutting it would peak at the whole build's memory at least
        assert part["peak"] < 0.5 * whole_peak, (rank, part["peak"], whole_peak)
    assert sum(part["big_synapses"]["sparse"] for part in parts) == sparse.nb_synapses > 200_000


@pytest.mark.parametrize("nprocs", [2, 3])
def test_a_network_from_data_loads_a_file_once_compiled_and_refuses_on_every_process_before(runs, nprocs):
    _, parts = runs[nprocs]
    for part in parts:
        refused, loaded = part["data_load"]
        assert refused.startswith("StructureError") and "'p'" in refused and "after compile()" in refused, refused
        assert loaded is True
