"""``cupy.RawModule`` / ``cupy.RawKernel`` of the stand-in.

The CUDA source is compiled with ``nvcc --ptx`` where nvcc exists, so that a
source a GPU would reject fails here too (as
:class:`~gpunet.testing.cupy_standin.cuda.compiler.CompileException`), and
the kernels run through :mod:`gpunet.codegen.runtime.host_build`: the same text
compiled as host C++, whose grid-stride loops cover every index sequentially.
Each launch is checked as a GPU would need it: the argument count, every
pointer argument a stand-in device array on the current device, and every
scalar's NumPy dtype equal to its C parameter's type.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gpunet.testing.cupy_standin import _hazards, _state
from gpunet.testing.cupy_standin._core import check_device, check_stream_device, ndarray
from gpunet.testing.cupy_standin.cuda.compiler import CompileException

#: NumPy dtype of each C parameter type a kernel may take.
C_TYPES = {"double": np.float64, "float": np.float32, "gn_i64": np.int64, "gn_u64": np.uint64,
           "long long": np.int64, "long long int": np.int64, "unsigned long long": np.uint64,
           "unsigned long long int": np.uint64, "int64_t": np.int64, "uint64_t": np.uint64, "size_t": np.uint64,
           "int": np.int32, "int32_t": np.int32, "unsigned int": np.uint32, "uint32_t": np.uint32,
           "short": np.int16, "unsigned short": np.uint16, "char": np.int8, "signed char": np.int8,
           "unsigned char": np.uint8, "uint8_t": np.uint8, "bool": np.bool_}
_CTYPES = {np.dtype(k): v for k, v in ((np.float64, ctypes.c_double), (np.float32, ctypes.c_float),
                                       (np.int64, ctypes.c_int64), (np.uint64, ctypes.c_uint64),
                                       (np.int32, ctypes.c_int32), (np.uint32, ctypes.c_uint32),
                                       (np.int16, ctypes.c_int16), (np.uint16, ctypes.c_uint16),
                                       (np.int8, ctypes.c_int8), (np.uint8, ctypes.c_uint8),
                                       (np.bool_, ctypes.c_bool))}
_QUALIFIERS = {"const", "__restrict__", "restrict", "volatile"}
_lock = threading.Lock()
_checked: set[str] = set()

NVCC_VARIABLE = "GPUNET_STANDIN_NVCC"  # "0": skip the nvcc check (e.g. to time the stand-in alone)


class Param:
    """One kernel parameter: C base type, pointer or not, name."""

    def __init__(self, declaration: str) -> None:
        tokens = declaration.replace("*", " * ").split()
        self.pointer = "*" in tokens
        self.const = self.pointer and "const" in tokens[:tokens.index("*")]  # the kernel only reads it
        words = [t for t in tokens if t not in _QUALIFIERS and t != "*"]
        self.name = words[-1] if len(words) > 1 else ""
        self.ctype = " ".join(words[:-1] if len(words) > 1 else words)

    def dtype(self, kernel: str) -> np.dtype:
        if self.ctype not in C_TYPES:
            raise TypeError(f"kernel {kernel}: the CuPy stand-in does not know the C type {self.ctype!r} of "
                            f"parameter {self.name}")
        return np.dtype(C_TYPES[self.ctype])


def kernel_params(source: str, name: str) -> list[Param]:
    """The parameters of the kernel ``name`` (``__global__`` function or gpunet's ``GN_KERNEL``) in ``source``."""
    pattern = r"(?:__global__\s+void|GN_KERNEL)\s+" + re.escape(name) + r"\s*\("
    match = re.search(pattern, source)
    if match is None:
        raise AttributeError(f"the module has no kernel named {name!r}")
    depth, position = 1, match.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(source[position], 0)
        position += 1
    text = source[match.end():position - 1].strip()
    return [Param(part) for part in text.split(",")] if text and text != "void" else []


def _scalar_dtype(value: Any) -> np.dtype:
    # CuPy passes a Python bool/int/float as bool/int64/float64; a NumPy scalar as its own type.
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, np.generic):
        return value.dtype
    if isinstance(value, int):
        return np.dtype(np.int64)
    if isinstance(value, float):
        return np.dtype(np.float64)
    raise TypeError(f"Unsupported type {type(value)}")


def nvcc_check(source: str, options: Sequence[str]) -> None:
    """Compile ``source`` to PTX with nvcc (when present); raise CompileException with its log on failure."""
    nvcc = shutil.which("nvcc")
    if nvcc is None or os.environ.get(NVCC_VARIABLE, "1") == "0":
        return
    arch = os.environ.get("GPUNET_STANDIN_ARCH", "sm_90")
    digest = hashlib.sha256("\0".join([nvcc, arch, source, *options]).encode()).hexdigest()[:24]
    marker = Path(tempfile.gettempdir()) / f"gpunet-standin-ptx-{os.getuid() if hasattr(os, 'getuid') else 0}"
    with _lock:
        if digest in _checked or (marker / digest).exists():
            _checked.add(digest)
            return
        marker.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "module.cu"
            path.write_text(source)
            command = [nvcc, f"-arch={arch}", "--ptx", *options, str(path), "-o", str(Path(work) / "module.ptx")]
            result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise CompileException((result.stdout + result.stderr).strip(), source, "module.cu", tuple(options))
        (marker / digest).touch()
        _checked.add(digest)


class RawModule:
    """A module of CUDA kernels (``cupy.RawModule(code=..., options=...)``)."""

    def __init__(self, code: Optional[str] = None, path: Optional[str] = None, options: Sequence[str] = (),
                 backend: str = "nvrtc", name_expressions: Any = None, **kwargs: Any) -> None:
        if code is None:
            if path is None:
                raise TypeError("RawModule needs code= or path=")
            code = Path(path).read_text()
        self.code, self.options = code, tuple(options)
        self.device = _state.current_device()
        self._library: Optional[ctypes.CDLL] = None

    def compile(self, log_stream: Any = None) -> None:
        """Check the source with nvcc and build its host library (both cached)."""
        if self._library is not None:
            return
        nvcc_check(self.code, self.options)
        from gpunet.codegen.runtime.host_build import build_library
        from gpunet.codegen.runtime.host_loop import MATH_HEADER, bind_numpy_math
        from gpunet.errors import BackendError
        # gpunet's kernels (their prelude defines GN_KERNEL) call NumPy's exp and log, as the compiled CPU
        # runner does: float64 results then equal the NumPy path's bit for bit (a GPU's libm differs in last bits)
        numpy_math = "#define GN_KERNEL" in self.code
        try:
            self._library = build_library(MATH_HEADER + self.code if numpy_math else self.code)
        except BackendError as exc:
            raise CompileException(f"host build of the kernels failed: {exc}", self.code) from exc
        if numpy_math:
            bind_numpy_math(self._library)

    def get_function(self, name: str) -> "RawKernel":
        self.compile()
        return RawKernel(self, name)


class RawKernel:
    """One kernel of a :class:`RawModule`; call it as ``kernel(grid, block, args)``."""

    def __init__(self, module: Any, name: str, options: Sequence[str] = ()) -> None:
        if isinstance(module, str):  # cupy.RawKernel(code, name)
            module = RawModule(code=module, options=options)
            module.compile()
        self.module, self.name = module, name
        self.params = kernel_params(module.code, name)
        self._function = getattr(module._library, name)
        self._function.restype = None

    def __call__(self, grid: Any, block: Any, args: Sequence[Any], shared_mem: int = 0, stream: Any = None) -> None:
        grid, block = _dims(grid, "grid"), _dims(block, "block")
        if any(g > 2**31 - 1 for g in grid[:1]) or any(g > 65535 for g in grid[1:]):
            raise ValueError(f"kernel {self.name}: grid {grid} exceeds CUDA's limits")
        if np.prod(block) > 1024:
            raise ValueError(f"kernel {self.name}: block {block} has more than 1024 threads")
        args = tuple(args)
        if len(args) != len(self.params):
            raise TypeError(f"kernel {self.name}: {len(self.params)} arguments expected, got {len(args)}")
        device = self.module.device
        if device != _state.current_device():
            raise ValueError(f"kernel {self.name}: module compiled for device {device}, launched while device "
                             f"{_state.current_device()} is current")
        check_stream_device(self.name)
        converted, reads, writes = [], [], []
        for param, value in zip(self.params, args):
            if param.pointer:
                if not isinstance(value, ndarray):
                    raise TypeError(f"kernel {self.name}: argument {param.name} is a pointer: it needs a device "
                                    f"array, got {type(value)}")
                check_device(value, device, f"kernel {self.name} argument {param.name}")
                converted.append(ctypes.c_void_p(value._a.ctypes.data if value.size else None))
                reads.append(value)
                if not param.const:
                    writes.append(value)
                continue
            expected, got = param.dtype(self.name), _scalar_dtype(value)
            if got != expected:
                raise TypeError(f"kernel {self.name}: argument {param.name} is a C {param.ctype} ({expected}); "
                                f"got {type(value).__name__} of dtype {got}")
            converted.append(_CTYPES[expected](value))
        target = stream if stream is not None else _state.current_stream()
        if getattr(target, "capture", None) is not None:  # recorded for the graph, run by Graph.launch
            target.capture.append((self.name, self._function, converted, reads, writes))
            return
        _state.launches.count(self.name)
        _hazards.operation(f"kernel {self.name}", reads, writes, stream=stream)
        self._function(*converted)


def _dims(value: Any, what: str) -> tuple[int, ...]:
    dims = tuple(int(v) for v in (value if isinstance(value, tuple) else (value,)))
    if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims):
        raise ValueError(f"invalid {what} dimensions {value!r}")
    return dims
