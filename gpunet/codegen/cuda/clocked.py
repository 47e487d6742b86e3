"""Kernels that read the step from the device: what a CUDA graph of a step needs.

A captured graph replays its kernels with the arguments they had at capture,
so a step's arguments must not change from one step to the next.  The
generated kernels take ``step`` and ``t_host`` by value
(:data:`~gpunet.codegen.cuda.common.COMMON_PARAMS`); :func:`clocked_unit`
gives, for each of them, a ``<name>_clocked`` kernel that reads the step from
a one-element device array (``clock``) and calls the original body, turned
into a device function, with ``t_host = (double)step * dt_host`` (the array
code's ``step * dt``, the same double).  :func:`step_source` holds the
kernels of the step's other work: zeroing the input sums, writing the spike
mask into the spike ring's row of the step, advancing the clock.
"""
from __future__ import annotations

import dataclasses
import functools
import re

from gpunet.codegen.cuda.common import (COMMON_PARAMS, CudaUnit, KernelInfo, check_signature, fixed_params,
                                        module_source)
from gpunet.codegen.cuda.templates import read_source

#: The leading parameters of a clocked kernel (``clock[0]`` is the step).
CLOCK_PARAMS = fixed_params(("n", "const gn_i64", "n"), ("clock", "const gn_i64*", "clock"),
                            ("dt_host", "const double", "dt"))

_BODY_QUALIFIER = """#ifndef GN_CLOCKED_BODY
#if defined(__CUDACC__) && !defined(GN_HOST_KERNELS)
#define GN_CLOCKED_BODY static __device__ __forceinline__ void
#else
#define GN_CLOCKED_BODY static inline void
#endif
#endif
"""

STEP_KERNELS = {
    "push_spikes": KernelInfo("gn_step_push_spikes", "push_spikes", fixed_params(
        ("n", "const gn_i64", "n"), ("clock", "const gn_i64*", "clock"), ("depth", "const gn_i64", "depth"),
        ("spiked", "const bool*", "spiked"), ("history", "bool*", "history"))),
    "push_spikes_merged": KernelInfo("gn_step_push_spikes_merged", "push_spikes_merged", fixed_params(
        ("n", "const gn_i64", "n"), ("clock", "const gn_i64*", "clock"), ("rows", "const gn_i64", "rows"),
        ("table", "const gn_u64*", "table"))),
    "tick": KernelInfo("gn_step_tick", "tick", fixed_params(("n", "const gn_i64", "n"), ("clock", "gn_i64*", "clock"))),
    "zero_float64": KernelInfo("gn_step_zero_f64", "zero", fixed_params(("n", "const gn_i64", "n"),
                                                                        ("values", "double*", "values"))),
    "zero_float32": KernelInfo("gn_step_zero_f32", "zero", fixed_params(("n", "const gn_i64", "n"),
                                                                        ("values", "float*", "values"))),
}


def clocked_kernel(kernel: KernelInfo) -> KernelInfo:
    """The clocked form of ``kernel`` (same name with ``_clocked``, ``clock`` in place of ``step`` and ``t``)."""
    return KernelInfo(f"{kernel.name}_clocked", kernel.phase, CLOCK_PARAMS + kernel.params[len(COMMON_PARAMS):],
                      kernel.lanes)


def clocked_unit(unit: CudaUnit) -> CudaUnit:
    """``unit`` with every kernel that takes the step by value replaced by its clocked form.

    Parameters
    ----------
    unit : CudaUnit
        A generated unit (:func:`gpunet.codegen.cuda.codegen.model_unit`).

    Returns
    -------
    CudaUnit
        Same model, kernels by the same phase names, each a ``<name>_clocked``
        kernel; the original kernels are device functions of its source.
    """
    body = _BODY_QUALIFIER + unit.body
    kernels: dict[str, KernelInfo] = {}
    wrappers = []
    for phase, kernel in unit.kernels.items():
        if kernel.params[:len(COMMON_PARAMS)] != COMMON_PARAMS:
            continue
        pattern = re.compile(r"GN_KERNEL(\s+" + re.escape(kernel.name) + r"\s*\()")
        body, found = pattern.subn(r"GN_CLOCKED_BODY\1", body)
        if found != 1:
            raise ValueError(f"kernel {kernel.name} is defined {found} times in its unit")
        clocked = clocked_kernel(kernel)
        rest = kernel.params[len(COMMON_PARAMS):]
        declarations = "".join(f",\n    {p.declaration()}" for p in clocked.params)[2:].lstrip()
        arguments = "".join(f", {p.name}" for p in rest)
        wrappers.append(f"GN_KERNEL {clocked.name}({declarations})\n{{\n"
                        "    const gn_i64 step = clock[0];\n"
                        f"    {kernel.name}(n, step, (double)step * dt_host, dt_host{arguments});\n}}\n")
        kernels[phase] = clocked
    body = body.rstrip("\n") + "\n\n// Clocked kernels: the step read from the device (CUDA graphs).\n" + "\n".join(wrappers)
    for info in kernels.values():
        check_signature(body, info)
    return dataclasses.replace(unit, body=body, kernels=kernels, prefix=f"{unit.prefix}_clocked")


@functools.lru_cache(maxsize=None)
def step_source() -> str:
    """Complete source of :data:`STEP_KERNELS` (``kernels/step.cu``)."""
    source = module_source([], "a step's bookkeeping kernels") + read_source("step.cu")
    for info in STEP_KERNELS.values():
        check_signature(source, info)
    return source
