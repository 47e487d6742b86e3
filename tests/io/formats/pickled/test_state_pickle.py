"""ANNarchy's pickled state (.txt): fixtures, exact round trips, ANNarchy's layout, every accepted form, bad files."""
from __future__ import annotations

import copy
import gzip
import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats.pickled import state_pickle
from gpunet.io.formats.annarchy_dict import EXTRA_KEY, to_annarchy_dict
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.pipeline.state_types import NetworkState

from state_examples import (STDP_PARAMETERS, assert_states_equal, check_fixture_state, example_state,
                            same_objects, single)


# --------------------------------------------------------------------------- ANNarchy's files
def test_data_txt_matches_describe(fixtures_dir):
    state = state_pickle.load(fixtures_dir / "data.txt")
    check_fixture_state(state)
    assert state.net_id == 1 and state.format == "pickle" and state.format_version is None
    assert state.dt is None and state.seed is None and not state.single_object
    proj = state.projections[0]
    assert proj.parameters == STDP_PARAMETERS + ["w"] and proj.variables == ["x", "y", "w"]


def test_data_nopop_txt_has_no_populations(fixtures_dir):
    check_fixture_state(state_pickle.load(fixtures_dir / "data_nopop.txt"), populations=False)


def test_pop_txt_is_a_single_population(fixtures_dir):
    state = state_pickle.load(fixtures_dir / "pop.txt")
    assert state.single_object
    assert [p.name for p in state.populations] == ["PFC_exc"] and state.projections == []
    assert state.step is None
    assert float(state.populations[0].values["v"].sum()) == -3293.1307724837147


def test_proj_txt_is_a_single_projection(fixtures_dir):
    state = state_pickle.load(fixtures_dir / "proj.txt")
    assert state.single_object
    check_fixture_state(state, populations=False, step=None)


def test_inspect_describes_the_file(fixtures_dir):
    info = state_pickle.inspect(fixtures_dir / "data.txt")
    assert info["step"] == 100 and info["written_by"] == "ANNarchy" and info["format"] == "pickle"
    kinds = {o["name"]: o for o in info["objects"]}
    assert kinds["PFC_exc"]["size"] == 50 and kinds["PFC_exc_to_inh"]["nb_synapses"] == 275
    assert kinds["PFC_exc_to_inh"]["arrays"]["w"] == {"dtype": "float64", "shape": [275], "global": False}
    json.dumps(info)  # JSON-friendly


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("ragged", [True, False], ids=["ragged-rows", "equal-rows"])
@pytest.mark.parametrize("uniform_delay", [True, False], ids=["uniform-delay", "per-synapse-delays"])
def test_round_trip_is_exact(tmp_path, ragged, uniform_delay):
    state = example_state(ragged=ragged, uniform_delay=uniform_delay)
    path = tmp_path / "sub" / "folder" / "state.txt"   # missing parents are created
    state_pickle.save(path, state)
    back = state_pickle.load(path)
    assert_states_equal(state, back)
    assert back.format_version == 1 and back.gpunet_version
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".gpunet-tmp")]


def test_bytes_round_trip_and_write_stream():
    state = example_state()
    data = state_pickle.dumps(state)
    assert_states_equal(state, state_pickle.loads(data, "mem"))
    stream = io.BytesIO()
    state_pickle.write(state, stream)
    assert stream.getvalue() == data


@pytest.mark.parametrize("kwargs", [{}, {"ragged": False, "uniform_delay": False}, {"empty_projection": True}])
def test_the_direct_row_encoder_unpickles_to_exactly_the_lists_pickle_would_write(kwargs):
    state = example_state(**kwargs)
    proj = state.projections[0]
    if proj.nb_synapses >= 3:
        proj.values["w"][:3] = [np.nan, -0.0, np.inf]
        proj.values["tag"][:2] = [-(2 ** 31), 2 ** 31 - 1]
    direct = pickle.loads(state_pickle.dumps(state))
    reference = pickle.loads(pickle.dumps(to_annarchy_dict(state), protocol=5))
    assert same_objects(direct, reference)


def test_ints_beyond_int32_fall_back_to_pickles_own_encoding():
    state = example_state()
    state.projections[0].values["tag"][0] = 2 ** 40
    assert_states_equal(state, state_pickle.loads(state_pickle.dumps(state), "big.txt"))


@pytest.mark.parametrize("name", ["exc", "inh", "exc_to_inh"])
def test_single_object_round_trip(tmp_path, name):
    state = single(example_state(), name)
    state_pickle.save(tmp_path / "one.data", state)   # unknown suffix: still the pickle format
    assert_states_equal(state, state_pickle.load(tmp_path / "one.data"))


def test_empty_projection_and_missing_step_round_trip():
    state = example_state(empty_projection=True)
    state.step = None
    back = state_pickle.loads(state_pickle.dumps(state), "x")
    assert_states_equal(state, back)
    assert back.projections[0].nb_synapses == 0


def test_round_trip_without_internal_state_or_metadata():
    state = example_state(internal=False)
    state.dt = state.seed = None
    assert_states_equal(state, state_pickle.loads(state_pickle.dumps(state), "x"))


# --------------------------------------------------------------------------- ANNarchy's layout
def _shape_of(value):
    """Type skeleton of a value, down to the first row of an object array."""
    if isinstance(value, np.ndarray):
        inner = type(value.reshape(-1)[0]).__name__ if value.dtype == object and value.size else None
        return ("ndarray", value.dtype.kind, value.ndim, inner)
    if isinstance(value, list):
        return ("list", type(value[0]).__name__ if value else None)
    return (type(value).__name__,)


def test_written_file_has_annarchys_keys_order_and_value_forms(fixtures_dir):
    theirs = pickle.loads((fixtures_dir / "data.txt").read_bytes())
    state = state_pickle.load(fixtures_dir / "data.txt")
    ours = pickle.loads(state_pickle.dumps(state))
    assert list(ours)[:-1] == list(theirs) and list(ours)[-1] == EXTRA_KEY
    assert ours["obj_names"] == theirs["obj_names"] and type(ours["time_step"]) is int
    for name in theirs["obj_names"]["populations"] + theirs["obj_names"]["projections"]:
        assert list(ours[name]) == list(theirs[name]), name
        for key in theirs[name]:
            assert _shape_of(ours[name][key]) == _shape_of(theirs[name][key]), (name, key)
    proj = ours["PFC_exc_to_inh"]
    assert proj["attributes"] == theirs["PFC_exc_to_inh"]["attributes"]     # 'w' twice, as ANNarchy
    assert type(proj["pre_ranks"][0]) is list and type(proj["pre_ranks"][0][0]) is int
    assert type(proj["delays"]) is float and proj["geometry" if False else "post_ranks"] == list(range(30))
    assert state_pickle.load(fixtures_dir / "data.txt").projections[0].values.keys() == \
        from_annarchy_dict(ours, "ours").projections[0].values.keys()


def test_written_values_equal_annarchys_values(fixtures_dir):
    theirs = pickle.loads((fixtures_dir / "data.txt").read_bytes())
    ours = pickle.loads(state_pickle.dumps(state_pickle.load(fixtures_dir / "data.txt")))
    for name in ("PFC_exc", "PFC_inh"):
        for key in theirs[name]["attributes"]:
            assert np.array_equal(ours[name][key], theirs[name][key])
    for key in ("w", "x", "y", "pre_ranks"):
        assert [list(r) for r in ours["PFC_exc_to_inh"][key]] == [list(r) for r in theirs["PFC_exc_to_inh"][key]]


def test_single_object_files_have_the_object_dict_alone(fixtures_dir):
    for fixture in ("pop.txt", "proj.txt"):
        theirs = pickle.loads((fixtures_dir / fixture).read_bytes())
        ours = pickle.loads(state_pickle.dumps(state_pickle.load(fixtures_dir / fixture)))
        assert list(ours) == list(theirs) + [EXTRA_KEY]


def test_equal_rows_use_annarchys_two_dimensional_forms():
    state = example_state(ragged=False, uniform_delay=False)
    desc = to_annarchy_dict(state)["exc_to_inh"]
    assert isinstance(desc["pre_ranks"], np.ndarray) and desc["pre_ranks"].shape == (12, 4)
    assert desc["pre_ranks"].dtype == np.int64
    assert isinstance(desc["w"], list) and isinstance(desc["w"][0], list)
    assert isinstance(desc["delays"], list) and isinstance(desc["delays"][0][0], float)


def test_w_is_listed_as_parameter_and_variable_like_annarchy():
    state = example_state()
    desc = to_annarchy_dict(state)["exc_to_inh"]
    assert desc["parameters"] == STDP_PARAMETERS + ["w"]
    assert desc["variables"] == ["x", "y", "w", "tag", "eligible"]
    assert desc["attributes"].count("w") == 2
    back = from_annarchy_dict(to_annarchy_dict(state), "x").projections[0]
    assert back.parameters == STDP_PARAMETERS       # the exact lists come back from the extra key


def test_extra_key_can_be_left_out():
    desc = to_annarchy_dict(example_state(), extras=False)
    assert EXTRA_KEY not in desc
    back = from_annarchy_dict(desc, "x")
    assert back.dt is None and back.populations[0].internal == {}


def test_globals_are_python_scalars_and_locals_keep_the_geometry():
    desc = to_annarchy_dict(example_state())["exc"]
    assert type(desc["a"]) is float and type(desc["mode"]) is int and type(desc["on"]) is bool
    assert desc["v"].shape == (4, 5) and desc["count"].dtype == np.int64 and desc["active"].dtype == bool
    assert desc["geometry"] == (4, 5) and type(desc["size"]) is int


@pytest.mark.parametrize("name", ["time_step", "net_id", "obj_names", EXTRA_KEY])
def test_names_colliding_with_annarchys_keys_are_refused(name):
    state = example_state()
    state.populations[0].name = name
    with pytest.raises(FormatError, match="collide"):
        state_pickle.dumps(state)


def test_inconsistent_states_are_refused_on_write():
    state = example_state()
    state.populations[1].name = "exc"
    with pytest.raises(FormatError, match="several objects"):
        state_pickle.dumps(state)
    state = example_state()
    del state.populations[0].values["v"]
    with pytest.raises(FormatError, match="no value for attribute 'v'"):
        state_pickle.dumps(state)
    state = example_state()
    state.projections[0].values["w"] = state.projections[0].values["w"][:-1]
    with pytest.raises(FormatError, match="'w' has shape"):
        state_pickle.dumps(state)


# --------------------------------------------------------------------------- every form ANNarchy produces
def _annarchy_like(**changes) -> dict:
    """A small ANNarchy network dict (rows of lengths 2, 1, 3), with ``changes`` applied to the projection."""
    rows = np.empty(3, dtype=object)
    rows[:] = [[0, 2], [1], [0, 1, 3]]
    w = np.empty(3, dtype=object)
    w[:] = [[0.1, 0.2], [0.3], [0.4, 0.5, 0.6]]
    proj = {"name": "p", "pre": "a", "post": "b", "target": "exc", "post_ranks": [0, 2, 3],
            "attributes": ["tau", "w", "w"], "parameters": ["tau", "w"], "variables": ["w"], "delays": 1.0,
            "pre_ranks": rows, "tau": 20.0, "w": w}
    proj.update(changes)
    pop = {"name": "a", "geometry": (4,), "size": 4, "attributes": ["v"], "parameters": [], "variables": ["v"],
           "v": np.arange(4.0)}
    pop_b = dict(pop, name="b")
    return {"time_step": 3, "net_id": 0, "a": pop, "b": pop_b, "p": proj,
            "obj_names": {"populations": ["a", "b"], "projections": ["p"]}}


def _proj(desc: dict):
    return from_annarchy_dict(desc, "f.txt").projections[0]


def test_pre_ranks_as_list_of_lists_or_object_array_of_arrays():
    reference = _proj(_annarchy_like())
    assert reference.pre_ranks.tolist() == [0, 2, 1, 0, 1, 3] and reference.row_ptr.tolist() == [0, 2, 3, 6]
    as_lists = _proj(_annarchy_like(pre_ranks=[[0, 2], [1], [0, 1, 3]]))
    arrays = np.empty(3, dtype=object)
    arrays[:] = [np.array([0, 2]), np.array([1]), np.array([0, 1, 3])]
    as_arrays = _proj(_annarchy_like(pre_ranks=arrays))
    for other in (as_lists, as_arrays):
        assert np.array_equal(other.pre_ranks, reference.pre_ranks)
        assert np.array_equal(other.values["w"], reference.values["w"])


def test_equal_rows_as_two_dimensional_arrays_and_lists_of_lists():
    desc = _annarchy_like(pre_ranks=np.array([[0, 1], [2, 3], [1, 3]]), w=[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
                          delays=[[1.0, 2.0], [1.0, 1.0], [3.0, 1.0]])
    proj = _proj(desc)
    assert proj.pre_ranks.tolist() == [0, 1, 2, 3, 1, 3]
    assert proj.values["w"].tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert proj.delays.tolist() == [1.0, 2.0, 1.0, 1.0, 3.0, 1.0]
    desc["p"]["w"] = np.array(desc["p"]["w"])
    assert np.array_equal(_proj(desc).values["w"], proj.values["w"])
    desc["p"]["pre_ranks"] = np.array([[0, 1], [2, 3], [1, 3]], dtype=object)   # 2-D object array
    assert np.array_equal(_proj(desc).pre_ranks, proj.pre_ranks)


def test_a_single_constant_weight_is_expanded_to_every_synapse():
    proj = _proj(_annarchy_like(w=0.25))
    assert proj.values["w"].tolist() == [0.25] * 6


def test_globals_as_scalars_or_one_element_arrays_and_semiglobals():
    proj = _proj(_annarchy_like(tau=np.array([20.0]), attributes=["tau", "w", "w", "s"], s=[1.0, 2.0, 3.0]))
    assert proj.values["tau"].shape == () and float(proj.values["tau"]) == 20.0
    assert proj.values["s"].tolist() == [1.0, 2.0, 3.0]   # one value per post neuron, kept per row
    assert proj.semiglobal == ["s"]
    assert _proj(_annarchy_like(tau=np.float32(2.5))).values["tau"].dtype == np.float32
    assert _proj(_annarchy_like(delays=np.array(2.0))).delays.shape == ()


def test_unsorted_rows_and_synapses_are_sorted_with_their_values():
    rows = np.empty(3, dtype=object)
    rows[:] = [[3, 1, 0], [2, 0], [1]]
    w = np.empty(3, dtype=object)
    w[:] = [[0.3, 0.1, 0.0], [0.2, 0.05], [0.9]]
    proj = _proj(_annarchy_like(post_ranks=[3, 0, 2], pre_ranks=rows, w=w))
    assert proj.post_ranks.tolist() == [0, 2, 3]
    assert proj.pre_ranks.tolist() == [0, 2, 1, 0, 1, 3]
    assert proj.values["w"].tolist() == [0.05, 0.2, 0.9, 0.0, 0.1, 0.3]
    # a semiglobal value (a plain list, one per post row) follows its row
    sorted_proj = _proj(_annarchy_like(post_ranks=[3, 0, 2], pre_ranks=rows, w=w, attributes=["w", "w", "s"],
                                       s=[30.0, 0.5, 20.0]))
    assert sorted_proj.semiglobal == ["s"] and sorted_proj.values["s"].tolist() == [0.5, 20.0, 30.0]


def test_files_without_obj_names_find_objects_by_their_keys():
    desc = _annarchy_like()
    del desc["obj_names"]
    state = from_annarchy_dict(desc, "old.txt")
    assert [p.name for p in state.populations] == ["a", "b"] and [p.name for p in state.projections] == ["p"]


def test_parameters_and_variables_may_be_missing():
    desc = _annarchy_like()
    del desc["p"]["parameters"], desc["a"]["variables"]
    state = from_annarchy_dict(desc, "f.txt")
    assert state.projections[0].variables == ["w"] and state.projections[0].parameters == ["tau"]
    assert state.populations[0].variables == ["v"]


# --------------------------------------------------------------------------- malformed content
@pytest.mark.parametrize("obj, key", [("p", "pre_ranks"), ("p", "post_ranks"), ("p", "delays"), ("p", "w"),
                                      ("p", "attributes"), ("p", "pre"), ("a", "attributes"), ("a", "v")])
def test_missing_keys_name_file_object_and_key(obj, key):
    desc = _annarchy_like()
    del desc[obj][key]
    with pytest.raises(FormatError, match=rf"f\.txt: .*'{obj}'.*'{key}'"):
        from_annarchy_dict(desc, "f.txt")


@pytest.mark.parametrize("changes, message", [
    ({"post_ranks": [0, 2]}, "3 rows, but 'post_ranks' lists 2"),
    ({"post_ranks": [0, -2, 3]}, "negative rank"),
    ({"pre_ranks": [[0, -2], [1], [0, 1, 3]]}, "negative rank"),
    ({"pre_ranks": [[0, 2.5], [1], [0, 1, 3]]}, "integers"),
    ({"pre_ranks": [[0, 2], 1, [0, 1, 3]]}, "not a sequence"),
    ({"w": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6, 0.7]]}, r"row 1 \(post neuron 2\) has 2 values"),
    ({"w": [[0.1, 0.2], [0.3]]}, "2 rows, but 'pre_ranks' has 3"),
    ({"w": [[0.1, "x"], [0.3], [0.4, 0.5, 0.6]]}, "numbers"),
    ({"w": [[0.1, [0.2]], [0.3], [0.4, 0.5, 0.6]]}, "plain numbers"),
    ({"w": "heavy"}, "expected a number"),
    ({"w": np.arange(4.0)}, "per post neuron"),
    ({"delays": -1.0}, "non-negative"),
    ({"delays": float("nan")}, "finite"),
    ({"pre": 3}, "expected a string"),
    ({"name": "q"}, "is named 'q'"),
    ({"tau": None}, "expected a number"),
    ({"attributes": "tau"}, "list of names"),
])
def test_malformed_projection_content_is_a_format_error(changes, message):
    with pytest.raises(FormatError, match=message) as error:
        from_annarchy_dict(_annarchy_like(**changes), "f.txt")
    assert "f.txt" in str(error.value) and "'p'" in str(error.value)


@pytest.mark.parametrize("changes, message", [
    ({"geometry": "big"}, "tuple of sizes"),
    ({"geometry": (2, 3)}, "does not hold size"),
    ({"size": -1, "geometry": (-1,)}, ">= 0"),
    ({"v": np.arange(3.0)}, "expected 4 values"),
    ({"v": np.array(["a", "b", "c", "d"])}, "numbers"),
    ({"v": [[1.0], [2.0, 3.0]]}, "ragged"),
])
def test_malformed_population_content_is_a_format_error(changes, message):
    desc = _annarchy_like()
    desc["a"].update(changes)
    with pytest.raises(FormatError, match=message):
        from_annarchy_dict(desc, "f.txt")


@pytest.mark.parametrize("value, message", [
    ([1, 2], "not a dict"),
    ({"something": 1}, "not an ANNarchy state"),
    ({"time_step": "x", "obj_names": {}}, "integer"),
    ({"time_step": 1, "obj_names": {"populations": ["ghost"]}}, "no key 'ghost'"),
    ({"time_step": 1, "obj_names": []}, "expected a dict"),
    ({"time_step": 1, "obj_names": {}, EXTRA_KEY: {"format": "other"}}, "metadata"),
    ({"time_step": 1, "obj_names": {}, EXTRA_KEY: {"format": "gpunet-annarchy-dict", "format_version": 99}},
     "newer"),
])
def test_malformed_top_level_content_is_a_format_error(value, message):
    with pytest.raises(FormatError, match=message):
        from_annarchy_dict(value, "f.txt")


# --------------------------------------------------------------------------- bad files
def test_truncated_files_are_format_errors(tmp_path):
    data = state_pickle.dumps(example_state())
    for cut in (0, 1, 2, 11, len(data) // 3, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.txt"
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError, match="cut.txt"):
            state_pickle.load(path)


def test_bit_flips_raise_format_errors_or_load(tmp_path):
    data = state_pickle.dumps(example_state())
    path = tmp_path / "flip.txt"
    for position in (0, 1, 2, 12, len(data) - 1):          # structure bytes: always detected
        flipped = bytearray(data)
        flipped[position] ^= 0x40
        path.write_bytes(bytes(flipped))
        with pytest.raises(FormatError, match="flip.txt"):
            state_pickle.load(path)
    rng = np.random.default_rng(5)
    for _ in range(300):                                      # anywhere: a value may change, nothing else
        flipped = bytearray(data)
        flipped[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            state_pickle.load(path)
        except FormatError as error:
            assert "flip.txt" in str(error)


@pytest.mark.parametrize("fixture, what", [("data.mat", "Matlab"), ("data.txt.gz", "gzip"), ("data.npz", "zip"),
                                           ("network.json", "JSON")])
def test_mislabelled_files_say_what_they_are(fixtures_dir, tmp_path, fixture, what):
    path = tmp_path / "renamed.txt"
    path.write_bytes((fixtures_dir / fixture).read_bytes())
    with pytest.raises(FormatError, match=rf"renamed\.txt: .*{what}"):
        state_pickle.load(path)


def test_empty_random_and_missing_files_are_format_errors(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        state_pickle.load(tmp_path / "empty.txt")
    (tmp_path / "random.txt").write_bytes(np.random.default_rng(3).bytes(4096))
    with pytest.raises(FormatError, match="random.txt"):
        state_pickle.load(tmp_path / "random.txt")
    with pytest.raises(FormatError, match="no such file"):
        state_pickle.load(tmp_path / "missing.txt")
    with pytest.raises(FormatError, match="folder"):
        state_pickle.load(tmp_path)


def test_a_pickle_that_is_not_a_state_is_a_format_error(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(FormatError, match="not a dict"):
        state_pickle.load(path)


def test_a_state_file_carrying_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    desc = pickle.loads(state_pickle.dumps(example_state()))
    desc["exc"]["v"] = Payload()
    path = tmp_path / "evil.txt"
    path.write_bytes(pickle.dumps(desc, protocol=5))
    with pytest.raises(UnsafeFileError, match="evil.txt"):
        state_pickle.load(path)
    assert not marker.exists()


def test_an_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.txt"
    state = example_state()
    state_pickle.save(path, state)
    before = path.read_bytes()

    def broken(flat, bounds):
        raise OSError("disk full")

    monkeypatch.setattr(state_pickle, "encode_rows", broken)
    with pytest.raises(OSError):
        state_pickle.save(path, example_state(seed=9))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


# --------------------------------------------------------------------------- interchange with ANNarchy itself
def _annarchy_python() -> str | None:
    """An interpreter with ANNarchy: $GPUNET_ANNARCHY_PYTHON, or this one if it has ANNarchy."""
    configured = os.environ.get("GPUNET_ANNARCHY_PYTHON")
    if configured:
        return configured if Path(configured).exists() else None
    return sys.executable if importlib.util.find_spec("ANNarchy") is not None else None


_ANNARCHY_SIDE = textwrap.dedent('''
    """Build the file's network in ANNarchy (with the file's connectivity), load it, dump what ANNarchy holds."""
    import json, pickle, sys
    import numpy as np
    import ANNarchy as ann

    network_file, pop_file, proj_file, gz_file, out_file, build_dir = sys.argv[1:7]
    with open(network_file, "rb") as handle:   # the test's own file
        desc = pickle.load(handle)

    def pattern_of(d):
        def pattern(pre, post, dt):
            synapses = ann.LILConnectivity(dt=dt)
            for k, post_rank in enumerate(d["post_ranks"]):
                ranks = [int(r) for r in d["pre_ranks"][k]]
                delays = [d["delays"]] if isinstance(d["delays"], float) else list(d["delays"][k])
                synapses.add(int(post_rank), ranks, [0.5] * len(ranks), delays)
            return synapses
        return pattern

    net = ann.Network(dt=1.0, seed=1)
    pops = {name: net.create(desc[name]["geometry"], ann.Izhikevich, name=name)
            for name in desc["obj_names"]["populations"]}
    projs = {}
    for name in desc["obj_names"]["projections"]:
        d = desc[name]
        projs[name] = net.connect(pops[d["pre"]], pops[d["post"]], d["target"], ann.STDP, name=name)
        projs[name].from_function(pattern_of(d))
    net.compile(directory=build_dir, silent=True)

    def dump():
        out = {"time_step": int(net.current_step)}
        for name, pop in pops.items():
            out[name] = {a: np.asarray(getattr(pop, a), dtype=float).ravel().tolist() for a in pop.attributes}
        for name, proj in projs.items():
            entry = {a: float(getattr(proj, a)) for a in ("tau_plus", "tau_minus", "A_plus", "A_minus",
                                                          "w_min", "w_max")}
            entry.update({a: [list(map(float, r)) for r in getattr(proj, a)] for a in ("w", "x", "y")})
            entry["pre_ranks"] = [list(map(int, r)) for r in proj.cyInstance.pre_ranks()]
            entry["post_ranks"] = list(map(int, proj.post_ranks))
            delay = proj.delay
            entry["delays"] = float(delay) if np.isscalar(delay) else [list(map(float, r)) for r in delay]
            out[name] = entry
        return out

    result = {}
    net.simulate(5.0)              # move away from the file's values first
    net.load(network_file)
    result["network"] = dump()
    net.simulate(5.0)
    first_pop, first_proj = next(iter(pops.values())), next(iter(projs.values()))
    first_pop.load(pop_file)
    first_proj.load(proj_file)
    result["single"] = dump()
    net.simulate(5.0)
    net.load(gz_file)
    result["gz"] = dump()
    with open(out_file, "w") as handle:
        json.dump(result, handle)
''')


def _check_annarchy_holds(dump: dict, state: NetworkState, names: list[str]) -> None:
    for pop in state.populations:
        if pop.name in names:
            for attribute in pop.attributes:
                assert np.array_equal(np.asarray(dump[pop.name][attribute]), pop.values[attribute]), \
                    (pop.name, attribute)
    for proj in state.projections:
        if proj.name in names:
            entry = dump[proj.name]
            assert entry["post_ranks"] == proj.post_ranks.tolist()
            assert np.array_equal(np.concatenate(entry["pre_ranks"]), proj.pre_ranks)
            for key in ("w", "x", "y"):
                assert np.array_equal(np.concatenate(entry[key]), proj.values[key]), (proj.name, key)
            for key in STDP_PARAMETERS:
                assert entry[key] == float(proj.values[key]), (proj.name, key)
            delays = entry["delays"]
            expected = proj.delays
            assert np.array_equal(np.asarray(delays if np.isscalar(delays) else np.concatenate(delays)), expected)


@pytest.mark.annarchy
@pytest.mark.slow
def test_annarchy_loads_what_gpunet_writes(fixtures_dir, tmp_path):
    """A .txt / .gz written by gpunet (with its extra key) loads in ANNarchy 5 with the same values.

    Run with ``GPUNET_ANNARCHY_PYTHON=/path/to/venv/bin/python`` when ANNarchy lives in another venv.
    """
    python = _annarchy_python()
    if python is None:
        pytest.skip("ANNarchy is not importable (set GPUNET_ANNARCHY_PYTHON to an interpreter that has it)")
    state = state_pickle.load(fixtures_dir / "data.txt")
    exc, proj = state.populations[0], state.projections[0]
    exc.values["v"] = exc.values["v"] * 0.5
    exc.internal["_refractory"] = np.zeros(exc.size, np.int32)
    proj.values["w"] = proj.values["w"] + 0.01
    proj.values["tau_plus"] = np.array(31.0)
    proj.internal["_last_event"] = np.arange(proj.nb_synapses)
    # a second projection with equal rows and per-synapse delays: ANNarchy's 2-D / list-of-lists forms
    rng = np.random.default_rng(3)
    extra = copy.deepcopy(proj)
    extra.name, extra.pre, extra.post, extra.target = "inh_to_exc", "PFC_inh", "PFC_exc", "inh"
    extra.post_ranks = np.arange(50, dtype=np.int64)
    extra.row_ptr = np.arange(0, 201, 4, dtype=np.int64)
    extra.pre_ranks = np.concatenate([np.sort(rng.choice(30, 4, replace=False)) for _ in range(50)])
    extra.delays = rng.integers(1, 4, 200).astype(np.float64)
    extra.values.update(w=rng.random(200), x=rng.random(200) * 0.1, y=np.zeros(200))
    extra.internal = {}
    state.projections.append(extra)
    state.step, state.dt, state.seed = 1234, 1.0, 7
    from gpunet.io.formats.pickled import state_gzip
    files = [tmp_path / "net.txt", tmp_path / "pop.txt", tmp_path / "proj.txt", tmp_path / "net.txt.gz"]
    state_pickle.save(files[0], state)
    state_pickle.save(files[1], single(state, "PFC_exc"))
    state_pickle.save(files[2], single(state, "PFC_exc_to_inh"))
    state_gzip.save(files[3], state)
    script = tmp_path / "annarchy_side.py"
    script.write_text(_ANNARCHY_SIDE)
    out = tmp_path / "out.json"
    env = dict(os.environ, PATH=f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([python, str(script), *map(str, files), str(out), str(tmp_path / "build")],
                          capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["network"]["time_step"] == 1234
    _check_annarchy_holds(result["network"], state, ["PFC_exc", "PFC_inh", "PFC_exc_to_inh", "inh_to_exc"])
    _check_annarchy_holds(result["single"], state, ["PFC_exc", "PFC_exc_to_inh"])
    assert result["gz"]["time_step"] == 1234
    _check_annarchy_holds(result["gz"], state, ["PFC_exc", "PFC_inh", "PFC_exc_to_inh", "inh_to_exc"])


def test_gzip_of_the_pickle_is_what_annarchy_reads_from_gz(tmp_path):
    """ANNarchy's .gz loader is gzip.open + pickle.load: the same dict must come out."""
    from gpunet.io.formats.pickled import state_gzip
    state = example_state()
    assert gzip.decompress(state_gzip.dumps(state)) == state_pickle.dumps(state)


@pytest.mark.parametrize("dtype", [",", "(f8,x", "f8,i4", "V8", "object", "<f8 "])
def test_a_corrupted_dtype_in_the_gpunet_metadata_is_a_format_error(dtype):
    """A bit flip once turned "<f8" into a string NumPy parses as an expression (SyntaxError escaped)."""
    desc = to_annarchy_dict(example_state())
    proj_name = example_state().projections[0].name
    desc[EXTRA_KEY]["objects"][proj_name]["dtypes"]["w"] = dtype
    with pytest.raises(FormatError, match="invalid dtype") as error:
        from_annarchy_dict(desc, "flipped.txt")
    assert "flipped.txt" in str(error.value) and "'w'" in str(error.value)
