"""Fused CUDA kernels on CuPy against the NumPy backend and the CuPy array code (run on the stand-in in CI).

Tolerances, and what each can honestly promise:

* **float64** (both spike-propagation modes): identical spike trains and
  variables within 1e-9 (absolute) over 200 ms.  On a GPU, CUDA's
  ``exp``/``log``/``cos`` differ from NumPy's by up to 2 ulp per call, CuPy's
  array-code kernels may contract multiply-adds, and ``atomic`` mode adds
  ``g_target`` in a varying order: each an error near 1e-16 relative per
  step.  Izhikevich resets erase ``v``'s error at every spike; between
  spikes it grows at most about 10x per step on the upstroke, so it stays
  below 1e-11.  A spike train differs only if some ``v`` lies within that
  error of the threshold at some step: about steps x neurons x 1e-11 / 1 mV
  ~ 1e-6 for these networks, rare enough not to flake.
* **float32 on a GPU**: ulp errors are near 1e-7 relative, and the same
  estimate gives a fair chance that one spike of the run flips, which
  changes that neuron's ``v`` by ~90 mV; so the promise is the number of
  spikes of each population within 2%, not equal trains.
* **On the CuPy stand-in** the kernels run compiled as host C++ with the
  host's ``libm`` and no contraction, the array code is NumPy itself: the
  float64 results agree within 1e-12 and float32 spike trains are equal
  (variables within 0.05, the tolerance of :mod:`tests.codegen.test_host_kernels`);
  ``atomic`` mode runs sequentially there, so it proves the arguments, not
  the atomics.
* RNG: bits and uniforms bit for bit, normals within 2 ulp (CUDA's log/cos).
"""
import numpy as np
import pytest

from gpunet.backend.cupy_backend import STANDIN
from gpunet.testing import parity
from gpunet.network import rng

pytestmark = pytest.mark.gpu
FLOAT64_BOUND = 1e-12 if STANDIN else 1e-9


def cupy_attach(mode="ordered"):
    from gpunet.codegen.runtime.cupy_kernels import attach_fused
    return lambda network: attach_fused(network, mode)


@pytest.mark.parametrize("mode", ["ordered", "atomic"])
@pytest.mark.parametrize("name", sorted(parity.NETWORKS))
def test_fused_kernels_match_numpy_in_float64(name, mode):
    build = parity.NETWORKS[name]
    reference = parity.record(build("numpy", "float64"), 200.0)
    device = parity.record(build("cupy", "float64"), 200.0, cupy_attach(mode))
    result = parity.compare(reference, device)
    assert result.different_spikes == [], result.summary()
    assert result.worst() < FLOAT64_BOUND, result.summary()


def spike_counts(recording):
    return {name: sum(len(times) for times in trains.values()) for name, trains in recording.spikes.items()}


@pytest.mark.parametrize("name", sorted(parity.NETWORKS))
def test_fused_kernels_float32_within_tolerance(name):
    build = parity.NETWORKS[name]
    reference = parity.record(build("numpy", "float32"), 200.0)
    device = parity.record(build("cupy", "float32"), 200.0, cupy_attach())
    result = parity.compare(reference, device)
    if STANDIN:
        assert result.different_spikes == [], result.summary()
        assert result.worst() < 0.05, result.summary()
    expected, found = spike_counts(reference), spike_counts(device)
    assert expected.keys() == found.keys()
    for population, count in expected.items():
        assert abs(found[population] - count) <= 0.02 * count, (population, count, found[population])


@pytest.mark.parametrize("name", sorted(parity.NETWORKS))
def test_fused_kernels_match_the_cupy_array_code_path(name):
    build = parity.NETWORKS[name]
    array_network, fused_network = build("cupy", "float64"), build("cupy", "float64")
    array_code = parity.record(array_network, 100.0)
    attachments = []
    fused = parity.record(fused_network, 100.0, lambda network: attachments.append(cupy_attach()(network)))
    # the comparison means something only if one run is array code and the other fused
    assert array_network.fused is None
    fused_objects = {p.name for p in fused_network.populations + fused_network.projections} - set(
        attachments[0].array_code)
    assert sorted(attachments[0].fused) == sorted(fused_objects) and fused_objects
    result = parity.compare(array_code, fused)
    assert result.different_spikes == [], result.summary()
    assert result.worst() < FLOAT64_BOUND, result.summary()


def test_parity_networks_run_array_code_until_fused_kernels_are_attached():
    for name, build in parity.NETWORKS.items():
        network = build("cupy", "float64")
        network.compile()
        assert network.kernels == "off" and network.fused is None, name


def test_ordered_mode_is_bitwise_reproducible():
    build = parity.NETWORKS["spiking"]
    first = parity.record(build("cupy", "float64"), 100.0, cupy_attach("ordered"))
    second = parity.record(build("cupy", "float64"), 100.0, cupy_attach("ordered"))
    assert parity.compare(first, second).worst() == 0.0


@pytest.mark.parametrize("seed, stream, step", [(0, 0, 0), (42, 3, 17), (2**62 + 5, 255, 123456)])
def test_rng_streams_are_bit_identical_on_the_device(seed, stream, step):
    import cupy

    from gpunet.codegen.runtime.cupy_kernels import random_streams
    streams = random_streams()
    key, n = rng.stream_key(seed, stream), 100_000
    counters = np.arange(n, dtype=np.uint64)
    assert np.array_equal(cupy.asnumpy(streams.bits(key, step, n)), rng.random_bits(np, key, step, counters))
    assert np.array_equal(cupy.asnumpy(streams.uniform01(key, step, n)), rng.uniform01(np, key, step, counters))
    assert np.array_equal(cupy.asnumpy(rng.random_bits(cupy, key, step, cupy.asarray(counters))),
                          rng.random_bits(np, key, step, counters))
    normals = cupy.asnumpy(streams.normal(key, step, n, 0.0, 1.0))
    np.testing.assert_array_max_ulp(normals, rng.normal(np, key, step, n, 0.0, 1.0), maxulp=2)


def test_pack_and_unpack_on_the_device():
    import cupy

    from gpunet.codegen.runtime.cupy_kernels import packer
    arrays = [cupy.arange(1000, dtype=cupy.float64), cupy.arange(7, dtype=cupy.int32), cupy.zeros(33, dtype=bool),
              cupy.asarray(np.array(2.5)), cupy.arange(41, dtype=cupy.uint8)]
    arrays[2][::3] = True
    expected = [cupy.asnumpy(a) for a in arrays]
    pack = packer(arrays)
    buffer = pack.pack()
    host = cupy.asnumpy(buffer)
    for array, offset in zip(expected, pack.offsets):
        assert host[offset:offset + array.nbytes].tobytes() == array.tobytes()
    for array in arrays:
        array[...] = 0
    pack.unpack(buffer)
    assert all(np.array_equal(cupy.asnumpy(a), e) for a, e in zip(arrays, expected))


def test_sources_compile_once_per_process():
    from gpunet.codegen.runtime import cupy_kernels
    from gpunet.codegen.cuda.codegen import rng_source
    first = cupy_kernels.compile_module(rng_source())
    count = cupy_kernels.cached_module_count()
    assert cupy_kernels.compile_module(rng_source()) is first
    assert cupy_kernels.cached_module_count() == count


def test_launcher_refuses_arrays_of_the_wrong_dtype():
    import cupy

    from gpunet.codegen.runtime.cupy_kernels import CupyLauncher
    from gpunet.codegen.cuda.codegen import RNG_KERNELS, rng_source
    launcher = CupyLauncher(rng_source())
    with pytest.raises(TypeError, match="argument out"):
        launcher(RNG_KERNELS["uniform01"], [4, 1, 0, cupy.zeros(4, dtype=cupy.float32)])
