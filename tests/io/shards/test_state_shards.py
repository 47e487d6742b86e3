"""The ``.shards`` folder format in one process: shards for any partition, manifest, joins, refusals."""
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import state_npz, state_shards
from gpunet.io.pipeline.gather import gather_state
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import assert_same_state, small_network, snapshot  # noqa: E402
from state_examples import assert_states_equal, example_state  # noqa: E402


def _sizes(state):
    return {pop.name: pop.size for pop in state.populations}


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_shards_of_any_partition_load_back_as_the_whole_state(tmp_path, nprocs):
    state = example_state(uniform_delay=False)
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, state, nprocs=nprocs, run="r1")
    files = sorted(p.name for p in path.iterdir())
    assert files == sorted(["manifest.json"] + [entry["file"] for entry in manifest["shards"]])
    assert manifest["nprocs"] == nprocs and manifest["run"] == "r1"
    partition = Partition.of(_sizes(state), nprocs)
    exc = manifest["objects"][0]
    assert exc["rows"] == [list(partition.rows("exc", r)) for r in range(nprocs)]
    assert exc["arrays"]["v"] == {"dtype": "float64", "shape": [20]}
    assert exc["arrays"]["_spike_history"]["shape"] == [3, 20]
    proj = manifest["objects"][2]
    assert proj["size"] == state.projections[0].nb_synapses == sum(proj["synapses"])
    for entry in manifest["shards"]:  # each shard is a native file of the rows of its process
        shard = state_npz.load(path / entry["file"])
        assert shard.annotations["shard"] == {"format": "gpunet-shards", "run": "r1", "save": manifest["save"],
                                              "rank": entry["rank"], "nprocs": nprocs}
        assert os.path.getsize(path / entry["file"]) == entry["bytes"]
    loaded = gn.read_state(path)
    assert_states_equal(loaded, state)
    assert loaded.annotations == {} and loaded.format == "shards"
    assert state_shards.verify_files(path) == []


@pytest.mark.parametrize("written, reading", [(1, 2), (2, 3), (3, 2), (4, 4), (3, 1), (2, 5)])
def test_read_rows_gives_each_of_m_processes_its_rows(tmp_path, written, reading):
    state = example_state()
    path = tmp_path / "s.shards"
    state_shards.save(path, state, nprocs=written)
    partition = Partition.of(_sizes(state), reading)
    for rank in range(reading):
        part = state_shards.read_rows(path, reading, rank)
        assert_states_equal(part, cut(state, partition, rank))


def test_read_rows_reads_only_the_shards_holding_the_rows(tmp_path):
    state = example_state()
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, state, nprocs=4)
    for entry in manifest["shards"][2:]:
        (path / entry["file"]).unlink()
    part = state_shards.read_rows(path, 2, 0)  # rows of the first half: shards 0 and 1
    assert_states_equal(part, cut(state, Partition.of(_sizes(state), 2), 0))
    with pytest.raises(FormatError, match=r"shard-[0-9a-f]{16}-00002\.npz: shard 2 of 4 is missing"):
        state_shards.read_rows(path, 2, 1)


def _continue(net, steps=30.0):
    net.simulate(steps)
    return snapshot(net)


def test_a_network_saved_to_shards_restores_and_continues_bit_identically(tmp_path):
    net = small_network(seed=5, neurons=40)
    net.simulate(25.0)
    handle = net.save(tmp_path / "a.shards", blocking=False)
    assert handle.result() == tmp_path / "a.shards" and handle.path == tmp_path / "a.shards"
    net.save(tmp_path / "a.npz")
    expected = _continue(net)
    fresh = small_network(seed=5, neurons=40)
    fresh.load(tmp_path / "a.shards")
    assert_same_state(_continue(fresh), expected)
    # and the whole state read from the folder is the single file's
    assert_states_equal(gn.read_state(tmp_path / "a.shards"), gn.read_state(tmp_path / "a.npz"), metadata=True)


def test_a_save_into_an_existing_folder_replaces_the_snapshot_only_at_the_manifest(tmp_path):
    net = small_network(seed=5, neurons=20)
    path = tmp_path / "a.shards"
    net.save(path)
    first = state_shards.read_manifest(path)
    net.simulate(5.0)
    # an interrupted save: its shard is written, its manifest never is
    state = gather_state(net)
    ids = state_shards.new_ids("other")
    state_shards.write_shard(path, cut(state, Partition.of(_sizes(state), 1), 0), ids, 0, 1)
    assert state_shards.read_manifest(path) == first
    assert gn.read_state(path).step == 0
    net.save(path)
    second = state_shards.read_manifest(path)
    assert second["save"] != first["save"] and second["step"] == 5
    assert sorted(p.name for p in path.iterdir()) == sorted(["manifest.json", second["shards"][0]["file"]])


def _damaged(tmp_path, how):
    state = example_state()
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, state, nprocs=3)
    victim = path / manifest["shards"][1]["file"]
    if how == "missing":
        victim.unlink()
        message = "shard 1 of 3 is missing"
    elif how == "truncated":
        data = victim.read_bytes()
        victim.write_bytes(data[:len(data) // 2])
        message = r"shard 1 holds \d+ bytes, the manifest records \d+ \(truncated or replaced\)"
    elif how == "another save":
        other = tmp_path / "o.shards"
        other_manifest = state_shards.save(other, state, nprocs=3, run="r2")
        shutil.copyfile(other / other_manifest["shards"][1]["file"], victim)
        message = r"the shard is from another save \(run 'r2'"
    elif how == "corrupt":
        data = bytearray(victim.read_bytes())
        with zipfile.ZipFile(victim) as archive:
            info = archive.getinfo("population/exc/v.npy")
        data[info.header_offset + 30 + len(info.filename) + 140] ^= 0xFF
        victim.write_bytes(bytes(data))
        message = "bad CRC-32"
    return path, victim, message


@pytest.mark.parametrize("how", ["missing", "truncated", "another save", "corrupt"])
def test_a_damaged_shard_is_refused_naming_it_and_nothing_changes(tmp_path, how):
    path, victim, message = _damaged(tmp_path, how)
    with pytest.raises(FormatError, match=message) as info:
        gn.read_state(path)
    assert str(victim) in str(info.value)
    problems = state_shards.verify_files(path)
    assert len(problems) == 1 and str(victim) in problems[0]


@pytest.mark.parametrize("how", ["missing", "truncated", "another save"])
def test_loading_a_damaged_sharded_snapshot_leaves_the_network_as_it_was(tmp_path, how):
    net = small_network(seed=5, neurons=20)
    net.simulate(10.0)
    path = tmp_path / "n.shards"
    net.save(path)
    manifest = state_shards.read_manifest(path)
    victim = path / manifest["shards"][0]["file"]
    if how == "missing":
        victim.unlink()
    elif how == "truncated":
        victim.write_bytes(victim.read_bytes()[:-100])
    else:
        other = tmp_path / "o.shards"
        net.save(other)
        shutil.copyfile(other / state_shards.read_manifest(other)["shards"][0]["file"], victim)
    net.simulate(5.0)
    before = snapshot(net)
    with pytest.raises(FormatError, match=str(victim).replace(".", r"\.")):
        net.load(path)
    assert_same_state(snapshot(net), before)


def test_a_folder_without_manifest_or_with_a_bad_one_is_refused(tmp_path):
    with pytest.raises(FormatError, match=r"x\.shards: no such file"):
        gn.read_state(tmp_path / "x.shards")
    (tmp_path / "y.shards").mkdir()
    with pytest.raises(FormatError, match="no manifest.json: not a committed sharded snapshot"):
        gn.read_state(tmp_path / "y.shards")
    (tmp_path / "y.shards" / "manifest.json").write_bytes(b'{"format": "gpunet-shards", "format_version": 9}')
    with pytest.raises(FormatError, match="format version 9 is not supported"):
        gn.read_state(tmp_path / "y.shards")
    (tmp_path / "y.shards" / "manifest.json").write_bytes(
        b'{"format": "gpunet-shards", "format_version": 1, "nprocs": 1, "run": "", "save": "",'
        b' "shards": [{"rank": 0, "file": "../../etc/passwd", "bytes": 1, "crc32": 0}], "objects": []}')
    with pytest.raises(FormatError, match="malformed entry for shard 0"):
        gn.read_state(tmp_path / "y.shards")


def test_one_object_cannot_be_saved_as_a_folder(tmp_path):
    net = small_network(neurons=10)
    with pytest.raises(FormatError, match=r"p\.shards: a \.shards snapshot is a folder that only a whole network"):
        net.populations[0].save(tmp_path / "p.shards")
    assert not (tmp_path / "p.shards").exists()


def test_a_shard_that_cannot_be_committed_leaves_the_previous_snapshot_and_no_temporary(tmp_path, monkeypatch):
    import gpunet.io.storage.atomic as atomic
    net = small_network(seed=5, neurons=20)
    path = tmp_path / "a.shards"
    net.save(path)
    before = sorted(p.name for p in path.iterdir())
    net.simulate(5.0)
    replace = os.replace

    def refuse_shards(source, destination):
        if Path(destination).name.startswith("shard-"):
            raise OSError(5, "Input/output error (injected)")
        return replace(source, destination)
    monkeypatch.setattr(atomic.os, "replace", refuse_shards)
    with pytest.raises(OSError, match="injected"):
        net.save(path)
    monkeypatch.undo()
    assert sorted(p.name for p in path.iterdir()) == before
    assert gn.read_state(path).step == 0


@pytest.mark.parametrize("suffix", [".npz", ".txt", ".shards"])
def test_read_part_gives_the_same_rows_from_a_single_file_and_from_a_folder(tmp_path, suffix):
    from gpunet.io.parts import read_part
    net = small_network(seed=5, neurons=23)
    net.simulate(12.0)
    whole = gather_state(net)
    net.save(tmp_path / "ref.npz")
    if suffix == ".shards":
        state_shards.save(tmp_path / "s.shards", gn.read_state(tmp_path / "ref.npz"), nprocs=3)
        path = tmp_path / "s.shards"
    else:
        path = tmp_path / f"s{suffix}"
        net.save(path)
    expected_source = gn.read_state(path)
    for nprocs in (1, 2, 4):
        partition = Partition.of(_sizes(whole), nprocs)
        for rank in range(nprocs):
            part = read_part(path, nprocs, rank)
            assert_states_equal(part, cut(expected_source, partition, rank))
            lo, hi = partition.rows("pop0", rank)
            np.testing.assert_array_equal(part.population("pop0").values["v"],
                                          whole.population("pop0").values["v"][lo:hi])


@pytest.mark.parametrize("change, message", [
    (lambda m: m["objects"][0].update(size="20"), "malformed object entry"),
    (lambda m: m["objects"][2].pop("post"), "malformed object entry"),
    (lambda m: m["objects"][0].update(rows=[[0, 20]]), r"rows of 'exc' must be 2 \[lo, hi\) pairs"),
    (lambda m: m["shards"].pop(), "the shard list does not match nprocs"),
    (lambda m: m["shards"][1].update(bytes="1"), "malformed entry for shard 1"),
    (lambda m: m.update(save=None), "field 'save' is missing"),
    (lambda m: m["objects"][0]["rows"].reverse(), r"rows of population 'exc' are \(0, 10\), the manifest says"),
])
def test_a_manifest_that_lies_is_refused(tmp_path, change, message):
    import orjson
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, example_state(), nprocs=2)
    change(manifest)
    (path / "manifest.json").write_bytes(orjson.dumps(manifest))
    with pytest.raises(FormatError, match=message):
        gn.read_state(path)


class _PeerFails:
    """A two-process communicator whose other process reports a failed plan."""

    def Get_size(self):
        return 2

    def allgather(self, mine):
        return [mine, "FormatError: its copy is unreadable"]


def test_a_collective_load_changes_nothing_when_another_process_fails(tmp_path):
    from gpunet.errors import GpunetError
    from gpunet.io import api as io_api
    net = small_network(seed=5, neurons=20)
    net.save(tmp_path / "a.shards")
    net.simulate(7.0)
    before = snapshot(net)
    with pytest.raises(GpunetError, match=r"a\.shards: the load failed on 1 of 2 processes, so no process changed "
                                          r"its network \(process 1: FormatError: its copy is unreadable\)"):
        io_api.load(tmp_path / "a.shards", network=net, comm=_PeerFails())
    assert_same_state(snapshot(net), before)


def test_compressed_shards_edge_partitions_and_empty_objects_round_trip(tmp_path):
    state = example_state(empty_projection=True)
    manifest = state_shards.save(tmp_path / "e.shards", state, nprocs=25, compress=True)  # more processes than rows
    assert [entry["rows"] for entry in manifest["objects"][:2]] == [
        [list(Partition.of({"n": 20}, 25).rows("n", r)) for r in range(25)],
        [list(Partition.of({"n": 12}, 25).rows("n", r)) for r in range(25)]]
    with zipfile.ZipFile(tmp_path / "e.shards" / manifest["shards"][0]["file"]) as archive:
        assert archive.getinfo("population/exc/v.npy").compress_type == zipfile.ZIP_DEFLATED
    assert_states_equal(gn.read_state(tmp_path / "e.shards"), state)
    net = small_network(seed=5, neurons=20)
    net.save(tmp_path / "c.shards", compress=True)
    net.save(tmp_path / "c.npz")
    assert_states_equal(gn.read_state(tmp_path / "c.shards"), gn.read_state(tmp_path / "c.npz"))


def test_read_part_of_a_file_of_one_projection_is_refused(tmp_path):
    from gpunet.io.parts import read_part
    net = small_network(seed=5, neurons=20)
    net.projections[0].save(tmp_path / "proj.npz")
    with pytest.raises(FormatError, match=r"proj\.npz: cannot be cut into the rows of processes: it lacks the "
                                          r"post-synaptic population\(s\) \['pop1'\]"):
        read_part(tmp_path / "proj.npz", 2, 0)


def test_processes_saving_together_cannot_drop_a_save_on_a_full_queue(tmp_path):
    class TwoProcesses:
        def Get_size(self):
            return 2

        def Get_rank(self):
            return 0

    net = small_network(neurons=10)
    with pytest.raises(ValueError, match="on_full='raise' cannot be used when 2 processes save together"):
        net.save(tmp_path / "a.shards", comm=TwoProcesses(), on_full="raise")
    assert not (tmp_path / "a.shards").exists()


def test_several_processes_do_not_save_into_one_file(tmp_path):
    class TwoProcesses:
        def Get_size(self):
            return 2

    net = small_network(neurons=10)
    with pytest.raises(FormatError, match=r"a\.npz: 2 processes save together into a \.shards folder, not into one "
                                          r"\.npz file"):
        net.save(tmp_path / "a.npz", comm=TwoProcesses())
    assert not (tmp_path / "a.npz").exists()
