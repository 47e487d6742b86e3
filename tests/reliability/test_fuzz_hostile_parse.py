"""Structure-aware fuzzing of the parsers (issue 18, classes 1 and 3).

Mutating valid files (``test_fuzz_loaders.py``) rarely produces what found the memory bombs and the
escaping exceptions; these generators build the hostile structures directly:

* pickles written opcode by opcode from a random expression tree: memo references to one object
  used many times, MARK and container floods, builtins and NumPy calls on NumPy scalars, strings
  and memo references, array states that share one bytes object, deep nesting;
* zip members with lying sizes, CRCs and ``.npy`` headers, deflated members of zeros;
* ``.mat`` files whose gpunet metadata has values of the wrong types and depths.

Each input must end in a gpunet error (or load), and its allocations, traced with
:mod:`tracemalloc` (NumPy reports its arrays to it), must stay within the parse's budget; the
budgets' fixed allowances are made small so that small inputs exercise the bound.  The peak
memory and wall time of every input are kept; the worst ones are printed at the end of the
module (``pytest -s``).  ``GPUNET_TEST_PROFILE=long`` runs 2,000 examples per property.
"""
from __future__ import annotations

import io
import json
import pickle
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import given, strategies as st

from gpunet.errors import GpunetError
from gpunet.io.formats import annarchy_npz, state_mat, state_npz
from gpunet.io.formats.pickled.unpickler import PickleLimits, _numpy_core, restricted_loads

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_inputs as hostile  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz_records import measure, summary  # noqa: E402

#: Small allowances: a few kilobytes of pickle may make at most RATIO x its size + ALLOWANCE bytes.
LIMITS = PickleLimits(memory_allowance=1 << 20)
#: What tracemalloc sees beyond the budget: the input's own copies and the unpickler's bookkeeping.
SLACK = 4 << 20
SECONDS_PER_INPUT = 5.0

_RECONSTRUCT = _numpy_core().multiarray._reconstruct
_GENERATORS = ("pickles", "shared array states", "zip members", "mat metadata")


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    print("\n" + summary(_GENERATORS))


def _run(name: str, size: int, action) -> tuple[int, object]:
    """Run ``action`` (one input), recorded; return (peak traced bytes, outcome)."""
    return measure(name, size, action, SECONDS_PER_INPUT)


# --------------------------------------------------------------------------- pickles, opcode by opcode
def _global(name: str) -> bytes:
    module, _, attribute = name.rpartition(".")
    return hostile._global(module, attribute)


class _SharedState:
    """Pickles as a uint8 array whose state is ``data`` (one memo entry when several share it)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self):
        return _RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (len(self.data),), np.dtype("u1"), False, self.data)


class _Compiler:
    """Writes an expression tree as protocol-4 opcodes; ``("ref", k)`` reuses the k-th memoized object."""

    def __init__(self) -> None:
        self.memo = 0
        self.out: list[bytes] = []

    def memoize(self) -> None:
        self.out.append(b"\x94")
        self.memo += 1

    def emit(self, expr) -> None:
        kind = expr[0]
        if kind == "leaf":
            self.out.append(expr[1])
        elif kind == "ref":
            if self.memo:
                index = expr[1] % self.memo
                self.out.append(b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index))
            else:
                self.out.append(b"N")
        elif kind == "memo":
            self.emit(expr[1])
            self.memoize()
        elif kind in ("list", "tuple", "set"):
            self.out.append({"list": b"](", "tuple": b"(", "set": b"\x8f("}[kind])
            for item in expr[1]:
                self.emit(item)
            self.out.append({"list": b"e", "tuple": b"t", "set": b"\x90"}[kind])
        elif kind == "dict":
            self.out.append(b"}(")
            for index, item in enumerate(expr[1]):
                self.out.append(b"\x8c\x01" + bytes([97 + index % 26]))
                self.emit(item)
            self.out.append(b"u")
        elif kind == "repeat":  # one object, then references to it
            self.out.append(b"](")
            self.emit(expr[1])
            self.memoize()
            index = self.memo - 1
            self.out.append((b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)) * expr[2])
            self.out.append(b"e")
        elif kind == "call":
            self.out.append(_global(expr[1]) + b"(")
            for item in expr[2]:
                self.emit(item)
            self.out.append(b"tR")
        elif kind == "marks":
            self.out.append(b"(" * expr[1] + b"N" + b"1" * expr[1])
        elif kind == "raw":
            self.out.append(expr[1])

    def program(self, expr) -> bytes:
        self.emit(expr)
        return b"\x80\x04" + b"".join(self.out) + b"."


def _numpy_scalar(value: int, dtype: str) -> bytes:
    return pickle.dumps(np.dtype(dtype).type(value), protocol=2)[2:-1].replace(b"\x80\x02", b"")


_leaves = st.one_of(
    st.just(("leaf", b"N")),
    st.integers(0, 255).map(lambda n: ("leaf", b"K" + bytes([n]))),
    st.integers(-(2 ** 31), 2 ** 31 - 1).map(lambda n: ("leaf", b"J" + struct.pack("<i", n))),
    st.floats(allow_nan=True).map(lambda x: ("leaf", b"G" + struct.pack(">d", x))),
    st.binary(max_size=64).map(lambda b: ("leaf", b"C" + bytes([len(b)]) + b)),
    st.text(max_size=16).map(lambda t: ("leaf", b"\x8c" + bytes([len(t.encode())]) + t.encode())),
    st.integers(0, 4096).map(lambda n: ("leaf", b"B" + struct.pack("<I", n) + bytes(n))),
    st.tuples(st.integers(0, 2 ** 40), st.sampled_from(["i1", "u2", "i4", "i8", "u8", "?"])).map(
        lambda a: ("leaf", _numpy_scalar(a[0] % 128 if a[1] in ("i1",) else a[0] % 2 if a[1] == "?" else
                                         a[0] % 65536 if a[1] == "u2" else a[0] % 2 ** 31, a[1]))),
    st.integers(0, 300).map(lambda k: ("ref", k)),
    st.integers(1, 20_000).map(lambda n: ("raw", pickle.dumps([_SharedState(bytes(n))] * 1, protocol=4)[2:-1])),
)
_CALLABLES = ["builtins.bytearray", "builtins.bytes", "builtins.list", "builtins.tuple", "builtins.set",
              "builtins.frozenset", "builtins.str", "builtins.int", "builtins.float", "builtins.dict",
              "builtins.complex", "_codecs.encode", "collections.OrderedDict"]

_expressions = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["list", "tuple", "set", "dict"]), st.lists(inner, max_size=6)),
        st.tuples(st.just("memo"), inner),
        st.tuples(st.just("repeat"), inner, st.integers(1, 3000)),
        st.tuples(st.just("call"), st.sampled_from(_CALLABLES), st.lists(inner, max_size=3)),
        st.integers(1, 120).map(lambda n: ("marks", n)),
    ),
    max_leaves=24,
)


@given(expr=_expressions)
def test_pickles_built_opcode_by_opcode_stay_within_their_budget(expr):
    data = _Compiler().program(expr)
    peak, _ = _run("pickles", len(data), lambda: restricted_loads(data, "fuzz.txt", limits=LIMITS))
    assert peak <= LIMITS.memory_ratio * len(data) + LIMITS.memory_allowance + SLACK


@given(shared=st.integers(1, 1 << 15), copies=st.integers(1, 400))
def test_array_states_sharing_one_bytes_object_are_charged_per_use(shared, copies):
    data = pickle.dumps([_SharedState(b) for b in [bytes(shared)] * copies], protocol=4)  # one memoized bytes
    peak, outcome = _run("shared array states", len(data), lambda: restricted_loads(data, "s.txt", limits=LIMITS))
    assert peak <= LIMITS.memory_ratio * len(data) + LIMITS.memory_allowance + SLACK
    if shared * copies > LIMITS.memory_ratio * len(data) + LIMITS.memory_allowance:
        assert isinstance(outcome, GpunetError)


# --------------------------------------------------------------------------- zip members
_npy_descr = st.sampled_from(["<f8", "<i8", "|b1", "|u1", "<U0", "|V0", "|S0", "|V16", "|O", "(4,)<i4", "<f8"])


@st.composite
def _members(draw):
    """A ``.npy`` member: its header, some data, deflated zeros or not, and sizes and CRC that may lie."""
    count = draw(st.integers(0, 1 << 22))
    descr = draw(_npy_descr)
    header = hostile._npy_header(descr, (count,))
    deflated = draw(st.booleans())
    body = header + bytes(min(draw(st.integers(0, 4096)), count * 8))
    zeros = draw(st.integers(0, 1 << 21)) if deflated else 0
    payload = hostile.deflated_zeros(body, zeros) if deflated else body
    size = len(body) + zeros
    declared = draw(st.sampled_from([size, size, len(header) + count * 8, draw(st.integers(0, 1 << 31))]))
    crc = draw(st.sampled_from([zlib.crc32(bytes(zeros), zlib.crc32(body))] * 3 + [0]))
    stored = draw(st.sampled_from([len(payload)] * 3 + [draw(st.integers(0, 1 << 31))]))
    return count, descr, (f"m{draw(st.integers(0, 3))}.npy", payload, declared, crc, deflated, stored)


@given(members=st.lists(_members(), min_size=1, max_size=3), native=st.booleans())
def test_zip_members_with_lying_headers(members, native):
    entries = [entry for _, _, entry in members]
    if native:
        count, descr, (name, payload, declared, crc, deflated, stored) = members[0]
        manifest = json.loads(hostile._native_manifest(count, name))
        manifest["objects"][0]["arrays"]["v"].update(dtype={"<f8": "float64", "<i8": "int64", "|b1": "bool",
                                                            "|u1": "uint8"}.get(descr, descr), crc32=crc)
        text = json.dumps(manifest).encode()
        entries.append(("manifest.json", text, len(text), zlib.crc32(text), False))
    data = hostile.zip_with_raw_members(entries)
    cap = 1 << 22
    reader = state_npz.loads if native else annarchy_npz.loads
    peak, _ = _run("zip members", len(data), lambda: reader(data, "fuzz.npz", max_output=cap))
    assert peak <= 3 * (len(data) + cap) + (64 << 20) * 2  # the members, their arrays, the budgets' allowances


# --------------------------------------------------------------------------- .mat metadata
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10 ** 12), st.floats(allow_nan=False), st.text(max_size=8),
              st.sampled_from(["(1000000000,)i8", "V0", "<f8", "|b1", "object", "S0", "<U0", "f8,i4"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def mat_dict(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
    from helpers import small_network
    import gpunet as gn
    net = small_network(neurons=12)
    net.simulate(5.0)
    path = tmp_path_factory.mktemp("mat") / "s.mat"
    gn.save(path, network=net)
    return state_mat.to_matlab_dict(gn.read_state(path))


def _paths(value, prefix=()):
    """Every (path, value) of a parsed JSON document."""
    yield prefix, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


@given(where=st.integers(0, 10 ** 6), replacement=_json_values, depth=st.sampled_from([0, 0, 0, 40, 3000]))
def test_mat_metadata_of_wrong_types_and_depths(mat_dict, where, replacement, depth):
    meta = json.loads(mat_dict["gpunet"]["meta"])
    paths = [path for path, _ in _paths(meta) if path]
    target = paths[where % len(paths)]
    parent = meta
    for key in target[:-1]:
        parent = parent[key]
    parent[target[-1]] = "@@replacement@@"
    text = json.dumps(meta).replace('"@@replacement@@"', "[" * depth + json.dumps(replacement) + "]" * depth)
    changed = dict(mat_dict, gpunet=dict(mat_dict["gpunet"], meta=text))
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, changed, long_field_names=True, oned_as="row")
    data = buffer.getvalue()
    _run("mat metadata", len(data), lambda: state_mat.loads(data, "fuzz.mat"))
