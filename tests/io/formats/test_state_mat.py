"""Matlab files (.mat): ANNarchy's fixture, exact round trips, Matlab names, SciPy compatibility, bad files."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from gpunet.errors import FormatError
from gpunet.io.formats import state_mat
from gpunet.io.formats.pickled import state_pickle
from gpunet.io.formats.mat5_reader import read_mat5

from state_examples import assert_states_equal, check_fixture_state, example_state, single


def test_data_mat_matches_describe(fixtures_dir):
    state = state_mat.load(fixtures_dir / "data.mat")
    check_fixture_state(state)
    assert state.format == "mat" and state.net_id == 1 and state.format_version is None
    assert_states_equal(state, state_pickle.load(fixtures_dir / "data.txt"), metadata=False)


def _same_structure(ours, scipys, path="") -> None:
    if isinstance(scipys, np.ndarray) and scipys.dtype.names:
        assert ours.dtype.names == scipys.dtype.names and ours.shape == scipys.shape, path
        for name in scipys.dtype.names:
            for index in range(scipys.size):
                _same_structure(ours.reshape(-1)[index][name], scipys.reshape(-1)[index][name], f"{path}.{name}")
    elif isinstance(scipys, np.ndarray) and scipys.dtype == object:
        assert ours.shape == scipys.shape, path
        for index in range(scipys.size):
            _same_structure(ours.reshape(-1)[index], scipys.reshape(-1)[index], f"{path}[{index}]")
    else:
        assert ours.shape == scipys.shape and np.array_equal(ours, scipys), path


def test_the_reader_gives_scipys_forms(fixtures_dir):
    data = (fixtures_dir / "data.mat").read_bytes()
    ours, scipys = read_mat5(data, "data.mat", 1 << 30), scipy.io.loadmat(io.BytesIO(data))
    assert sorted(ours) == sorted(k for k in scipys if not k.startswith("__"))
    for key in ours:
        _same_structure(ours[key], scipys[key], key)


def test_the_reader_handles_compressed_and_unusual_variables():
    variables = {"s": {"a": np.arange(5), "cells": np.array([np.arange(2), np.arange(3)], dtype=object),
                       "text": "héllo", "names": ["ab", "c"], "empty": []},
                 "cube": np.arange(24.0).reshape(2, 3, 4), "none": np.zeros((3, 0)), "z": np.array([1 + 2j]),
                 "i8": np.arange(3, dtype=np.int8), "u64": np.arange(3, dtype=np.uint64)}
    for compression in (False, True):
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, variables, do_compression=compression)
        data = buffer.getvalue()
        ours, scipys = read_mat5(data, "v.mat", 1 << 30), scipy.io.loadmat(io.BytesIO(data))
        for key in variables:
            _same_structure(ours[key], scipys[key], key)
    assert read_mat5(data, "v.mat", 1 << 30)["i8"].dtype == np.int8


@pytest.mark.parametrize("ragged", [True, False])
@pytest.mark.parametrize("uniform_delay", [True, False])
def test_round_trip_is_exact(tmp_path, ragged, uniform_delay):
    state = example_state(ragged=ragged, uniform_delay=uniform_delay)
    path = tmp_path / "new" / "state.mat"
    state_mat.save(path, state)
    assert_states_equal(state, state_mat.load(path))


@pytest.mark.parametrize("name", ["exc", "inh", "exc_to_inh"])
def test_single_object_round_trip(tmp_path, name):
    state = single(example_state(), name)
    state_mat.save(tmp_path / "one.mat", state)
    assert_states_equal(state, state_mat.load(tmp_path / "one.mat"))


def test_one_element_locals_and_a_one_synapse_projection_round_trip():
    state = example_state(ragged=False)
    proj = state.projections[0]
    keep = proj.row_ptr[0] + 1
    proj.post_ranks, proj.row_ptr, proj.pre_ranks = proj.post_ranks[:1], np.array([0, 1]), proj.pre_ranks[:1]
    proj.values = {k: v[:keep] if v.ndim else v for k, v in proj.values.items()}
    proj.internal = {k: v[:keep] for k, v in proj.internal.items()}
    proj.delays = np.array([3.0])
    assert_states_equal(state, state_mat.loads(state_mat.dumps(state), "one.mat"))


def test_empty_projection_and_missing_step_round_trip():
    state = example_state(empty_projection=True)
    state.step = None
    assert_states_equal(state, state_mat.loads(state_mat.dumps(state), "e.mat"))


def test_names_that_are_not_matlab_identifiers_round_trip():
    state = example_state()
    exc, inh, proj = state.populations[0], state.populations[1], state.projections[0]
    exc.name, proj.pre = "PFC exc (layer 2/3)", "PFC exc (layer 2/3)"
    inh.name, proj.post = "gpunet", "gpunet"                    # the name of gpunet's own variable
    proj.name = "proj-1"
    exc.values["_hidden"] = exc.values.pop("v")
    exc.variables[exc.variables.index("v")] = "_hidden"
    exc.values["gn_x"] = exc.values.pop("u")
    exc.variables[exc.variables.index("u")] = "gn_x"
    exc.internal["spike times"] = exc.internal.pop("_last_spike")
    back = state_mat.loads(state_mat.dumps(state), "names.mat")
    assert_states_equal(state, back)


def test_names_colliding_with_annarchys_keys_are_refused():
    state = example_state()
    state.projections[0].name = "time_step"
    with pytest.raises(FormatError, match="collide"):
        state_mat.dumps(state)


def test_matlab_names_are_valid_identifiers_and_distinct():
    names = ["v", "_v", "gn_v", "a b", "a_b", "x" * 100, "x" * 101, "é", "1st", "time_step", "gpunet"]
    encoded = [state_mat.matlab_name(n, frozenset({"time_step", "gpunet"})) for n in names]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", e) for e in encoded)
    assert len(set(encoded)) == len(names)
    assert state_mat.matlab_name("v") == "v" and state_mat.matlab_name("a_b") == "a_b"


def test_written_file_has_annarchys_layout_for_scipy():
    state = example_state(ragged=True)
    loaded = scipy.io.loadmat(io.BytesIO(state_mat.dumps(state)))
    assert {"time_step", "net_id", "exc", "inh", "exc_to_inh", "obj_names", "gpunet"} <= set(loaded)
    proj = loaded["exc_to_inh"][0, 0]
    assert proj["pre_ranks"].dtype == object and proj["pre_ranks"].shape[0] == 1        # a cell array of rows
    assert [s.strip() for s in proj["attributes"]].count("w") == 2
    exc = loaded["exc"][0, 0]
    assert exc["v"].shape == (4, 5) and exc["geometry"].tolist() == [[4, 5]]
    equal = scipy.io.loadmat(io.BytesIO(state_mat.dumps(example_state(ragged=False))))["exc_to_inh"][0, 0]
    assert equal["pre_ranks"].shape == (12, 4) and equal["w"].shape == (12, 4)           # matrices


def test_a_matlab_compressed_copy_of_our_file_loads():
    state = example_state()
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, state_mat.to_matlab_dict(state), long_field_names=True, do_compression=True)
    assert_states_equal(state, state_mat.loads(buffer.getvalue(), "v7.mat"))


def test_compressed_bombs_are_refused():
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"zeros": np.zeros(4 << 20)}, do_compression=True)
    with pytest.raises(FormatError, match="bomb"):
        state_mat.loads(buffer.getvalue(), "bomb.mat", max_output=1 << 20)


def test_unsupported_matlab_classes_are_format_errors():
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"s": scipy.sparse.csc_matrix(np.eye(3))})
    with pytest.raises(FormatError, match="sparse"):
        state_mat.loads(buffer.getvalue(), "sparse.mat")


def test_truncated_and_corrupted_files_are_format_errors(tmp_path):
    data = state_mat.dumps(example_state())
    path = tmp_path / "bad.mat"
    for cut in (0, 10, 127, 128, 140, len(data) // 2, len(data) - 3):
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError, match="bad.mat"):
            state_mat.load(path)
    rng = np.random.default_rng(4)
    for _ in range(300):
        flipped = bytearray(data)
        flipped[int(rng.integers(128, len(data)))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            state_mat.load(path)
        except FormatError as error:
            assert "bad.mat" in str(error)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"\x80\x05K\x01.", "not a Matlab"), (b"\x1f\x8b\x08\x00", "gzip"),
    (b"MATLAB 7.3 MAT-file" + b" " * 600, "7.3"), (b"MATLAB 5.0" + b" " * 200, "byte order"),
])
def test_files_that_are_not_matlab_5_are_format_errors(tmp_path, content, message):
    path = tmp_path / "x.mat"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        state_mat.load(path)


def test_a_pickle_renamed_mat_is_a_format_error(fixtures_dir, tmp_path):
    path = tmp_path / "data.mat"
    path.write_bytes((fixtures_dir / "data.txt").read_bytes())
    with pytest.raises(FormatError, match="not a Matlab"):
        state_mat.load(path)


def test_a_matlab_file_without_state_is_a_format_error():
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"x": np.arange(3)})
    with pytest.raises(FormatError, match="obj_names"):
        state_mat.loads(buffer.getvalue(), "other.mat")


def test_inspect(fixtures_dir):
    info = state_mat.inspect(fixtures_dir / "data.mat")
    assert info["format"] == "mat" and info["written_by"] == "ANNarchy" and info["step"] == 100


def test_savemat_writes_to_the_file_itself_not_through_the_writeback_hook(tmp_path, monkeypatch):
    import scipy.io
    from gpunet.io.storage.writeback import WritebackFile
    targets = []
    real = scipy.io.savemat
    monkeypatch.setattr(scipy.io, "savemat", lambda target, *a, **k: (targets.append(target), real(target, *a, **k)))
    state = example_state()
    state_mat.save(tmp_path / "s.mat", state)  # durable: atomic_writer hands over a WritebackFile
    assert targets and not isinstance(targets[0], WritebackFile)
    assert_states_equal(state, state_mat.load(tmp_path / "s.mat"))
