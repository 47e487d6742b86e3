"""Compile CUDA sources with ``nvcc --ptx``: the CI check that every generated kernel compiles.

Device code only (``--ptx``), with the options the runtime uses
(:data:`gpunet.codegen.cuda.codegen.COMPILE_OPTIONS`), files in parallel.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from gpunet.codegen.cuda.codegen import COMPILE_OPTIONS

DEFAULT_ARCH = "sm_90"


@dataclass(frozen=True)
class CompileResult:
    """Outcome of compiling one file."""

    path: Path
    ok: bool
    seconds: float
    output: str

    def line(self) -> str:
        """One line for a report: status, file, time and, on failure, the first error."""
        status = "ok  " if self.ok else "FAIL"
        first_error = ""
        if not self.ok:
            errors = [ln for ln in self.output.splitlines() if "error" in ln.lower()] or self.output.splitlines()
            first_error = f"  {errors[0].strip()}" if errors else ""
        return f"{status} {self.path.name} ({self.seconds:.2f} s){first_error}"


def find_nvcc() -> Optional[str]:
    """Path of ``nvcc`` (``PATH``, then ``$CUDA_HOME/bin`` and ``$CUDA_PATH/bin``), or None."""
    found = shutil.which("nvcc")
    if found:
        return found
    for variable in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(variable)
        if root and (Path(root) / "bin" / "nvcc").is_file():
            return str(Path(root) / "bin" / "nvcc")
    return None


def ptx_command(nvcc: str, source: Path, output: Path, arch: str = DEFAULT_ARCH) -> list[str]:
    """The nvcc command that compiles ``source`` to PTX for ``arch``."""
    return [nvcc, f"-arch={arch}", "--ptx", *COMPILE_OPTIONS, str(source), "-o", str(output)]


def compile_ptx(source: Path, nvcc: str, arch: str = DEFAULT_ARCH, directory: Optional[Path] = None) -> CompileResult:
    """Compile one file to PTX (written into ``directory``, a temporary folder by default)."""
    source = Path(source)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(directory or scratch) / (source.stem + ".ptx")
        try:
            result = subprocess.run(ptx_command(nvcc, source, output, arch), capture_output=True, text=True)
            ok, text = result.returncode == 0, (result.stdout + result.stderr).strip()
        except OSError as exc:
            ok, text = False, f"could not run {nvcc}: {exc}"
    return CompileResult(source, ok, time.perf_counter() - start, text)


def compile_all(sources: Sequence[Path], nvcc: str, arch: str = DEFAULT_ARCH, jobs: Optional[int] = None,
                directory: Optional[Path] = None) -> list[CompileResult]:
    """Compile every source (``jobs`` at a time, default one per CPU); results in the order given."""
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda path: compile_ptx(path, nvcc, arch, directory), sources))
