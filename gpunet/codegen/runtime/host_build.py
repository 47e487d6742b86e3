"""Compile generated CUDA source as host C++ and run its kernels on the CPU.

The kernels of ``kernels/`` are written so that, without ``__CUDACC__`` (or
with ``-DGN_HOST_KERNELS`` under nvcc), every kernel is an ``extern "C"``
host function whose grid-stride loops run sequentially.  This module builds
such a shared library with the system's C++ compiler and calls it through
:mod:`ctypes` on NumPy arrays: the very text a GPU would run, checked against
the NumPy path on a machine without a GPU.

The library is built with ``-O2 -ffp-contract=off`` (no fused multiply-add,
like the device code's ``--fmad=false``) and cached by a hash of the compile command and the source.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from gpunet.codegen.cuda.common import KernelInfo
from gpunet.codegen.runtime.kernel_calls import check_arguments
from gpunet.errors import BackendError

_SCALARS = {"double": ctypes.c_double, "float": ctypes.c_float, "gn_i64": ctypes.c_longlong,
            "int": ctypes.c_int, "bool": ctypes.c_bool, "gn_u64": ctypes.c_ulonglong}
_lock = threading.Lock()
_libraries: dict[str, ctypes.CDLL] = {}


def find_compiler() -> Optional[str]:
    """Path of a host C++ compiler (``$CXX``, ``c++``, ``g++``, ``clang++``), or None."""
    candidates = [os.environ.get("CXX"), "c++", "g++", "clang++"]
    for candidate in candidates:
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"gpunet-host-kernels-{os.getuid() if hasattr(os, 'getuid') else 0}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def compile_command(compiler: str, source: Path, output: Path, flags: Sequence[str] = ()) -> list[str]:
    """The command that builds ``source`` into the shared library ``output`` (host ``flags`` added)."""
    if Path(compiler).name.startswith("nvcc"):
        return [compiler, "-x", "cu", "-O2", "--fmad=false", "-std=c++17", "-DGN_HOST_KERNELS", "-shared",
                "-Xcompiler", ",".join(["-fPIC", "-ffp-contract=off", *flags]), str(source), "-o", str(output)]
    return [compiler, "-x", "c++", "-std=c++17", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared",
            *flags, str(source), "-o", str(output)]


#: A program that builds only where ``-fopenmp`` compiles, links and runs (the test of :func:`openmp_flags`).
_OPENMP_PROBE = """#include <omp.h>
static thread_local int gn_local = 1;
extern "C" int gn_probe(void) { int n = 0;
#pragma omp parallel reduction(+ : n)
    n += gn_local;
    return n + omp_get_max_threads(); }
"""
#: The flags of an OpenMP build.  (Not ``-mtls-dialect=gnu2``: its TLS descriptors are cheaper, but glibc
#: before 2.40 lets their slow path clobber floating-point registers, which changed results here.)
_OPENMP_FLAGS = ("-fopenmp",)
_openmp: dict[str, tuple[str, ...]] = {}


def openmp_flags(compiler: Optional[str] = None) -> tuple[str, ...]:
    """The flags with which ``compiler`` (default :func:`find_compiler`) builds OpenMP code, or ``()``.

    Tried once per compiler and process by building and calling a small shared library (cached on disk like
    the kernels, so a later process compiles nothing).

    Parameters
    ----------
    compiler : str, optional
        A C++ compiler; default :func:`find_compiler`.

    Returns
    -------
    tuple of str
        ``("-fopenmp",)``; empty without a compiler, with ``nvcc`` or when the probe does not build and run.
    """
    compiler = compiler or find_compiler()
    if compiler is None or Path(compiler).name.startswith("nvcc"):
        return ()
    with _lock:
        if compiler not in _openmp:
            try:
                path = _build_cached(_OPENMP_PROBE, compiler, _OPENMP_FLAGS)
                with _passive_waits():
                    probe = ctypes.CDLL(str(path))
                _openmp[compiler] = _OPENMP_FLAGS if probe.gn_probe() >= 2 else ()
            except (_BuildFailed, OSError, AttributeError):
                _openmp[compiler] = ()
        return _openmp[compiler]


#: The OpenMP runtime's wait policy when the environment sets none (read once, when the runtime loads):
#: threads that sleep between regions instead of spinning.  Spinning threads made two threads 5-20 times
#: slower than one on a 2-core machine that other work shared; passive waits made them faster than one.
DEFAULT_WAIT_POLICY = "passive"


@contextlib.contextmanager
def _passive_waits() -> Iterator[None]:
    """``OMP_WAIT_POLICY=passive`` in the environment while the OpenMP runtime loads (its initialisation reads
    it), unless the user chose a policy (``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``); the environment is restored."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = DEFAULT_WAIT_POLICY
    try:
        yield
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)


def _build_cached(source: str, compiler: str, flags: Sequence[str]) -> Path:
    """The path of the cached library of ``source``, built now when missing (the caller holds ``_lock``).

    Raises ``_BuildFailed`` with the compiler's errors when the build fails."""
    command = " ".join(compile_command(compiler, Path("kernels.cu"), Path("kernels.so"), flags))
    digest = hashlib.sha256((command + "\0" + source).encode()).hexdigest()[:24]
    directory = _cache_dir()
    library = directory / f"{digest}.so"
    if library.exists():
        return library
    with tempfile.TemporaryDirectory(dir=directory) as work:
        source_path = Path(work) / "kernels.cu"
        source_path.write_text(source)
        built = Path(work) / "kernels.so"
        result = subprocess.run(compile_command(compiler, source_path, built, flags), capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise _BuildFailed(result.stderr)
        os.replace(built, library)
    return library


class _BuildFailed(Exception):
    """The compiler refused a source (its stderr is the message)."""


def build_library(source: str, compiler: Optional[str] = None, flags: Sequence[str] = ()) -> ctypes.CDLL:
    """Compile ``source`` as host code into a shared library and load it.

    Parameters
    ----------
    source : str
        A complete generated source (e.g. ``CudaUnit.source``).
    compiler : str, optional
        A C++ compiler or ``nvcc``; default :func:`find_compiler`.
    flags : sequence of str
        More host compiler flags (e.g. :func:`openmp_flags`); part of the cache key.

    Raises
    ------
    BackendError
        When no compiler is found or the compilation fails (with its output).
    """
    compiler = compiler or find_compiler()
    if compiler is None:
        raise BackendError("no host C++ compiler found (tried $CXX, c++, g++, clang++)")
    with _lock:
        try:
            library = _build_cached(source, compiler, flags)
        except _BuildFailed as exc:
            raise BackendError(f"host compilation of generated kernels failed ({compiler}):\n{str(exc)[-4000:]}") \
                from None
        if str(library) not in _libraries:
            _libraries[str(library)] = ctypes.CDLL(str(library))
        return _libraries[str(library)]


class HostLauncher:
    """Launcher that runs kernels compiled by :func:`build_library` on NumPy arrays."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self.library = library

    @classmethod
    def from_source(cls, source: str, compiler: Optional[str] = None) -> "HostLauncher":
        return cls(build_library(source, compiler))

    def __call__(self, kernel: KernelInfo, values: Sequence[Any]) -> None:
        check_arguments(kernel, values)
        function = getattr(self.library, kernel.name)
        function.restype = None
        arguments = []
        for param, value in zip(kernel.params, values):
            if param.is_pointer:
                arguments.append(ctypes.c_void_p(value.ctypes.data))
            else:
                arguments.append(_SCALARS[param.base_type](value))
        function(*arguments)


def address(array: np.ndarray) -> int:
    """Address of a NumPy array's first byte (for :class:`~gpunet.codegen.runtime.kernel_calls.Packer`)."""
    return int(array.ctypes.data)
