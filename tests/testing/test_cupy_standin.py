"""The CuPy stand-in is strict where CuPy is: host/device mixing, device placement, counted syncs, kernel arguments.

These tests use the stand-in module directly (no GPUNET_CUPY_STANDIN needed),
so they run in every CI run.
"""
import shutil

import numpy as np
import pytest

from gpunet.testing import cupy_standin as cp
from gpunet.testing.cupy_standin import cupyx
from gpunet.testing.cupy_standin.cuda import runtime
from gpunet.testing.cupy_standin.cuda.compiler import CompileException
from gpunet.testing.cupy_standin.cuda.errors import CUDARuntimeError


@pytest.fixture(autouse=True)
def _counts():
    cp.syncs.reset()
    cp.launches.reset()
    yield


# -- host and device do not mix implicitly -------------------------------------------------------------
def test_device_arrays_refuse_implicit_conversion_to_numpy():
    a = cp.arange(3, dtype=cp.float64)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array([1.0, 2.0, 3.0])[...] = a
    assert cp.syncs.total == 0


@pytest.mark.parametrize("operation", [lambda d, h: d + h, lambda d, h: h * d, lambda d, h: cp.maximum(d, h),
                                       lambda d, h: d.__setitem__(slice(None), h), lambda d, h: cp.stack([d, h])])
def test_host_array_operands_are_refused(operation):
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        operation(cp.zeros(3), np.ones(3))


def test_operations_return_device_arrays_and_scalars_stay_allowed():
    a = cp.asarray(np.array([1.0, 4.0, 9.0]))
    results = [a + 1, np.sqrt(a), np.concatenate([a, a]), a.sum(), a[1], cp.where(a > 2, a, np.float64(0))]
    assert all(isinstance(r, cp.ndarray) for r in results)
    assert cp.asnumpy(results[-1]).tolist() == [0.0, 4.0, 9.0]
    assert cp.syncs.total == 1


# -- every read-back counts -------------------------------------------------------------------------
def test_every_device_to_host_read_and_synchronisation_is_counted_per_stream():
    a = cp.arange(5, dtype=cp.int64)
    stream = cp.cuda.Stream(non_blocking=True)
    a.get()
    cp.asnumpy(a, stream=stream)
    float(a[1]), int(a[2]), bool(a[3]), a[4].item()
    stream.synchronize()
    event = cp.cuda.Event()
    event.record(stream)
    event.synchronize()
    cp.cuda.Device(0).synchronize()
    a[a > 2]  # the size of the result must be read back
    cp.flatnonzero(a)
    assert cp.syncs.total == 11
    assert cp.syncs.by_stream[stream.label] == 3
    assert cp.syncs.by_stream["device0"] == 1
    assert cp.syncs.by_kind["scalar"] == 4
    assert cp.syncs.by_kind["data-dependent size (flatnonzero)"] == 1
    cp.syncs.reset()
    assert cp.syncs.total == 0 and not cp.syncs.by_stream


def test_asynchronous_work_is_not_counted():
    with cp.cuda.Stream(non_blocking=True) as stream:
        a = cp.zeros(10)
        a += 1
        b = cp.stack([a, a])
        cupyx.scatter_add(a, cp.asarray(np.array([0, 0, 1])), 1.0)
    assert cp.syncs.total == 0
    assert b.shape == (2, 10) and a.get(stream=stream)[:3].tolist() == [3.0, 2.0, 1.0]


# -- devices ----------------------------------------------------------------------------------------
def test_arrays_remember_their_device_and_refuse_another_context():
    with cp.cuda.Device(1):
        a = cp.zeros(4)
        assert a.device.id == 1
    for use in (lambda: a + 1, lambda: a.__setitem__(0, 1.0), lambda: a[0], lambda: cp.stack([a])):
        with pytest.raises(ValueError, match="array is on device 1 but the current device is 0"):
            use()
    with cp.cuda.Device(1):
        assert float((a + 1).sum()) == 4.0
    assert cp.asarray(a) is a  # asarray does not move an array
    assert cp.array(a).device.id == 0  # an explicit copy may cross devices
    assert a.get().tolist() == [0.0] * 4  # reads back from any context


def test_a_stream_is_used_only_on_its_device():
    stream = cp.cuda.Stream(non_blocking=True)
    with cp.cuda.Device(1):
        with pytest.raises(ValueError, match=r"stream\S+ belongs to device 0, the current device is 1"):
            stream.__enter__()
        with pytest.raises(ValueError, match="belongs to device 0"):
            cp.cuda.Event().record(stream)


def test_the_number_of_devices_is_configurable(monkeypatch):
    assert runtime.getDeviceCount() == 2
    with pytest.raises(CUDARuntimeError, match="invalid device ordinal 2"):
        cp.cuda.Device(2)
    monkeypatch.setenv("GPUNET_STANDIN_DEVICES", "3")
    assert cp.cuda.Device(2).id == 2 and runtime.getDeviceCount() == 3
    assert runtime.getDeviceProperties(2)["name"] == b"CuPy stand-in (no GPU)"


# -- memory and raw copies --------------------------------------------------------------------------
def test_pinned_memory_is_page_aligned_and_async_copies_into_it_do_not_block():
    import mmap
    memory = cp.cuda.alloc_pinned_memory(1000)
    assert memory.ptr % mmap.PAGESIZE == 0
    host = np.frombuffer(memory, dtype=np.uint8, count=1000)
    a = cp.arange(125, dtype=cp.float64)
    stream = cp.cuda.Stream()  # blocking: ordered after the legacy stream's arange
    runtime.memcpyAsync(memory.ptr, a.data.ptr, a.nbytes, runtime.memcpyDeviceToHost, stream.ptr)
    assert np.array_equal(host.view(np.float64), np.arange(125.0))
    assert cp.syncs.total == 0
    pageable = np.zeros(125)
    runtime.memcpyAsync(pageable.ctypes.data, a.data.ptr, a.nbytes, runtime.memcpyDeviceToHost, stream.ptr)
    assert cp.syncs.by_kind["async copy into pageable host memory (blocking)"] == 1


def test_raw_copies_check_their_pointers():
    a, host = cp.zeros(8), np.ones(8)
    stream = cp.cuda.Stream(non_blocking=True)
    with pytest.raises(CUDARuntimeError, match="source .* is not in a device allocation"):
        runtime.memcpyAsync(a.data.ptr, host.ctypes.data, 64, runtime.memcpyDeviceToDevice, stream.ptr)
    with pytest.raises(CUDARuntimeError, match="destination .* is device memory"):
        runtime.memcpyAsync(a.data.ptr, a.data.ptr, 64, runtime.memcpyDeviceToHost, stream.ptr)
    with cp.cuda.Device(1):
        other = cp.zeros(8)
    with pytest.raises(CUDARuntimeError, match="memory of device 1"):
        runtime.memcpyAsync(a.data.ptr, other.data.ptr, 64, runtime.memcpyDeviceToDevice, stream.ptr)
    with pytest.raises(CUDARuntimeError, match=r"not in a device allocation"):  # past the end of the array
        runtime.memcpyAsync(host.ctypes.data, a.data.ptr, 72, runtime.memcpyDeviceToHost, stream.ptr)


def test_csr_matrix_shares_its_arrays_and_refuses_host_vectors():
    from gpunet.testing.cupy_standin.cupyx.scipy import sparse
    data = cp.asarray(np.array([1.0, 2.0, 3.0]))
    matrix = sparse.csr_matrix((data, cp.asarray(np.array([0, 2, 1])), cp.asarray(np.array([0, 2, 3]))),
                               shape=(2, 3))
    vector = cp.asarray(np.array([1.0, 10.0, 100.0]))
    assert (matrix @ vector).get().tolist() == [201.0, 30.0]
    data[0] = 5.0
    assert (matrix @ vector).get().tolist() == [205.0, 30.0]
    with pytest.raises(TypeError, match="Unsupported type"):
        matrix @ np.ones(3)


# -- raw kernels ------------------------------------------------------------------------------------
SOURCE = r'''
extern "C" __global__ void axpy(const long long n, const double a, const double* x, double* y, const int flag) {
    for (long long i = 0; i < n; ++i) y[i] += a * x[i] + flag;
}
'''
HOST_SOURCE = "#ifndef __CUDACC__\n#define __global__\n#endif\n" + SOURCE


def test_raw_kernels_run_on_the_host_build_and_check_their_arguments():
    kernel = cp.RawModule(code=HOST_SOURCE).get_function("axpy")
    x, y = cp.arange(4, dtype=cp.float64), cp.ones(4)
    kernel((1,), (32,), (np.int64(4), np.float64(2.0), x, y, np.int32(1)))
    assert y.get().tolist() == [2.0, 4.0, 6.0, 8.0]
    assert cp.launches.by_kernel["axpy"] == 1
    with pytest.raises(TypeError, match="5 arguments expected, got 4"):
        kernel((1,), (32,), (4, 2.0, x, y))
    with pytest.raises(TypeError, match=r"argument flag is a C int \(int32\); got int of dtype int64"):
        kernel((1,), (32,), (4, 2.0, x, y, 1))
    with pytest.raises(TypeError, match=r"argument a is a C double \(float64\); got float32"):
        kernel((1,), (32,), (4, np.float32(2.0), x, y, np.int32(1)))
    with pytest.raises(TypeError, match="argument x is a pointer: it needs a device array"):
        kernel((1,), (32,), (4, 2.0, np.arange(4.0), y, np.int32(1)))
    with cp.cuda.Device(1):
        elsewhere = cp.ones(4)
    with pytest.raises(ValueError, match="array is on device 1"):
        kernel((1,), (32,), (4, 2.0, x, elsewhere, np.int32(1)))
    assert y.get().tolist() == [2.0, 4.0, 6.0, 8.0]  # no refused launch ran


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc to compile CUDA source to PTX")
def test_cuda_compile_errors_surface_as_compile_exception():
    broken = HOST_SOURCE.replace("y[i] +=", "y[i] += undefined_name +")
    with pytest.raises(CompileException, match="undefined_name"):
        cp.RawModule(code=broken).compile()


# -- stream order ---------------------------------------------------------------------------------
@pytest.fixture
def streams():
    cp.hazards.reset()
    return cp.cuda.Stream(non_blocking=True), cp.cuda.Stream(non_blocking=True)


def test_a_read_of_a_buffer_written_on_another_stream_without_an_edge_is_a_hazard(streams):
    first, second = streams
    with first:
        state = cp.zeros(100)
        state += 1  # a queued kernel writes the state
    with second:
        with pytest.raises(cp.StreamHazard, match=r"sum on stream\d+@dev0 \(at test_cupy_standin.py:\d+ in "
                                                  r"test_a_read.*\) reads buffer .* \(float64, 800 bytes\) that "
                                                  r"add on stream\d+@dev0 .* wrote"):
            state.sum()


def test_events_and_synchronisations_order_streams(streams):
    first, second = streams
    with first:
        state = cp.zeros(100)
        state += 1
        ready = first.record()
    second.wait_event(ready)
    with second:
        total = state.sum()  # ordered by the event
    with first:
        with pytest.raises(cp.StreamHazard, match="writes buffer .* that sum on .* read"):
            state += 1  # the second stream's read is not known to be done
    second.synchronize()
    with first:
        state += 1  # the host waited for the read: ordered now
    assert float(total) == 100.0


def test_the_legacy_stream_is_ordered_with_blocking_streams_only(streams):
    non_blocking, _ = streams
    blocking = cp.cuda.Stream()
    with blocking:
        state = cp.zeros(10)
        state += 1
    state += 1  # legacy stream: waits for the blocking stream's earlier work
    with blocking:
        state *= 2  # and the blocking stream waits for the legacy stream
    with non_blocking:
        with pytest.raises(cp.StreamHazard, match=r"multiply on stream\d+@dev0 .* that multiply on stream"):
            state *= 2


def test_raw_copies_and_kernels_are_checked(streams):
    first, second = streams
    memory = cp.cuda.alloc_pinned_memory(80)
    with first:
        state = cp.zeros(10)
        state += 1
    with pytest.raises(cp.StreamHazard, match="memcpyDeviceToHost on stream.* reads"):
        runtime.memcpyAsync(memory.ptr, state.data.ptr, 80, runtime.memcpyDeviceToHost, second.ptr)
    kernel = cp.RawModule(code=HOST_SOURCE).get_function("axpy")
    with second:
        x = cp.zeros(10)
    with second, pytest.raises(cp.StreamHazard, match=r"kernel axpy on stream.* reads buffer .* that add on"):
        kernel((1,), (32,), (np.int64(10), np.float64(1.0), x, state, np.int32(0)))


def test_checking_can_be_turned_off(streams):
    first, second = streams
    with first:
        state = cp.zeros(10)
    with cp.hazards.checking(False), second:
        state += 1


# -- stream capture and graphs ---------------------------------------------------------------------------
def test_a_captured_graph_replays_its_raw_kernels_with_their_captured_arguments():
    kernel = cp.RawModule(code=HOST_SOURCE).get_function("axpy")
    stream = cp.cuda.Stream()
    with stream:
        x, y = cp.arange(4, dtype=cp.float64), cp.zeros(4)
        stream.begin_capture()
        assert stream.is_capturing()
        kernel((1,), (32,), (np.int64(4), np.float64(2.0), x, y, np.int32(1)))
        kernel((1,), (32,), (np.int64(2), np.float64(1.0), x, y, np.int32(1)))
        graph = stream.end_capture()
        assert not stream.is_capturing() and graph.size == 2
        assert y.get().tolist() == [0.0, 0.0, 0.0, 0.0]  # captured, not run
        cp.launches.reset()
        graph.launch(stream)
        graph.launch(stream)
    assert y.get().tolist() == [4.0, 10.0, 10.0, 14.0]  # twice: y += 2x + 1, then y[:2] += x + 1
    assert cp.launches.graphs == 2 and cp.launches.by_kernel["axpy"] == 4 and cp.launches.issued == 2


def test_a_capturing_stream_refuses_what_the_standin_cannot_capture():
    with pytest.raises(CUDARuntimeError, match="legacy default stream cannot be captured"):
        cp.cuda.Stream.null.begin_capture()
    stream = cp.cuda.Stream()
    with stream:
        x = cp.arange(4, dtype=cp.float64)
        stream.begin_capture()
        with pytest.raises(CUDARuntimeError, match="operation multiply on stream .* while it captures"):
            x * 2
        with pytest.raises(CUDARuntimeError, match="synchronisation"):
            x.get()
        with pytest.raises(CUDARuntimeError, match="already capturing"):
            stream.begin_capture()
        stream.end_capture()
        with pytest.raises(CUDARuntimeError, match="not capturing"):
            stream.end_capture()
    assert (x * 2).get().tolist() == [0.0, 2.0, 4.0, 6.0]
