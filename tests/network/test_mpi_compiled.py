"""The compiled CPU runner under comm (mpi/compiled_run.py, one mpiexec of 3 processes that also runs 2 and 1):
bit-identical to one process running the NumPy array code.

The engine-test network (noise, per-synapse delays, STDP, rate-coded projections reading ``pre.r`` and
``pre.sum``, scheduled inputs, a current injection) runs each step in two calls of the loop; the spiking network
runs whole exchange intervals per call.  Snapshots taken by 3 processes with the compiled runner restore onto 3,
2 and 1 and continue with the same bits.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.slow]  # slow: starts processes of its own

from gpunet.codegen.runtime.host_build import find_compiler  # noqa: E402

HERE = Path(__file__).with_name("mpi")
sys.path.insert(0, str(HERE))
from compiled_run import spiking_run  # noqa: E402
from engine_network import build, build_and_assign, build_spiking, results  # noqa: E402
from test_mpi_engine import assert_same_results, load_npz, mpiexec  # noqa: E402

pytestmark.append(pytest.mark.skipif(find_compiler() is None, reason="no host C++ compiler (c++, g++, clang++)"))


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compiled")
    done = subprocess.run([mpiexec(), "-n", "3", sys.executable, str(HERE / "compiled_run.py"), str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for nprocs in (1, 2, 3):  # one log line per process says which runner runs, and how
        for rank in range(nprocs):
            assert (f"runner (process {rank} of {nprocs}): compiled (C++ step loop of this process's blocks, two "
                    "calls per step") in done.stderr
            assert (f"runner (process {rank} of {nprocs}): compiled (C++ step loop of this process's blocks, chunks "
                    "of up to 3 steps") in done.stderr
    return folder


def parts(out: Path, nprocs: int) -> list[dict]:
    return [json.loads((out / f"n{nprocs}" / f"part-{rank}.json").read_text()) for rank in range(nprocs)]


def after_snapshot(make) -> dict:
    """One process, NumPy: 101 ms, monitors emptied, 99 ms more (what the runs restored from step 101 record)."""
    net = make(None)
    net.simulate(101.0)
    for monitor in net.monitors:
        monitor.get()
    net.simulate(99.0)
    return results(net)


@pytest.fixture(scope="module")
def expected() -> dict:
    """One process, NumPy: the engine-test network and the spiking one (learning off from 80 to 100 ms)."""
    reference = build_and_assign(None)
    reference.simulate(200.0)
    assert reference.runner_in_use == "numpy"
    spiking = build_spiking(None)
    spiking_run(spiking)
    return {"reference": results(reference), "spiking": results(spiking)}


@pytest.mark.parametrize("nprocs", [1, 2, 3])
def test_the_compiled_runner_on_n_processes_gives_the_bits_of_one_numpy_process(out, expected, nprocs):
    found = load_npz(out / f"n{nprocs}" / "results.npz")
    assert sorted(found) == sorted(expected["reference"])
    assert_same_results(found, expected["reference"])
    spiking = expected["spiking"]
    assert_same_results(load_npz(out / f"n{nprocs}" / "results-spiking.npz"), spiking)
    assert spiking["m_exc.spike"].shape[1] > 50 and spiking["m_view.spike"].shape[1] > 5
    assert not np.array_equal(spiking["stdp.w"], results(build_spiking(None))["stdp.w"])
    for part in parts(out, nprocs):
        # every step of the engine-test network in two calls of the loop; spikes exchanged every 2 steps
        assert part["reference"]["runner"] == part["reference"]["kind"] == "compiled"
        assert part["reference"]["calls"] == 400 and part["reference"]["array_steps"] == 0
        assert part["reference"]["exchange"][0] == 100
        # the spiking network: 20 steps without learning in the array code, the 180 others in chunks (3 steps
        # between exchanges, shorter before the 10-ms records of v): far fewer calls than steps
        assert part["spiking"]["runner"] == "compiled" and part["spiking"]["array_steps"] == 20
        assert 180 // 3 <= part["spiking"]["calls"] < 90
        assert part["spiking"]["exchange"][0] == 200 // 3  # the last 2 steps' spikes stay buffered
        assert part["restored"] == part["restored-spiking"] == {"runner": "compiled", "array_steps": 0}
    # each process sends its own spikes once: one int64 per spike of steps 0..197 of the exchanged populations
    sent = sum(part["spiking"]["exchange"][1] for part in parts(out, nprocs))
    spikes = sum(int(np.count_nonzero(spiking[f"{name}.spike"][1] < 198)) for name in ("m_exc", "m_inp", "m_hc"))
    spikes += sum(len(range(3 + k, 198, 7 + k)) for k in range(6))  # the SpikeSourceArray's
    assert sent == 8 * spikes


def test_snapshots_taken_with_the_compiled_runner_restore_onto_3_2_and_1_processes_bit_for_bit(out, tmp_path):
    import gpunet as gn
    sys.path.insert(0, str(HERE.parents[1] / "io"))
    from state_examples import assert_states_equal

    first = out / "n3"
    for make, suffix in ((build, ""), (build_spiking, "-spiking")):
        plain = make(None)
        plain.simulate(101.0)  # mid-interval for both networks: spikes buffered, not exchanged yet
        plain.save(tmp_path / f"one{suffix}.npz")
        assert_states_equal(gn.read_state(first / f"s{suffix}.shards"), gn.read_state(tmp_path / f"one{suffix}.npz"))
        expected = after_snapshot(make)
        assert_same_results(load_npz(first / f"uninterrupted{suffix}.npz"), expected)
        for nprocs in (1, 2, 3):
            assert_same_results(load_npz(out / f"n{nprocs}" / f"restored{suffix}.npz"), expected)
    # the periodic snapshots of the spiking run (chunks end at them): the newest, step 198, is one process's state
    latest = sorted((first / "snaps").glob("*.shards"))[-1]
    assert latest.name.endswith("-000000000198.shards")
    at_198 = build_spiking(None)
    at_198.simulate(198.0)
    at_198.save(tmp_path / "at198.npz")
    assert_states_equal(gn.read_state(latest), gn.read_state(tmp_path / "at198.npz"))
