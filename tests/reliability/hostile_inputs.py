"""Crafted hostile files: small on disk, built to make a loader allocate far more than they carry.

Each builder returns the bytes of a file; :data:`CASES` names them with the suffix the file gets.
They are the known breakers of issue 18 (class 1, memory bounded by the input) and the generators
of ``test_fuzz_hostile_parse.py`` start from the same pieces.  Sizes are parameters so that the
tests can use the issue's sizes (the fixed loaders refuse them before allocating) while a
measurement of an unfixed loader can run under an address-space limit.
"""
from __future__ import annotations

import gzip
import io
import pickle
import struct
import zipfile
import zlib

import numpy as np
import orjson


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def numpy_int_scalar(value: int) -> bytes:
    """Opcodes (no PROTO, no STOP) that push ``numpy.int64(value)`` as NumPy pickles it."""
    return pickle.dumps(np.int64(value), protocol=2)[2:-1]


def call(callable_global: bytes, *arguments: bytes) -> bytes:
    """Opcodes that call ``callable_global`` on the objects the ``arguments`` opcodes push."""
    return callable_global + b"(" + b"".join(arguments) + b"tR"


def bytearray_of_numpy_int(size: int = 10 ** 9) -> bytes:
    """``bytearray(numpy.int64(size))``: 181 bytes asking for ``size`` zero bytes."""
    return b"\x80\x02" + call(_global("builtins", "bytearray"), numpy_int_scalar(size)) + b"."


def list_of_bytes_of_numpy_int(size: int = 10 ** 9) -> bytes:
    """``list(bytes(numpy.int64(size)))``: one list item per byte (8 bytes of pointer each)."""
    inner = call(_global("builtins", "bytes"), numpy_int_scalar(size))
    return b"\x80\x02" + call(_global("builtins", "list"), inner) + b"."


def list_of_carried_bytes(size: int = 1 << 20) -> bytes:
    """``list(b'\\0' * size)``: the bytes are in the file, the list costs 8 bytes per byte."""
    payload = b"B" + struct.pack("<I", size) + bytes(size)
    return b"\x80\x04" + call(_global("builtins", "list"), payload) + b"."


def memo_reused_rows(row_length: int = 1 << 20, rows: int = 900) -> bytes:
    """An ANNarchy state whose ``pre_ranks`` rows are all the same array (memo references).

    The pickle carries one array of ``row_length`` zeros; a reader that concatenates the rows
    builds ``rows * row_length`` values.
    """
    row = np.zeros(row_length, dtype=np.int64)
    pre_ranks = np.empty(rows, dtype=object)
    for index in range(rows):
        pre_ranks[index] = row
    population = {"name": "p", "geometry": (rows,), "size": rows, "attributes": ["v"], "parameters": [],
                  "variables": ["v"], "v": np.zeros(rows)}
    projection = {"name": "c", "pre": "p", "post": "p", "target": "exc", "post_ranks": list(range(rows)),
                  "attributes": ["w"], "parameters": [], "variables": ["w"], "delays": 1.0,
                  "pre_ranks": pre_ranks, "w": 0.5}
    desc = {"time_step": 0, "net_id": 0, "p": population, "c": projection,
            "obj_names": {"populations": ["p"], "projections": ["c"]}}
    return pickle.dumps(desc, protocol=5)


def mark_flood(count: int = 40_000_000) -> bytes:
    """``count`` MARK opcodes, then nothing valid: a structure scan must not keep state per MARK."""
    return b"\x80\x04" + b"(" * count + b"N."


def memo_flood(count: int = 40_000_000) -> bytes:
    """One None memoized ``count`` times (MEMOIZE costs one byte)."""
    return b"\x80\x04N" + b"\x94" * count + b"."


def empty_set_flood(count: int = 20_000_000) -> bytes:
    """A tuple of ``count`` empty sets (one byte each, about 200 bytes of memory each)."""
    return b"\x80\x04(" + b"\x8f" * count + b"t."


def gz(data: bytes) -> bytes:
    """``data`` gzipped (level 9, as ANNarchy writes)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


# --------------------------------------------------------------------------- zip members that inflate to zeros
def deflated_zeros(prefix: bytes, zeros: int, chunk: int = 1 << 20) -> bytes:
    """A raw deflate stream of ``prefix`` then ``zeros`` zero bytes, built without inflating them.

    After a full flush the compressor forgets its history, so every further chunk of zeros
    compresses to the same bytes: the stream is one compressed chunk repeated.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    full, rest = divmod(zeros, chunk)
    tail = compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FINISH)
    return head + block * full + tail


def zip_with_raw_members(members: list[tuple]) -> bytes:
    """A zip whose members are given as ``(name, stored bytes, declared size, crc, deflated[, stored size])``.

    The declared (uncompressed) size, CRC-32 and stored (compressed) size are written as given: they
    may lie.  Sizes stay below 4 GiB (no ZIP64).
    """
    out = io.BytesIO()
    central = []
    for name, payload, size, crc, deflated, *stored in members:
        encoded = name.encode()
        method = 8 if deflated else 0
        offset = out.tell()
        stored_size = stored[0] if stored else len(payload)
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, stored_size, size,
                              len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                                   stored_size, size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), start, 0))
    return out.getvalue()


def _npy_header(dtype: str, shape: tuple) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _native_manifest(count: int, member: str) -> bytes:
    manifest = {"format": "gpunet-state", "format_version": 1, "gpunet_version": "0", "dt": 1.0, "t": 0.0,
                "step": 0, "seed": 1, "net_id": 0, "single_object": False,
                "objects": [{"kind": "population", "name": "p", "model": "", "parameters": [], "variables": ["v"],
                             "size": count, "geometry": [count],
                             "arrays": {"v": {"member": member, "dtype": "float64", "shape": [count], "crc32": 7}}}]}
    return orjson.dumps(manifest)


def native_deflated_zeros(count: int = 500_000_000) -> bytes:
    """A native ``.npz`` whose one population's ``v`` is ``count`` float64 zeros, deflated (~1000:1)."""
    member = "population/p/v.npy"
    header = _npy_header("<f8", (count,))
    manifest_bytes = _native_manifest(count, member)
    return zip_with_raw_members([
        (member, deflated_zeros(header, count * 8), len(header) + count * 8, 7, True),
        ("manifest.json", manifest_bytes, len(manifest_bytes), zlib.crc32(manifest_bytes), False)])


def native_stored_beyond_the_file(count: int = 100_000_000) -> bytes:
    """A native ``.npz`` whose stored member declares ``count`` float64 values but holds only its header."""
    member = "population/p/v.npy"
    header = _npy_header("<f8", (count,))
    manifest_bytes = _native_manifest(count, member)
    declared = len(header) + count * 8
    return zip_with_raw_members([
        (member, header, declared, 7, False, declared),
        ("manifest.json", manifest_bytes, len(manifest_bytes), zlib.crc32(manifest_bytes), False)])


def annarchy_npz_many_members(members: int = 6, each: int = 1 << 30) -> bytes:
    """An ANNarchy ``.npz`` of ``members`` uint8 arrays of ``each`` zeros: each within a per-member cap."""
    header = _npy_header("|u1", (each,))
    return zip_with_raw_members([(f"m{index}.npy", deflated_zeros(header, each), len(header) + each, 0, True)
                                 for index in range(members)])


def annarchy_npz_zero_itemsize() -> bytes:
    """An ANNarchy ``.npz`` member of dtype ``V0`` (zero bytes per item) and a huge shape."""
    payload = _npy_header("|V0", (10 ** 12,))
    return zip_with_raw_members([("time_step.npy", payload, len(payload), zlib.crc32(payload), False)])


#: name -> (suffix, builder).  The issue's sizes.
CASES = {
    "bytearray_numpy_int": (".txt", bytearray_of_numpy_int),
    "list_bytes_numpy_int": (".txt", list_of_bytes_of_numpy_int),
    "memo_reused_rows": (".gz", lambda: gz(memo_reused_rows())),
    "mark_flood": (".gz", lambda: gz(mark_flood())),
    "memo_flood": (".gz", lambda: gz(memo_flood())),
    "empty_set_flood": (".gz", lambda: gz(empty_set_flood())),
    "native_deflated_zeros": (".npz", native_deflated_zeros),
    "native_stored_beyond_the_file": (".npz", native_stored_beyond_the_file),
    "annarchy_npz_many_members": (".npz", annarchy_npz_many_members),
}
