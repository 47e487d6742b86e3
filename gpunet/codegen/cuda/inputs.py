"""CUDA code of ANNarchy's inputs: timed inputs' schedules and current injection.

A timed input (``TimedArray``, ``TimedPoissonPopulation``,
``HomogeneousCorrelatedSpikeTrains``) sets some attributes from the row of
its schedule in force, then (all but ``TimedArray``) runs its neuron
model's equations.  Its unit (:func:`timed_input_unit`) holds the
``schedule`` kernel of ``kernels/schedule.cu``, generated here for the
attributes the schedule sets, followed by the kernels of
:func:`gpunet.codegen.cuda.neuron.neuron_unit` for the model: the schedule
kernel runs first in a step, as ``_update`` sets the values before the
equations.

``CurrentInjection`` adds the rates of a rate-coded population to a
conductance of a spiking one (:func:`current_injection_unit`,
``kernels/current_injection.cu``).

>>> from gpunet.model.description import Neuron
>>> spec = Neuron(equations="r = 0.0", name="TimedArray").spec
>>> unit = timed_input_unit(spec, ("r",), equations=False)
>>> list(unit.kernels), [p.role for p in unit.kernels["schedule"].params[4:]]
(['schedule'], ['schedule', 'schedule_rows', 'attr'])
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from gpunet.codegen.cuda.common import (
    COMMON_PARAMS,
    INDEX_TYPES,
    PRECISION_SUFFIX,
    REAL_TYPES,
    CudaUnit,
    ElementWriter,
    KernelInfo,
    UnsupportedByCuda,
    attribute_ctype,
    c_identifier,
    check_signature,
    default_prefix,
    fixed_params,
)
from gpunet.codegen.cuda.neuron import neuron_unit
from gpunet.codegen.cuda.templates import render
from gpunet.model.ir import ModelSpec

__all__ = ["current_injection_unit", "input_kind", "input_unit", "schedule_width", "timed_input_unit"]


def schedule_width(spec: ModelSpec, scheduled: Sequence[str], size: int) -> int:
    """Values per row of a schedule setting ``scheduled`` of a population of ``size`` neurons.

    One per neuron for a neuron-wise attribute (the only one the schedule
    sets), one per attribute when they are all global.
    """
    return len(scheduled) if all(spec.attributes[name].is_global for name in scheduled) else int(size)


def timed_input_unit(spec: ModelSpec, scheduled: Sequence[str], equations: bool, precision: str = "float64",
                     prefix: Optional[str] = None) -> CudaUnit:
    """The unit of a timed input: its ``schedule`` kernel, then (``equations``) its model's kernels.

    Parameters
    ----------
    spec : ModelSpec
        The input's neuron model.
    scheduled : sequence of str
        The attributes a row sets, in the order of a row's values: one
        neuron-wise attribute, or global ones.
    equations : bool
        Whether the model's equations run after the row is set (kernels
        ``neuron_globals`` where the model has global variables, and
        ``neuron_update``).
    precision : {"float64", "float32"}
        Floating type of the population's arrays.
    prefix : str, optional
        C name prefix (default ``gn_<model>_<f64|f32>``).

    Returns
    -------
    CudaUnit
        Kernel ``schedule`` (``n`` = :func:`schedule_width`; its parameters
        of role ``"schedule"`` and ``"schedule_rows"`` take the input's
        schedule table and rows), then the model's.

    Raises
    ------
    UnsupportedByCuda
        For a schedule of several neuron-wise attributes, of an attribute
        the model lacks, or a model the neuron generator does not handle.
    """
    if spec.kind != "neuron":
        raise ValueError(f"timed_input_unit() needs a neuron model, got {spec.kind} model {spec.name!r}")
    scheduled = list(scheduled)
    missing = [name for name in scheduled if name not in spec.attributes]
    local = [name for name in scheduled if name in spec.attributes and not spec.attributes[name].is_global]
    if not scheduled or missing or (local and len(scheduled) > 1):
        raise UnsupportedByCuda(f"timed input of model {spec.name!r}: a schedule sets one neuron-wise attribute or "
                                f"global ones of the model, not {scheduled}")
    real = REAL_TYPES[precision]
    fn = prefix or default_prefix(spec, precision)
    out = ElementWriter(real)
    out.param("schedule", "const gn_i64*", "schedule")
    out.param("rows", f"const {real}*", "schedule_rows")
    for column, name in enumerate(scheduled):
        attribute = spec.attributes[name]
        pointer = out.param(f"a_{name}", f"{attribute_ctype(attribute, real)}*", "attr", name)
        if attribute.is_global:
            out(f"if (i == {column}) {{ {pointer}[0] = rows[row * n + {column}]; }}", 2)
        else:
            out(f"{pointer}[i] = rows[row * n + i];", 2)
    name = f"{fn}_schedule"
    body = render("schedule.cu", fn=name, model=spec.name, params=out.params_text(), body=out.body())
    info = KernelInfo(name, "schedule", COMMON_PARAMS + tuple(out.params.values()))
    check_signature(body, info)
    kernels = {"schedule": info}
    if equations:
        model = neuron_unit(spec, precision, fn, merged=False)  # inputs have no step-graph form
        body = body + "\n" + model.body
        kernels.update(model.kernels)
    return CudaUnit(spec.name, "neuron", precision, fn, body, kernels)


def current_injection_unit(precision: str = "float64", index: str = "int32",
                           prefix: Optional[str] = None) -> CudaUnit:
    """The unit of ``CurrentInjection``: kernel ``current_injection`` (``n`` = post-synaptic neurons).

    Its parameters: ``row_ptr`` and ``pre_idx`` (role ``"attr"``: the
    projection's post-major row pointers and pre-synaptic ranks), ``r``
    (role ``"pre"``) and ``g_target`` (role ``"g_target"``).

    Parameters
    ----------
    precision : {"float64", "float32"}
        Floating type of the populations' arrays.
    index : {"int32", "int64"}
        Integer type of the projection's indices.
    prefix : str, optional
        C name prefix (default ``gn_CurrentInjection_<f64|f32>_<i32|i64>``).
    """
    real, ctype = REAL_TYPES[precision], INDEX_TYPES[index]
    fn = prefix or "_".join(("gn", c_identifier("CurrentInjection"), PRECISION_SUFFIX[precision],
                             "i32" if index == "int32" else "i64"))
    body = render("current_injection.cu", fn=fn, real=real, index=ctype)
    info = KernelInfo(fn, "current_injection", COMMON_PARAMS + fixed_params(
        ("row_ptr", f"const {ctype}*", "attr", "_row_ptr"), ("pre_idx", f"const {ctype}*", "attr", "_pre_idx"),
        ("r", f"const {real}*", "pre", "r"), ("g_target", f"{real}*", "g_target")))
    check_signature(body, info)
    return CudaUnit("CurrentInjection", "synapse", precision, fn, body, {"current_injection": info}, index)


def input_kind(obj: Any) -> Optional[str]:
    """``"timed"`` for a timed input, ``"current"`` for a current injection, None for other objects.

    Read off the object's class: ``scheduled_attributes`` (the attributes
    its schedule sets) or ``injects_current``.
    """
    cls = type(obj)
    if getattr(cls, "injects_current", False):
        return "current"
    if getattr(cls, "scheduled_attributes", ()):
        return "timed"
    return None


def input_unit(obj: Any, precision: str = "float64", index: str = "int32",
               prefix: Optional[str] = None) -> Optional[CudaUnit]:
    """The unit of an input object (see :func:`input_kind`), None for an object that is not one.

    Parameters
    ----------
    obj : Population or Projection
        A timed input (its class gives ``scheduled_attributes`` and
        ``schedule_then_equations``) or a current injection.
    precision : {"float64", "float32"}
        Floating type of the network's arrays.
    index : {"int32", "int64"}
        Integer type of a projection's indices.
    prefix : str, optional
        C name prefix.

    Raises
    ------
    UnsupportedByCuda
        For an input the generators cannot express.
    """
    kind = input_kind(obj)
    if kind == "current":
        return current_injection_unit(precision, index, prefix)
    if kind == "timed":
        cls = type(obj)
        return timed_input_unit(obj.spec, cls.scheduled_attributes, cls.schedule_then_equations, precision, prefix)
    return None
