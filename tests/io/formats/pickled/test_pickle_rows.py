"""Row blocks: gpunet's rows decode with NumPy to exactly what pickle gives, and a hint is never trusted."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gpunet.errors import FormatError
from gpunet.io.formats.pickled import state_pickle
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.formats.pickled.pickle_rows import MAGIC, DecodedRows, as_decoded, decode_hinted_block, encode_int_list, encode_rows
from gpunet.io.formats.pickled.pickle_scan import scan_pickle
from gpunet.io.formats.pickled.unpickler import restricted_loads

from state_examples import assert_states_equal, example_state, same_objects

ROWS = [[0.5, -0.0, float("inf")], [], [float("nan"), 1e-310], [], [2.0]]


def _flat_bounds(rows: list[list]) -> tuple[np.ndarray, list[int]]:
    bounds = np.concatenate(([0], np.cumsum([len(r) for r in rows]))).astype(int).tolist()
    values = [v for r in rows for v in r]
    return np.array(values, dtype=type(values[0]) if values else float), bounds


def _pickle_of(block: bytes) -> bytes:
    return b"\x80\x05" + block + b"."


def _expanded(obj):
    """``obj`` with every decoded block turned back into lists of Python numbers (pickle's form)."""
    decoded = as_decoded(obj)
    if decoded is not None:
        bounds = np.concatenate(([0], np.cumsum(decoded.lengths)))
        rows = [decoded.flat[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]
        if isinstance(obj, np.ndarray):
            array = np.empty(len(rows), dtype=object)
            array[:] = rows
            return array
        return rows
    if isinstance(obj, dict):
        return {k: _expanded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_expanded(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_expanded(v) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        array = np.empty(obj.shape, dtype=object)
        for index, value in np.ndenumerate(obj):
            array[index] = _expanded(value)
        return array
    return obj


# --------------------------------------------------------------------------- encoding and decoding
@pytest.mark.parametrize("rows", [
    ROWS,
    [[1, -(2 ** 31), 2 ** 31 - 1], [], [7]],
    [[True, False], [], [False, False, True]],
    [[], [], []],
    [[3.0]],
], ids=["floats", "ints", "bools", "all-empty", "one-value"])
def test_blocks_unpickle_to_the_lists_and_decode_to_the_same_numbers(rows):
    flat, bounds = _flat_bounds(rows)
    block = encode_rows(flat, bounds)
    assert same_objects(pickle.loads(_pickle_of(block)), rows)
    decoded, end = decode_hinted_block(block, 0)
    assert end == len(block)
    assert decoded.lengths.tolist() == [len(r) for r in rows]
    assert same_objects(decoded.flat.tolist(), [v for r in rows for v in r])
    assert decoded.flat.dtype == {float: np.float64, int: np.int64, bool: np.bool_}[type(flat.tolist()[0])
                                                                                    if len(flat) else float]


def test_no_rows_is_a_bare_empty_list_and_big_ints_are_left_to_pickle():
    assert encode_rows(np.zeros(0), [0]) == b"]"
    assert encode_rows(np.array([2 ** 40]), [0, 1]) is None
    assert encode_rows(np.array(["a"]), [0, 1]) is None


def test_as_decoded_recognises_only_one_block_repeated_once_per_row():
    block = DecodedRows(np.array([1, 2]), np.arange(3.0))
    assert as_decoded([block, block]) is block
    array = np.empty(2, dtype=object)
    array[:] = [block, block]
    assert as_decoded(array) is block
    other = DecodedRows(np.array([1, 2]), np.arange(3.0))
    for value in ([block], [block, other], [block, block, block], [], [[1.0], [2.0]], np.arange(2.0), "ab"):
        assert as_decoded(value) is None


# --------------------------------------------------------------------------- the hint is checked, not trusted
def _hinted(rows=ROWS) -> bytearray:
    flat, bounds = _flat_bounds(rows)
    return bytearray(encode_rows(flat, bounds))


_LENGTHS_AT = 5 + len(MAGIC) + 1  # BINBYTES, its 4-byte size, the magic, the record opcode


def test_a_wrong_row_length_in_the_hint_is_not_decoded():
    block = _hinted()
    at = _LENGTHS_AT
    block[at:at + 8] = (2).to_bytes(8, "little")  # row 0 has 3 values
    block[at + 8:at + 16] = (1).to_bytes(8, "little")  # and row 1 none: the total still matches
    assert decode_hinted_block(bytes(block), 0) is None
    assert same_objects(pickle.loads(_pickle_of(bytes(block))), ROWS)


@pytest.mark.parametrize("damage", ["opcode", "frame byte", "magic", "record kind", "pop", "truncated"])
def test_damaged_blocks_are_not_decoded(damage):
    block = _hinted()
    body = block.index(b"](G") + 1  # the MARK of row 0; before it: POP, "](" of the outer list, "]"
    if damage == "opcode":
        block[body + 1 + 9] = ord("K")  # a different number opcode in the middle of row 0
    elif damage == "frame byte":
        block[body] = ord(")")
    elif damage == "magic":
        block[6] ^= 1
    elif damage == "record kind":
        block[5 + len(MAGIC)] = ord("J")
    elif damage == "pop":
        block[body - 4] = ord("N")
    else:
        block = block[:-1]
    assert decode_hinted_block(bytes(block), 0) is None


def test_a_hint_inside_a_frame_is_read_the_ordinary_way():
    block = bytes(_hinted())
    framed = b"\x80\x05\x95" + len(block).to_bytes(8, "little") + block + b"."
    rows: list = []
    scan_pickle(framed, "framed.txt", rows=rows)
    assert rows == []
    assert same_objects(restricted_loads(framed, "framed.txt", decode_rows=True), ROWS)


def test_restricted_loads_decodes_every_block_of_a_state_file_to_the_same_state():
    state = example_state()
    data = state_pickle.dumps(state)
    rows: list = []
    scan_pickle(data, "state.txt", rows=rows)
    assert len(rows) >= 3  # pre_ranks, per-synapse variables, per-synapse delays
    fast = restricted_loads(data, "state.txt", decode_rows=True)
    plain = restricted_loads(data, "state.txt")
    assert same_objects(_expanded(fast), plain)
    assert_states_equal(from_annarchy_dict(fast, "state.txt"), from_annarchy_dict(plain, "state.txt"))
    assert_states_equal(state_pickle.loads(data, "state.txt"), state)


def test_the_files_own_persistent_ids_are_still_refused_next_to_decoded_blocks():
    block = bytes(_hinted())
    evil = b"\x80\x05(" + block + b"J\x00\x00\x00\x00Qt."
    with pytest.raises(FormatError, match="persistent"):
        restricted_loads(evil, "evil.txt", decode_rows=True)


def _rows_of(kind: type, numbers: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(st.just(kind), st.lists(st.lists(numbers, max_size=6), min_size=1, max_size=6))


_ROWS = st.one_of(_rows_of(float, st.floats(width=64)), _rows_of(int, st.integers(-(2 ** 31), 2 ** 31 - 1)),
                  _rows_of(bool, st.booleans()))


@settings(deadline=None)
@given(kind_rows=_ROWS,
       damage=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=3))
def test_any_damaged_bytes_give_the_same_outcome_as_plain_unpickling(kind_rows, damage):
    kind, rows = kind_rows
    flat, bounds = _flat_bounds(rows)
    data = bytearray(_pickle_of(encode_rows(flat.astype(kind), bounds)))
    for where, new in damage:
        data[where % len(data)] = new
    data = bytes(data)
    outcomes = []
    for decode in (True, False):
        try:
            outcomes.append(_expanded(restricted_loads(data, "damaged.txt", decode_rows=decode)))
        except FormatError as exc:
            outcomes.append(type(exc))
    assert same_objects(outcomes[0], outcomes[1])


def test_a_list_of_rows_the_pickle_extends_afterwards_is_read_the_ordinary_way():
    block = bytes(_hinted())
    extended = b"\x80\x05" + block + b"(]e."  # MARK, EMPTY_LIST, APPENDS: one more (empty) row
    rows: list = []
    scan_pickle(extended, "extended.txt", rows=rows)
    assert rows == [None]
    assert same_objects(restricted_loads(extended, "extended.txt", decode_rows=True), ROWS + [[]])
    assert same_objects(pickle.loads(extended), ROWS + [[]])


def test_flat_int_lists_unpickle_to_the_same_ints_and_other_lists_are_left_to_pickle():
    values = list(range(-70, 70)) + [-(2 ** 31), 2 ** 31 - 1]
    encoded = encode_int_list(values)
    back = pickle.loads(_pickle_of(encoded))
    assert back == values and all(type(v) is int for v in back)
    for other in ([], [True] * 100, [1] * 99 + [2 ** 31], [1] * 99 + [1.0], [1] * 99 + [-(2 ** 31) - 1]):
        assert encode_int_list(other) is None


def test_a_large_state_pickles_to_exactly_what_pickle_writes():
    """post_ranks of more than 64 post neurons goes through the fast int-list encoder."""
    from gpunet.io.formats.annarchy_dict import to_annarchy_dict
    from gpunet.io.pipeline.gather import gather_state
    from helpers import small_network
    net = small_network(neurons=120)
    net.simulate(5.0)
    state = gather_state(net)
    assert len(state.projections[0].post_ranks) > 64
    data = state_pickle.dumps(state)
    assert b"](J" in data  # the encoder was used
    reference = pickle.loads(pickle.dumps(to_annarchy_dict(state), protocol=5))
    assert same_objects(_expanded(pickle.loads(data)), reference)
    assert_states_equal(state_pickle.loads(data, "big.txt"), state)
