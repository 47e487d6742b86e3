"""ANNarchy's own ``.npz`` state files, read without ``allow_pickle``.

ANNarchy saves ``np.savez_compressed(filename, allow_pickle=True, **desc)`` of
its save dictionary (layout: :mod:`gpunet.io.formats.annarchy_dict`): one
``<key>.npy`` member per top-level key.  ``time_step`` and ``net_id`` are
plain 0-d int64 arrays; each object dict and ``obj_names`` is a 0-d *object*
array, i.e. a pickle inside the ``.npy`` member.  A single object
(``pop.save("pop.npz")``) has one member per key of the object's dict.

``np.load(..., allow_pickle=True)`` would run whatever those pickles name.
This module opens the zip members itself, parses each ``.npy`` header with
:func:`ast.literal_eval` (as NumPy does, but with a size cap), reads plain
arrays with :func:`numpy.frombuffer`, and unpickles object arrays only through
:func:`gpunet.io.formats.pickled.unpickler.restricted_loads`.  Member sizes are checked against
the zip directory and a decompression cap before anything is read: the
members may inflate to at most ``max_output`` bytes in all (default
:func:`gpunet.io.formats.pickled.state_gzip.output_limit` of the file's size), their
pickles share one memory budget (:mod:`gpunet.io.storage.read_budget`), and a dtype
must be a number, bool, text or object dtype with items of at least one byte.

gpunet's own ``.npz`` (:mod:`gpunet.io.formats.state_npz`) carries a
``manifest.json`` member and no object arrays; :func:`is_annarchy_npz` tells
the two apart.  gpunet does not write ANNarchy's ``.npz`` form: its native
format is faster and safe.
"""
from __future__ import annotations

import ast
import io
import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Optional

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.formats.pickled import state_gzip, state_pickle
from gpunet.io.formats.annarchy_dict import summarize
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.io.storage.read_budget import ReadBudget
from gpunet.io.formats.pickled.unpickler import DEFAULT_LIMITS, PickleLimits, restricted_loads
from gpunet.io.storage.atomic import PathLike

__all__ = ["FORMAT_NAME", "MANIFEST", "is_annarchy_npz", "read_npy", "read", "loads", "load", "inspect"]

FORMAT_NAME = "annarchy-npz"
MANIFEST = "manifest.json"
_NPY_MAGIC = b"\x93NUMPY"
_MAX_HEADER = 10_000  # NumPy's own default cap on .npy header sizes
_MAX_MEMBERS = 100_000
_DTYPE_KINDS = "biufcUSO"  # numbers, bools, text and (pickled) objects: what ANNarchy's dicts hold


def is_annarchy_npz(path: PathLike) -> bool:
    """Whether ``path`` is a zip of ``.npy`` members without gpunet's ``manifest.json`` (never raises)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return False
    return bool(names) and MANIFEST not in names and all(name.endswith(".npy") for name in names)


def _header(stream: BinaryIO, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    magic = stream.read(8)
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC):
        raise FormatError(f"{where}: not a .npy member (bad magic)")
    major, minor = magic[6], magic[7]
    if (major, minor) == (1, 0):
        raw = stream.read(2)
        length = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
    elif (major, minor) in ((2, 0), (3, 0)):
        raw = stream.read(4)
        length = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
    else:
        raise FormatError(f"{where}: unsupported .npy version {major}.{minor}")
    if length < 0:
        raise FormatError(f"{where}: truncated .npy header")
    if length > _MAX_HEADER:
        raise FormatError(f"{where}: .npy header of {length} bytes exceeds the limit of {_MAX_HEADER}")
    text = stream.read(length)
    if len(text) != length:
        raise FormatError(f"{where}: truncated .npy header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
        shape = tuple(int(n) for n in header["shape"])
        fortran = bool(header["fortran_order"])
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (ValueError, SyntaxError, KeyError, TypeError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise FormatError(f"{where}: invalid .npy header ({type(exc).__name__})") from exc
    if any(n < 0 for n in shape):
        raise FormatError(f"{where}: negative dimension in .npy shape {shape}")
    if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise FormatError(f"{where}: dtype {str(dtype)[:60]!r} is not a number, text or object dtype")
    if dtype.itemsize == 0:
        raise FormatError(f"{where}: dtype {str(dtype)!r} has items of zero bytes")
    return shape, fortran, dtype


def read_npy(data: bytes, where: str, limits: PickleLimits = DEFAULT_LIMITS,
             budget: Optional[ReadBudget] = None) -> np.ndarray:
    """One ``.npy`` payload as an array; object arrays through the restricted unpickler.

    Raises
    ------
    UnsafeFileError
        An object array's pickle names something outside the allow-list.
    FormatError
        Bad magic or header, size mismatch, truncation, or a pickle that is
        not an array of the declared shape.
    """
    stream = io.BytesIO(data)
    shape, fortran, dtype = _header(stream, where)
    body = memoryview(data)[stream.tell():]
    if dtype.hasobject:
        array = restricted_loads(body, where, limits=limits, budget=budget)
        if not isinstance(array, np.ndarray) or array.shape != shape:
            raise FormatError(f"{where}: the pickle holds {type(array).__name__} "
                              f"{getattr(array, 'shape', '')}, not the declared array of shape {shape}")
        return array
    expected = math.prod(shape) * dtype.itemsize
    if len(body) != expected:
        raise FormatError(f"{where}: {len(body)} data bytes, expected {expected} for shape {shape} of {dtype}")
    array = np.frombuffer(body, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _value(array: np.ndarray) -> Any:
    """ANNarchy's value back from the ``.npy`` form ``np.savez`` gave it."""
    if array.ndim == 0 and (array.dtype == object or array.dtype.kind in "US"):
        return array.item()
    if array.dtype.kind in "US":
        return [str(item) for item in array.reshape(-1)]
    return array


def read(handle: BinaryIO, source: str, *, limits: PickleLimits = DEFAULT_LIMITS,
         max_output: Optional[int] = None) -> NetworkState:
    """Read an ANNarchy ``.npz`` from an open binary file.

    ``max_output``: the most bytes the members may inflate to in all
    (default :func:`~gpunet.io.formats.pickled.state_gzip.output_limit` of the file's
    length).

    Raises
    ------
    UnsafeFileError, FormatError
        See :func:`read_npy`; also not a zip, a gpunet native file, too many
        members, members larger than the decompression cap, or a bad CRC.
    """
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"{source}: not a readable .npz (zip) file ({exc})") from exc
    with archive:
        infos = archive.infolist()
        if any(info.filename == MANIFEST for info in infos):
            raise FormatError(f"{source}: a gpunet native .npz, not ANNarchy's (read it with state_npz)")
        if not infos:
            raise FormatError(f"{source}: empty .npz archive")
        if len(infos) > _MAX_MEMBERS:
            raise FormatError(f"{source}: {len(infos)} members exceed the limit of {_MAX_MEMBERS}")
        total = sum(info.file_size for info in infos)
        cap = state_gzip.output_limit(handle.seek(0, io.SEEK_END)) if max_output is None else max_output
        if total > cap:
            raise FormatError(f"{source}: the members declare {total} bytes in all, more than the {cap}-byte cap "
                              "(a decompression bomb or a corrupted file; pass a larger max_output if the file is "
                              "genuine)")
        budget = ReadBudget(source, total, limits.memory_ratio, limits.memory_allowance)
        desc: dict[str, Any] = {}
        for info in infos:
            where = f"{source}, member {info.filename!r}"
            if not info.filename.endswith(".npy"):
                raise FormatError(f"{where}: not a .npy member")
            try:
                with archive.open(info) as member:
                    data = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError,
                    RuntimeError, zlib.error) as exc:
                raise FormatError(f"{where}: corrupted member ({type(exc).__name__}: {exc})") from exc
            if len(data) != info.file_size:
                raise FormatError(f"{where}: {len(data)} bytes, the zip directory says {info.file_size}")
            desc[info.filename[:-len(".npy")]] = _value(read_npy(data, where, limits, budget))
    return from_annarchy_dict(desc, source, format_name=FORMAT_NAME, input_bytes=total)


def loads(data: bytes, source: str = "<bytes>", *, limits: PickleLimits = DEFAULT_LIMITS,
          max_output: Optional[int] = None) -> NetworkState:
    """Parse the bytes of an ANNarchy ``.npz`` file (see :func:`read`)."""
    if len(data) == 0:
        raise FormatError(f"{source}: empty file")
    return read(io.BytesIO(data), source, limits=limits, max_output=max_output)


def load(path: PathLike, *, limits: PickleLimits = DEFAULT_LIMITS, max_output: Optional[int] = None) -> NetworkState:
    """Read an ANNarchy ``.npz`` state file (see :func:`read`)."""
    return loads(state_pickle.read_file(path), str(path), limits=limits, max_output=max_output)


def inspect(path: PathLike) -> dict:
    """Describe an ANNarchy ``.npz`` state file (objects, sizes, variables, dtypes, shapes, step)."""
    summary = summarize(load(path))
    summary.update(file=str(path), file_size=Path(path).stat().st_size, written_by="ANNarchy")
    return summary
