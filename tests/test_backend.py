import logging
import subprocess
import sys

import numpy as np
import pytest

import gpunet as gn
from gpunet.backend import get_backend, gpu_available, gpu_unavailable_reason
from gpunet.errors import BackendError


def test_numpy_backend_is_numpy():
    backend = get_backend("numpy")
    assert backend.xp is np and backend.name == "numpy" and not backend.is_gpu


def test_unknown_backend_name_raises_backend_error():
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        get_backend("tpu")


@pytest.mark.skipif(gpu_available(), reason="a GPU is present")
def test_forcing_cupy_without_gpu_raises_backend_error_with_reason():
    with pytest.raises(BackendError, match="not usable") as info:
        gn.Network(backend="cupy")
    assert gpu_unavailable_reason() in str(info.value)


@pytest.mark.skipif(gpu_available(), reason="a GPU is present")
def test_auto_picks_numpy_without_gpu_and_logs_one_line(caplog):
    with caplog.at_level(logging.INFO, logger="gpunet"):
        net = gn.Network(backend="auto")
    assert net.backend.name == "numpy"
    lines = [r.getMessage() for r in caplog.records if "backend 'auto' chose" in r.getMessage()]
    assert len(lines) == 1 and "numpy" in lines[0]


def test_gpu_available_never_raises_and_returns_bool():
    assert isinstance(gpu_available(), bool)
    assert isinstance(gpu_available(99), bool)


def test_import_without_cupy_does_not_import_cupy():
    code = "import sys, gpunet; gpunet.Network(backend='numpy'); print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _imports_cupy(source: str) -> bool:
    """Whether ``source`` imports the ``cupy`` or ``cupyx`` package itself (at any depth of the file)."""
    import ast
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] in ("cupy", "cupyx") for name in names):
            return True
    return False


def test_imports_cupy_tells_the_package_from_its_neighbours():
    assert _imports_cupy("def f():\n    import cupy.cuda\n")
    assert _imports_cupy("from cupyx.scipy import sparse\n")
    assert not _imports_cupy("from gpunet.backend import cupy_backend\n")


def test_no_cupy_import_outside_backend_package():
    from pathlib import Path
    root = Path(gn.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "backend" not in p.parts and _imports_cupy(p.read_text())]
    assert offenders == []


def test_setup_configures_default_network():
    gn.setup(dt=0.5, seed=7, precision="float32")
    net = gn.default_network()
    assert (net.dt, net.seed, net.precision) == (0.5, 7, np.dtype(np.float32))
    pop = gn.Population(3, gn.Izhikevich)
    assert pop.device_view("v").dtype == np.float32


def test_setup_backend_change_after_objects_is_refused():
    gn.Population(3, gn.Izhikevich)
    with pytest.raises(gn.GpunetError, match="before populations exist"):
        gn.setup(backend="numpy")


def test_expand_ranges_matches_python_on_both_implementations():
    from gpunet.backend.base import Backend
    backend = get_backend("numpy")
    starts = np.array([5, 0, 9, 2])
    counts = np.array([2, 0, 3, 1])
    expected = [5, 6, 9, 10, 11, 2]
    assert backend.expand_ranges(starts, counts).tolist() == expected
    assert Backend.expand_ranges(backend, starts, counts).tolist() == expected
