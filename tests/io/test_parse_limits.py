"""Parse-level limits (issue 18, classes 1 and 3): what each reader refuses, with which error, before allocating."""
from __future__ import annotations

import io
import json
import pickle
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats import annarchy_npz, state_mat, state_npz
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.storage.read_budget import ReadBudget
from gpunet.io.formats.pickled.pickle_scan import scan_pickle
from gpunet.io.formats.pickled.unpickler import PickleLimits, _numpy_core, restricted_loads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
import hostile_inputs as hostile  # noqa: E402

_RECONSTRUCT = _numpy_core().multiarray._reconstruct
TIGHT = PickleLimits(memory_ratio=4, memory_allowance=0)


# --------------------------------------------------------------------------- builtins called by a pickle
@pytest.mark.parametrize("integer", [np.int8(5), np.uint16(5), np.int32(5), np.int64(10 ** 9), np.uint64(5),
                                     True, 5])
@pytest.mark.parametrize("callable_name", ["bytes", "bytearray"])
def test_a_size_of_any_integer_type_is_refused(integer, callable_name):
    body = pickle.dumps(integer, protocol=2)[2:-1]
    data = b"\x80\x02" + hostile.call(hostile._global("builtins", callable_name), body) + b"."
    with pytest.raises(UnsafeFileError, match=rf"evil\.txt: {callable_name}\(\) called with"):
        restricted_loads(data, "evil.txt")


@pytest.mark.parametrize("container", ["list", "tuple", "set", "frozenset", "dict"])
@pytest.mark.parametrize("argument", [b"X\x03\x00\x00\x00abc", b"C\x03abc"])  # a str, a bytes
def test_containers_are_not_built_one_item_per_character(container, argument):
    data = b"\x80\x04" + hostile.call(hostile._global("builtins", container), argument) + b"."
    with pytest.raises(UnsafeFileError, match=rf"x\.txt: {container}\(\) called with"):
        restricted_loads(data, "x.txt")


def test_containers_from_a_list_still_load():
    """What pickle itself writes (protocol 2 sets: ``set([...])``) is unchanged."""
    assert restricted_loads(pickle.dumps({1, 2, 3}, protocol=2), "s.txt") == {1, 2, 3}
    assert restricted_loads(pickle.dumps(frozenset("ab"), protocol=2), "s.txt") == frozenset("ab")
    assert restricted_loads(pickle.dumps(bytearray(b"xyz"), protocol=2), "s.txt") == bytearray(b"xyz")
    assert restricted_loads(pickle.dumps(bytearray(b"xyz"), protocol=4), "s.txt") == bytearray(b"xyz")
    assert restricted_loads(pickle.dumps(b"xyz", protocol=2), "s.txt") == b"xyz"
    assert restricted_loads(pickle.dumps(1 + 2j, protocol=2), "s.txt") == 1 + 2j


def test_str_of_an_object_and_int_of_long_text_are_refused():
    repr_of_list = b"\x80\x04" + hostile.call(hostile._global("builtins", "str"), b"]") + b"."
    with pytest.raises(UnsafeFileError, match=r"r\.txt: str\(\) called with list"):
        restricted_loads(repr_of_list, "r.txt")
    digits = b"\x80\x04" + hostile.call(hostile._global("builtins", "int"),
                                        b"X" + (10 ** 6).to_bytes(4, "little") + b"9" * 10 ** 6) + b"."
    with pytest.raises(UnsafeFileError, match=r"i\.txt: int\(\) called with str"):
        restricted_loads(digits, "i.txt")


# --------------------------------------------------------------------------- memo reuse and object floods
class _SharedState:
    """Pickles as an array whose state is one shared bytes object (a memo reference after the first)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self):
        return _RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (len(self.data),), np.dtype("u1"), False, self.data)


def test_each_use_of_a_memoized_array_state_is_charged():
    shared = bytes(1 << 16)
    once = pickle.dumps([_SharedState(shared)], protocol=5)
    assert restricted_loads(once, "one.txt", limits=TIGHT)[0].nbytes == 1 << 16
    many = pickle.dumps([_SharedState(shared) for _ in range(100)], protocol=5)
    assert len(many) < 2 * len(once)  # the 99 others are memo references
    with pytest.raises(FormatError, match=r"many\.txt: an array of shape \(65536,\).*more bytes of memory"):
        restricted_loads(many, "many.txt", limits=TIGHT)


def test_a_shared_budget_covers_several_pickles():
    data = pickle.dumps(np.zeros(1000), protocol=5)
    budget = ReadBudget("shared.npz", len(data), ratio=2, allowance=0)
    restricted_loads(data, "shared.npz", budget=budget)
    with pytest.raises(FormatError, match="shared.npz"):
        restricted_loads(data, "shared.npz", budget=budget)


@pytest.mark.parametrize("flood, limits, message", [
    (hostile.empty_set_flood(100_000), TIGHT, "the objects it makes would need more than"),
    (b"\x80\x04(" + b"]" * 100_000 + b"t.", TIGHT, "the objects it makes would need more than"),
    (hostile.mark_flood(101), PickleLimits(), "more than 100 MARKs open"),
], ids=["empty sets", "empty lists", "marks"])
def test_object_floods_are_refused_by_the_scan(flood, limits, message):
    with pytest.raises(FormatError, match=rf"flood\.txt: invalid pickle at byte \d+: {message}"):
        scan_pickle(flood, "flood.txt", limits)


def test_marks_nested_as_deep_as_the_depth_limit_still_load():
    nested = 0
    for _ in range(99):
        nested = (nested, 1, 2, 3)  # tuples of 4 items: a MARK each
    assert restricted_loads(pickle.dumps(nested, protocol=5), "deep.txt") == nested


def test_rows_that_are_one_array_are_charged_per_row():
    data = hostile.memo_reused_rows(row_length=10_000, rows=2000)
    assert len(data) < 200_000  # 20 million synapses: one row of 10,000 and 1,999 references to it
    with pytest.raises(FormatError, match=r"memo\.gz: projection 'c', key 'pre_ranks' needs \d+ more bytes"):
        from_annarchy_dict(pickle.loads(data), "memo.gz", input_bytes=len(data))
    genuine = hostile.memo_reused_rows(row_length=10, rows=200)
    state = from_annarchy_dict(pickle.loads(genuine), "ok.gz", input_bytes=len(genuine))
    assert state.projections[0].pre_ranks.shape == (10 * 200,)


# --------------------------------------------------------------------------- zip members
def test_native_deflated_members_are_capped_before_allocating():
    from gpunet.io.pipeline.state_types import NetworkState, PopulationState
    pop = PopulationState("p", (100_000,), 100_000, "", [], ["v"], {"v": np.zeros(100_000)})
    data = state_npz.dumps(NetworkState(populations=[pop], step=0, dt=1.0), compress=True)
    assert len(data) < 10_000
    assert state_npz.loads(data, "z.npz").populations[0].values["v"].shape == (100_000,)
    with pytest.raises(FormatError, match=r"z\.npz: object 'p', array 'v': the deflated members inflate to more"):
        state_npz.loads(data, "z.npz", max_output=100_000)
    with pytest.raises(FormatError, match=r"bomb\.npz: object 'p', array 'v': the deflated members inflate"):
        state_npz.loads(hostile.native_deflated_zeros(), "bomb.npz")


def test_native_stored_member_must_lie_inside_the_file():
    with pytest.raises(FormatError, match=r"cut\.npz: object 'p', array 'v': the stored member declares "
                                          r"800000128 bytes that the file does not hold"):
        state_npz.loads(hostile.native_stored_beyond_the_file(), "cut.npz")


def test_annarchy_npz_members_share_one_cap():
    with pytest.raises(FormatError, match=rf"many\.npz: the members declare {6 * ((1 << 30) + 128)} bytes in all"):
        annarchy_npz.loads(hostile.annarchy_npz_many_members(), "many.npz")


@pytest.mark.parametrize("descr", ["|V0", "|S0", "<U0", "|V8", [("a", "<i4")], "(3,)<i4"],
                         ids=["V0", "S0", "U0", "V8", "structured", "subarray"])
def test_annarchy_npz_dtypes_without_numbers_are_refused(descr):
    header = hostile._npy_header(descr, (10 ** 12,))
    data = hostile.zip_with_raw_members([("time_step.npy", header, len(header), zlib.crc32(header), False)])
    with pytest.raises(FormatError, match=r"odd\.npz, member 'time_step\.npy': dtype .*(zero bytes|not a number)"):
        annarchy_npz.loads(data, "odd.npz")


# --------------------------------------------------------------------------- .mat metadata
@pytest.fixture(scope="module")
def mat_dict(tmp_path_factory):
    """The dict gpunet hands to ``savemat`` for a small simulated network (internal arrays included)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from helpers import small_network
    import gpunet as gn
    net = small_network(neurons=20)
    net.simulate(5.0)
    path = tmp_path_factory.mktemp("mat") / "s.mat"
    gn.save(path, network=net)
    return state_mat.to_matlab_dict(gn.read_state(path))


def _with_meta(mdict: dict, edit) -> bytes:
    meta = json.loads(mdict["gpunet"]["meta"])
    edit(meta)
    changed = dict(mdict, gpunet=dict(mdict["gpunet"], meta=meta if isinstance(meta, str) else json.dumps(meta)))
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, changed, long_field_names=True, oned_as="row")
    return buffer.getvalue()


def _first_population(meta: dict) -> dict:
    return next(entry for entry in meta["objects"].values() if entry["kind"] == "population")


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(extra=json.loads("[" * 200 + "]" * 200)), "JSON nested deeper than 16"),
    (lambda m: _first_population(m).update(globals=5), "entry 'globals' is a int, expected a list"),
    (lambda m: _first_population(m).update(internal=[]), "entry 'internal' is a list, expected a dict"),
    (lambda m: _first_population(m).update(dtypes={"v": "(1000000000,)i8"}), "invalid dtype '\\(1000000000,\\)i8'"),
    (lambda m: next(iter(_first_population(m)["internal"].values())).update(dtype="(1000000000,)i8"),
     "internal array .*invalid dtype"),
    (lambda m: next(iter(_first_population(m)["internal"].values())).update(shape=[10 ** 12]),
     "internal array .* the metadata says shape"),
    (lambda m: _first_population(m).update(parameters=[1, 2]), "entry 'parameters' must be a list of names"),
])
def test_malformed_mat_metadata_is_a_format_error(mat_dict, edit, message):
    data = _with_meta(mat_dict, edit)
    with pytest.raises(FormatError, match=rf"meta\.mat: .*{message}"):
        state_mat.loads(data, "meta.mat")


def test_mat_metadata_nested_beyond_the_interpreter_is_a_format_error(mat_dict):
    deep = "[" * 100_000 + "]" * 100_000
    changed = dict(mat_dict, gpunet=dict(mat_dict["gpunet"], meta='{"format": "gpunet", "x": ' + deep + "}"))
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, changed, long_field_names=True, oned_as="row")
    with pytest.raises(FormatError, match=r"deep\.mat: variable 'gpunet', field 'meta': JSON nested"):
        state_mat.loads(buffer.getvalue(), "deep.mat")


def test_read_state_passes_a_decompression_cap_to_every_compressed_format(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from helpers import small_network
    import gpunet as gn
    net = small_network(neurons=20)
    for name in ("s.txt.gz", "s.npz", "s.mat"):
        path = tmp_path / name
        gn.save(path, network=net, compress=name.endswith(".npz"))
        assert gn.read_state(path, max_output=1 << 30).populations[0].size == 20
    with pytest.raises(FormatError, match=r"s\.txt\.gz: decompresses to more than 1000 bytes"):
        gn.read_state(tmp_path / "s.txt.gz", max_output=1000)
    with pytest.raises(FormatError, match=r"s\.npz: object .* the deflated members inflate to more"):
        gn.read_state(tmp_path / "s.npz", max_output=1000)
