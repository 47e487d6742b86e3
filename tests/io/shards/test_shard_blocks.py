"""Blocks of rows inside shards (``.shards`` format version 2): each reader reads and checks only its rows."""
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest

import gpunet as gn
from gpunet.errors import FormatError
from gpunet.io.formats import shard_blocks, state_npz, state_shards
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.shard_state import cut
from gpunet.io.storage import checksum

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import flip_byte_in_member  # noqa: E402
from state_examples import assert_states_equal  # noqa: E402

V1 = Path(__file__).resolve().parents[2] / "data" / "shards-v1"


@pytest.fixture(scope="module")
def whole():
    """The engine-test network after 20 ms (spike sources, semiglobal attributes, ragged rows)."""
    return gn.read_state(V1 / "state.npz")


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(shard_blocks, "BLOCK_BYTES", 256)


def _sizes(state):
    return {pop.name: pop.size for pop in state.populations}


def _data_bytes(state) -> int:
    return sum(np.asarray(a).nbytes for obj in state.populations + state.projections
               for a in state_npz.object_arrays(obj).values())


@pytest.mark.parametrize("written, reading", [(3, 2), (2, 3), (1, 4)])
def test_each_process_reads_and_checks_only_the_blocks_of_its_rows(tmp_path, whole, small_blocks, written, reading):
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, whole, nprocs=written)
    assert manifest["format_version"] == 2
    assert_states_equal(gn.read_state(path), whole)  # members' CRC-32 combined from the blocks: they check
    partition = Partition.of(_sizes(whole), reading)
    shards = [gn.read_state(path / entry["file"]) for entry in manifest["shards"]]
    for rank in range(reading):
        shard_blocks.tally.reset()
        part = state_shards.read_rows(path, reading, rank)
        expected = cut(whole, partition, rank)
        assert_states_equal(part, expected)
        share = _data_bytes(expected)
        opened = [shard for shard in shards if any(
            max(lo, a) < min(hi, b) for name, (lo, hi) in expected.annotations["rows"].items()
            for a, b in [shard.annotations["rows"][name]])]
        read = shard_blocks.tally.data_bytes
        # about its share (whole blocks at both ends, and the 0-d arrays every shard holds), far from the shards
        assert share <= read <= 1.15 * share, (read, share)
        assert read < 0.8 * sum(_data_bytes(shard) for shard in opened)
        assert shard_blocks.tally.block_reads > 0


def test_a_version_1_folder_is_still_read_whole_shard_by_shard(whole):
    assert state_shards.read_manifest(V1 / "state-3.shards")["format_version"] == 1
    assert_states_equal(gn.read_state(V1 / "state-3.shards"), whole)
    partition = Partition.of(_sizes(whole), 2)
    for rank in range(2):
        shard_blocks.tally.reset()
        assert_states_equal(state_shards.read_rows(V1 / "state-3.shards", 2, rank), cut(whole, partition, rank))
        assert shard_blocks.tally.block_reads == 0  # no blocks: not even through the reader of rows
    assert state_shards.verify_files(V1 / "state-3.shards") == []
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "network" / "mpi"))
    from engine_network import build
    net = build(None)  # and a network loads it (on one process: plain load)
    net.load(V1 / "state-3.shards")
    assert net.get_current_step() == 20 and np.array_equal(net.get_population("exc").v,
                                                           whole.population("exc").values["v"])


def _member_offset(path: Path, member: str) -> int:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(handle.read(4), dtype="<u2")
    return info.header_offset + 30 + int(name_length) + int(extra_length)


def _recommit(path: Path, rank: int) -> None:
    """Make the manifest record shard ``rank``'s present size and whole-file CRC-32 (a consistent forgery)."""
    manifest = state_shards.read_manifest(path)
    data = (path / manifest["shards"][rank]["file"]).read_bytes()
    manifest["shards"][rank].update(bytes=len(data), crc32=checksum.crc32(data))
    (path / "manifest.json").write_bytes(orjson.dumps(manifest))


def test_a_corrupted_block_fails_only_its_readers_naming_shard_object_and_variable(tmp_path, whole, small_blocks):
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, whole, nprocs=3)
    shard = path / manifest["shards"][1]["file"]  # exc rows [13, 25): process 0 of 2 reads [13, 19), 1 [19, 25)
    blocks = gn.read_state(shard).annotations["blocks"]
    synapses = blocks["objects"]["stdp"]["offsets"]["synapses"]
    assert blocks["rows"]["exc"][-2] >= 19 and len(synapses) > 4
    last = synapses[-2]  # the first weight of the shard's last block (post neurons of process 1 only)
    shard.write_bytes(flip_byte_in_member(shard, "projection/stdp/w.npy", 128 + 8 * last))
    state_shards.read_rows(path, 2, 0)  # its blocks are intact
    with pytest.raises(FormatError) as info:
        state_shards.read_rows(path, 2, 1)
    message = str(info.value)
    assert message.startswith(str(shard)) and "object 'stdp', array 'w': block" in message
    assert "of population 'exc')" in message and "bad CRC-32" in message
    with pytest.raises(FormatError, match="bad CRC-32"):  # a whole read checks the member's CRC-32
        gn.read_state(path)
    # verify: the whole-file CRC-32 first; with a manifest forged to match it, the block's own CRC-32
    assert str(shard) in state_shards.verify_files(path)[0]
    _recommit(path, 1)
    problems = state_shards.verify_files(path)
    assert len(problems) == 1 and "object 'stdp', array 'w': block" in problems[0] and "bad CRC-32" in problems[0]


def _rewrite_table(shard: Path, change) -> None:
    """Rewrite ``shard`` with its manifest's block table changed by ``change(table)`` (members as they are)."""
    with zipfile.ZipFile(shard) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for info, data in members:
            if info.filename == state_npz.MANIFEST:
                manifest = orjson.loads(data)
                change(manifest["annotations"]["blocks"])
                data = orjson.dumps(manifest)
            archive.writestr(info, data)
    shard.write_bytes(out.getvalue())


@pytest.mark.parametrize("change, message", [
    (lambda t: t["objects"]["stdp"]["offsets"]["synapses"].__setitem__(-1, 10 ** 6), "malformed 'synapses' offsets"),
    (lambda t: t["objects"]["exc"]["arrays"]["v"]["crc32"].pop(), "array 'v': malformed entry"),
    (lambda t: t["rows"]["exc"].__setitem__(0, 14), "do not cover its rows"),
    (lambda t: t["objects"]["stdp"]["arrays"]["w"].__setitem__("by", "neurons"), "array 'w': malformed entry"),
])
def test_a_block_table_that_lies_is_refused_naming_the_shard(tmp_path, whole, small_blocks, change, message):
    path = tmp_path / "s.shards"
    manifest = state_shards.save(path, whole, nprocs=3)
    shard = path / manifest["shards"][1]["file"]
    _rewrite_table(shard, change)
    _recommit(path, 1)
    with pytest.raises(FormatError, match=message) as info:
        state_shards.read_rows(path, 2, 0)
    assert str(shard) in str(info.value)


def test_compressed_shards_have_no_blocks_and_are_read_whole(tmp_path, whole, small_blocks):
    path = tmp_path / "z.shards"
    manifest = state_shards.save(path, whole, nprocs=3, compress=True)
    assert "blocks" not in gn.read_state(path / manifest["shards"][0]["file"]).annotations
    partition = Partition.of(_sizes(whole), 2)
    shard_blocks.tally.reset()
    assert_states_equal(state_shards.read_rows(path, 2, 1), cut(whole, partition, 1))
    assert shard_blocks.tally.block_reads == 0
    assert state_shards.verify_files(path) == []


def test_block_boundaries_follow_the_bytes_of_the_rows(monkeypatch):
    monkeypatch.setattr(shard_blocks, "BLOCK_BYTES", 100)
    assert shard_blocks._bounds(10, 20, np.full(10, 30.0)) == [10, 14, 17, 20]
    assert shard_blocks._bounds(5, 5, np.zeros(0)) == [5, 5]
    assert shard_blocks._bounds(0, 3, np.array([500.0, 1.0, 1.0])) == [0, 1, 3]  # one heavy row: a block alone
    monkeypatch.setattr(shard_blocks, "MAX_BLOCKS", 2)  # large shards: larger blocks, never more than MAX_BLOCKS
    assert len(shard_blocks._bounds(0, 100, np.full(100, 30.0))) - 1 <= 2


def test_crc32_combine_without_zlib_ng_gives_the_same_checksums():
    rng = np.random.default_rng(3)
    for length in (0, 1, 5, 64, 1000, 65537):
        a, b = rng.bytes(int(rng.integers(0, 100))), rng.bytes(length)
        expected = checksum.crc32(a + b)
        assert checksum.crc32_combine(checksum.crc32(a), checksum.crc32(b), length) == expected
        assert checksum._combine_slow(checksum.crc32(a), checksum.crc32(b), length) == expected
