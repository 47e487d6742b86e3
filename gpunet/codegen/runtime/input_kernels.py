"""Step runners of ANNarchy's inputs through their generated kernels (:mod:`gpunet.codegen.cuda.inputs`).

A timed input's update is its ``schedule`` kernel (the row in force into
the attributes the schedule sets), then, for all but ``TimedArray``, its
model's kernels (:class:`~gpunet.codegen.runtime.kernel_calls.PopulationKernels`):
what ``_update`` does with the array code.  A current injection's
transmission is its ``current_injection`` kernel; it has no synaptic
events or equations.  The runners follow the contract of
:mod:`gpunet.network.runners` and read the objects' arrays through their
public ``step_arrays()`` and ``schedule_arrays()`` at every call (a load, a
``reset()`` or a new schedule may replace them).  Objects are duck-typed:
nothing of :mod:`gpunet.network` is imported.
"""
from __future__ import annotations

from typing import Any, Optional

from gpunet.codegen.cuda.common import CudaUnit
from gpunet.codegen.cuda.inputs import input_kind, schedule_width
from gpunet.codegen.runtime.kernel_calls import Launcher, PopulationKernels
from gpunet.codegen.runtime.launch_plan import BoundKernel

__all__ = ["KernelCurrentInjectionRunner", "KernelTimedInputRunner", "input_runner"]


class KernelTimedInputRunner:
    """A timed input's update: its schedule kernel, then its model's kernels (when it runs equations).

    Parameters
    ----------
    population : Population
        A timed input (``step_arrays()``, ``schedule_arrays()``, ``spec``, ``size``, ``network.dt``).
    unit : CudaUnit
        Its unit (:func:`gpunet.codegen.cuda.inputs.timed_input_unit`).
    launcher : callable
        Runs the unit's kernels.
    """

    kind = "kernels"

    def __init__(self, population: Any, unit: CudaUnit, launcher: Launcher) -> None:
        dt = float(population.network.dt)
        self.schedule = BoundKernel(unit.kernels["schedule"], launcher)
        width = schedule_width(population.spec, type(population).scheduled_attributes, population.size)
        self._context: dict[str, Any] = {"n": width, "dt": dt}
        self.kernels: Optional[PopulationKernels] = None
        if "neuron_update" in unit.kernels:
            self.kernels = PopulationKernels(unit, launcher, size=population.size, dt=dt,
                                             noise_keys=population.step_arrays().noise_keys)
        self._arrays = population.step_arrays
        self._schedule_arrays = population.schedule_arrays

    def update(self, step: int) -> None:
        arrays = self._arrays()
        context = self._context
        context["step"], context["t"], context["attr"] = int(step), step * context["dt"], arrays.state
        context["schedule"], context["schedule_rows"] = self._schedule_arrays()
        self.schedule(context)
        if self.kernels is not None:
            self.kernels.update(arrays.state, arrays.sums, arrays.spiked, step)


class KernelCurrentInjectionRunner:
    """A current injection's transmission through its kernel; it has no other phase.

    Parameters
    ----------
    projection : Projection
        A current injection (``step_arrays()``, ``pre``, ``post``, ``target``, ``network.dt``).
    unit : CudaUnit
        Its unit (:func:`gpunet.codegen.cuda.inputs.current_injection_unit`).
    launcher : callable
        Runs the unit's kernel.
    """

    kind = "kernels"

    def __init__(self, projection: Any, unit: CudaUnit, launcher: Launcher) -> None:
        self.bound = BoundKernel(unit.kernels["current_injection"], launcher)
        self.conductance = f"g_{projection.target}"
        self._context: dict[str, Any] = {"n": projection.post.size, "dt": float(projection.network.dt)}
        self._arrays = projection.step_arrays
        self._pre_arrays = projection.pre.step_arrays
        self._post_arrays = projection.post.step_arrays

    def transmit(self, step: int) -> None:
        context = self._context
        post = self._post_arrays().state
        context["step"], context["t"] = int(step), step * context["dt"]
        context["attr"], context["pre"], context["g_target"] = self._arrays().state, self._pre_arrays().state, \
            post[self.conductance]
        self.bound(context)

    def pre_events(self, step: int) -> None:
        """Nothing: a current injection has no synaptic events."""

    def continuous(self, step: int) -> None:
        """Nothing: a current injection has no synaptic equations."""

    def post_events(self, step: int) -> None:
        """Nothing: a current injection has no synaptic events."""


def input_runner(obj: Any, unit: CudaUnit, launcher: Launcher) -> Any:
    """The kernel runner of input ``obj`` (see :func:`gpunet.codegen.cuda.inputs.input_kind`) with ``unit``."""
    kind = input_kind(obj)
    if kind == "current":
        return KernelCurrentInjectionRunner(obj, unit, launcher)
    if kind == "timed":
        return KernelTimedInputRunner(obj, unit, launcher)
    raise ValueError(f"{obj!r} is not an input with generated kernels")
