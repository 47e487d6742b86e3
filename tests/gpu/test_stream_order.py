"""Stream order of the GPU path, checked by the CuPy stand-in's StreamHazard (skipped elsewhere).

The stand-in records every device operation with the buffers it reads and
writes; an access from another stream with no happens-before edge raises.
The whole ``-m gpu`` suite runs with this checking on; these tests show
that the snapshot path as written is clean, and that the checker catches
the races the GPU path is exposed to when an ordering edge is missing.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend.cupy_backend import STANDIN

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from helpers import small_network  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not STANDIN, reason="stream-order checking needs the CuPy "
                                                                        "stand-in (GPUNET_CUPY_STANDIN=1)")]


@pytest.fixture
def cupy():
    import cupy
    cupy.hazards.reset()
    return cupy


@pytest.mark.parametrize("staging", ["host", "device"])
def test_the_snapshot_path_as_written_is_clean(tmp_path, cupy, staging):
    net = small_network(backend="cupy")
    net.simulate(10.0)
    handles = [gn.save(tmp_path / f"s{k}.npz", network=net, blocking=False, staging=staging) for k in range(2)]
    net.populations[0].v = -70.0  # writes right after the staging copies were queued
    net.simulate(10.0)
    net.populations[1].device_view("v")[...] = 1.0  # user code on the legacy stream, between two runs
    net.simulate(5.0)
    for handle in handles:
        handle.result()


def test_an_unsynchronised_side_stream_read_of_queued_state_is_caught(tmp_path, cupy, monkeypatch):
    net = small_network(backend="cupy")
    net.simulate(10.0)  # queued kernels write the state on the compute stream
    copy_stream = net.backend.copy_stream
    monkeypatch.setattr(copy_stream, "wait_event", lambda event: None)  # the edge stage() must not forget
    with pytest.raises(cupy.StreamHazard, match=r"memcpyDeviceToHost on stream\d+@dev0 \(at cupy_backend.py:\d+ "
                                                r"in _?stage\w*\) reads buffer .* that .* on stream\d+@dev0 .* wrote"):
        gn.save(tmp_path / "s.npz", network=net, blocking=False)


def test_a_write_on_the_legacy_stream_races_with_a_non_blocking_compute_stream(cupy):
    net = gn.Network(backend="cupy", seed=1)
    net.backend.compute_stream = cupy.cuda.Stream(non_blocking=True)  # as the backend was before issue 14
    pop = net.create(10, gn.Izhikevich, name="pop")
    pop.i_offset = 10.0
    net.simulate(5.0)
    with pytest.raises(cupy.StreamHazard, match=r"setitem on null@dev0 .* writes buffer .* that "):
        pop.device_view("v")[...] = -65.0


def test_the_next_step_does_not_overwrite_state_before_its_staging_copy(tmp_path, cupy, monkeypatch):
    net = small_network(backend="cupy")
    net.simulate(5.0)
    compute = net.backend.compute_stream
    real_wait = type(compute).wait_event
    skipped = []

    def forget_copy_done(stream, event):  # the compute stream must wait for the copies before its next write
        # (directly, or through the legacy stream, which the blocking compute stream waits for)
        if (stream is compute or stream.ptr == 0) and event.stream is net.backend.copy_stream:
            skipped.append(event)
            return None
        return real_wait(stream, event)
    monkeypatch.setattr(type(compute), "wait_event", forget_copy_done)
    gn.save(tmp_path / "s.npz", network=net, blocking=False, staging="host")
    assert skipped
    with pytest.raises(cupy.StreamHazard, match=r"on stream\d+@dev0 .* writes buffer .* that memcpyDeviceToHost"):
        net.simulate(1.0)
    gn.wait_for_saves(net)
    assert np.isfinite(net.populations[0].v).all()
