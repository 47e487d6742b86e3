"""A snapshotter allocates its staging buffers when it is created, not inside the simulation loop."""
import sys
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.pipeline.saving import saver_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402


@pytest.mark.parametrize("backend", ["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def test_snapshotter_reserves_staging_at_creation_and_snapshots_allocate_nothing(tmp_path, backend):
    net = small_network(backend=backend)
    net.compile()
    snapshotter = gn.Snapshotter(net, tmp_path / "snaps", every=5.0, keep_last=2, staging="host")
    pool = saver_of(net).pool
    assert pool.allocations == 2 and pool.nbytes > 0  # max_pending (2) sets: the most the queue holds
    reserved = pool.nbytes
    net.simulate(20.0, snapshotter=snapshotter)
    snapshotter.close()
    assert pool.allocations == 2 and pool.nbytes == reserved
    assert [step for step, _ in gn.list_snapshots(tmp_path / "snaps")] == [15, 20]
    fresh = small_network(backend=backend)
    fresh.load(gn.list_snapshots(tmp_path / "snaps")[-1][1])
    assert_same_state(snapshot(net), snapshot(fresh))


def test_an_uncompiled_network_reserves_at_its_first_snapshot(tmp_path):
    net = small_network(backend="numpy")
    snapshotter = gn.Snapshotter(net, tmp_path, every=5.0)
    assert saver_of(net).pool is None
    net.simulate(10.0, snapshotter=snapshotter)
    snapshotter.close()
    assert 1 <= saver_of(net).pool.allocations <= 2
