"""A bounds-checked reader for Matlab 5 (``-v6`` / ``-v7``) files.

``scipy.io.loadmat`` crashes the interpreter (segmentation fault) on some
corrupted files, because its compiled reader trusts sizes found in the file.
gpunet reads ``.mat`` files with this pure Python/NumPy reader instead: every
tag, size, dimension and offset is checked against the bytes actually present
before it is used, nesting is limited, and compressed variables are
decompressed incrementally under a size cap.  Anything else is a
:class:`~gpunet.errors.FormatError` naming the file and the byte offset.

The result has the forms ``scipy.io.loadmat`` gives with its defaults
(``struct_as_record=True``, ``chars_as_strings=True``, ``squeeze_me=False``):

* numeric and logical arrays: ndarrays shaped like the Matlab dimensions
  (Fortran order), logical as bool;
* char arrays: a 1-D ``str`` array, one blank-padded string per row;
* cell arrays: object ndarrays of the cells;
* structs: structured ndarrays whose fields are object arrays.

Supported: numeric classes (double, single, int8...uint64, complex), logical,
char (UTF-8, UTF-16, UCS-2, 8-bit), cell, struct, compressed variables.
Refused: objects, sparse matrices, function handles, opaque classes, Matlab
4 and 7.3 (HDF5) files.
"""
from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import numpy as np

from gpunet.errors import FormatError

__all__ = ["read_mat5", "MAX_DEPTH"]

MAX_DEPTH = 32
_HEADER = 128

# Data types of elements (miXXX) -> NumPy type code.
_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_MATRIX, _MI_COMPRESSED, _MI_UTF8, _MI_UTF16, _MI_UTF32 = 14, 15, 16, 17, 18
# Array classes (mxXXX) -> NumPy type code.
_MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MX_CELL, _MX_STRUCT, _MX_OBJECT, _MX_CHAR, _MX_SPARSE = 1, 2, 3, 4, 5
_MX_NAMES = {3: "object", 5: "sparse matrix", 16: "function handle", 17: "opaque object"}
_COMPLEX, _LOGICAL = 0x0800, 0x0200


class _Reader:
    def __init__(self, source: str, order: str, max_output: int) -> None:
        self.source = source
        self.order = order
        self.remaining_output = max_output
        self.max_output = max_output

    def fail(self, offset: int, message: str) -> FormatError:
        return FormatError(f"{self.source}: corrupted Matlab file at byte {offset}: {message}")

    # -- tags ----------------------------------------------------------------
    def tag(self, buf: memoryview, pos: int, end: int) -> tuple[int, memoryview, int]:
        """``(type, data, next position)`` of the element at ``pos`` (small-element form included)."""
        if pos + 8 > end:
            raise self.fail(pos, "truncated element tag")
        first, second = struct.unpack_from(self.order + "II", buf, pos)
        if first >> 16:  # small data element: 2 bytes of size, 2 of type, 4 of data
            size, kind = first >> 16, first & 0xFFFF
            if size > 4:
                raise self.fail(pos, f"small element of {size} bytes (at most 4)")
            return kind, buf[pos + 4:pos + 4 + size], pos + 8
        kind, size = first, second
        body = pos + 8
        if size > end - body:
            raise self.fail(pos, f"element of {size} bytes runs past the end of its container")
        following = body + size if kind == _MI_COMPRESSED else min(end, body + size + (-size) % 8)
        return kind, buf[body:body + size], following

    def small(self, buf: memoryview, pos: int) -> bool:
        """Whether the tag at ``pos`` is in the 4-byte small-element form (never valid for a matrix)."""
        return bool(struct.unpack_from(self.order + "I", buf, pos)[0] >> 16)

    def numbers(self, kind: int, data: memoryview, pos: int) -> np.ndarray:
        code = _MI_DTYPES.get(kind)
        if code is None:
            raise self.fail(pos, f"element type {kind} is not numeric")
        dtype = np.dtype(code).newbyteorder(self.order)
        if len(data) % dtype.itemsize:
            raise self.fail(pos, f"{len(data)} bytes is not a whole number of {dtype} values")
        return np.frombuffer(data, dtype=dtype)

    # -- variables -----------------------------------------------------------
    def variable(self, buf: memoryview, pos: int, end: int) -> tuple[str, Any, int]:
        kind, data, following = self.tag(buf, pos, end)
        if kind == _MI_COMPRESSED:
            inner = memoryview(self.inflate(data, pos))
            kind, data, after = self.tag(inner, 0, len(inner))
            if kind != _MI_MATRIX or self.small(inner, 0):
                raise self.fail(pos, f"compressed element holds type {kind}, not a matrix")
            if any(inner[after:]):
                raise self.fail(pos, "unexpected data after a compressed matrix")
            name, value = self.matrix(inner, 8, 8 + len(data), 0)
            return name, value, following
        if kind != _MI_MATRIX or self.small(buf, pos):
            raise self.fail(pos, f"top-level element of type {kind}, expected a matrix")
        name, value = self.matrix(buf, pos + 8, pos + 8 + len(data), 0)
        return name, value, following

    def inflate(self, data: memoryview, pos: int) -> bytes:
        decompressor = zlib.decompressobj()
        pieces = []
        pending = data
        while not decompressor.eof:
            try:
                piece = decompressor.decompress(pending, min(1 << 20, self.remaining_output + 1))
            except zlib.error as exc:
                raise self.fail(pos, f"bad compressed data ({exc})") from exc
            self.remaining_output -= len(piece)
            if self.remaining_output < 0:
                raise FormatError(f"{self.source}: compressed variables expand beyond {self.max_output} bytes "
                                  "(limit; a corrupted file or a decompression bomb)")
            pieces.append(piece)
            pending = decompressor.unconsumed_tail
            if not piece and not pending and not decompressor.eof:
                raise self.fail(pos, "truncated compressed data")
        return b"".join(pieces)

    def matrix(self, buf: memoryview, start: int, end: int, depth: int) -> tuple[str, Any]:
        """Parse the sub-elements of a miMATRIX body ``buf[start:end]``."""
        if depth > MAX_DEPTH:
            raise self.fail(start, f"cells or structs nested deeper than {MAX_DEPTH}")
        if start == end:  # an empty matrix, as Matlab writes empty cells
            return "", np.zeros((0, 0))
        kind, flags_data, pos = self.tag(buf, start, end)
        if kind != 6 or len(flags_data) != 8:
            raise self.fail(start, "invalid array flags")
        flags = struct.unpack_from(self.order + "I", flags_data)[0]
        mx_class = flags & 0xFF
        kind, dims_data, next_pos = self.tag(buf, pos, end)
        if kind != 5 or len(dims_data) < 8 or len(dims_data) % 4:
            raise self.fail(pos, "invalid dimensions")
        shape = struct.unpack_from(f"{self.order}{len(dims_data) // 4}i", dims_data)
        if min(shape) < 0:
            raise self.fail(pos, "negative dimension")
        count = math.prod(shape)
        pos = next_pos
        kind, name_data, pos = self.tag(buf, pos, end)
        if kind not in (1, 2):
            raise self.fail(pos, "invalid array name")
        name = bytes(name_data).decode("latin1")
        if mx_class in _MX_NUMERIC:
            return name, self.numeric(buf, pos, end, shape, count, mx_class, flags)
        if mx_class == _MX_CHAR:
            return name, self.chars(buf, pos, end, shape, count)
        if mx_class == _MX_CELL:
            if count * 8 > end - pos:
                raise self.fail(pos, f"{count} cells cannot fit in {end - pos} bytes")
            cells = np.empty(count, dtype=object)
            for index in range(count):
                cells[index], pos = self.nested(buf, pos, end, depth, "a cell")
            return name, cells.reshape(shape, order="F")
        if mx_class == _MX_STRUCT:
            return name, self.structure(buf, pos, end, shape, count, depth)
        what = _MX_NAMES.get(mx_class, f"array class {mx_class}")
        raise FormatError(f"{self.source}: Matlab {what} {name!r} is not supported in a state file")

    def nested(self, buf: memoryview, pos: int, end: int, depth: int, what: str) -> tuple[Any, int]:
        """A matrix element inside a cell or struct: its value and the position after it."""
        if pos + 8 > end:
            raise self.fail(pos, f"truncated {what}")
        kind, size = struct.unpack_from(self.order + "II", buf, pos)
        if kind != _MI_MATRIX:
            raise self.fail(pos, f"{what} is not a matrix")
        if size > end - pos - 8:
            raise self.fail(pos, f"{what} of {size} bytes runs past the end of its container")
        value = self.matrix(buf, pos + 8, pos + 8 + size, depth + 1)[1]
        return value, min(end, pos + 8 + size + (-size) % 8)

    def numeric(self, buf: memoryview, pos: int, end: int, shape: tuple, count: int, mx_class: int,
                flags: int) -> np.ndarray:
        kind, data, pos_after = self.tag(buf, pos, end)
        real = self.numbers(kind, data, pos)
        if len(real) != count:
            raise self.fail(pos, f"{len(real)} values for dimensions {shape}")
        values = real.astype(np.dtype(_MX_NUMERIC[mx_class]))
        if flags & _COMPLEX:
            kind, data, _ = self.tag(buf, pos_after, end)
            imaginary = self.numbers(kind, data, pos_after)
            if len(imaginary) != count:
                raise self.fail(pos_after, f"{len(imaginary)} imaginary values for dimensions {shape}")
            values = values + 1j * imaginary
        elif flags & _LOGICAL:
            values = values.astype(bool)
        return values.reshape(shape, order="F")

    def chars(self, buf: memoryview, pos: int, end: int, shape: tuple, count: int) -> np.ndarray:
        kind, data, _ = self.tag(buf, pos, end)
        raw = bytes(data)
        try:
            if kind == _MI_UTF8:
                text = raw.decode("utf-8")
            elif kind in (_MI_UTF16, 4):
                text = raw.decode("utf-16-le" if self.order == "<" else "utf-16-be")
            elif kind == _MI_UTF32:
                text = raw.decode("utf-32-le" if self.order == "<" else "utf-32-be")
            elif kind in (1, 2):
                text = raw.decode("latin1")
            else:
                raise self.fail(pos, f"char data of element type {kind}")
        except UnicodeDecodeError as exc:
            raise self.fail(pos, f"undecodable characters ({exc.reason})") from None
        if len(text) != count:
            raise self.fail(pos, f"{len(text)} characters for dimensions {shape}")
        if count == 0:
            return np.zeros(0, dtype="U1")
        rows = shape[0]
        if rows == 1:
            return np.array([text])
        columns = count // rows
        # One 4-byte item per character (no Python object per character), rows read out as strings.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<U1")
        grid = np.ascontiguousarray(codes.reshape((rows, columns), order="F"))
        return grid.view(f"<U{columns}").reshape(rows)

    def structure(self, buf: memoryview, pos: int, end: int, shape: tuple, count: int, depth: int) -> np.ndarray:
        kind, data, pos = self.tag(buf, pos, end)
        length = self.numbers(kind, data, pos)
        if kind != 5 or len(length) != 1 or not 0 < int(length[0]) <= 64:
            raise self.fail(pos, "invalid struct field-name length")
        length = int(length[0])
        kind, data, pos = self.tag(buf, pos, end)
        if kind not in (1, 2) or len(data) % length:
            raise self.fail(pos, "invalid struct field names")
        raw = bytes(data)
        names = [raw[i:i + length].split(b"\0", 1)[0].decode("latin1") for i in range(0, len(raw), length)]
        if len(set(names)) != len(names) or not all(names):
            raise self.fail(pos, "empty or repeated struct field names")
        if count * len(names) * 8 > end - pos:
            raise self.fail(pos, f"{count} structs of {len(names)} fields cannot fit in {end - pos} bytes")
        record = np.empty(count, dtype=[(field, object) for field in names]) if names else np.empty(count, object)
        for index in range(count):
            for field in names:
                record[field][index], pos = self.nested(buf, pos, end, depth, f"struct field {field!r}")
        return record.reshape(shape, order="F")


def read_mat5(data: bytes, source: str, max_output: int, *, with_inflated: bool = False) -> Any:
    """The variables of a Matlab 5 file, by name (and the bytes inflated, with ``with_inflated``).

    Parameters
    ----------
    data : bytes
        The whole file.
    source : str
        Name of the file, used in every error message.
    max_output : int
        Largest total size of decompressed variables, in bytes.

    Raises
    ------
    FormatError
        Not a Matlab 5 file, truncated or inconsistent content, unsupported
        classes, repeated variable names, or compressed data beyond
        ``max_output``.
    """
    if data.startswith(b"MATLAB 7.3") or data[512:516] == b"\x89HDF" or data.startswith(b"\x89HDF"):
        raise FormatError(f"{source}: Matlab 7.3 (HDF5) files are not supported; save with -v7 or -v6")
    if len(data) < _HEADER or not data.startswith(b"MATLAB 5.0"):
        raise FormatError(f"{source}: not a Matlab 5 .mat file")
    mark = data[126:128]
    if mark not in (b"IM", b"MI"):
        raise FormatError(f"{source}: corrupted Matlab header (byte order mark {mark!r})")
    reader = _Reader(source, "<" if mark == b"IM" else ">", max_output)
    view = memoryview(data)
    variables: dict[str, Any] = {}
    pos = _HEADER
    while pos < len(data):
        if len(data) - pos < 8 and not any(view[pos:]):
            break
        start = pos
        name, value, pos = reader.variable(view, pos, len(data))
        if name in variables:
            raise reader.fail(start, f"variable {name!r} appears twice")
        variables[name] = value
    return (variables, reader.max_output - reader.remaining_output) if with_inflated else variables
