"""Exception types of gpunet.

Every error that gpunet raises on purpose derives from :class:`GpunetError`.
The concrete types also derive from the matching built-in exception so that
callers' ``except ValueError`` / ``except RuntimeError`` keep working.

Messages name the file, the object and the variable concerned, the expected
value and the value found, so that a user can act on them without a debugger.
"""
from __future__ import annotations

__all__ = [
    "GpunetError",
    "FormatError",
    "UnsafeFileError",
    "StructureError",
    "ModelError",
    "BackendError",
    "FileAccessError",
]


class GpunetError(Exception):
    """Root of every exception raised by gpunet."""


class FormatError(GpunetError, ValueError):
    """A file cannot be read or written in the requested format.

    Raised for missing, truncated, corrupted, mislabelled or oversized files,
    invalid JSON, checksum mismatches and values of the wrong type.
    """


class UnsafeFileError(FormatError):
    """A pickle names something outside the allow-list (code execution attempt)."""


class StructureError(GpunetError, ValueError):
    """A file or an operation does not fit the structure of the network.

    Examples: a population of another size, a variable of another shape, an
    unknown object name in strict mode, two objects with the same name.
    """


class ModelError(GpunetError, ValueError):
    """A neuron or synapse description is invalid."""


class BackendError(GpunetError, RuntimeError):
    """The requested array backend or device is not usable."""


class FileAccessError(GpunetError, OSError):
    """The operating system refused to read or write a file (name too long, permission, disk full...).

    The message names the file, the operation and the reason; ``errno`` is
    the original :class:`OSError`'s, which is the ``__cause__``, and
    ``filename`` the file concerned.  The error is also an instance of that
    error's own class (``PermissionError``, ``FileNotFoundError``...), so
    callers catching those keep working.
    """

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror is not None else super().__str__()
