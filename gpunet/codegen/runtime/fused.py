"""Run a compiled network's hot loops through generated kernels instead of array code.

:func:`attach` gives each population and projection of a compiled network a
kernel runner (:mod:`gpunet.codegen.runtime.runners`) through its public
``set_runner``; nothing else changes (state, monitors, saves).  A CuPy network
with ``kernels="auto"`` does it at compile (launchers from
:mod:`gpunet.codegen.runtime.cupy_kernels`); benchmarks and parity tests do
it themselves, also on the CPU
(:class:`gpunet.codegen.runtime.host_build.HostLauncher`).

Objects whose model the generator does not support, populations whose update
is not their model's equations (``equations_update`` False:
``SpikeSourceArray``), and objects whose kernels the compiler rejects (NVRTC
on a GPU; with a warning naming the object and the compiler's first error
line) keep the array code.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from gpunet.codegen.cuda.codegen import model_unit
from gpunet.codegen.cuda.common import CudaUnit, UnsupportedByCuda
from gpunet.codegen.runtime.kernel_calls import Launcher, PopulationKernels, ProjectionKernels
from gpunet.codegen.runtime.runners import KernelPopulationRunner, KernelProjectionRunner
from gpunet.errors import BackendError


@dataclass
class Attachment:
    """Which objects of a network run fused kernels, and why the others do not."""

    fused: list[str] = field(default_factory=list)
    array_code: dict[str, str] = field(default_factory=dict)


def attach(network: Any, launcher_for: Callable[[CudaUnit], Launcher], mode: str = "ordered") -> Attachment:
    """Give ``network``'s objects runners of fused kernels (the array code where there are none).

    Parameters
    ----------
    network : Network
        A network; compiled here if it is not yet.
    launcher_for : callable
        Makes the launcher of a unit (e.g. ``cupy_kernels.launcher_for``).
    mode : {"ordered", "atomic"}
        Spike propagation variant (see :class:`~gpunet.codegen.runtime.kernel_calls.ProjectionKernels`).

    Returns
    -------
    Attachment
        The names of the objects now fused, and the reason for each one left
        on array code.
    """
    network.compile()
    precision = network.precision.name
    result = Attachment()
    for population in network.populations:
        if not population.equations_update:
            result.array_code[population.name] = f"{type(population).__name__} has its own update"
            continue
        try:
            unit = model_unit(population.spec, precision)
        except UnsupportedByCuda as exc:
            result.array_code[population.name] = str(exc)
            continue
        launcher = _launcher_or_reason(launcher_for, unit, population.name, result)
        if launcher is None:
            continue
        kernels = PopulationKernels(unit, launcher, size=population.size, dt=network.dt,
                                    noise_keys=population.step_arrays().noise_keys)
        population.set_runner(KernelPopulationRunner(population, kernels))
        result.fused.append(population.name)
    for projection in network.projections:
        if not getattr(projection, "equations_transmit", True):
            result.array_code[projection.name] = f"{type(projection).__name__} has its own transmission"
            continue
        index = projection.step_arrays().state["_post_idx"].dtype.name
        try:
            unit = model_unit(projection.spec, precision, index)
        except UnsupportedByCuda as exc:
            result.array_code[projection.name] = str(exc)
            continue
        launcher = _launcher_or_reason(launcher_for, unit, projection.name, result)
        if launcher is None:
            continue
        kernels = ProjectionKernels(unit, launcher, dt=network.dt, pre_size=projection.pre.size,
                                    post_size=projection.post.size, mode=mode)
        projection.set_runner(KernelProjectionRunner(projection, kernels))
        result.fused.append(projection.name)
    return result


def _launcher_or_reason(launcher_for: Callable[[CudaUnit], Launcher], unit: CudaUnit, name: str,
                        result: Attachment) -> Optional[Launcher]:
    """The unit's launcher, or None (with a warning and the reason recorded) when its source does not compile."""
    try:
        return launcher_for(unit)
    except BackendError as exc:
        lines = str(exc).splitlines() or [""]
        first_error = next((line for line in lines if "error" in line.lower()), lines[0]).strip()
        reason = f"its generated kernels did not compile: {first_error}"
        result.array_code[name] = reason
        warnings.warn(f"gpunet: {name} runs the array code, {reason}", RuntimeWarning, stacklevel=3)
        return None
