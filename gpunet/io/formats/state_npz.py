"""gpunet's native state format (``.npz``): a zip of ``.npy`` members plus a JSON manifest.

Specification: docs/FORMAT.md.  In short: members are stored uncompressed by
default (``compress=True`` deflates them), hold no object arrays and no
pickle, and ``manifest.json`` -- written last -- names the format and its
version, the gpunet version, dt, t, step and seed, and per object its kind,
model, size, variable names and per array its member name, dtype, shape and
CRC-32.  Loading checks the manifest against the zip directory, refuses a
member whose declared size does not match the zip entry before allocating
anything, and verifies every CRC-32 while reading.

Memory is bounded by the file: a stored member's data must lie inside the
file, and deflated members may inflate to at most ``max_output`` bytes in all
(default :func:`gpunet.io.formats.pickled.state_gzip.output_limit` of the file's size,
as for ``.gz``), each to exactly its declared shape, checked before the arrays
are allocated and inflated piece by piece.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import math
import os
import struct
import zipfile
import zlib
from typing import Any, BinaryIO, Callable, Optional

import numpy as np
import orjson

from gpunet.backend import workers
from gpunet.backend.host_alloc import empty_for_reading
from gpunet.errors import FormatError, StructureError
from gpunet.io.storage.atomic import atomic_writer
from gpunet.io.storage.checksum import crc32, crc32_combine
from gpunet.io.formats.pickled.state_gzip import output_limit
from gpunet.io.pipeline.state_types import MonitorState, NetworkState, PopulationState, ProjectionState
from gpunet.limits import check_name
from gpunet.io.storage.zipwriter import StoredZipWriter
from gpunet.version import __version__

FORMAT_NAME = "gpunet-state"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ALLOWED_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float32", "float64"}
_MAX_MANIFEST = 64 * 1024 * 1024
#: Member data of at least this many bytes in all is read by worker threads; smaller states on the calling thread,
#: where a worker's first page faults into fresh memory cost more than the threads save (docs/performance.md).
PARALLEL_READ_MIN_BYTES = 64 << 20
#: Smaller states are read on the calling thread; the CRC-32 of each member of at least this size is computed
#: by a worker meanwhile (smaller ones on the calling thread: handing them over costs more than it saves).
PIPELINED_CHECK_MIN_BYTES = 1 << 20
#: Deflated members are inflated this many bytes at a time (zlib allocates an output buffer of the size asked).
_INFLATE_PIECE = 16 << 20
SUPPORTS_COMPRESS = True


def _npy_parts(array: np.ndarray) -> tuple[bytes, memoryview]:
    """The ``.npy`` header and a view of the data of ``array`` (little-endian, C order), without copying."""
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.require(array, requirements="C")
    return _canonical_header(array.dtype, array.shape), memoryview(array.reshape(-1).view(np.uint8))


class _StoredArchive:
    """Members stored as they are: CRC-32 computed once from memory, data written without copies."""

    def __init__(self, handle: BinaryIO) -> None:
        self.writer = StoredZipWriter(handle)

    def add(self, member: str, parts: tuple, data_crc: Optional[int] = None) -> int:
        """Write ``parts``; ``data_crc``: the CRC-32 of the last part, already computed (it is not read again)."""
        if data_crc is None:
            crc = 0
            for part in parts:
                crc = crc32(part, crc)
        else:
            crc = 0
            for part in parts[:-1]:
                crc = crc32(part, crc)
            crc = crc32_combine(crc, data_crc, len(parts[-1]))
        self.writer.add(member, parts, crc, sum(len(p) for p in parts))
        return crc

    def close(self) -> None:
        self.writer.close()


class _DeflatedArchive:
    """``compress=True``: members deflated by :mod:`zipfile`."""

    def __init__(self, handle: BinaryIO) -> None:
        self.archive = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    def add(self, member: str, parts: tuple, data_crc: Optional[int] = None) -> int:
        info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.archive.open(info, "w", force_zip64=True) as stream:
            for part in parts:
                stream.write(part)
        return self.archive.getinfo(member).CRC

    def close(self) -> None:
        self.archive.close()


def member_name(kind: str, name: str, key: str) -> str:
    """The name of the member holding array ``key`` of object ``name`` (``kind``: population, projection, monitor)."""
    return f"{kind}/{name}/{key}.npy"


_member = member_name


def object_arrays(obj: Any) -> dict[str, np.ndarray]:
    """The arrays a file holds for the population or projection state ``obj``, by key (connectivity included).

    Parameters
    ----------
    obj : PopulationState or ProjectionState
        The object.
    """
    return _object_arrays(obj)


def array_data(array: np.ndarray) -> memoryview:
    """The bytes a member holds after its ``.npy`` header: ``array`` little-endian, in C order.

    Parameters
    ----------
    array : numpy.ndarray
        The array.
    """
    return _npy_parts(np.asarray(array))[1]


def _object_arrays(obj: Any) -> dict[str, np.ndarray]:
    arrays = {key: np.asarray(value) for key, value in obj.values.items()}
    arrays.update({key: np.asarray(value) for key, value in obj.internal.items()})
    if isinstance(obj, ProjectionState):
        arrays["_post_ranks"] = np.asarray(obj.post_ranks, dtype=np.int64)
        arrays["_row_ptr"] = np.asarray(obj.row_ptr, dtype=np.int64)
        arrays["_pre_ranks"] = np.asarray(obj.pre_ranks, dtype=np.int64)
        arrays["_delays"] = np.asarray(obj.delays, dtype=np.float64)
    return arrays


def write(state: NetworkState, handle: BinaryIO, compress: bool = False,
          data_crc: Optional[Callable[[str, memoryview], Optional[int]]] = None) -> int:
    """Write ``state`` to the open binary ``handle``; return the number of array bytes.

    ``data_crc(member, data)``: called with each object array's member name
    and data (after its ``.npy`` header) just before it is written; when it
    returns the CRC-32 of the data, the member's CRC-32 is combined from it
    instead of reading the data again (shards compute their blocks' CRC-32s so).
    """
    archive = _DeflatedArchive(handle) if compress else _StoredArchive(handle)
    objects = []
    total = 0
    for obj in list(state.populations) + list(state.projections):
        kind = obj.kind
        entry: dict[str, Any] = {"kind": kind, "name": obj.name, "model": obj.model,
                                 "parameters": list(obj.parameters), "variables": list(obj.variables),
                                 "arrays": {}}
        if isinstance(obj, PopulationState):
            entry.update(size=int(obj.size), geometry=[int(g) for g in obj.geometry])
        else:
            entry.update(size=obj.nb_synapses, pre=obj.pre, post=obj.post, target=obj.target)
            if obj.semiglobal:  # only then: files without them are byte for byte those of earlier versions
                entry["semiglobal"] = list(obj.semiglobal)
        for key, array in _object_arrays(obj).items():
            if array.dtype.name not in ALLOWED_DTYPES:
                raise FormatError(f"{kind} {obj.name!r}, array {key!r}: dtype {array.dtype} cannot be stored "
                                  "in the native format")
            member = _member(kind, obj.name, key)
            parts = _npy_parts(array)
            crc = archive.add(member, parts, None if data_crc is None else data_crc(member, parts[1]))
            entry["arrays"][key] = {"member": member, "dtype": array.dtype.name, "shape": list(array.shape),
                                    "crc32": crc}
            total += array.nbytes
        objects.append(entry)
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "gpunet_version": state.gpunet_version or __version__, "dt": state.dt,
                "t": None if state.step is None or state.dt is None else state.step * state.dt,
                "step": state.step, "seed": state.seed, "net_id": state.net_id,
                "single_object": state.single_object, "objects": objects}
    if state.monitors:  # only then: files without recordings are byte for byte those of earlier versions
        manifest["monitors"] = [_write_monitor(archive, monitor) for monitor in state.monitors]
        total += sum(int(np.asarray(a).nbytes) for monitor in state.monitors for a in monitor.arrays.values())
    if state.annotations:
        manifest["annotations"] = state.annotations
    archive.add(MANIFEST, (orjson.dumps(manifest, option=orjson.OPT_INDENT_2),))  # last: marks a complete file
    archive.close()
    return total


def _write_monitor(archive: Any, monitor: MonitorState) -> dict:
    """Write the arrays of one monitor's recordings; return its manifest entry (docs/FORMAT.md, "Monitors")."""
    try:
        check_name(monitor.name, "monitor")
    except StructureError as exc:
        raise FormatError(f"monitor {monitor.name!r}: {exc}") from exc
    entry: dict[str, Any] = {"kind": "monitor", "name": monitor.name, "target": monitor.target,
                             "target_kind": monitor.target_kind, "variables": list(monitor.variables),
                             "period_steps": int(monitor.period_steps), "offset_steps": int(monitor.offset_steps),
                             "recording": bool(monitor.recording),
                             "session_start": None if monitor.session_start is None else int(monitor.session_start),
                             "session_stop": None if monitor.session_stop is None else int(monitor.session_stop),
                             "window": [int(w) for w in monitor.window], "arrays": {}}
    for key, value in monitor.arrays.items():
        array = np.asarray(value)
        if array.dtype.name not in ALLOWED_DTYPES:
            raise FormatError(f"monitor {monitor.name!r}, array {key!r}: dtype {array.dtype} cannot be stored "
                              "in the native format")
        member = _member("monitor", monitor.name, key)
        crc = archive.add(member, _npy_parts(array))
        entry["arrays"][key] = {"member": member, "dtype": array.dtype.name, "shape": list(array.shape),
                                "crc32": crc}
    return entry


def _optional_step(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _read_monitor(archive: zipfile.ZipFile, source: str, entry: Any, handle: BinaryIO, reads: list,
                  limits: "_Limits") -> MonitorState:
    """One monitor's recordings from its manifest entry (its fields' types checked; values by the load)."""
    if not isinstance(entry, dict) or entry.get("kind") != "monitor" or not isinstance(entry.get("name"), str):
        raise _fail(source, "manifest has a malformed monitor entry")
    name = entry["name"]
    where = f"monitor {name!r}"
    integers = [entry.get(k) for k in ("period_steps", "offset_steps")]
    window = entry.get("window")
    if (not isinstance(entry.get("target"), str) or entry.get("target_kind") not in ("population", "projection")
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in integers)
            or not isinstance(entry.get("recording"), bool)
            or not all(_optional_step(entry.get(k)) for k in ("session_start", "session_stop"))
            or not isinstance(window, list) or len(window) != 2 or not all(_optional_step(w) and w is not None
                                                                           for w in window)
            or not isinstance(entry.get("arrays"), dict)):
        raise _fail(source, f"{where}: malformed manifest entry")
    variables = _text_list(source, entry.get("variables"), f"{where}: variables")
    arrays = {key: _read_array(archive, source, name, key, spec, handle, reads, limits)
              for key, spec in entry["arrays"].items()}
    return MonitorState(name=name, target=entry["target"], target_kind=entry["target_kind"], variables=variables,
                        period_steps=integers[0], offset_steps=integers[1], recording=entry["recording"],
                        session_start=entry.get("session_start"), session_stop=entry.get("session_stop"),
                        window=(window[0], window[1]), arrays=arrays)


def dumps(state: NetworkState, compress: bool = False) -> bytes:
    """The native file's bytes for ``state``."""
    buffer = io.BytesIO()
    write(state, buffer, compress=compress)
    return buffer.getvalue()


def save(path: Any, state: NetworkState, compress: bool = False, fsync: bool = True) -> int:
    """Write ``state`` to ``path`` atomically; return the number of array bytes."""
    with atomic_writer(path, fsync=fsync) as handle:
        return write(state, handle, compress=compress)


def _fail(source: str, message: str) -> FormatError:
    return FormatError(f"{source}: {message}")


def _read_manifest(archive: zipfile.ZipFile, source: str) -> dict:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise _fail(source, "not a gpunet native file (no manifest.json member)") from None
    if info.file_size > _MAX_MANIFEST:
        raise _fail(source, f"manifest.json declares {info.file_size} bytes, more than allowed")
    try:
        manifest = orjson.loads(archive.read(MANIFEST))
    except (orjson.JSONDecodeError, zipfile.BadZipFile, zlib.error) as exc:
        raise _fail(source, f"manifest.json is corrupt ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _fail(source, f"manifest.json does not describe a {FORMAT_NAME} file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise _fail(source, f"format version {version!r} is not supported (this gpunet reads up to "
                            f"{FORMAT_VERSION})")
    if not isinstance(manifest.get("objects"), list):
        raise _fail(source, "manifest.json has no object list")
    return manifest


@functools.lru_cache(maxsize=1024)
def _canonical_header(dtype: np.dtype, shape: tuple) -> bytes:
    """The ``.npy`` header gpunet writes for an array of ``dtype`` and ``shape``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": False, "shape": shape})
    return header.getvalue()


def _parse_npy_header(header: bytes, source: str, where: str) -> tuple:
    stream = io.BytesIO(header)
    try:
        version = np.lib.format.read_magic(stream)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return reader(stream, max_header_size=10000), stream.tell()
    except Exception as exc:  # NumPy's header parser raises ValueError, SyntaxError or tokenize.TokenError
        raise _fail(source, f"{where}: malformed .npy header ({type(exc).__name__}: {exc})") from exc


def _file_descriptor(handle: BinaryIO) -> Optional[int]:
    """The OS file descriptor under ``handle`` when members can be read with ``os.preadv``."""
    if not hasattr(os, "preadv"):
        return None
    try:
        return handle.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None


def _check_crc(data: memoryview, header_crc: int, expected_crc: int, source: str, where: str) -> None:
    """FormatError unless the member's CRC-32 (its header's, ``header_crc``, continued over ``data``) is the zip's."""
    if crc32(data, header_crc) != expected_crc:
        raise _fail(source, f"{where}: bad CRC-32 (the data is corrupt)")


@dataclasses.dataclass
class _MemberRead:
    """The data of one stored member, to be read from ``fd`` at ``offset`` into ``view`` and checked."""

    fd: int
    view: memoryview
    offset: int
    header_crc: int  # CRC-32 of the member's .npy header, which the zip's CRC-32 covers too
    expected_crc: int
    source: str
    where: str

    def read(self) -> None:
        done = 0
        try:
            while done < len(self.view):
                got = os.preadv(self.fd, [self.view[done:]], self.offset + done)
                if got <= 0:
                    raise _fail(self.source, f"{self.where}: member is truncated")
                done += got
        except OSError as exc:
            raise _fail(self.source, f"{self.where}: {exc}") from exc

    @property
    def nbytes(self) -> int:
        return len(self.view)

    def check(self) -> None:
        _check_crc(self.view, self.header_crc, self.expected_crc, self.source, self.where)

    def read_and_check(self) -> None:
        self.read()
        self.check()


def _run_reads(reads: list[_MemberRead]) -> None:
    """Read and check every member: on worker threads for large states, else on this thread while a worker
    computes the CRC-32 of the members already read (the checksums overlap the reads)."""
    total = sum(r.nbytes for r in reads)
    if total >= PARALLEL_READ_MIN_BYTES:
        workers.run_balanced([(r.nbytes, r.read_and_check) for r in reads])
        return
    workers.run_pipelined([(r.read, r.check) if r.nbytes >= PIPELINED_CHECK_MIN_BYTES else (r.read_and_check, None)
                           for r in reads])


@dataclasses.dataclass
class _Limits:
    """What the members of one file may take: the file's length, and bytes left to inflate."""

    file_length: int
    inflate_left: int


def _stored_data(raw: BinaryIO, info: zipfile.ZipInfo, source: str, where: str, dtype: np.dtype, shape: list,
                 expected: int, file_length: Optional[int]) -> tuple[int, bytes]:
    """The offset of a stored member's data and its ``.npy`` header, both headers checked (the data not read).

    ``file_length``: when given, the data must lie inside the file.
    """
    raw.seek(info.header_offset)
    local = raw.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise _fail(source, f"{where}: corrupt local header")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    data_start = info.header_offset + 30 + name_length + extra_length
    if file_length is not None and (info.compress_size != info.file_size
                                    or data_start + info.file_size > file_length):
        raise _fail(source, f"{where}: the stored member declares {info.file_size} bytes that the file does not "
                            "hold (truncated or corrupted file)")
    raw.seek(data_start)
    prefix = raw.read(min(info.file_size - expected, 65536))
    if prefix != _canonical_header(dtype, tuple(shape)):  # written by another tool: parse it
        (file_shape, fortran, file_dtype), used = _parse_npy_header(prefix, source, where)
        if used != len(prefix) or list(file_shape) != shape or file_dtype != dtype or fortran:
            raise _fail(source, f"{where}: member header ({file_dtype}, {file_shape}) does not match the "
                                f"manifest ({dtype}, {tuple(shape)})")
    return data_start + len(prefix), prefix


def _read_stored(raw: BinaryIO, info: zipfile.ZipInfo, source: str, where: str, dtype: np.dtype,
                 shape: list, expected: int, reads: Optional[list] = None,
                 limits: Optional[_Limits] = None) -> np.ndarray:
    """Read an uncompressed member straight into its array: one copy, CRC-32 over the same memory.

    With ``reads`` (a list), only the headers are read and checked here; the
    data read goes into ``reads`` as a :class:`_MemberRead` for :func:`_run_reads`.
    """
    fd = _file_descriptor(raw) if reads is not None else None
    try:
        data_offset, prefix = _stored_data(raw, info, source, where, dtype, shape, expected,
                                           None if limits is None else limits.file_length)
        array = empty_for_reading(shape, dtype)
        view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(bytearray())
        if fd is not None:
            reads.append(_MemberRead(fd, view, data_offset, crc32(prefix), info.CRC, source, where))
            return array
        if raw.readinto(view) != expected:
            raise _fail(source, f"{where}: member is truncated")
    except FormatError:
        raise
    except (ValueError, OSError, struct.error) as exc:
        raise _fail(source, f"{where}: {exc}") from exc
    _check_crc(view, crc32(prefix), info.CRC, source, where)
    return array


def _member_info(archive: zipfile.ZipFile, source: str, where: str,
                 spec: Any) -> tuple[zipfile.ZipInfo, np.dtype, list, int]:
    """The zip entry, dtype, shape and data size of a member, checked against its manifest ``spec``."""
    if not isinstance(spec, dict):
        raise _fail(source, f"{where}: malformed manifest entry")
    member, dtype_name, shape = spec.get("member"), spec.get("dtype"), spec.get("shape")
    if dtype_name not in ALLOWED_DTYPES:
        raise _fail(source, f"{where}: dtype {dtype_name!r} is not allowed")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise _fail(source, f"{where}: malformed shape {shape!r}")
    try:
        info = archive.getinfo(member)
    except (KeyError, TypeError):
        raise _fail(source, f"{where}: member {member!r} is missing") from None
    if spec.get("crc32") != info.CRC:
        raise _fail(source, f"{where}: member {member!r} does not match the manifest's CRC-32 "
                            "(swapped or modified member)")
    dtype = np.dtype(dtype_name)
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a lying shape cannot wrap around
    if info.file_size < expected or info.file_size > expected + 65536:
        raise _fail(source, f"{where}: declares {expected} bytes of data but the member holds {info.file_size}")
    return info, dtype, shape, expected


@dataclasses.dataclass(frozen=True)
class StoredMember:
    """Where the data of an uncompressed member lies: ``offset`` in the file, C-order array of ``dtype`` and
    ``shape`` (its headers checked, its data not read)."""

    offset: int
    dtype: np.dtype
    shape: tuple


def stored_member(archive: zipfile.ZipFile, raw: BinaryIO, source: str, owner: str, key: str, spec: Any,
                  file_length: int) -> Optional[StoredMember]:
    """The layout of the member of array ``key`` of ``owner`` (manifest entry ``spec``); None when it is deflated.

    Checks what :func:`read` checks before reading a member's data: the
    manifest's CRC-32 against the zip directory's, the sizes, the local and
    ``.npy`` headers, and that the data lies inside the file (``file_length``).
    The caller reads and checks the data (e.g. in blocks of its own checksums).

    Parameters
    ----------
    archive : zipfile.ZipFile
        The archive opened on ``raw``.
    raw : binary file
        The file.
    source : str
        The file's name for errors.
    owner, key : str
        The object (or monitor) and the array, for errors.
    spec : dict
        The array's manifest entry (``member``, ``dtype``, ``shape``, ``crc32``).
    file_length : int
        The file's length in bytes.

    Raises
    ------
    FormatError
        Naming ``source``, the object and the array.
    """
    where = f"object {owner!r}, array {key!r}"
    info, dtype, shape, expected = _member_info(archive, source, where, spec)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    try:
        offset, _ = _stored_data(raw, info, source, where, dtype, shape, expected, file_length)
    except FormatError:
        raise
    except (ValueError, OSError, struct.error) as exc:
        raise _fail(source, f"{where}: {exc}") from exc
    return StoredMember(offset, dtype, tuple(shape))


def _read_array(archive: zipfile.ZipFile, source: str, owner: str, key: str, spec: Any,
                raw: Optional[BinaryIO] = None, reads: Optional[list] = None,
                limits: Optional[_Limits] = None) -> np.ndarray:
    where = f"object {owner!r}, array {key!r}"
    info, dtype, shape, expected = _member_info(archive, source, where, spec)
    if info.compress_type == zipfile.ZIP_STORED and raw is not None:
        return _read_stored(raw, info, source, where, dtype, shape, expected, reads, limits)
    if limits is not None and info.compress_type != zipfile.ZIP_STORED:
        if info.file_size > limits.inflate_left:
            raise _fail(source, f"{where}: the deflated members inflate to more than the {limits.inflate_left + 0} "
                                "bytes left of the cap (a decompression bomb or a corrupted file; pass a larger "
                                "max_output if the file is genuine)")
        limits.inflate_left -= info.file_size
    try:
        with archive.open(info) as stream:
            prefix = stream.read(info.file_size - expected)
            (file_shape, fortran, file_dtype), used = _parse_npy_header(prefix, source, where)
            if used != len(prefix) or list(file_shape) != shape or file_dtype != dtype or fortran:
                raise _fail(source, f"{where}: member header ({file_dtype}, {file_shape}) does not match the "
                                    f"manifest ({dtype}, {tuple(shape)})")
            array = np.empty(shape, dtype=dtype)
            view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")
            read = 0
            while read < len(view):
                got = stream.readinto(view[read:read + _INFLATE_PIECE])
                if not got:
                    raise _fail(source, f"{where}: member is truncated")
                read += got
            if stream.read(1):
                raise _fail(source, f"{where}: member has trailing data")
    except FormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError) as exc:
        raise _fail(source, f"{where}: {exc}") from exc
    return array


class MemberAccess:
    """The members of one file being read: whole arrays, or where a stored member's data lies plus reads
    scheduled with the others (for readers of parts of members, see :func:`read`'s ``select``).

    Parameters
    ----------
    archive : zipfile.ZipFile
        The archive.
    raw : binary file
        The file under it.
    source : str
        The file's name, for errors.
    reads : list
        The scheduled reads (each with ``nbytes``, ``read``, ``check`` and ``read_and_check``), run once every
        header has been checked.
    limits : _Limits
        What the members may take.
    """

    def __init__(self, archive: zipfile.ZipFile, raw: BinaryIO, source: str, reads: list, limits: _Limits) -> None:
        self.archive, self.raw, self.source, self.reads, self.limits = archive, raw, source, reads, limits

    @property
    def fd(self) -> Optional[int]:
        """The file descriptor for positioned reads (None: read members whole)."""
        return _file_descriptor(self.raw)

    def whole(self, owner: str, key: str, spec: Any) -> np.ndarray:
        """Array ``key`` of ``owner``, whole (its data arrives when the scheduled reads have run).

        Parameters
        ----------
        owner, key : str
            Object and array, for errors.
        spec : dict
            The array's manifest entry.
        """
        return _read_array(self.archive, self.source, owner, key, spec, self.raw, self.reads, self.limits)

    def whole_arrays(self, entry: dict) -> dict:
        """Every array of the object ``entry``, whole.

        Parameters
        ----------
        entry : dict
            The object's manifest entry.
        """
        return {key: self.whole(entry["name"], key, spec) for key, spec in entry["arrays"].items()}

    def stored(self, owner: str, key: str, spec: Any) -> Optional[StoredMember]:
        """Where the data of a stored member lies (:func:`stored_member`); None for a deflated one.

        Parameters
        ----------
        owner, key : str
            Object and array, for errors.
        spec : dict
            The array's manifest entry.
        """
        return stored_member(self.archive, self.raw, self.source, owner, key, spec, self.limits.file_length)

    def schedule(self, task: Any) -> None:
        """Run ``task`` with the member reads (``nbytes``, ``read()``, ``check()``, ``read_and_check()``).

        Parameters
        ----------
        task : object
            A read of part of a member, checked by its own checksums.
        """
        self.reads.append(task)


def _text_list(source: str, value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, f"{what} must be a list of names")
    return value


def object_state(source: str, entry: dict, arrays: dict) -> Any:
    """The :class:`PopulationState` or :class:`ProjectionState` of a manifest object ``entry`` and its ``arrays``.

    Parameters
    ----------
    source : str
        The file, for errors.
    entry : dict
        The object's manifest entry (its kind and name already checked).
    arrays : dict
        Key -> array, every array the entry lists (or the rows of them a reader holds).

    Raises
    ------
    FormatError
        An incomplete entry.
    """
    name = entry["name"]
    parameters = _text_list(source, entry.get("parameters"), f"object {name!r}: parameters")
    variables = _text_list(source, entry.get("variables"), f"object {name!r}: variables")
    values = {k: v for k, v in arrays.items() if not k.startswith("_")}
    internal = {k: v for k, v in arrays.items() if k.startswith("_")}
    try:
        if entry["kind"] == "population":
            return PopulationState(
                name=name, geometry=tuple(int(g) for g in entry["geometry"]), size=int(entry["size"]),
                model=str(entry.get("model", "")), parameters=parameters, variables=variables,
                values=values, internal=internal)
        connectivity = {k: internal.pop(k) for k in ("_post_ranks", "_row_ptr", "_pre_ranks", "_delays")}
        return ProjectionState(
            name=name, pre=str(entry["pre"]), post=str(entry["post"]), target=str(entry["target"]),
            model=str(entry.get("model", "")), parameters=parameters, variables=variables,
            post_ranks=connectivity["_post_ranks"], row_ptr=connectivity["_row_ptr"],
            pre_ranks=connectivity["_pre_ranks"], delays=connectivity["_delays"], values=values,
            internal=internal,
            semiglobal=_text_list(source, entry.get("semiglobal", []), f"object {name!r}: semiglobal"))
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(source, f"object {name!r}: incomplete manifest entry ({exc})") from exc


# What zipfile and the OS raise on damaged archives: bad offsets (OSError from seek), unsupported or
# encrypted members (NotImplementedError, RuntimeError), inconsistent headers (ValueError, struct.error).
_DAMAGE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, struct.error, NotImplementedError,
           RuntimeError, KeyError, TypeError, OverflowError, MemoryError)


def read(handle: BinaryIO, source: str, archive: Optional[zipfile.ZipFile] = None, *,
         max_output: Optional[int] = None, select: Optional[Callable] = None) -> NetworkState:
    """Parse a native file from an open binary ``handle``; every failure is a FormatError naming ``source``.

    ``archive``: the :class:`zipfile.ZipFile` already opened on ``handle``, if any (its directory is not
    parsed twice).  ``max_output``: the most bytes the deflated members may inflate to in all (default:
    :func:`gpunet.io.formats.pickled.state_gzip.output_limit` of the file's length).  ``select``: reads
    parts of the objects' arrays instead of whole ones: called once as ``select(manifest, access)``
    (:class:`MemberAccess`), it returns the function that gives the arrays of one object entry (the
    shards of a ``.shards`` snapshot read only some rows this way).
    """
    try:
        return _read(handle, source, archive, max_output, select)
    except FormatError:
        raise
    except _DAMAGE as exc:
        raise _fail(source, f"damaged file ({type(exc).__name__}: {exc})") from exc


def _read(handle: BinaryIO, source: str, archive: Optional[zipfile.ZipFile], max_output: Optional[int],
          select: Optional[Callable] = None) -> NetworkState:
    file_length = handle.seek(0, io.SEEK_END)
    limits = _Limits(file_length, output_limit(file_length) if max_output is None else max_output)
    if archive is None:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _fail(source, f"not a readable zip file ({exc})") from exc
    # Headers are all read and checked first; the member data then goes straight from the file into the
    # arrays, on a few threads for large states (reads from the page cache and CRC-32 are bound by memory
    # bandwidth).
    reads: list = []
    access = MemberAccess(archive, handle, source, reads, limits)
    with archive:
        manifest = _read_manifest(archive, source)
        read_arrays = access.whole_arrays if select is None else select(manifest, access)
        state = NetworkState(step=manifest.get("step"), dt=manifest.get("dt"), seed=manifest.get("seed"),
                             net_id=manifest.get("net_id") or 0, format="npz",
                             format_version=manifest["format_version"],
                             gpunet_version=manifest.get("gpunet_version"),
                             single_object=bool(manifest.get("single_object", False)),
                             annotations=manifest.get("annotations") or {})
        if not isinstance(state.annotations, dict):
            raise _fail(source, "manifest field 'annotations' has the wrong type")
        for field_name, kind in (("step", int), ("seed", int), ("dt", (int, float)), ("net_id", int)):
            value = getattr(state, field_name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise _fail(source, f"manifest field {field_name!r} has the wrong type")
        for entry in manifest["objects"]:
            if not isinstance(entry, dict) or entry.get("kind") not in ("population", "projection"):
                raise _fail(source, "manifest has a malformed object entry")
            name = entry.get("name")
            if not isinstance(name, str):
                raise _fail(source, "manifest object without a name")
            arrays_spec = entry.get("arrays")
            if not isinstance(arrays_spec, dict):
                raise _fail(source, f"object {name!r}: no array list")
            obj = object_state(source, entry, read_arrays(entry))
            (state.populations if obj.kind == "population" else state.projections).append(obj)
        monitors = manifest.get("monitors", [])
        if not isinstance(monitors, list):
            raise _fail(source, "manifest field 'monitors' must be a list")
        state.monitors = [_read_monitor(archive, source, entry, handle, reads, limits) for entry in monitors]
        _run_reads(reads)
    return state


def loads(data: bytes, source: str = "<bytes>", *, max_output: Optional[int] = None) -> NetworkState:
    """Parse a native file's bytes (``max_output``: see :func:`read`)."""
    return read(io.BytesIO(data), source, max_output=max_output)


def is_native(path: Any) -> bool:
    """Whether ``path`` is a zip holding gpunet's manifest (False for ANNarchy's .npz)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return MANIFEST in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load(path: Any, *, max_output: Optional[int] = None) -> NetworkState:
    """Read a ``.npz`` file: gpunet's native format, or ANNarchy's own ``.npz`` (``max_output``: see :func:`read`)."""
    source = str(path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FormatError(f"{source}: no such file") from None
    except OSError as exc:
        raise FormatError(f"{source}: cannot be opened ({exc.strerror})") from exc
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
            names = archive.namelist()
        except _DAMAGE as exc:
            raise _fail(source, f"not a readable .npz (zip) file ({type(exc).__name__}: {exc})") from exc
        if MANIFEST not in names:
            from gpunet.io.formats import annarchy_npz
            return annarchy_npz.load(path, max_output=max_output)
        return read(handle, source, archive, max_output=max_output)


def inspect(path: Any) -> dict:
    """The manifest of a native file, with the zip's CRC check of every member."""
    source = str(path)
    with open(path, "rb") as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except zipfile.BadZipFile as exc:
            raise _fail(source, f"not a readable zip file ({exc})") from exc
        with archive:
            manifest = _read_manifest(archive, source)
            bad = archive.testzip()
    manifest["checksums"] = "ok" if bad is None else f"bad CRC in member {bad}"
    return manifest
