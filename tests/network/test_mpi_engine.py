"""One network simulated by N processes under mpiexec (the distributed engine): bit-identical to one process.

One mpiexec run per N (the CI budget): N = 3 also saves a snapshot, which N = 2 restores (see mpi/engine_run.py).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.slow]  # slow: starts processes of its own

HERE = Path(__file__).with_name("mpi")
sys.path.insert(0, str(HERE))
from engine_network import build, build_and_assign, build_uneven, results  # noqa: E402

from gpunet.io.pipeline.restore import LoadWarning  # noqa: E402


def mpiexec() -> str:
    beside = Path(sys.executable).with_name("mpiexec")  # the one of the environment that has mpi4py
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: install the mpi extra (pip install -e '.[mpi]')")
    return found


def run(nprocs: int, out: Path, *options: str) -> Path:
    out.mkdir()
    done = subprocess.run([mpiexec(), "-n", str(nprocs), sys.executable, str(HERE / "engine_run.py"), str(out),
                           *options], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[int, Path]:
    """The output folder of the run by N processes, for N = 1..4."""
    root = tmp_path_factory.mktemp("engine")
    folders = {3: run(3, root / "n3", "--snapshot")}
    with_recordings = build(None)  # a single file with recordings, for 2 processes
    with_recordings.simulate(101.0)
    with_recordings.save(folders[3] / "m.npz", monitors=True)
    other = build(None, seed=7, recurrent_delay=1.0)  # another connectivity (minimum delay 1 step), in one file
    other.simulate(30.0)
    other.save(folders[3] / "other.npz")
    uneven = build_uneven(None)
    uneven.simulate(20.0)
    uneven.save(folders[3] / "uneven.npz")
    folders[2] = run(2, root / "n2", "--restore", str(folders[3]))
    folders[1] = run(1, root / "n1")
    folders[4] = run(4, root / "n4")
    return folders


@pytest.fixture(scope="module")
def one_process() -> dict:
    net = build_and_assign(None)
    net.simulate(200.0)
    return results(net)


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_n_processes_give_the_spikes_v_and_w_of_one_process_bit_for_bit(runs, one_process, nprocs):
    folder = runs[nprocs]
    with np.load(folder / "results.npz") as archive:
        gathered = {key: archive[key] for key in archive.files}
    assert sorted(gathered) == sorted(one_process)
    for key, expected in one_process.items():
        assert gathered[key].dtype == expected.dtype, key
        assert np.array_equal(gathered[key], expected), key
    # the run is not trivial: spikes, plasticity and noise all act
    assert one_process["m_exc.spike"].shape[1] > 50 and one_process["m_inp.spike"].shape[1] > 200
    assert not np.array_equal(one_process["m_oja.w"][0], one_process["m_oja.w"][-1])
    # pre.sum / post.sum and the semiglobal variable act; the views record in their order; the schedules run
    assert not np.array_equal(one_process["m_sums.w"][0], one_process["m_sums.w"][-1])
    assert len(np.unique(one_process["m_sums.a"][-1])) == len(one_process["sums.a"]) == 11
    view = [30, 2, 17, 9, 36, 0, 21]
    assert np.array_equal(one_process["m_view.v"], one_process["m_exc.v"][::3, view])
    by_rank = one_process["m_exc.spike"]
    expected = np.concatenate([by_rank[:, by_rank[0] == rank] for rank in view], axis=1)  # the view's order
    assert np.array_equal(one_process["m_view.spike"], expected)
    assert one_process["m_view.spike"].shape[1] > 5
    assert one_process["ta.r"].tolist() == [0.1 * ((7 + i) % 5) for i in range(11)]  # row 1 again (period 150)
    assert one_process["m_tp.spike"].shape[1] > 20 and one_process["m_hc.spike"].shape[1] > 20
    # each process held its own block of every population and the synapses onto it, and exchanged spikes
    # once per minimum-delay interval (2 steps: 100 exchanges in 200 steps)
    parts = [json.loads((folder / f"part-{r}.json").read_text()) for r in range(nprocs)]
    for name, size in (("inp", 23), ("exc", 37), ("source", 6), ("rin", 17), ("rout", 11)):
        blocks = [tuple(part[name]) for part in parts]
        firsts = [first for first, _ in blocks]
        counts = [count for _, count in blocks]
        assert counts == [len(b) for b in np.array_split(np.arange(size), nprocs)], name
        assert firsts == np.concatenate(([0], np.cumsum(counts)[:-1])).tolist(), name
    for name in ("stdp", "recurrent", "timed", "oja", "rrec", "sums", "inject", "fromtp"):
        counts = [part[name] for part in parts]
        assert sum(counts) == len(one_process[f"{name}.w"]), name
    assert [part["exchange"][:2] for part in parts] == [[2, 100]] * nprocs
    spikes = sum(one_process[f"{name}.spike"].shape[1] for name in ("m_exc", "m_inp", "m_tp", "m_hc"))
    spikes += sum(len(range(3 + k, 200, 7 + k)) for k in range(6))  # the SpikeSourceArray's, all before 200 ms
    assert sum(part["exchange"][2] for part in parts) == 8 * spikes  # one int64 per spike, sent once


def load_npz(path: Path) -> dict:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def assert_same_results(found: dict, expected: dict, keys=None) -> None:
    for key in keys if keys is not None else expected:
        assert found[key].dtype == expected[key].dtype, key
        assert np.array_equal(found[key], expected[key]), key


def test_a_snapshot_of_3_processes_continues_bit_for_bit_on_2_and_on_1(runs, tmp_path):
    import gpunet as gn
    from gpunet.io.formats import state_shards
    sys.path.insert(0, str(HERE.parents[1] / "io"))
    from state_examples import assert_states_equal

    three, two = runs[3], runs[2]
    # with several processes, saving to a single file is refused on every process
    for rank in range(3):
        single = (three / f"refused-{rank}.txt").read_text()
        assert single.startswith("FormatError") and "3 processes save together into a .shards folder" in single
    assert not (three / "x.npz").exists()
    # the folder 3 processes saved at step 101 (one step of spikes not exchanged yet) is the one-process state
    assert state_shards.read_manifest(three / "s.shards")["nprocs"] == 3
    plain = build(None)
    plain.simulate(101.0)
    plain.save(tmp_path / "one.npz")
    assert_states_equal(gn.read_state(three / "s.shards"), gn.read_state(tmp_path / "one.npz"))
    for monitor in plain.monitors:
        monitor.get()
    plain.simulate(99.0)
    expected = results(plain)
    # uninterrupted on 3, restored on 2, restored on 1 (plain gn.load): the same bits
    assert_same_results(load_npz(three / "uninterrupted.npz"), expected)
    assert_same_results(load_npz(two / "restored.npz"), expected)
    assert_same_results(load_npz(two / "restored-compiled.npz"), expected)  # each process read only its rows
    one = build(None)
    one.load(three / "s.shards")
    one.simulate(99.0)
    assert_same_results(results(one), expected)
    # load_latest by 2 processes took the newest periodic snapshot of the 3 (step 198)
    assert (two / "latest.txt").read_text().endswith("-000000000198.shards")
    at_198 = build(None)
    at_198.simulate(198.0)
    state_keys = [key for key in expected if not key.startswith("m_")]
    assert_same_results(load_npz(two / "latest.npz"), results(at_198), state_keys)


def test_recordings_saved_by_3_processes_resume_on_3_on_2_and_on_1_as_if_never_stopped(runs, tmp_path):
    """``m.shards`` (3 processes, with recordings, step 101) is the one-process file with recordings; loaded on
    3, on 2 (before compile) and on 1, and a single file with recordings loaded on 2 (compiled), every monitor
    goes on recording: after 99 ms more, all record what the uninterrupted run records."""
    import gpunet as gn
    from gpunet.io.formats import state_npz

    plain = build(None)
    plain.simulate(101.0)
    plain.save(tmp_path / "one.npz", monitors=True)
    assert state_npz.dumps(gn.read_state(runs[3] / "m.shards")) == state_npz.dumps(gn.read_state(tmp_path / "one.npz"))
    plain.simulate(99.0)
    expected = results(plain)
    assert expected["m_exc.spike"].shape[1] > 100 and expected["m_view.spike"].shape[1] > 5
    one = build(None)
    one.load(runs[3] / "m.shards")
    one.simulate(99.0)
    for found in (load_npz(runs[3] / "monitors-3.npz"), load_npz(runs[2] / "monitors-2.npz"),
                  load_npz(runs[2] / "monitors-2-single.npz"), results(one)):
        assert sorted(found) == sorted(expected)
        assert_same_results(found, expected)


def test_a_compiled_network_reads_only_the_shards_of_its_rows_and_a_torn_one_fails_on_every_process(runs):
    from gpunet.io.pipeline.partition import block_bounds
    two = runs[2]
    sizes = {"inp": 23, "exc": 37, "source": 6, "rin": 17, "rout": 11, "ta": 11, "currents": 37, "tp": 9, "hc": 7}
    for rank in range(2):
        needed = set()  # the shards of 3 processes holding rows of this process of 2
        for size in sizes.values():
            lo, hi = block_bounds(size, 2)[rank:rank + 2]
            three = block_bounds(size, 3)
            needed |= {shard for shard in range(3) if three[shard] < hi and lo < three[shard + 1]}
        assert json.loads((two / f"opened-{rank}.json").read_text()) == sorted(needed) == [rank, rank + 1]
    # the last shard is torn: process 1 (rows in it) fails reading it, process 0 (rows in shards 0, 1) does not,
    # and neither network changed
    torn = [(two / f"torn-{rank}.txt").read_text().splitlines() for rank in range(2)]
    assert torn[1][0].startswith("FormatError") and "shard-" in torn[1][0] and "00002.npz" in torn[1][0]
    assert torn[0][0].startswith("GpunetError") and "the load failed on 1 of 2 processes" in torn[0][0]
    assert "process 1: FormatError" in torn[0][0]
    assert torn[0][1] == torn[1][1] == "True"


def _data_bytes(state) -> int:
    from gpunet.io.formats import state_npz
    return sum(np.asarray(a).nbytes for obj in state.populations + state.projections
               for a in state_npz.object_arrays(obj).values())


def test_each_process_reads_only_the_blocks_of_its_rows_and_a_corrupted_block_fails_the_load_on_all(runs):
    """The 3-process snapshot (blocks of about 256 bytes) loaded by 2 processes: each read about its share of
    the data, not the shards holding it; a block of shard 1 that only process 1 reads, corrupted, fails the
    load on both, naming the shard, object and variable, and changes neither network."""
    import gpunet as gn
    from gpunet.io.pipeline.partition import Partition
    from gpunet.io.pipeline.shard_state import cut

    whole = gn.read_state(runs[3] / "s.shards")
    partition = Partition.of({pop.name: pop.size for pop in whole.populations}, 2)
    shards = sum(_data_bytes(gn.read_state(path)) for path in (runs[3] / "s.shards").glob("shard-*.npz"))
    for rank in range(2):
        read = json.loads((runs[2] / f"read-{rank}.json").read_text())
        share = _data_bytes(cut(whole, partition, rank))
        assert read["block_reads"] > 0 and share <= read["data_bytes"] <= 1.15 * share, (read, share)
        assert read["data_bytes"] < 0.58 * shards  # its half and a few blocks; the 2 shards it opened hold 2/3
    corrupt = [(runs[2] / f"corrupt-{rank}.txt").read_text().splitlines() for rank in range(2)]
    assert corrupt[1][0].startswith("FormatError") and "corrupt.shards/shard-" in corrupt[1][0]
    assert "00001.npz: object 'stdp', array 'w': block" in corrupt[1][0] and "bad CRC-32" in corrupt[1][0]
    assert corrupt[0][0].startswith("GpunetError") and "the load failed on 1 of 2 processes" in corrupt[0][0]
    assert "process 1: FormatError" in corrupt[0][0] and "object 'stdp', array 'w': block" in corrupt[0][0]
    assert corrupt[0][1] == corrupt[1][1] == "True"


def test_every_process_keeps_spike_rings_of_one_depth_so_shards_join(runs, tmp_path):
    """The longest delays are on the synapses of process 1 only (at compile, and after a load that rebuilds the
    synapses of process 1 only): both shards hold rings of the depth one process has, and load on one process."""
    import gpunet as gn
    sys.path.insert(0, str(HERE.parents[1] / "io"))
    from state_examples import assert_states_equal

    plain = build_uneven(None)
    plain.simulate(12.0)
    plain.save(tmp_path / "uneven.npz")
    assert_states_equal(gn.read_state(runs[2] / "uneven.shards"), gn.read_state(tmp_path / "uneven.npz"))
    short = build_uneven(None, long_delay=2.0)
    short.simulate(5.0)
    short.load(runs[3] / "uneven.npz")
    short.simulate(10.0)
    short.save(tmp_path / "loaded.npz")
    assert gn.read_state(tmp_path / "loaded.npz").population("src").internal["_spike_history"].shape[0] == 9
    assert_states_equal(gn.read_state(runs[2] / "uneven-loaded.shards"), gn.read_state(tmp_path / "loaded.npz"))


def test_a_single_file_of_another_connectivity_loads_onto_2_processes_before_and_after_compile(runs):
    """The file's connectivity, delays included (its minimum delay is 1 step: the exchange follows)."""
    plain = build(None)
    with pytest.warns(LoadWarning, match="monitor 'm_oja' drops what it recorded before the load"):
        plain.load(runs[3] / "other.npz")
    plain.simulate(50.0)
    expected = results(plain)
    assert expected["stdp.w"].shape != results(build(None))["stdp.w"].shape  # the connectivity did change
    for when in ("uncompiled", "compiled"):
        assert_same_results(load_npz(runs[2] / f"other-{when}.npz"), expected)
    # the network that had run dropped its projection monitor's old columns, saying so on every process
    for rank in range(2):
        assert (runs[2] / f"other-uncompiled-{rank}.txt").read_text() == ""
        assert (runs[2] / f"other-compiled-{rank}.txt").read_text() == "\n".join(
            f"projection {proj!r} gets other synapses from the file; monitor {monitor!r} drops what it recorded "
            "before the load" for proj, monitor in (("oja", "m_oja"), ("sums", "m_sums")))
