"""The allow-list unpickler: NumPy and builtin data load; code, deep nesting and memo abuse are refused."""
from __future__ import annotations

import collections
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats.pickled.pickle_scan import scan_pickle
from gpunet.io.formats.pickled.unpickler import PickleLimits, restricted_load, restricted_loads


# --------------------------------------------------------------------------- what must load
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("value", [
    np.arange(6.0).reshape(2, 3),
    np.arange(6).reshape(3, 2).T,                       # Fortran-ordered
    np.array([True, False]),
    np.arange(4, dtype=np.float32),
    np.array(["ab", "c"]),
    np.zeros(0),
    np.float64(2.5), np.int32(-4), np.bool_(True),
    np.dtype(">i2"),
], ids=lambda v: f"{type(v).__name__}-{getattr(v, 'dtype', '')}")
def test_numpy_values_load_in_every_protocol(value, protocol):
    back = restricted_loads(pickle.dumps(value, protocol=protocol), "v.pkl")
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    else:
        assert back == value


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_builtin_containers_and_scalars_load(protocol):
    value = {"list": [1, 2.5, None, True], "tuple": (1, (2, 3)), "set": {1, 2}, "frozenset": frozenset({3}),
             "bytes": b"\x00\xff", "bytearray": bytearray(b"ab"), "complex": 1 + 2j, "big": 2 ** 80,
             "ordered": collections.OrderedDict(a=1, b=2), "slice": slice(1, 5, 2), "text": "héllo"}
    assert restricted_loads(pickle.dumps(value, protocol=protocol), "c.pkl") == value


def test_object_arrays_of_lists_load_like_annarchy_writes_them():
    rows = np.empty(2, dtype=object)
    rows[0], rows[1] = [1, 2, 3], [4]
    back = restricted_loads(pickle.dumps({"pre_ranks": rows}, protocol=5), "p.txt")["pre_ranks"]
    assert back.dtype == object and back.tolist() == [[1, 2, 3], [4]]


def test_restricted_load_reads_a_stream():
    assert restricted_load(io.BytesIO(pickle.dumps([1, 2], protocol=5)), "s.pkl") == [1, 2]


@pytest.mark.parametrize("name", ["data.txt", "data_nopop.txt", "pop.txt", "proj.txt"])
def test_annarchy_fixtures_load(fixtures_dir, name):
    data = (fixtures_dir / name).read_bytes()
    assert restricted_loads(data, name).keys() == pickle.loads(data).keys()


# --------------------------------------------------------------------------- what must be refused
class _Payload:
    """Pickles as a call of ``function(*args)``: what an attacker writes."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _marker_payloads(marker: str) -> dict[str, bytes]:
    return {
        "os.system": pickle.dumps(_Payload(os.system, f"touch {marker}")),
        "subprocess.Popen": pickle.dumps(_Payload(subprocess.Popen, ["touch", marker])),
        "builtins.eval": pickle.dumps(_Payload(eval, f"open({marker!r}, 'w')")),
        "builtins.exec": pickle.dumps(_Payload(exec, f"open({marker!r}, 'w')")),
        "builtins.open": pickle.dumps(_Payload(open, marker, "w")),
        "posix.system (protocol 0)": f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode(),
        "os.system in a dict": pickle.dumps({"w": [1.0], "x": _Payload(os.system, f"touch {marker}")}, protocol=5),
        "os.system inside an object array": pickle.dumps(
            np.array([_Payload(os.system, f"touch {marker}")], dtype=object), protocol=5),
    }


@pytest.mark.parametrize("kind", list(_marker_payloads("x")))
def test_code_execution_payloads_are_refused_and_nothing_runs(tmp_path, kind):
    marker = tmp_path / "pwned"
    data = _marker_payloads(str(marker))[kind]
    with pytest.raises(UnsafeFileError) as error:
        restricted_loads(data, "evil.txt")
    assert "evil.txt" in str(error.value)
    assert "allow-list" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("module, name", [
    ("builtins", "getattr"), ("builtins", "__import__"), ("builtins", "range"), ("functools", "partial"),
    ("numpy", "load"), ("numpy.testing", "assert_equal"), ("numpy.lib.format", "read_array"), ("copyreg",
                                                                                              "_reconstructor"),
    ("__builtin__", "eval"), ("numpy.core.multiarray", "fromstring"), ("posix", "system"), ("nt", "system"),
])
def test_globals_outside_the_allow_list_are_named_in_the_error(module, name):
    data = b"\x80\x04\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)]) + name.encode() \
        + b"\x93."
    with pytest.raises(UnsafeFileError, match=rf"{module}\.{name}"):
        restricted_loads(data, "g.txt")


def test_reduce_of_a_builtin_that_is_not_allowed_is_refused():
    with pytest.raises(UnsafeFileError, match="builtins.getattr"):
        restricted_loads(pickle.dumps(_Payload(getattr, "text", "upper")), "r.txt")


@pytest.mark.parametrize("data, message", [
    (b"\x80\x04\x8c\x01x\x94Q.", "persistent"),                 # BINPERSID
    (b"Pabc\n.", "persistent"),                                  # PERSID (protocol 0)
    (b"\x80\x02\x82\x01.", "extension"),                         # EXT1
])
def test_persistent_ids_and_extension_codes_are_refused(data, message):
    with pytest.raises(UnsafeFileError, match=message):
        restricted_loads(data, "p.txt")


def test_allowed_numpy_functions_refuse_arguments_numpy_never_writes():
    reconstruct_big = (b"\x80\x04\x8c\x16numpy._core.multiarray\x8c\x0c_reconstruct\x93\x8c\x05numpy\x8c\x07ndarray"
                       b"\x93J\x00\xe1\xf5\x05\x85C\x01b\x87R.")
    with pytest.raises(UnsafeFileError, match="shape"):
        restricted_loads(reconstruct_big, "a.txt")
    call_ndarray = b"\x80\x04\x8c\x05numpy\x8c\x07ndarray\x93J\x00\xe1\xf5\x05\x85R."
    with pytest.raises(FormatError):
        restricted_loads(call_ndarray, "b.txt")
    bytes_of_size = b"\x80\x04\x8c\x08builtins\x8c\x05bytes\x93J\x00\xe1\xf5\x05\x85R."
    with pytest.raises(UnsafeFileError, match="allocate"):
        restricted_loads(bytes_of_size, "c.txt")
    newobj_bytes = b"\x80\x04\x8c\x08builtins\x8c\x05bytes\x93J\x00\xe1\xf5\x05\x85\x81."
    with pytest.raises(FormatError):
        restricted_loads(newobj_bytes, "d.txt")


def test_deeply_nested_tuples_are_refused_before_they_can_crash_the_interpreter():
    # Hashing a dict key nested a million tuples deep overflows CPython's C stack (a segfault).
    depth = 1_000_000
    data = b"\x80\x04" + b")" + b"\x85" * depth + b"}\x94" + b")" + b"\x85" * depth + b"K\x01s."
    with pytest.raises(FormatError, match="nested"):
        restricted_loads(data, "deep.txt")


class _ArrayState:
    """Pickles as NumPy's array reduction with any state: what a corrupted or crafted file can hold."""

    def __init__(self, state: tuple) -> None:
        self.state = state

    def __reduce__(self):
        core = np._core if hasattr(np, "_core") else np.core
        return core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), self.state


_CRASHING_LOAD = """
import pickle, sys
from gpunet.io.formats.pickled.unpickler import restricted_loads
from gpunet.errors import GpunetError
try:
    restricted_loads(sys.stdin.buffer.read(), "short.txt")
except GpunetError as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.parametrize("state, error, message", [
    # NumPy reads past the end of a short list and crashes the interpreter (found by the long fuzzing profile)
    ((1, (20,), np.dtype(object), False, [[1], [2], [3]]), "FormatError", "shape (20,) carries 3 items"),
    ((1, (4,), np.dtype("<f8"), False, b"\x00" * 8), "FormatError", "carries 8 bytes"),
    ((1, (2,), np.dtype("(2,)O"), False, [1, 2, 3, 4]), "UnsafeFileError", "NumPy never writes"),
    ((1, (2,), np.dtype([("a", "O")]), False, [1, 2]), "UnsafeFileError", "NumPy never writes"),
    ((1, [2], np.dtype("<f8"), False, b"\x00" * 16), "UnsafeFileError", "shape is not a tuple"),
    ("state", "UnsafeFileError", "not NumPy's"),
])
def test_array_states_that_do_not_match_their_data_are_refused_without_crashing(state, error, message):
    data = pickle.dumps(_ArrayState(state), protocol=5)
    done = subprocess.run([sys.executable, "-c", _CRASHING_LOAD], input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]  # -11 would be the crash
    output = done.stdout.decode()
    assert output.startswith(error) and message in output and "short.txt" in output


class _ForgedDtype:
    """A dtype whose BUILD state gives it other flags than NumPy's own (object-ness switched on or off)."""

    def __init__(self, spec: str, flags: int) -> None:
        self.spec, self.flags = spec, flags

    def __reduce__(self):
        return np.dtype, (self.spec, False, True), (3, "|" if self.spec in ("O", "V8") else "<", None, None, None,
                                                     -1, -1, self.flags)


class _ForgedState:
    """A dtype of ``spec`` pickled with any BUILD state."""

    def __init__(self, spec: str, state: tuple) -> None:
        self.spec, self.state = spec, state

    def __reduce__(self):
        return np.dtype, (self.spec, False, True), self.state


class _Call:
    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


_CORE = np._core if hasattr(np, "_core") else np.core


@pytest.mark.parametrize("payload", [
    # file bytes taken as object pointers (a crash, or worse) ...
    _ArrayState((1, (2,), _ForgedDtype("O", 0), False, b"\x10" * 16)),
    _Call(_CORE.multiarray.scalar, _ForgedDtype("O", 0), b"\x10" * 8),
    _Call(_CORE.numeric._frombuffer, b"\x10" * 16, _ForgedDtype("O", 0), (2,), "C"),
    # ... or object pointers written into 4-byte slots
    _ArrayState((1, (2,), _ForgedDtype("f4", 63), False, [1, 2])),
], ids=["array-state", "scalar", "frombuffer", "object-flags-on-float32"])
def test_dtypes_with_forged_flags_are_refused_without_crashing(payload):
    data = pickle.dumps(payload, protocol=5)
    done = subprocess.run([sys.executable, "-c", _CRASHING_LOAD], input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    output = done.stdout.decode()
    assert output.startswith("UnsafeFileError") and "forged" in output and "short.txt" in output


@pytest.mark.parametrize("value", [np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]), np.dtype([("a", "f8")])],
                         ids=["array", "dtype"])
def test_structured_dtypes_are_refused(value):
    """Their field dtypes are nested in the state, where NumPy would apply them unchecked; no state file has them."""
    with pytest.raises(UnsafeFileError, match="NumPy never writes"):
        restricted_loads(pickle.dumps(value, protocol=5), "structured.txt")


def test_loaded_arrays_are_plain_ndarrays_at_every_level():
    rows = np.empty(2, dtype=object)
    rows[0], rows[1] = np.arange(2.0), [1.0]
    value = {"a": np.arange(3.0), "nested": [{"b": (np.zeros(2), 1)}], "rows": rows}
    back = restricted_loads(pickle.dumps(value, protocol=2), "plain.txt")
    assert type(back["a"]) is np.ndarray and type(back["nested"][0]["b"][0]) is np.ndarray
    assert type(back["rows"]) is np.ndarray and type(back["rows"][0]) is np.ndarray
    assert np.array_equal(back["rows"][0], [0.0, 1.0]) and back["rows"][1] == [1.0]


def test_deeply_nested_lists_are_a_format_error_not_a_recursion_error():
    depth = 200_000
    data = b"\x80\x04" + b"]\x94(" * depth + b"e" * depth + b"."
    with pytest.raises(FormatError, match="nested"):
        restricted_loads(data, "deep.txt")


def test_depth_limit_is_configurable():
    data = pickle.dumps([[[[1]]]], protocol=5)
    assert restricted_loads(data, "x", limits=PickleLimits(max_depth=10)) == [[[[1]]]]
    with pytest.raises(FormatError, match="limit 2"):
        restricted_loads(data, "x", limits=PickleLimits(max_depth=2))


@pytest.mark.parametrize("data, message", [
    (b"\x80\x04Nr\xff\xff\xff\x7f.", "memo index"),              # LONG_BINPUT far beyond the memo
    (b"\x80\x04Np99999999\n.", "memo index"),                     # PUT far beyond the memo
    (b"\x80\x04h\x05.", "memo entry"),                           # GET of a missing entry
    (b"\x80\x04]\x94h\x00a.", "modified after"),                 # a list that contains itself
    (b"\x80\x05\x97.", "out-of-band"),                           # protocol-5 out-of-band buffer
    (b"\x80\x04K\x01.XX", "after the end"),                      # trailing garbage
    (b"\x80\x04K\x01K\x02.", "unbalanced"),
    (b"\x80\x04e.", "MARK"),
    (b"\x80\x09N.", "protocol"),
    (b"\x80\x04\xff.", "opcode"),
])
def test_structurally_invalid_pickles_are_format_errors(data, message):
    with pytest.raises(FormatError, match=message) as error:
        restricted_loads(data, "bad.txt")
    assert "bad.txt" in str(error.value)


def test_every_truncation_of_a_pickle_is_a_format_error():
    data = pickle.dumps({"w": np.arange(5.0), "rows": [[1, 2], [3]], "name": "pop"}, protocol=5)
    for cut in range(len(data)):
        with pytest.raises(FormatError, match="cut.txt"):
            restricted_loads(data[:cut], "cut.txt")


def test_empty_and_random_data_are_format_errors():
    with pytest.raises(FormatError, match="empty"):
        restricted_loads(b"", "empty.txt")
    rng = np.random.default_rng(0)
    for _ in range(200):
        with pytest.raises(FormatError):
            restricted_loads(rng.bytes(64), "random.txt")


def test_random_bit_flips_raise_only_format_errors_or_load():
    data = pickle.dumps({"w": np.arange(50.0), "rows": [[1, 2], [3]] * 20, "s": {"a": (1, 2)}}, protocol=5)
    rng = np.random.default_rng(1)
    for _ in range(500):
        flipped = bytearray(data)
        position = int(rng.integers(len(data)))
        flipped[position] ^= 1 << int(rng.integers(8))
        try:
            restricted_loads(bytes(flipped), "flip.txt")
        except FormatError:
            pass


def test_size_limit_is_enforced():
    with pytest.raises(FormatError, match="limit"):
        restricted_loads(pickle.dumps(list(range(1000))), "big.txt", limits=PickleLimits(max_bytes=100))


def test_scan_accepts_what_pickle_writes_for_large_lists():
    rows = [list(np.random.default_rng(2).random(2500))] * 3 + [list(range(3000))]
    scan_pickle(pickle.dumps(rows, protocol=5), "rows.txt")
    scan_pickle(pickle.dumps(rows, protocol=2), "rows.txt")


def test_nothing_is_imported_to_resolve_a_global():
    module = "gpunet_test_module_that_must_not_be_imported"
    data = f"c{module}\nthing\n.".encode()
    with pytest.raises(UnsafeFileError):
        restricted_loads(data, "i.txt")
    assert module not in sys.modules


_DTYPE_SPECS = ["f8", "f4", "i4", "u1", "b1", "O8", "O", "V8", "U3", "S2", "c16", "M8[s]", "V16", "(2,)f8", "i2"]
_STATE_VALUES = st.one_of(st.none(), st.integers(-3, 2 ** 62), st.sampled_from(["<", ">", "|", "="]),
                          st.tuples(st.integers(0, 70)), st.dictionaries(st.just("a"), st.just((1, 0))))


@given(spec=st.sampled_from(_DTYPE_SPECS), changes=st.lists(st.tuples(st.integers(0, 8), _STATE_VALUES), max_size=3),
       data=st.one_of(st.binary(max_size=40), st.lists(st.integers(0, 3), max_size=4)), length=st.integers(0, 4),
       as_array=st.booleans())
def test_any_dtype_state_either_is_numpys_own_or_is_refused(spec, changes, data, length, as_array):
    """NumPy never sees a dtype state from a file unless it equals the one NumPy writes for that dtype."""
    state = list(np.dtype(spec).__reduce__()[2])
    for index, value in changes:
        if index < len(state):
            state[index] = value
    dtype = _ForgedState(spec, tuple(state))
    payload = _ArrayState((1, (length,), dtype, False, data)) if as_array else dtype
    try:
        back = restricted_loads(pickle.dumps(payload, protocol=5), "fuzz.txt")
    except (FormatError, UnsafeFileError):
        return
    if as_array:
        assert type(back) is np.ndarray and back.dtype.__reduce__()[2] == tuple(state) and back.shape == (length,)
    else:
        assert isinstance(back, np.dtype) and back.__reduce__()[2] == tuple(state)
