"""The CuPy launcher's side that needs no GPU: grid sizes, scalar types, argument checks, factories."""
import numpy as np
import pytest

import gpunet as gn
from gpunet.codegen.runtime import cupy_kernels
from gpunet.codegen.cuda.codegen import RNG_KERNELS, model_unit


class FakeModule:
    def __init__(self):
        self.launches = []

    def get_function(self, name):
        return lambda grid, block, args: self.launches.append((name, grid, block, args))


@pytest.fixture
def fake(monkeypatch):
    module = FakeModule()
    monkeypatch.setattr(cupy_kernels, "compile_module", lambda source: module)
    return module


def test_launch_sizes_and_scalar_types(fake):
    launcher = cupy_kernels.CupyLauncher("source")
    out = np.zeros(1000)
    launcher(RNG_KERNELS["normal"], [1000, 2**64 - 1, 7, 0.5, 2.0, out])
    name, grid, block, args = fake.launches[-1]
    assert (name, grid, block) == ("gn_rng_normal", (4,), (256,))
    assert [type(a) for a in args[:5]] == [np.int64, np.uint64, np.int64, np.float64, np.float64]
    assert args[1] == np.uint64(2**64 - 1) and args[5] is out


def test_warp_kernels_get_32_threads_per_item_and_empty_launches_are_skipped(fake):
    unit = model_unit(gn.STDP.spec)
    kernel = unit.kernels["post_events"]
    assert kernel.lanes == 32
    launcher = cupy_kernels.CupyLauncher(unit.source)
    dtypes = {"double": np.float64, "int": np.int32, "gn_i64": np.int64, "bool": np.bool_}
    values = [np.zeros(1, dtype=dtypes[p.base_type]) if p.is_pointer else 0 for p in kernel.params]
    launcher(kernel, [0] + values[1:])
    assert fake.launches == []
    launcher(kernel, [100] + values[1:])
    assert fake.launches[-1][1] == (13,)  # 100 warps of 32 threads in blocks of 256


def test_wrong_dtype_is_refused_before_launch(fake):
    launcher = cupy_kernels.CupyLauncher("source")
    with pytest.raises(TypeError, match=r"argument out .* must be a float64 array"):
        launcher(RNG_KERNELS["uniform01"], [4, 1, 0, np.zeros(4, dtype=np.float32)])
    assert fake.launches == []


def test_factories_build_kernels_for_a_compiled_network(fake):
    net = gn.Network(backend="numpy", seed=3)
    pop = net.create(10, gn.Izhikevich)
    proj = net.connect(pop, pop, "exc", gn.STDP).connect_all_to_all(weights=0.1)
    net.compile()
    population = cupy_kernels.population_kernels(pop)
    projection = cupy_kernels.projection_kernels(proj, mode="atomic")
    assert population.unit.kernels["neuron_update"].name == "gn_Izhikevich_f64"
    assert projection.mode == "atomic" and projection.has("pre_events") and not projection.has("continuous")
    population.update(pop._state, pop._sums, pop._spiked, 0)
    assert fake.launches[-1][0] == "gn_Izhikevich_f64"


def test_fused_kernels_refuse_a_numpy_network():
    net = gn.Network(backend="numpy")
    with pytest.raises(gn.errors.BackendError, match="cupy backend"):
        cupy_kernels.attach_fused(net)
