"""Exceptions of the stand-in's CUDA layer."""


class CUDARuntimeError(RuntimeError):
    """A CUDA runtime call failed (``cupy.cuda.runtime.CUDARuntimeError``)."""
