"""benchmarks/suite.py's gpunet part on tiny sizes (no ANNarchy): every network builds, runs its protocol, and
the compiled runner (where a C++ compiler exists) leaves the NumPy runner's state bit for bit."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("gpunet_benchmark_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_suite_runs_every_network_on_tiny_sizes(suite):
    lines = []
    runners = suite.available_runners()
    results = suite.run_suite(list(suite.CASES), "tiny", runners, python=None, out=lines.append)
    assert list(results) == list(suite.CASES)
    for key, rows in results.items():
        protocol = suite.CASES[key].protocol("tiny")
        dt = 0.1 if key == "poisson_if" else 1.0
        assert set(rows) == set(runners)
        for runner, row in rows.items():
            assert row["steps"] == round(protocol.calls * protocol.ms / dt)
            assert row["runner"] == runner
            assert row["simulate_s"] > 0
        if "compiled" in rows:
            numpy_state, compiled_state = rows["numpy"]["state"], rows["compiled"]["state"]
            assert numpy_state.keys() == compiled_state.keys()
            assert all(np.array_equal(numpy_state[k], compiled_state[k]) for k in numpy_state), key
    assert lines[0].startswith("izh_ei_1m: ") and any("us/step" in line for line in lines)
    if "compiled" in runners:
        assert sum("state bit-identical to numpy" in line for line in lines) == len(suite.CASES)


def test_suite_command_line_rejects_unknown_networks(suite, capsys):
    with pytest.raises(SystemExit):
        suite.main(["--networks", "nope", "--no-annarchy"])
    assert "unknown network" in capsys.readouterr().err


def test_threads_add_a_compiled_row_per_network_with_numpys_bits(suite):
    """--threads 2: a ``compiled-2t`` row (num_threads=2) beside the one-thread rows, the same final state."""
    if "compiled" not in suite.available_runners():
        pytest.skip("no host C++ compiler")
    lines = []
    results = suite.run_suite(["stdp_2x10000", "rate_oja_1m"], "tiny", ["numpy", "compiled"], python=None,
                              out=lines.append, threads=2)
    for rows in results.values():
        assert list(rows) == ["numpy", "compiled", "compiled-2t"]
        assert all(np.array_equal(rows["numpy"]["state"][k], v) for k, v in rows["compiled-2t"]["state"].items())
    assert sum(line.startswith("  compiled-2t ") and "bit-identical" in line for line in lines) == 2
    with pytest.raises(SystemExit):
        suite.main(["--threads", "0", "--no-annarchy"])
