"""Row blocks: the per-synapse lists of a pickled state, read without building Python objects.

ANNarchy's layout stores every synaptic variable as one list per post neuron
of Python numbers: a million synapses are a million Python floats, and
unpickling them dominates the load of a ``.txt`` file.  gpunet writes each such
list of lists (a *row block*) as the opcodes ``pickle`` itself would write
(``EMPTY_LIST MARK row... APPENDS``, each row ``EMPTY_LIST MARK number...
APPENDS``, or ``EMPTY_LIST`` alone when empty) and puts a *row hint* in front
of it::

    BINBYTES <MAGIC, record opcode, row lengths as little-endian int64>  POP

``pickle.load`` (ANNarchy's) pushes the bytes and pops them again: the
unpickled objects are exactly ANNarchy's lists.  gpunet's reader uses the
row lengths to compute where every opcode of the block lies, checks each of
them with NumPy (the hint is never trusted: any mismatch and the block is read
the ordinary way) and takes the numbers as one array.

Examples
--------
>>> import numpy as np, pickle
>>> flat, bounds = np.array([0.5, 1.5, 2.5]), [0, 2, 2, 3]
>>> block = encode_rows(flat, bounds)
>>> pickle.loads(b"\\x80\\x05" + block + b".")
[[0.5, 1.5], [], [2.5]]
>>> decoded, end = decode_hinted_block(block, 0)
>>> decoded.lengths.tolist(), decoded.flat.tolist(), end == len(block)
([2, 0, 1], [0.5, 1.5, 2.5], True)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["MAGIC", "DecodedRows", "encode_rows", "encode_int_list", "decode_hinted_block", "as_decoded"]

#: First bytes of a row hint's payload.
MAGIC = b"gpunet.rows.1\x00"

_EMPTY_LIST, _MARK, _APPENDS, _POP, _BINBYTES = 0x5D, 0x28, 0x65, 0x30, 0x42
_BINFLOAT, _BININT, _TRUE, _FALSE = 0x47, 0x4A, 0x88, 0x89
_INT32 = (-(1 << 31), (1 << 31) - 1)
# Record opcode -> (record dtype, dtype of the decoded values).
_RECORDS = {
    _BINFLOAT: (np.dtype([("op", "u1"), ("value", ">f8")]), np.dtype(np.float64)),
    _BININT: (np.dtype([("op", "u1"), ("value", "<i4")]), np.dtype(np.int64)),
    _TRUE: (np.dtype(np.uint8), np.dtype(np.bool_)),  # one opcode per bool: NEWTRUE or NEWFALSE
}


class DecodedRows:
    """The numbers of one row block: ``lengths[i]`` values of row ``i``, all rows end to end in ``flat``."""

    __slots__ = ("lengths", "flat")

    def __init__(self, lengths: np.ndarray, flat: np.ndarray) -> None:
        self.lengths, self.flat = lengths, flat

    def __repr__(self) -> str:
        return f"DecodedRows({len(self.lengths)} rows, {len(self.flat)} values of {self.flat.dtype})"


def _records(flat: np.ndarray) -> Optional[np.ndarray]:
    """The opcode records of the numbers in ``flat`` (None when they have no fixed-size record here)."""
    kind = flat.dtype.kind
    if kind == "f":
        records = np.empty(len(flat), dtype=_RECORDS[_BINFLOAT][0])
        records["op"], records["value"] = _BINFLOAT, flat
        return records
    if kind in "iu":
        if len(flat) and (flat.min() < _INT32[0] or flat.max() > _INT32[1]):
            return None  # BININT holds int32 only; pickle's own encoding of larger ints varies in width
        records = np.empty(len(flat), dtype=_RECORDS[_BININT][0])
        records["op"], records["value"] = _BININT, flat
        return records
    if kind == "b":
        return np.where(flat, _TRUE, _FALSE).astype(np.uint8)
    return None


class _Layout:
    """Where each opcode of a block lies, counted from its outer EMPTY_LIST.

    A block is ``EMPTY_LIST MARK``, then per row ``EMPTY_LIST MARK records
    APPENDS`` (``EMPTY_LIST`` alone when the row is empty), then ``APPENDS``.
    """

    def __init__(self, lengths: np.ndarray, record_size: int) -> None:
        row_bytes = np.where(lengths > 0, 3 + record_size * lengths, 1)
        self.size = 3 + int(row_bytes.sum())
        self.row_starts = np.empty(len(lengths), dtype=np.int64)
        if len(lengths):
            self.row_starts[0] = 2
            np.cumsum(row_bytes[:-1], out=self.row_starts[1:])
            self.row_starts[1:] += 2
        filled = lengths > 0
        self.marks = self.row_starts[filled] + 1
        self.closes = self.row_starts[filled] + row_bytes[filled] - 1

    def records_mask(self) -> np.ndarray:
        """True at the bytes of the records (the numbers), False at the list opcodes."""
        mask = np.ones(self.size, dtype=bool)
        mask[[0, 1, -1]] = False
        mask[self.row_starts] = False
        mask[self.marks] = False
        mask[self.closes] = False
        return mask


def encode_rows(flat: np.ndarray, bounds: Sequence[int]) -> Optional[bytes]:
    """Pickle opcodes of the list of lists ``[flat[b0:b1], flat[b1:b2], ...]``, with its row hint.

    Floats become BINFLOAT (exact), ints BININT (int32 range only), bools
    NEWTRUE/NEWFALSE.  Returns None when the values have no such encoding
    (the caller lets ``pickle`` write the lists).  No rows at all is a bare
    EMPTY_LIST without hint.
    """
    if len(bounds) <= 1:
        return b"]"
    records = _records(np.ascontiguousarray(flat))
    if records is None:
        return None
    size = records.dtype.itemsize
    lengths = np.diff(np.asarray(bounds, dtype=np.int64))
    opcode = _BINFLOAT if size == 9 else _BININT if size == 5 else _TRUE
    payload = MAGIC + bytes([opcode]) + lengths.astype("<i8").tobytes()
    layout = _Layout(lengths, size)
    block = np.empty(layout.size, dtype=np.uint8)
    block[[0, -1]] = _EMPTY_LIST, _APPENDS
    block[1] = _MARK
    block[layout.row_starts] = _EMPTY_LIST
    block[layout.marks] = _MARK
    block[layout.closes] = _APPENDS
    block[layout.records_mask()] = records.view(np.uint8).reshape(-1)
    hint = bytes([_BINBYTES]) + len(payload).to_bytes(4, "little") + payload + bytes([_POP])
    return b"".join((hint, memoryview(block)))


def encode_int_list(values: list) -> Optional[bytes]:
    """Pickle opcodes of a flat list of Python ints (``EMPTY_LIST MARK BININT... APPENDS``), or None.

    None unless every item is an ``int`` (not a bool) in the int32 range.
    """
    if not values or not all(type(value) is int for value in values):
        return None
    if min(values) < _INT32[0] or max(values) > _INT32[1]:  # checked first: int64 could not hold them all
        return None
    records = _records(np.array(values, dtype=np.int64))
    return b"".join((b"](", memoryview(records).cast("B"), b"e"))


def decode_hinted_block(data: bytes, pos: int) -> Optional[tuple[DecodedRows, int]]:
    """Decode the row block whose hint starts at ``data[pos]`` (a BINBYTES opcode).

    Returns ``(decoded, end)``, ``end`` being the position just after the
    block, or None when ``data[pos:]`` is not a hint followed by exactly the
    block it describes (then the bytes are ordinary pickle opcodes and must be
    read as such).  Every opcode byte of the block is checked: the values are
    exactly those ``pickle.loads`` would give.
    """
    n = len(data)
    head = pos + 5
    if data[pos] != _BINBYTES or head > n:
        return None
    size = int.from_bytes(data[pos + 1:head], "little")
    start = head + size  # the POP after the payload
    if (size < len(MAGIC) + 1 or (size - len(MAGIC) - 1) % 8 or start + 1 >= n
            or data[head:head + len(MAGIC)] != MAGIC or data[start] != _POP):
        return None
    opcode = data[head + len(MAGIC)]
    if opcode not in _RECORDS:
        return None
    record, value_dtype = _RECORDS[opcode]
    lengths = np.frombuffer(data, dtype="<i8", count=(size - len(MAGIC) - 1) // 8,
                            offset=head + len(MAGIC) + 1).astype(np.int64)
    if len(lengths) == 0 or lengths.min() < 0 or float(lengths.sum(dtype=np.float64)) * record.itemsize > n:
        return None
    layout = _Layout(lengths, record.itemsize)
    block = start + 1  # the outer EMPTY_LIST
    end = block + layout.size
    if end > n:
        return None
    raw = np.frombuffer(data, dtype=np.uint8, count=layout.size, offset=block)
    if not (raw[0] == _EMPTY_LIST and raw[1] == _MARK and raw[-1] == _APPENDS
            and np.all(raw[layout.row_starts] == _EMPTY_LIST) and np.all(raw[layout.marks] == _MARK)
            and np.all(raw[layout.closes] == _APPENDS)):
        return None
    body = raw[layout.records_mask()]
    if opcode == _TRUE:
        flat = body == _TRUE
        if not np.all(flat | (body == _FALSE)):
            return None
    else:
        records = body.view(record)
        if not np.all(records["op"] == opcode):
            return None
        flat = records["value"].astype(value_dtype)
    return DecodedRows(lengths, flat), end


def as_decoded(value: Any) -> Optional[DecodedRows]:
    """The :class:`DecodedRows` that ``value`` stands for, or None.

    The restricted unpickler puts a decoded block where the list of rows was
    as a list (or, inside NumPy's object-array reduction, an object array)
    holding that one block once per row.
    """
    if isinstance(value, np.ndarray):
        if value.dtype != object or value.ndim != 1 or len(value) == 0:
            return None
    elif type(value) is not list or not value:
        return None
    first = value[0]
    if type(first) is not DecodedRows or len(first.lengths) != len(value):
        return None
    if not all(item is first for item in value):
        return None
    return first
