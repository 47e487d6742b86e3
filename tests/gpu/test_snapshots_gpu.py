"""Snapshots on the GPU: asynchronous staging, restore across backends and device ids (skipped without a GPU)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend import gpu_available

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("staging", ["host", "device"])
def test_async_snapshot_holds_the_state_of_the_call_on_gpu(tmp_path, staging):
    net = small_network(backend="cupy")
    net.simulate(20.0)
    expected = snapshot(net)
    handle = gn.save(tmp_path / "s.npz", network=net, blocking=False, staging=staging)
    net.populations[0].device_view("v")[...] = 123.0  # on the compute stream's device, right away
    net.simulate(20.0)
    handle.result()
    fresh = small_network(backend="cupy")
    fresh.load(tmp_path / "s.npz")
    assert_same_state(expected, snapshot(fresh))


def test_gpu_snapshot_restores_on_numpy_and_back(tmp_path):
    gpu = small_network(backend="cupy", kernels="off")
    gpu.simulate(30.0)
    gn.save(tmp_path / "gpu.npz", network=gpu)
    cpu = small_network(backend="numpy")
    cpu.load(tmp_path / "gpu.npz")
    assert isinstance(cpu.populations[0].device_view("v"), np.ndarray)
    assert_same_state(snapshot(gpu), snapshot(cpu))
    cpu.simulate(5.0)
    gn.save(tmp_path / "cpu.npz", network=cpu)
    back = small_network(backend="cupy")
    back.load(tmp_path / "cpu.npz")
    assert_same_state(snapshot(cpu), snapshot(back))


@pytest.mark.skipif(not gpu_available(1), reason="needs a second CUDA device")
def test_load_places_every_array_on_the_network_device(tmp_path):
    first = small_network(backend="cupy", device=0)
    first.simulate(10.0)
    gn.save(tmp_path / "s.npz", network=first)
    second = small_network(backend="cupy", device=1)
    second.load(tmp_path / "s.npz")
    arrays = [a for p in second.populations for a in p._state.values()]
    arrays += [a for p in second.projections for a in p._state.values()]
    assert all(a.device.id == 1 for a in arrays)
    assert_same_state(snapshot(first), snapshot(second))


def test_gpu_restart_equivalence(tmp_path):
    straight = small_network(seed=9, backend="cupy")
    straight.simulate(80.0)
    run = small_network(seed=9, backend="cupy")
    run.simulate(40.0, snapshot_every=20.0, snapshot_dir=tmp_path)
    resumed = small_network(seed=9, backend="cupy")
    gn.load_latest(tmp_path, network=resumed)
    resumed.simulate(40.0)
    assert_same_state(snapshot(straight), snapshot(resumed))


def test_pinned_pool_is_reused(tmp_path):
    net = small_network(backend="cupy")
    for k in range(6):
        net.simulate(1.0)
        gn.save(tmp_path / f"s{k}.npz", network=net, blocking=False)
    gn.wait_for_saves(net)
    pool = gn.io.pipeline.saving.saver_of(net).pool
    assert pool.allocations <= 2
