"""CUDA kernels generated from model equations: the public entry points.

The CUDA path prints the same plan as the NumPy path
(:mod:`gpunet.codegen.plan`) with :class:`~gpunet.codegen.printers.CudaPrinter`
and fills the templates of ``kernels/``:

>>> from gpunet.model import Izhikevich
>>> unit = model_unit(Izhikevich.spec, "float64")
>>> unit.kernels["neuron_update"].name
'gn_Izhikevich_f64'
>>> "gn_normal(key_0, step" in unit.source
True

A unit's :attr:`~CudaUnit.source` is complete (prelude and RNG included) and
compiles with NVRTC, nvcc, or as host C++ (see :mod:`gpunet.codegen.runtime.host_build`).
Launching is the job of :mod:`gpunet.codegen.runtime.kernel_calls` (what to pass) and
of a launcher (:mod:`gpunet.codegen.runtime.cupy_kernels` on a GPU).

Exact float64 agreement with NumPy needs the device code compiled without
fused multiply-add contraction (``--fmad=false``), which
:data:`COMPILE_OPTIONS` says; transcendental functions (``exp``, ``log``,
``cos``) may still differ in the last bit between CUDA's library and NumPy's.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from gpunet.codegen.cuda.common import (
    COMMON_PARAMS,
    CudaUnit,
    KernelInfo,
    UnsupportedByCuda,
    c_identifier,
    check_signature,
    fixed_params,
    module_source,
)
from gpunet.codegen.cuda.inputs import input_kind, input_unit
from gpunet.codegen.cuda.neuron import neuron_unit
from gpunet.codegen.cuda.synapse import synapse_unit
from gpunet.codegen.cuda.templates import read_source
from gpunet.model.ir import ModelSpec

__all__ = ["COMMON_PARAMS", "COMPILE_OPTIONS", "CudaUnit", "KernelInfo", "PACK_KERNELS", "RNG_KERNELS",
           "UnsupportedByCuda", "model_unit", "module_source", "network_units", "neuron_unit", "pack_source",
           "rng_source", "synapse_unit"]

#: Options for NVRTC / nvcc: no FMA contraction (float64 results equal NumPy's), C++17.
COMPILE_OPTIONS = ("--fmad=false", "--std=c++17")

_RNG_FIXED = fixed_params(("n", "const gn_i64", "n"), ("key", "const gn_u64", "key"),
                          ("step", "const gn_i64", "step"))
RNG_KERNELS = {
    "bits": KernelInfo("gn_rng_bits", "rng", _RNG_FIXED + fixed_params(("out", "gn_u64*", "out"))),
    "uniform01": KernelInfo("gn_rng_uniform01", "rng", _RNG_FIXED + fixed_params(("out", "double*", "out"))),
    "uniform": KernelInfo("gn_rng_uniform", "rng", _RNG_FIXED + fixed_params(
        ("low", "const double", "low"), ("high", "const double", "high"), ("out", "double*", "out"))),
    "normal": KernelInfo("gn_rng_normal", "rng", _RNG_FIXED + fixed_params(
        ("mean", "const double", "mean"), ("std", "const double", "std"), ("out", "double*", "out"))),
}

_PACK_FIXED = fixed_params(("count", "const gn_i64", "n"), ("addresses", "const gn_u64*", "addresses"),
                           ("offsets", "const gn_i64*", "offsets"), ("sizes", "const gn_i64*", "sizes"))
PACK_BLOCK = 256
PACK_KERNELS = {
    "pack": KernelInfo("gn_pack", "pack", _PACK_FIXED + fixed_params(("buffer", "unsigned char*", "buffer")),
                       lanes=PACK_BLOCK),
    "unpack": KernelInfo("gn_unpack", "unpack", _PACK_FIXED + fixed_params(("buffer", "const unsigned char*",
                                                                             "buffer")), lanes=PACK_BLOCK),
}


def model_unit(spec: ModelSpec, precision: str = "float64", index: str = "int32",
               prefix: Optional[str] = None) -> CudaUnit:
    """The CUDA unit of a neuron or synapse model (``index`` matters for synapses only).

    Raises
    ------
    UnsupportedByCuda
        For a model feature the CUDA generator does not handle.
    """
    if spec.kind == "neuron":
        return neuron_unit(spec, precision, prefix)
    return synapse_unit(spec, precision, index, prefix)


def _source_with(name: str, kernels: dict[str, KernelInfo], title: str) -> str:
    source = module_source([], title) + read_source(name)
    for info in kernels.values():
        check_signature(source, info)
    return source


def rng_source() -> str:
    """Complete source of the RNG fill kernels (:data:`RNG_KERNELS`)."""
    return _source_with("rng.cu", RNG_KERNELS, "counter-based random streams")


def pack_source() -> str:
    """Complete source of the pack/unpack kernels (:data:`PACK_KERNELS`)."""
    return _source_with("pack.cu", PACK_KERNELS, "pack and unpack of state arrays")


def _model_key(spec: ModelSpec) -> tuple:
    # Two specs generate the same code when their parsed content is equal;
    # parameter defaults (init values) do not enter the code.
    blocks = (spec.equations, spec.reset, spec.pre_spike, spec.post_spike)
    attributes = tuple((a.name, a.role, a.is_global, a.semiglobal, a.kind) for a in spec.attributes.values())
    return (spec.kind, spec.name, attributes, tuple(repr(b) for b in blocks), repr(spec.spike),
            repr(spec.refractory), repr(spec.psp), tuple(spec.targets), tuple(spec.conductances),
            tuple(spec.prepost), tuple(repr(s) for s in spec.noise_sites))


def network_units(network: Any, precision: Optional[str] = None) -> list[CudaUnit]:
    """The units of every distinct model of ``network`` (populations first, creation order).

    Inputs (timed inputs, current injections) get the units of
    :func:`gpunet.codegen.cuda.inputs.input_unit`.

    Models that generate the same code share a unit; different models with
    the same name get distinct C prefixes, so all units fit in one
    translation unit (see :func:`module_source`).  Models the generator does
    not support are left out.
    """
    precision = precision or network.precision.name
    units: list[CudaUnit] = []
    seen: dict[tuple, CudaUnit] = {}
    prefixes: set[str] = set()
    objects: Iterable[Any] = list(network.populations) + list(network.projections)
    for obj in objects:
        spec = obj.spec
        index = "int32"
        if spec.kind == "synapse" and getattr(obj, "connected", False):
            index = obj.step_arrays().state["_post_idx"].dtype.name
        kind = input_kind(obj)
        key = (_model_key(spec), index, kind, getattr(type(obj), "scheduled_attributes", None))
        if key in seen:
            continue
        base = f"gn_{c_identifier('CurrentInjection' if kind == 'current' else spec.name)}"
        prefix, number = base, 1
        while prefix in prefixes:
            number += 1
            prefix = f"{base}_{number}"
        try:
            unit = input_unit(obj, precision, index, _with_suffix(prefix, precision, spec, index)) if kind else \
                model_unit(spec, precision, index, prefix=_with_suffix(prefix, precision, spec, index))
        except UnsupportedByCuda:
            continue
        prefixes.add(prefix)
        seen[key] = unit
        units.append(unit)
    return units


def _with_suffix(prefix: str, precision: str, spec: ModelSpec, index: str) -> str:
    suffix = "f32" if precision == "float32" else "f64"
    if spec.kind == "synapse":
        suffix += "_i32" if index == "int32" else "_i64"
    return f"{prefix}_{suffix}"
