"""Every script in examples/ runs, at a reduced size, as a user runs it (a subprocess), and does what it says."""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# script -> (reduced arguments, extra environment, PNG it writes into --out or None)
RUNS = {
    "izhikevich_pulse_coupled.py": (["--neurons", "100", "--duration", "100", "--backend", "numpy"], {},
                                    "izhikevich_raster.png"),
    "stdp_weight_histogram.py": (["--inputs", "100", "--outputs", "2", "--duration", "300", "--backend", "numpy"],
                                 {}, "stdp_weights.png"),
    "oja_rate_network.py": (["--inputs", "8", "--duration", "1500", "--backend", "numpy"], {}, "oja_weights.png"),
    "poisson_conductance.py": (["--groups", "2", "--neurons", "5", "--duration", "100", "--backend", "numpy"], {},
                               "poisson_conductance.png"),
    "snapshot_resume.py": (["--neurons", "50", "--duration", "300", "--every", "20"], {}, None),
    "gpu_to_laptop.py": (["--neurons", "50", "--duration", "100"], {"GPUNET_CUPY_STANDIN": "1"}, None),
    "parameter_sweep.py": (["--points", "2", "--duration", "200"], {}, "sweep.png"),
    "reference_parameters.py": ([], {}, None),
}

pytestmark = pytest.mark.slow  # eight interpreters, two at a time: about 15 s on 2 idle cores


def _run(script: str, out: Path) -> str:
    arguments, extra_env, _ = RUNS[script]
    env = {key: value for key, value in os.environ.items() if key != "GPUNET_CUPY_STANDIN"}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), MPLBACKEND="Agg",
               **extra_env)
    if script == "reference_parameters.py":  # its one argument is the file to write
        out.mkdir()
        arguments = [str(out / "network.json")]
    else:
        arguments = [*arguments, "--out", str(out)]
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *arguments], capture_output=True, text=True,
                          env=env, cwd=out.parent, timeout=120)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Every example run once, two at a time (each is mostly one interpreter's start-up): script -> (stdout or
    the exception it raised, its --out folder)."""
    pytest.importorskip("matplotlib")
    folders = {script: tmp_path_factory.mktemp(script.removesuffix(".py")) / "out" for script in RUNS}

    def attempt(script: str):
        try:
            return _run(script, folders[script])
        except BaseException as error:  # reported by the test of this script
            return error
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(RUNS, pool.map(attempt, RUNS)))
    return {script: (results[script], folders[script]) for script in RUNS}


def test_every_example_is_run_here():
    assert sorted(RUNS) == sorted(path.name for path in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs_and_writes_its_figure(script, runs):
    stdout, out = runs[script]
    if isinstance(stdout, BaseException):
        raise stdout
    figure = RUNS[script][2]
    if figure is not None:
        assert (out / figure).read_bytes()[:8] == PNG_SIGNATURE
        assert f"wrote {out / figure}" in stdout
    if script == "oja_rate_network.py":  # the weights found the principal component, with Oja's norm
        norm, cosine = map(float, re.search(r"\|w\| = ([\d.]+) .* component ([\d.]+)", stdout).groups())
        assert cosine > 0.99 and 0.8 < norm < 1.1, stdout
    elif script == "snapshot_resume.py":
        assert "killed the simulating process (SIGKILL)" in stdout
        assert re.search(r"t = \d+ ms: the resumed run is bit-identical to the uninterrupted one", stdout)
    elif script == "gpu_to_laptop.py":
        assert "training on CuPy stand-in (no GPU)" in stdout
        assert re.search(r"loaded on NumPy: t = 100 ms, \d+ weights equal to the GPU's", stdout)
    elif script == "parameter_sweep.py":  # each point ran with its own file's A_minus
        points = [json.loads((out / f"point-{k:03d}.json").read_text()) for k in range(2)]
        assert [p["network"]["ratio"] for p in points] == [0.9, 1.3]
        assert [p["projections"]["plastic"]["A_minus"] for p in points] == pytest.approx([0.027, 0.039])
        ratios = [float(r) for r in re.findall(r"A_minus / A_plus = ([\d.]+)", stdout)]
        assert ratios == [0.9, 1.3]
    elif script == "reference_parameters.py":
        assert json.loads((out / "network.json").read_text())["projections"]["proj0"]["w_max"] == 0.03
    elif script == "izhikevich_pulse_coupled.py":
        assert re.search(r"100 neurons, 100 ms: excitatory [\d.]+ Hz, inhibitory [\d.]+ Hz", stdout)
