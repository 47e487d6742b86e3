"""GPUNET_CUPY_STANDIN=1 makes gpunet use the CuPy stand-in, and every description says so (a fresh process)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
import gpunet  # installs the stand-in as cupy and cupyx
import cupy, cupyx.scipy.sparse
from gpunet.backend import get_backend
print("standin", cupy.IS_STANDIN, cupyx.scipy.sparse.csr_matrix.__module__)
print("available", gpunet.gpu_available(0), gpunet.gpu_available(1), gpunet.gpu_available(2))
backend = get_backend("auto", device=1)
print("describe", backend.describe())
net = gpunet.Network(backend="cupy", seed=1, device=1)
pop = net.create(5, gpunet.Izhikevich)
net.simulate(3.0)
print("device", pop.device_view("v").device.id, pop.v.shape)
"""


def test_the_environment_variable_switches_gpunet_to_the_stand_in():
    env = dict(os.environ, GPUNET_CUPY_STANDIN="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "standin True gpunet.testing.cupy_standin.cupyx.scipy.sparse" in lines
    assert "available True True False" in lines
    assert ("gpunet: backend 'auto' chose CuPy stand-in (no GPU), cupy API 13.0.0, stand-in device 1"
            in lines)
    assert "describe CuPy stand-in (no GPU), cupy API 13.0.0, stand-in device 1" in lines
    assert "device 1 (5,)" in lines


def test_without_the_variable_gpunet_does_not_install_it():
    env = {k: v for k, v in os.environ.items() if k != "GPUNET_CUPY_STANDIN"}
    env["PYTHONPATH"] = str(ROOT)
    code = "import sys, gpunet; print('cupy' in sys.modules and getattr(sys.modules['cupy'], 'IS_STANDIN', False))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
