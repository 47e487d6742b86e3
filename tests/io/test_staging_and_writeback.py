"""The pieces under a snapshot: parallel host copy, reused staging views, early writeback of durable files."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from gpunet.backend import workers
from gpunet.backend import host_copy
from gpunet.io.storage import atomic, writeback
from gpunet.io.pipeline.host_pool import HostBufferPool


# --------------------------------------------------------------------------- parallel host copy
@pytest.fixture
def parallel(monkeypatch):
    """Large-copy path even for small test arrays, with three threads and 1 KB pieces."""
    monkeypatch.setattr(workers, "WORKER_THREADS", 3)
    monkeypatch.setattr(host_copy, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(host_copy, "_PIECE_BYTES", 1024)


def test_parallel_copy_copies_every_element_of_every_array(parallel):
    rng = np.random.default_rng(3)
    sources = [rng.random(10_001), rng.integers(0, 9, (37, 41)), rng.random(3) < 0.5, np.zeros(0),
               rng.random((50, 60))[:, ::2]]  # the last one is not contiguous: copied whole
    destinations = [np.empty_like(s) for s in sources]
    host_copy.copy_arrays(sources, destinations)
    for source, destination in zip(sources, destinations):
        assert destination.dtype == source.dtype and np.array_equal(destination, source)


def test_parallel_copy_raises_after_every_thread_has_stopped(parallel):
    sources = [np.arange(5000.0), np.arange(6.0)]
    destinations = [np.empty(5000), np.empty(7)]  # the second does not fit
    with pytest.raises(ValueError):
        host_copy.copy_arrays(sources, destinations)
    assert np.array_equal(destinations[0], sources[0])


def test_small_copies_stay_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(workers, "run_balanced", lambda *a, **k: pytest.fail("a small copy started threads"))
    source = np.arange(100.0)
    destination = np.empty(100)
    host_copy.copy_arrays([source], [destination])
    assert np.array_equal(source, destination)


# --------------------------------------------------------------------------- staging pool
def test_a_set_released_and_acquired_again_for_the_same_layout_keeps_its_views():
    pool = HostBufferPool(lambda n: np.empty(n, dtype=np.uint8), max_sets=2)
    layout = [((10,), np.dtype(np.float64)), ((3, 4), np.dtype(np.int32))]
    first = pool.acquire(layout)
    views = first.views
    pool.release(first)
    second = pool.acquire(list(layout))
    assert second is first and second.views is views and pool.allocations == 1
    assert [v.shape for v in second.views] == [(10,), (3, 4)]
    assert all((v.ctypes.data - second.buffer.ctypes.data) % 64 == 0 for v in second.views)
    pool.release(second)
    other = pool.acquire([((5,), np.dtype(np.float64))])  # fits in the same buffer, new views
    assert other is first and [v.shape for v in other.views] == [(5,)] and pool.allocations == 1


# --------------------------------------------------------------------------- early writeback
def test_writeback_hints_cover_the_file_in_chunks_and_the_bytes_are_unchanged(tmp_path, monkeypatch):
    hints = []
    monkeypatch.setattr(writeback, "start_writeback", lambda fd, offset, length: hints.append((offset, length)))
    data = np.random.default_rng(0).bytes(10_000)
    with open(tmp_path / "f.bin", "wb") as raw:
        handle = writeback.WritebackFile(raw, chunk=3000)
        for start in range(0, len(data), 700):
            assert handle.write(data[start:start + 700]) == len(data[start:start + 700])
        assert handle.tell() == len(data) and handle.mode == "wb"  # other attributes are the file's
    assert (tmp_path / "f.bin").read_bytes() == data
    assert hints == [(0, 3500), (3500, 3500), (7000, 3000)]  # each chunk once, as soon as it is complete


@pytest.mark.skipif(writeback._sync_file_range is None, reason="sync_file_range is Linux-only")
def test_start_writeback_is_accepted_by_the_kernel(tmp_path):
    with open(tmp_path / "f.bin", "wb") as handle:
        handle.write(b"x" * 10_000)
        handle.flush()
        assert writeback.start_writeback(handle.fileno(), 0, 10_000)
    assert not writeback.start_writeback(0, 0, 0)


@pytest.mark.parametrize("fsync", [True, False])
def test_durable_atomic_writes_go_through_writeback_and_gzip_accepts_it(tmp_path, fsync):
    payload = os.urandom(50_000)
    with atomic.atomic_writer(tmp_path / "a.gz", fsync=fsync) as handle:
        assert isinstance(handle, writeback.WritebackFile) == fsync
        with gzip.GzipFile(fileobj=handle, mode="wb") as compressed:
            compressed.write(payload)
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == payload
