"""The README's test command runs the GPU code paths too: the ``-m gpu`` tests on the CuPy stand-in.

The stand-in replaces CuPy for a whole process (``GPUNET_CUPY_STANDIN=1`` is read when gpunet is
imported), so the GPU tests run in a child pytest.  None of them may skip for want of a device.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes of their own: deselect with -m 'not slow' for a quick run

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("GPUNET_CUPY_STANDIN") == "1", reason="already running on the stand-in")
def test_every_gpu_test_passes_on_the_cupy_standin():
    env = {**os.environ, "GPUNET_CUPY_STANDIN": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-p", "no:cacheprovider", "-q", "-rs",
                             "tests"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert not re.search(r"^SKIPPED .*(CUDA device|needs a GPU|second CUDA)", output, re.M), output[-6000:]
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 40, output[-2000:]
