"""Array backends: NumPy on the CPU, CuPy on a GPU.

``get_backend("auto")`` picks CuPy only when it imports and a device answers,
otherwise NumPy, and logs one line saying which.  Nothing outside this package
imports CuPy.
"""
from __future__ import annotations

import functools
import logging

from gpunet.backend.base import Backend
from gpunet.backend.numpy_backend import NumpyBackend
from gpunet.errors import BackendError

__all__ = ["Backend", "NumpyBackend", "get_backend", "gpu_available", "gpu_device_count", "gpu_unavailable_reason"]

log = logging.getLogger("gpunet")

BACKEND_NAMES = ("auto", "numpy", "cupy")


@functools.lru_cache(maxsize=None)
def gpu_unavailable_reason(device: int = 0) -> str | None:
    """Why CuPy cannot be used on ``device``, or None when it can. Never raises."""
    try:
        from gpunet.backend import cupy_backend
        return cupy_backend.probe(device)
    except Exception as exc:  # pragma: no cover - defensive: never raise here
        return f"{type(exc).__name__}: {exc}"


def gpu_available(device: int = 0) -> bool:
    """Whether a CUDA device usable by CuPy is present. Never raises.

    Parameters
    ----------
    device : int
        The CUDA device id to ask about.
    """
    return gpu_unavailable_reason(device) is None


def gpu_device_count() -> int:
    """The number of CUDA devices CuPy sees: 0 without CuPy or without a driver. Never raises."""
    try:
        from gpunet.backend import cupy_backend
        return cupy_backend.device_count()
    except Exception:  # pragma: no cover - defensive: never raise here
        return 0


def get_backend(name: str = "auto", device: int = 0) -> Backend:
    """Return the array backend called ``name`` on ``device``.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy"}
        ``"auto"`` picks CuPy when it imports and the device answers, NumPy
        otherwise.
    device : int
        CUDA device id (ignored by NumPy).

    Raises
    ------
    BackendError
        For an unknown name, or ``"cupy"`` without a usable GPU.
    """
    if name not in BACKEND_NAMES:
        raise BackendError(f"unknown backend {name!r}; expected one of {', '.join(BACKEND_NAMES)}")
    if name == "numpy":
        return NumpyBackend()
    reason = gpu_unavailable_reason(int(device))
    if name == "cupy":
        if reason is not None:
            raise BackendError(f"backend 'cupy' requested but it is not usable: {reason}")
        from gpunet.backend.cupy_backend import CupyBackend
        return CupyBackend(device)
    if reason is None:  # pragma: no cover - needs a GPU
        from gpunet.backend.cupy_backend import CupyBackend
        backend = CupyBackend(device)
    else:
        backend = NumpyBackend()
        log.info("gpunet: backend 'auto' chose numpy (%s)", reason)
        return backend
    log.info("gpunet: backend 'auto' chose %s", backend.describe())  # pragma: no cover
    return backend  # pragma: no cover
