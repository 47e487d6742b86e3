"""Generated CUDA kernels on CuPy: the only module that touches ``cupy.RawModule``.

A source is compiled once per process and device, cached by its SHA-256
(CuPy also keeps compiled binaries on disk, so a new process skips NVRTC for
a source it has seen).  :class:`CupyLauncher` runs a kernel described by a
:class:`~gpunet.codegen.cuda.common.KernelInfo`; the factories build the
fused-kernel objects of :mod:`gpunet.codegen.runtime.kernel_calls` for a population
or projection, whose calling contract is documented there.

Importing this module does not import CuPy; the functions that need it raise
:class:`~gpunet.errors.BackendError` when CuPy or a device is missing.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable, Optional, Sequence

import numpy as np

from gpunet.codegen.cuda.codegen import COMPILE_OPTIONS, model_unit, pack_source, rng_source
from gpunet.codegen.cuda.common import CudaUnit, KernelInfo, UnsupportedByCuda
from gpunet.codegen.runtime.kernel_calls import Packer, PopulationKernels, ProjectionKernels, RandomStreams
from gpunet.codegen.runtime.launch_plan import check_arguments, kernel_plan
from gpunet.errors import BackendError

BLOCK = 256
MAX_BLOCKS = 65535 * 32  # grid-stride loops: any grid is correct, this only bounds the launch size
_lock = threading.Lock()
_modules: dict[tuple[str, int], Any] = {}


def _cupy() -> Any:
    from gpunet.backend import cupy_backend
    if cupy_backend.cupy is None:
        raise BackendError(f"generated kernels need CuPy: {cupy_backend.probe()}")
    return cupy_backend.cupy


def source_digest(source: str) -> str:
    """The cache key of a source: SHA-256 of its text and the compile options."""
    return hashlib.sha256("\0".join((source,) + COMPILE_OPTIONS).encode()).hexdigest()


def compile_module(source: str) -> Any:
    """The ``cupy.RawModule`` of ``source`` on the current device, compiled at most once.

    Raises
    ------
    BackendError
        Without CuPy, or when NVRTC rejects the source (with its log).
    """
    cupy = _cupy()
    device = cupy.cuda.runtime.getDevice()
    key = (source_digest(source), device)
    with _lock:
        module = _modules.get(key)
        if module is None:
            try:
                module = cupy.RawModule(code=source, options=COMPILE_OPTIONS)
                module.compile()
            except cupy.cuda.compiler.CompileException as exc:
                raise BackendError(f"NVRTC could not compile a generated kernel source:\n{exc}") from exc
            _modules[key] = module
    return module


def cached_module_count() -> int:
    """How many sources have been compiled in this process (for tests and diagnostics)."""
    return len(_modules)


class CupyLauncher:
    """Launch the kernels of one compiled source on the current CuPy stream.

    ``n * kernel.lanes`` threads in blocks of :data:`BLOCK` (grid capped at
    :data:`MAX_BLOCKS`: the kernels' loops are grid-stride).  A call
    ``launcher(kernel, values)`` checks the arguments (dtype, contiguity)
    first; :meth:`bind` gives the launch without the check, for callers that
    checked once (:class:`~gpunet.codegen.runtime.launch_plan.BoundKernel`).
    """

    def __init__(self, source: str) -> None:
        self.module = compile_module(source)
        self._launches: dict[str, Callable[[Sequence[Any]], None]] = {}

    def prepare(self, kernel: KernelInfo) -> Callable[[Sequence[Any]], Optional[tuple]]:
        """``prepare(kernel)(values)``: the launch of ``kernel`` as ``(function, grid, block, arguments)``, not run
        (None when there is nothing to run); a launch list holds these (see ``step_graph``)."""
        function = self.module.get_function(kernel.name)
        scalars = kernel_plan(kernel).scalars
        lanes = kernel.lanes

        def prepared(values: Sequence[Any]) -> Optional[tuple]:
            threads = int(values[0]) * lanes
            if threads <= 0:
                return None
            arguments = list(values)
            for position, kind in scalars:
                arguments[position] = kind(arguments[position])
            return function, (min(-(-threads // BLOCK), MAX_BLOCKS),), (BLOCK,), tuple(arguments)
        return prepared

    def bind(self, kernel: KernelInfo) -> Callable[[Sequence[Any]], None]:
        """The launch of ``kernel`` with already checked values (function and scalar types looked up once)."""
        launch = self._launches.get(kernel.name)
        if launch is not None:
            return launch
        function = self.module.get_function(kernel.name)
        scalars = kernel_plan(kernel).scalars
        lanes = kernel.lanes

        def launch(values: Sequence[Any]) -> None:
            threads = int(values[0]) * lanes
            if threads <= 0:
                return
            arguments = list(values)
            for position, kind in scalars:
                arguments[position] = kind(arguments[position])
            function((min(-(-threads // BLOCK), MAX_BLOCKS),), (BLOCK,), tuple(arguments))
        self._launches[kernel.name] = launch
        return launch

    def __call__(self, kernel: KernelInfo, values: Sequence[Any]) -> None:
        check_arguments(kernel, values)
        self.bind(kernel)(values)


def launcher_for(unit: CudaUnit) -> CupyLauncher:
    """A launcher for the kernels of ``unit``."""
    return CupyLauncher(unit.source)


def population_kernels(population: Any) -> Optional[PopulationKernels]:
    """Fused neuron update of a compiled population, or None when the generator cannot express its model.

    Reads ``population.spec``, ``.size``, ``.step_arrays().noise_keys`` and
    ``.network.dt``/``.precision``.
    """
    network = population.network
    try:
        unit = model_unit(population.spec, network.precision.name)
    except UnsupportedByCuda:
        return None
    return PopulationKernels(unit, launcher_for(unit), size=population.size, dt=network.dt,
                             noise_keys=population.step_arrays().noise_keys)


def projection_kernels(projection: Any, mode: str = "ordered") -> Optional[ProjectionKernels]:
    """Fused synaptic phases of a connected projection, or None when its model is not supported.

    Reads ``projection.spec``, ``.step_arrays().state['_post_idx'].dtype``, ``.pre.size``,
    ``.post.size`` and ``.network``.  Build it again after the projection's
    connectivity changes index type (more than 2**31 synapses).
    """
    network = projection.network
    index = np.dtype(projection.step_arrays().state["_post_idx"].dtype).name
    try:
        unit = model_unit(projection.spec, network.precision.name, index)
    except UnsupportedByCuda:
        return None
    return ProjectionKernels(unit, launcher_for(unit), dt=network.dt, pre_size=projection.pre.size,
                             post_size=projection.post.size, mode=mode)


def random_streams() -> RandomStreams:
    """Device draws of the counter-based streams (compared with gpunet.network.rng by the GPU tests)."""
    return RandomStreams(CupyLauncher(rng_source()), _cupy())


def device_address(array: Any) -> int:
    return int(array.data.ptr)


def packer(arrays: list) -> Packer:
    """A :class:`~gpunet.codegen.runtime.kernel_calls.Packer` of device arrays (one launch per pack/unpack)."""
    cupy = _cupy()
    return Packer(arrays, CupyLauncher(pack_source()), cupy, device_address)


def attach_fused(network: Any, mode: str = "ordered") -> Any:
    """Run ``network``'s hot loops with fused kernels on its GPU (see :func:`gpunet.codegen.runtime.fused.attach`)."""
    from gpunet.codegen.runtime.fused import attach
    if not getattr(network.backend, "is_gpu", False):
        raise BackendError(f"fused CUDA kernels need a network on the cupy backend, not {network.backend.name!r}")
    with network.backend.activate():
        return attach(network, launcher_for, mode)


def nvrtc_ptx(source: str, arch: str = "compute_90") -> str:
    """Compile ``source`` to PTX with NVRTC, the compiler ``cupy.RawModule`` uses; no device needed.

    Raises
    ------
    BackendError
        Without CuPy's NVRTC, or with NVRTC's log when the source does not compile.
    """
    nvrtc = _cupy().cuda.nvrtc
    program = nvrtc.createProgram(source, "gpunet_kernels.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(program, [*COMPILE_OPTIONS, f"-arch={arch}"])
        except nvrtc.NVRTCError as exc:
            raise BackendError(f"NVRTC rejected the source ({exc}):\n{nvrtc.getProgramLog(program)}") from exc
        ptx = nvrtc.getPTX(program)
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(program)
