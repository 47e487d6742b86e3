"""Run a compiled network's hot loops through generated kernels instead of array code.

:func:`attach` gives each population and projection of a compiled network a
kernel runner (:mod:`gpunet.codegen.runtime.runners`) through its public
``set_runner``; nothing else changes (state, monitors, saves).  A CuPy network
with ``kernels="auto"`` does it at compile (launchers from
:mod:`gpunet.codegen.runtime.cupy_kernels`); benchmarks and parity tests do
it themselves, also on the CPU
(:class:`gpunet.codegen.runtime.host_build.HostLauncher`).

Inputs (timed inputs, current injections) get the runners of
:mod:`gpunet.codegen.runtime.input_kernels`.  Objects that cannot run generated kernels
(:func:`gpunet.codegen.runtime.eligibility.kernel_unit`: their step is their
own code, e.g. ``SpikeSourceArray``, or the generator does not express their
model) and objects whose kernels the compiler rejects (NVRTC on a GPU; with a
warning naming the object and the compiler's first error line) keep the
array code.  Under comm (:mod:`gpunet.network.distributed`) population kernels
run this process's block of neurons (noise counters from the block's first
global rank), projection kernels the rows of its post neurons, reading the
gathered pre-synaptic values (``Population.presynaptic_arrays``); inputs keep
the array code.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from gpunet.codegen.cuda.common import CudaUnit, UnsupportedByCuda
from gpunet.codegen.cuda.inputs import input_kind
from gpunet.codegen.runtime.eligibility import kernel_unit
from gpunet.codegen.runtime.input_kernels import input_runner
from gpunet.codegen.runtime.kernel_calls import Launcher, PopulationKernels, ProjectionKernels
from gpunet.codegen.runtime.runners import KernelPopulationRunner, KernelProjectionRunner
from gpunet.errors import BackendError


#: Why an input keeps the array code under comm (its kernels are sized by the whole population).
_DISTRIBUTED_INPUT = "under comm inputs run the array code (their kernels cover whole populations)"


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
    distributed = getattr(network, "comm", None) is not None
    for population in network.populations:
        found = _unit_and_launcher(population, precision, distributed, launcher_for, result)
        if found is None:
            continue
        unit, launcher = found
        if input_kind(population) is not None:
            population.set_runner(input_runner(population, unit, launcher))
        else:  # under comm: this process's block, its noise counters from the block's first global rank
            first, stop = population.block
            kernels = PopulationKernels(unit, launcher, size=stop - first, dt=network.dt,
                                        noise_keys=population.step_arrays().noise_keys, noise_first=first)
            population.set_runner(KernelPopulationRunner(population, kernels))
        result.fused.append(population.name)
    for projection in network.projections:
        found = _unit_and_launcher(projection, precision, distributed, launcher_for, result)
        if found is None:
            continue
        unit, launcher = found
        if input_kind(projection) is not None:
            projection.set_runner(input_runner(projection, unit, launcher))
        else:  # the rows of the post neurons held here (all, or this process's block); pre ranks are global
            first, stop = projection.post.block
            kernels = ProjectionKernels(unit, launcher, dt=network.dt, pre_size=projection.pre.size,
                                        post_size=stop - first, mode=mode)
            projection.set_runner(KernelProjectionRunner(projection, kernels))
        result.fused.append(projection.name)
    return result


def _unit_and_launcher(obj: Any, precision: str, distributed: bool, launcher_for: Callable[[CudaUnit], Launcher],
                       result: Attachment) -> Optional[tuple[CudaUnit, Launcher]]:
    """``obj``'s kernel unit and launcher, or None with the reason recorded in ``result``."""
    if distributed and input_kind(obj) is not None:
        result.array_code[obj.name] = _DISTRIBUTED_INPUT
        return None
    try:
        unit = kernel_unit(obj, precision)
    except UnsupportedByCuda as exc:
        result.array_code[obj.name] = str(exc)
        return None
    launcher = _launcher_or_reason(launcher_for, unit, obj.name, result)
    return None if launcher is None else (unit, launcher)


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
        warnings.warn(f"gpunet: {name} runs the array code, {reason}", RuntimeWarning, stacklevel=4)
        return None
