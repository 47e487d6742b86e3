"""Gzipped pickle (.gz): ANNarchy's fixture, exact round trips, reproducible bytes, bomb guard, bad files."""
from __future__ import annotations

import gzip
import io
import zlib

import pytest

from gpunet.errors import FormatError
from gpunet.io.formats.pickled import state_gzip, state_pickle

from state_examples import assert_states_equal, check_fixture_state, example_state, single


def test_data_txt_gz_matches_describe_and_data_txt(fixtures_dir):
    state = state_gzip.load(fixtures_dir / "data.txt.gz")
    check_fixture_state(state)
    assert state.format == "gzip"
    assert_states_equal(state, state_pickle.load(fixtures_dir / "data.txt"), metadata=False)


@pytest.mark.parametrize("ragged", [True, False])
@pytest.mark.parametrize("uniform_delay", [True, False])
def test_round_trip_is_exact(tmp_path, ragged, uniform_delay):
    state = example_state(ragged=ragged, uniform_delay=uniform_delay)
    path = tmp_path / "new" / "state.txt.gz"
    state_gzip.save(path, state)
    assert_states_equal(state, state_gzip.load(path))


@pytest.mark.parametrize("name", ["exc", "exc_to_inh"])
def test_single_object_round_trip(tmp_path, name):
    state = single(example_state(), name)
    state_gzip.save(tmp_path / "one.gz", state)
    assert_states_equal(state, state_gzip.load(tmp_path / "one.gz"))


def test_the_file_is_the_gzip_of_the_pickle_and_reproducible(tmp_path):
    state = example_state()
    data = state_gzip.dumps(state)
    assert gzip.decompress(data) == state_pickle.dumps(state)
    assert state_gzip.dumps(state) == data                  # no time stamp, no file name
    assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"  # FNAME flag unset, MTIME zero
    state_gzip.save(tmp_path / "s.gz", state)
    assert (tmp_path / "s.gz").read_bytes() == data          # streaming write == dumps
    stream = io.BytesIO()
    state_gzip.write(state, stream)
    assert stream.getvalue() == data


def test_compression_level_is_a_choice(tmp_path):
    state = example_state()
    smallest = state_gzip.dumps(state, level=9)
    assert len(smallest) <= len(state_gzip.dumps(state))
    assert_states_equal(state, state_gzip.loads(smallest, "nine.gz"))
    state_gzip.save(tmp_path / "six.gz", state, level=6)
    assert_states_equal(state, state_gzip.load(tmp_path / "six.gz"))


def test_several_gzip_members_and_zero_padding_are_accepted():
    state = example_state()
    raw = state_pickle.dumps(state)
    half = len(raw) // 2
    members = gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + b"\0" * 8
    assert_states_equal(state, state_gzip.loads(members, "members.gz"))


def test_decompression_bombs_are_refused_before_the_memory_is_used():
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)        # 64 MiB of zeros in ~64 KiB
    with pytest.raises(FormatError, match="bomb"):
        state_gzip.decompress(bomb, "bomb.gz", max_output=1 << 20)
    assert state_gzip.output_limit(len(bomb)) == state_gzip.MAX_RATIO * len(bomb) + state_gzip.MAX_EXTRA
    assert len(state_gzip.decompress(bomb, "fine.gz")) == 64 << 20  # the default cap lets it through
    with pytest.raises(FormatError, match="bomb.gz"):
        state_gzip.loads(bomb, "bomb.gz", max_output=1000)


def test_truncated_and_corrupted_files_are_format_errors(tmp_path):
    data = state_gzip.dumps(example_state())
    path = tmp_path / "bad.gz"
    for cut in (1, 5, 10, len(data) // 2, len(data) - 4, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError, match="bad.gz"):
            state_gzip.load(path)
    for position in (len(data) // 2, len(data) - 6, len(data) - 2):   # deflate data, CRC, length
        flipped = bytearray(data)
        flipped[position] ^= 0x10
        path.write_bytes(bytes(flipped))
        with pytest.raises(FormatError, match="bad.gz"):
            state_gzip.load(path)
    path.write_bytes(data + b"garbage")
    with pytest.raises(FormatError, match="unexpected bytes"):
        state_gzip.load(path)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"\x80\x05K\x01.", "not a gzip"), (b"MATLAB 5.0 MAT-file", "Matlab")])
def test_files_that_are_not_gzip_are_format_errors(tmp_path, content, message):
    path = tmp_path / "x.gz"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        state_gzip.load(path)


def test_a_gzipped_non_state_is_a_format_error():
    with pytest.raises(FormatError, match="g.gz"):
        state_gzip.loads(gzip.compress(b"not a pickle at all"), "g.gz")
    with pytest.raises(FormatError, match="g.gz"):
        state_gzip.loads(gzip.compress(zlib.compress(b"x")), "g.gz")


def test_inspect(fixtures_dir):
    info = state_gzip.inspect(fixtures_dir / "data.txt.gz")
    assert info["format"] == "gzip" and info["step"] == 100 and len(info["objects"]) == 3
