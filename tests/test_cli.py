"""The ``gpunet`` command, run as a user runs it: in a subprocess."""
import subprocess
import sys
from pathlib import Path

import pytest

import gpunet as gn

sys.path.insert(0, str(Path(__file__).parent / "io"))
from helpers import flip_byte_in_member, small_network  # noqa: E402

pytestmark = pytest.mark.slow  # processes of their own: deselect with -m 'not slow' for a quick run


def gpunet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gpunet", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture
def state_file(tmp_path):
    net = small_network()
    net.simulate(20.0)
    path = tmp_path / "state.npz"
    gn.save(path, network=net)
    return path


def test_demo_runs_restores_and_reports_bit_identical(tmp_path):
    result = gpunet("demo", "--backend", "numpy", "--neurons", "300", "--duration", "200", "--out", tmp_path / "o")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ("backend and device", "neurons", "synapses", "simulated time", "wall time", "snapshots taken",
                "bytes per snapshot", "loop held per snapshot", "load time", "verdict"):
        assert row in out
    assert "bit-identical after restore" in out
    assert "snapshots taken         10" in out
    assert len(list((tmp_path / "o" / "snapshots").glob("snapshot-*.npz"))) == 3


def test_version_and_help():
    assert gpunet("--version").stdout.strip() == f"gpunet {gn.__version__}"
    result = gpunet("--help")
    assert result.returncode == 0 and "demo" in result.stdout and "inspect" in result.stdout


def test_inspect_native_file(state_file):
    result = gpunet("inspect", state_file)
    assert result.returncode == 0, result.stderr
    assert "population pop0: 60 neurons" in result.stdout
    assert "step        20 (t = 20 ms" in result.stdout
    assert "checksums   ok" in result.stdout
    assert "w                float64" in result.stdout


def test_inspect_parameter_file(tmp_path):
    net = small_network()
    net.save_parameters(tmp_path / "p.json")
    result = gpunet("inspect", tmp_path / "p.json")
    assert result.returncode == 0 and "projection proj0: tau_plus=20.0, tau_minus=20.0, A_plus=0.05" in result.stdout
    assert "population pop0: \n" in result.stdout  # Izhikevich has no global parameter


def test_verify_good_and_corrupt_files(state_file, tmp_path):
    good = gpunet("verify", state_file)
    assert good.returncode == 0 and good.stdout.startswith("OK")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(flip_byte_in_member(state_file, "projection/proj0/w.npy", 300))
    result = gpunet("verify", bad)
    assert result.returncode == 1 and result.stdout.startswith("FAIL") and str(bad) in result.stdout


def test_convert_between_formats_and_diff(state_file, tmp_path):
    converted = tmp_path / "copy.npz"
    result = gpunet("convert", state_file, converted)
    assert result.returncode == 0, result.stderr
    same = gpunet("diff", state_file, converted)
    assert same.returncode == 0 and "no differences" in same.stdout
    net = small_network()
    net.simulate(25.0)
    other = tmp_path / "other.npz"
    gn.save(other, network=net)
    differ = gpunet("diff", state_file, other)
    assert differ.returncode == 1
    assert "step: 20 != 25" in differ.stdout and "pop0.v: max |a - b| =" in differ.stdout
    assert "first difference at index" in differ.stdout


def test_errors_are_one_line_with_nonzero_status(tmp_path):
    result = gpunet("inspect", tmp_path / "missing.npz")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "FormatError" in lines[0] and "no such file" in lines[0]
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    result = gpunet("inspect", garbage)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    result = gpunet("--debug", "inspect", tmp_path / "missing.npz")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_wrong_arguments_exit_with_usage():
    result = gpunet("convert", "only-one-argument")
    assert result.returncode == 2 and "usage:" in result.stderr
    result = gpunet("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_convert_refuses_json_target(state_file, tmp_path):
    result = gpunet("convert", state_file, tmp_path / "x.json")
    assert result.returncode == 2 and "cannot hold a network state" in result.stderr
