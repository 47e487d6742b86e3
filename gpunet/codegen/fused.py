"""Run a compiled network's hot loops through generated kernels instead of array code.

:func:`attach` replaces, on each population and projection *instance* of a
compiled network, the step methods the simulation loop calls
(``_update``, ``_pre_events``, ``_post_events``, ``_update_continuous``,
``_transmit``) with calls of :mod:`gpunet.codegen.kernel_calls`; nothing
else changes (state, monitors, saves).  It is what the benchmarks and the
parity tests use, on a GPU (launchers from :mod:`gpunet.codegen.cupy_kernels`)
or on the CPU (:class:`gpunet.codegen.host_build.HostLauncher`), until the
network wires the fused kernels in itself.

Objects whose model the generator does not support, populations with an
``_update`` of their own (``SpikeSourceArray``), and objects whose kernels
the compiler rejects (NVRTC on a GPU; with a warning naming the object and
the compiler's first error line) keep the array code.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from gpunet.codegen.cuda_codegen import model_unit
from gpunet.codegen.cuda_common import CudaUnit, UnsupportedByCuda
from gpunet.codegen.kernel_calls import Launcher, PopulationKernels, ProjectionKernels
from gpunet.errors import BackendError


@dataclass
class Attachment:
    """Which objects of a network run fused kernels, and why the others do not."""

    fused: list[str] = field(default_factory=list)
    array_code: dict[str, str] = field(default_factory=dict)


def attach(network: Any, launcher_for: Callable[[CudaUnit], Launcher], mode: str = "ordered") -> Attachment:
    """Swap the step methods of ``network``'s objects for fused kernels.

    Parameters
    ----------
    network : Network
        A network; compiled here if it is not yet.
    launcher_for : callable
        Makes the launcher of a unit (e.g. ``cupy_kernels.launcher_for``).
    mode : {"ordered", "atomic"}
        Spike propagation variant (see :class:`~gpunet.codegen.kernel_calls.ProjectionKernels`).

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
                                    noise_keys=population._noise_keys)
        population._update = _population_update(population, kernels)
        result.fused.append(population.name)
    for projection in network.projections:
        if not getattr(projection, "equations_transmit", True):
            result.array_code[projection.name] = f"{type(projection).__name__} has its own transmission"
            continue
        index = projection._state["_pre_idx"].dtype.name
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
        _attach_projection(projection, kernels)
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


def _population_update(population: Any, kernels: PopulationKernels) -> Callable[[int], None]:
    def update(step: int) -> None:
        kernels.update(population._state, population._sums, population._spiked, step)
    return update


def _attach_projection(projection: Any, kernels: ProjectionKernels) -> None:
    pre, post = projection.pre, projection.post

    def pre_events(step: int) -> None:
        kernels.pre_events(projection._state, step, post._state[f"g_{projection.target}"], pre._state,
                           post._state, pre._history, projection._groups)

    def transmit(step: int) -> None:
        if projection.spec.spiking:
            projection._pre_events(step)
        elif projection.target in post._sums:
            kernels.rate_sum(projection._state, step, post._sums[projection.target], pre._state, post._state)

    def post_events(step: int) -> None:
        kernels.post_events(projection._state, step, post._spiked, pre._state, post._state)

    def continuous(step: int) -> None:
        kernels.continuous(projection._state, step, pre._state, post._state)

    if kernels.has("pre_events"):
        projection._pre_events = pre_events
    if kernels.has("rate_sum"):
        projection._transmit = transmit
    if kernels.has("post_events"):
        projection._post_events = post_events
    if kernels.has("continuous"):
        projection._update_continuous = continuous
