"""Sharded (.shards) saves of a network on the GPU: staged like every save, loaded onto GPU and CPU."""
import sys
from pathlib import Path

import pytest

import gpunet as gn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("staging", ["host", "device"])
def test_a_background_sharded_save_holds_the_state_of_the_call_and_restores_on_gpu_and_cpu(tmp_path, staging):
    net = small_network(backend="cupy")
    net.simulate(20.0)
    expected = snapshot(net)
    handle = gn.save(tmp_path / "s.shards", network=net, blocking=False, staging=staging)
    net.populations[0].device_view("v")[...] = 123.0
    net.simulate(10.0)
    assert handle.result() == tmp_path / "s.shards"
    gpu = small_network(backend="cupy")
    gpu.load(tmp_path / "s.shards")
    assert_same_state(expected, snapshot(gpu))
    cpu = small_network(backend="numpy")
    cpu.load(tmp_path / "s.shards")
    assert_same_state(expected, snapshot(cpu))
