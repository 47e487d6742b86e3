"""Sharded saves by real MPI processes (mpiexec from the mpich wheel of the ``mpi`` extra, which ``test`` includes)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpunet as gn
from gpunet.io.formats import state_shards

pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.slow]  # slow: starts processes of its own

SCRIPT = Path(__file__).with_name("mpi_sharded_save.py")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402
from state_examples import assert_states_equal  # noqa: E402


def mpiexec() -> str:
    beside = Path(sys.executable).with_name("mpiexec")  # the one of the environment that has mpi4py
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: install the mpi extra (pip install -e '.[mpi]')")
    return found


def run(nprocs: int, mode: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([mpiexec(), "-n", str(nprocs), sys.executable, str(SCRIPT), mode, str(out)],
                          capture_output=True, text=True, timeout=180)


def test_two_processes_save_their_shards_a_failure_on_one_fails_the_save_or_load_on_both(tmp_path):
    done = run(2, "save", tmp_path)
    assert done.returncode == 0, done.stderr
    statuses = [(tmp_path / f"status-{r}.txt").read_text() for r in range(2)]
    # the third save failed on process 1 (its own error) and so on process 0 (told by process 0's verdict)
    assert statuses[1].startswith("error FileAccessError") and "No space left on device (injected)" in statuses[1]
    assert statuses[0].startswith("error GpunetError") and "process 1: " in statuses[0]
    assert "the folder's previous snapshot stays the committed one" in statuses[0]
    # ... so the folder holds the step-30 save: two shards, the step-20 save's shards removed
    manifest = state_shards.read_manifest(tmp_path / "a.shards")
    assert manifest["nprocs"] == 2 and manifest["step"] == 30
    assert manifest["objects"][0]["rows"] == [[0, 20], [20, 40]]
    assert sorted(p.name for p in (tmp_path / "a.shards").iterdir()) == sorted(
        ["manifest.json"] + [s["file"] for s in manifest["shards"]])
    assert state_shards.verify_files(tmp_path / "a.shards") == []
    # a load by both processes: a failure on process 1 changes neither network; then both load step 30
    loads = [(tmp_path / f"load-{r}.txt").read_text().splitlines() for r in range(2)]
    assert loads[1][0].startswith("FormatError") and "unreadable here (injected)" in loads[1][0]
    assert loads[0][0].startswith("GpunetError") and "the load failed on 1 of 2 processes" in loads[0][0]
    assert "process 1: FormatError" in loads[0][0]
    assert [load[1:] for load in loads] == [["unchanged=True", "then step 30"]] * 2
    # the spike exchange: each process recorded its own rows, each received the whole raster
    sys.path.insert(0, str(SCRIPT.parent))
    from mpi_sharded_save import raster
    expected = repr([{k: v.tolist() for k, v in step.items()} for step in raster()])
    exchanged = [(tmp_path / f"exchange-{r}.txt").read_text().splitlines() for r in range(2)]
    assert [lines[0] for lines in exchanged] == [expected] * 2
    total = sum(len(ids) for step in raster() for ids in step.values())
    assert sum(int(lines[1]) for lines in exchanged) == 8 * total
    # periodic snapshots of both processes (.shards automatically), and load_latest on both
    latest = [(tmp_path / f"latest-{r}.txt").read_text().splitlines() for r in range(2)]
    assert latest[0] == latest[1] and latest[0][0].endswith("-000000000012.shards")
    assert latest[0][1:] == ["step 12", "same v True", "recorded 12 steps, the same True"]  # with recordings
    assert [step for step, _ in gn.list_snapshots(tmp_path / "snaps")] == [8, 12]
    # the folder equals the one-process state after 30 steps, and a single process continues it bit-identically
    net = small_network(seed=5, neurons=40)
    net.simulate(30.0)
    one = tmp_path / "one.npz"
    net.save(one)
    assert_states_equal(gn.read_state(tmp_path / "a.shards"), gn.read_state(one))
    fresh = small_network(seed=5, neurons=40)
    fresh.load(tmp_path / "a.shards")
    net.simulate(10.0)
    fresh.simulate(10.0)
    assert_same_state(snapshot(fresh), snapshot(net))


def test_a_process_killed_during_a_sharded_snapshot_leaves_the_previous_one_and_load_latest_picks_it(tmp_path):
    done = run(3, "kill", tmp_path)
    assert done.returncode != 0
    assert not list(tmp_path.glob("status-*"))
    snapshots = gn.list_snapshots(tmp_path / "snaps")
    assert [(step, path.suffix) for step, path in snapshots] == [(10, ".shards"), (20, ".shards")]
    net = small_network(seed=5, neurons=40)
    net.simulate(20.0)
    fresh = small_network(seed=5, neurons=40)
    assert gn.load_latest(tmp_path / "snaps", network=fresh) == snapshots[-1][1]
    assert state_shards.read_manifest(snapshots[-1][1])["nprocs"] == 3
    assert_same_state(snapshot(fresh), snapshot(net))
    net.simulate(10.0)
    fresh.simulate(10.0)
    assert_same_state(snapshot(fresh), snapshot(net))
