"""Gzipped ANNarchy pickle (``.gz``): the bytes of :mod:`~gpunet.io.formats.pickled.state_pickle`, gzip-compressed.

ANNarchy writes these files with ``gzip.open`` at gzip's default level 9 and
reads them with ``gzip.open``; any level decompresses the same way, so the
files interchange in both directions.

Compression level
-----------------
gpunet compresses with zlib-ng (a dependency; the C library's zlib where no
zlib-ng wheel exists) at level :data:`DEFAULT_LEVEL` (3; 1 with the C
library).  Both write standard gzip that any gzip reader (ANNarchy's
``gzip.open`` included) decompresses.  The bulk of a trained state is float64
mantissas, which no level compresses much; higher levels find a few more
repeats at a steep cost (the level table: docs/performance.md).  Pass ``level=6`` (or 9)
to :func:`save` / :func:`dumps` / :func:`write` for the smallest files.  The
gzip header carries no file name and a zero time stamp, so equal states give
equal bytes (with the same compressor).

Decompression bombs
-------------------
A gzip stream of zeros expands about 1000-fold.  :func:`loads` decompresses
incrementally and refuses output beyond ``max_output`` bytes (default:
``64 x the compressed size + 1 GiB``) with a
:class:`~gpunet.errors.FormatError`, before allocating it.
"""
from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO, Optional

try:  # zlib-ng (a dependency on the common platforms): the same gzip format, faster at every level
    from zlib_ng import gzip_ng as _gzip
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - platforms without a zlib-ng wheel
    _gzip, _zlib = gzip, zlib

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike, atomic_writer
from gpunet.io.formats.pickled import state_pickle
from gpunet.io.formats.annarchy_dict import describe_file
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.io.formats.pickled.unpickler import DEFAULT_LIMITS, PickleLimits

__all__ = ["FORMAT_NAME", "DEFAULT_LEVEL", "MAX_RATIO", "MAX_EXTRA", "output_limit", "decompress", "dumps",
           "write", "loads", "save", "load", "inspect"]

FORMAT_NAME = "gzip"
#: Level 3 with zlib-ng (smaller and faster than the C library zlib's level 1), 1 with the C library's.
DEFAULT_LEVEL = 3 if _zlib is not zlib else 1
#: Default cap on the decompressed size: ``MAX_RATIO * compressed + MAX_EXTRA`` bytes.
MAX_RATIO = 64
MAX_EXTRA = 1 << 30
_CHUNK = 1 << 20


def output_limit(compressed_size: int) -> int:
    """The default largest decompressed size accepted for ``compressed_size`` bytes of gzip."""
    return MAX_RATIO * compressed_size + MAX_EXTRA


def dumps(state: NetworkState, level: int = DEFAULT_LEVEL) -> bytes:
    """The bytes of the ``.gz`` file for ``state`` (gzip of the pickle file's bytes; equal to :func:`write`'s)."""
    buffer = io.BytesIO()
    write(state, buffer, level=level)
    return buffer.getvalue()


def write(state: NetworkState, handle: BinaryIO, level: int = DEFAULT_LEVEL) -> None:
    """Stream the gzipped pickle of ``state`` into the open binary ``handle``."""
    with _gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=level, mtime=0) as stream:
        state_pickle.write(state, stream)


def decompress(data: bytes, source: str = "<bytes>", max_output: Optional[int] = None) -> bytes:
    """Gunzip ``data`` (one or several members), refusing more than ``max_output`` bytes.

    Raises
    ------
    FormatError
        Not gzip, corrupted (CRC or length mismatch), truncated, trailing
        garbage, or output beyond ``max_output`` (a decompression bomb).
    """
    if not data:
        raise FormatError(f"{source}: empty file")
    if not data.startswith(b"\x1f\x8b"):
        what = state_pickle.identify(bytes(data[:16]))
        hint = f": this is {what}" if what else ""
        raise FormatError(f"{source}: not a gzip file{hint}")
    limit = output_limit(len(data)) if max_output is None else max_output
    view = memoryview(data)
    pieces: list[bytes] = []
    produced = 0
    while view:
        decompressor = _zlib.decompressobj(wbits=31)
        pending = view
        while not decompressor.eof:
            try:
                piece = decompressor.decompress(pending, min(_CHUNK, limit - produced + 1))
            except _zlib.error as exc:
                raise FormatError(f"{source}: corrupted gzip data ({exc})") from exc
            produced += len(piece)
            if produced > limit:
                raise FormatError(f"{source}: decompresses to more than {limit} bytes (limit; a corrupted file or "
                                  "a decompression bomb); pass a larger max_output if the file is genuine")
            pieces.append(piece)
            pending = decompressor.unconsumed_tail
            if not piece and not pending and not decompressor.eof:
                raise FormatError(f"{source}: truncated gzip file")
        view = memoryview(decompressor.unused_data)
        if view and not bytes(view[:2]) == b"\x1f\x8b":
            if not any(bytes(view)):  # zero padding after the last member is tolerated, as gzip does
                break
            raise FormatError(f"{source}: {len(view)} unexpected bytes after the gzip data")
    return b"".join(pieces)


def loads(data: bytes, source: str = "<bytes>", *, max_output: Optional[int] = None,
          limits: PickleLimits = DEFAULT_LIMITS) -> NetworkState:
    """Parse the bytes of a ``.gz`` state file (ANNarchy's or gpunet's).

    Parameters
    ----------
    data : bytes
        The compressed file.
    source : str
        Name of the file, used in every error message.
    max_output : int, optional
        Largest decompressed size accepted (default :func:`output_limit`).
    limits : PickleLimits
        Limits of the unpickler.

    Raises
    ------
    UnsafeFileError, FormatError
        See :func:`decompress` and :func:`gpunet.io.formats.pickled.state_pickle.loads`.
    """
    return state_pickle.loads(decompress(data, source, max_output), source, limits=limits, format_name=FORMAT_NAME)


def save(path: PathLike, state: NetworkState, *, level: int = DEFAULT_LEVEL, fsync: bool = True) -> None:
    """Write ``state`` to ``path`` atomically (the parent folder is created)."""
    with atomic_writer(path, fsync=fsync) as handle:
        write(state, handle, level=level)


def load(path: PathLike, *, max_output: Optional[int] = None, limits: PickleLimits = DEFAULT_LIMITS) -> NetworkState:
    """Read a ``.gz`` state file; see :func:`loads`."""
    return loads(state_pickle.read_file(path), str(path), max_output=max_output, limits=limits)


def inspect(path: PathLike) -> dict:
    """Describe a ``.gz`` state file (as :func:`gpunet.io.formats.pickled.state_pickle.inspect`)."""
    return describe_file(path, load(path))
