"""Fresh host arrays for reads: large ones on a 2 MiB boundary, all of the shape and dtype asked for."""
import numpy as np
import pytest

from gpunet.backend.host_alloc import ALIGNED_MAX_BYTES, ALIGNED_MIN_BYTES, HUGE_PAGE_BYTES, empty_for_reading


@pytest.mark.parametrize("shape, dtype", [((ALIGNED_MIN_BYTES // 8,), np.float64), ((3, ALIGNED_MIN_BYTES), np.uint8),
                                          ((ALIGNED_MIN_BYTES // 4 + 1,), np.int32),
                                          ((ALIGNED_MAX_BYTES // 8 - 1,), np.float64)])
def test_mid_sized_arrays_start_on_a_huge_page_and_hold_what_is_written(shape, dtype):
    array = empty_for_reading(shape, dtype)
    assert array.shape == shape and array.dtype == dtype
    assert array.flags.c_contiguous and array.flags.writeable
    assert array.ctypes.data % HUGE_PAGE_BYTES == 0
    values = np.arange(array.size).reshape(shape).astype(dtype)
    array[...] = values
    assert np.array_equal(array, values)
    assert array.base.nbytes - array.nbytes < HUGE_PAGE_BYTES + 1  # the slack is bounded


@pytest.mark.parametrize("shape", [(0,), (5, 0), (), (ALIGNED_MIN_BYTES // 8 - 1,), (ALIGNED_MAX_BYTES // 8,)])
def test_small_large_and_empty_arrays_are_plain_numpy_arrays(shape):
    array = empty_for_reading(shape, np.float64)
    assert array.shape == shape and array.dtype == np.float64
    assert array.base is None and array.flags.c_contiguous
