"""What can run as generated kernels: the one rule the GPU kernels and the compiled CPU loop share.

An object runs generated kernels when its step is its model's equations
(a population's ``equations_update``, a projection's ``equations_transmit``)
or it is an input with generated kernels of its own (timed inputs, current
injection: :mod:`gpunet.codegen.cuda.inputs`), and the CUDA generator expresses its model (:func:`kernel_unit` raises
:class:`~gpunet.codegen.cuda.common.UnsupportedByCuda` otherwise).  Runners
add their own limits on top (the compiled CPU loop replays spike sources'
events itself; a GPU whose compiler rejects a source keeps the array code),
never another version of this rule.  Objects are duck-typed: this module
imports nothing of :mod:`gpunet.network`.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gpunet.codegen.cuda.codegen import model_unit
from gpunet.codegen.cuda.common import CudaUnit, UnsupportedByCuda
from gpunet.codegen.cuda.inputs import input_kind, input_unit


def own_step_reason(obj: Any) -> Optional[str]:
    """Why ``obj`` (a population or projection) steps with its own code instead of its model's equations, or None.

    Parameters
    ----------
    obj : Population or Projection
        A population (``equations_update``) or projection (``equations_transmit``).
    """
    if input_kind(obj) is not None:  # the inputs' own steps have generated kernels (codegen/cuda/inputs.py)
        return None
    if not getattr(obj, "equations_update", True):
        return f"population {obj.name!r} ({type(obj).__name__}) has its own update"
    if not getattr(obj, "equations_transmit", True):
        return f"projection {obj.name!r} ({type(obj).__name__}) has its own transmission"
    return None


def kernel_unit(obj: Any, precision: str) -> CudaUnit:
    """The CUDA unit that runs ``obj``'s step (for a projection, in the index type of its synapse arrays).

    Parameters
    ----------
    obj : Population or Projection
        A compiled population, or a connected projection.
    precision : {"float64", "float32"}
        The network's floating type.

    Raises
    ------
    UnsupportedByCuda
        With the reason, when ``obj`` cannot run generated kernels.
    """
    reason = own_step_reason(obj)
    if reason is not None:
        raise UnsupportedByCuda(reason)
    if obj.spec.kind == "neuron":
        return input_unit(obj, precision) if input_kind(obj) is not None else model_unit(obj.spec, precision)
    index = np.dtype(obj.step_arrays().state["_post_idx"].dtype).name  # _pre_idx may be built on demand
    if input_kind(obj) is not None:
        return input_unit(obj, precision, index)
    return model_unit(obj.spec, precision, index)
