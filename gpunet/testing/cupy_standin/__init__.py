"""A strict, NumPy-backed stand-in for CuPy: GPU code paths run and are checked on a machine without a GPU.

The parts of ``cupy``, ``cupyx`` and ``cupyx.scipy.sparse`` that gpunet uses,
strict where CuPy is strict so that code which would fail, race or slow down
on a GPU fails here:

* device arrays are their own type (:class:`ndarray`); ``np.asarray(a)``
  raises TypeError, and so does a host array (not a scalar) as an operand
  of a device operation;
* every device-to-host transfer or synchronisation is counted, per stream
  and in total, in :data:`syncs` (kernel launches in :data:`launches`);
* ``cuda.Device(i)`` for ``$GPUNET_STANDIN_DEVICES`` devices (default 2);
  arrays remember their device, and using one in another device's context
  raises ValueError;
* :class:`RawModule` compiles its source with ``nvcc --ptx`` where nvcc
  exists and runs the kernels compiled as host C++
  (:mod:`gpunet.codegen.runtime.host_build`), checking each launch's arguments;
  gpunet's kernels call NumPy's own float64 ``exp`` and ``log`` there (as the
  compiled CPU runner does), so their float64 results equal the NumPy path's;
* ``Stream.begin_capture``/``end_capture`` record raw-kernel launches into a
  ``cuda.graph.Graph`` that ``launch()`` replays (other operations and
  synchronisations on a capturing stream raise);
* ``cuda.alloc_pinned_memory`` gives page-aligned memory; raw copies check
  that their pointers lie in device or host memory as their kind says.

It proves that GPU code paths run, hand the right data to the right kernels
on the right device and read back only when they say so; it proves nothing
about GPU speed, warp-level races or the GPU memory model.

``GPUNET_CUPY_STANDIN=1`` makes gpunet use it in place of CuPy
(:func:`install` registers it as the modules ``cupy``, ``cupyx``,
``cupyx.scipy`` and ``cupyx.scipy.sparse``).

>>> from gpunet.testing import cupy_standin as cp
>>> a = cp.arange(4, dtype=cp.float64)
>>> before = cp.syncs.total
>>> float((a * 2).sum()), cp.syncs.total - before
(12.0, 1)
>>> import numpy as np
>>> np.asarray(a)
Traceback (most recent call last):
...
TypeError: Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly.
"""
from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

from gpunet.testing.cupy_standin import _hazards, _state, cuda
from gpunet.testing.cupy_standin._core import check_device, ndarray, run
from gpunet.testing.cupy_standin._raw import RawKernel, RawModule
from gpunet.testing.cupy_standin._hazards import StreamHazard
from gpunet.testing.cupy_standin._state import LaunchCounter, SyncCounter, launches, syncs

__all__ = ["ndarray", "cuda", "RawModule", "RawKernel", "asnumpy", "array", "asarray", "get_array_module",
           "syncs", "launches", "StreamHazard", "hazards", "SyncCounter", "LaunchCounter", "install", "NAME", "ENV_VARIABLE"]

__version__ = "13.0.0"
#: How reports name the stand-in.
NAME = "CuPy stand-in (no GPU)"
#: The environment variable that makes gpunet use the stand-in in place of CuPy.
ENV_VARIABLE = "GPUNET_CUPY_STANDIN"
IS_STANDIN = True
#: Stream-order checking (``hazards.checking(False)`` turns it off in a block, ``hazards.reset()`` forgets).
hazards = _hazards


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", ndmin: int = 0) -> ndarray:
    """A new device array on the current device from host data or a device array (of any device)."""
    device = _state.current_device()
    _state.launches.count("array")
    if isinstance(obj, ndarray):  # a device-to-device copy, peer copy across devices
        data = obj._a
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, ndarray) for v in obj):
        raise TypeError("array(): a list of device arrays; use cupy.stack")
    else:
        data = obj
    result = ndarray._of(np.array(data, dtype=dtype, copy=True, order=order, ndmin=ndmin), device)
    _hazards.operation("array", [obj] if isinstance(obj, ndarray) else [], [result])
    return result


def asarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    """``a`` itself when it is a device array of that dtype (on whatever device), else a copy on the current one."""
    if isinstance(a, ndarray) and (dtype is None or np.dtype(dtype) == a.dtype) and order in (None, "K", "A"):
        return a
    return array(a, dtype=dtype, order=order or "K")


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    if not isinstance(a, ndarray):
        return array(a, dtype=dtype, order="C")
    check_device(a, _state.current_device(), "ascontiguousarray")
    if a.flags.c_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype=dtype, order="C")


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
    """A host copy of ``a`` (a device-to-host transfer: counted)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> Any:
    """This module when an argument is a device array, NumPy otherwise."""
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def __getattr__(name: str) -> Any:
    attribute = getattr(np, name, None)
    if attribute is None or isinstance(attribute, (type, np.dtype, types.ModuleType)) or not callable(attribute):
        if attribute is None or isinstance(attribute, types.ModuleType):
            raise AttributeError(f"the CuPy stand-in has no attribute {name!r}")
        return attribute

    def function(*args: Any, **kwargs: Any) -> Any:
        return run(name, attribute, args, kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``numpy.{name}`` as a device operation of the CuPy stand-in."
    return function


def install() -> tuple[Any, Any, Any]:
    """Register the stand-in as the modules ``cupy``, ``cupyx``, ``cupyx.scipy``, ``cupyx.scipy.sparse``.

    Returns
    -------
    (cupy, cupyx, cupyx.scipy.sparse)
    """
    from gpunet.testing.cupy_standin import cupyx
    module = sys.modules[__name__]
    sys.modules.update({"cupy": module, "cupy.cuda": cuda, "cupy.cuda.runtime": cuda.runtime,
                        "cupy.cuda.compiler": cuda.compiler, "cupy.cuda.graph": cuda.graph, "cupyx": cupyx, "cupyx.scipy": cupyx.scipy,
                        "cupyx.scipy.sparse": cupyx.scipy.sparse})
    return module, cupyx, cupyx.scipy.sparse


