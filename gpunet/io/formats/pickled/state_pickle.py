"""ANNarchy's pickled state (``.txt`` and every unknown suffix).

A file is ``pickle`` protocol 5 of ANNarchy's save dictionary (layout and
value forms: :mod:`gpunet.io.formats.annarchy_dict`), so ANNarchy 5 loads the
files gpunet writes and gpunet loads ANNarchy's.  gpunet's own additions
(``dt``, ``seed``, model names, exact dtypes, internal spike state) sit under
the one extra key ``"_gpunet"``, which ANNarchy ignores.

What the layout carries: every population and projection attribute (locals
and globals, float/int/bool dtypes), the connectivity, uniform or per-synapse
delays, the step counter and, through ``"_gpunet"``, the internal arrays
(refractory counters, last spike times, spike history).  A file written by
ANNarchy has no internal state, ``dt`` or seed: those stay None/empty.

Writing goes through Python's pickler, except the per-row values (``pre_ranks``,
synaptic variables, per-synapse delays): those are encoded straight from the
arrays into the opcodes ``pickle`` itself would write for the lists (BINFLOAT,
BININT, NEWTRUE/NEWFALSE), each list of rows preceded by a row hint that
``pickle`` pushes and pops again (:mod:`gpunet.io.formats.pickled.pickle_rows`); long flat
lists of ints (``post_ranks``) are encoded the same way, without a hint.  ANNarchy
unpickles exactly its lists; gpunet checks every opcode of such a block with
NumPy and takes its numbers as one array, without a Python float per synapse.
Files written by ANNarchy have no hints and are read through the unpickler's
Python objects, several times slower (figures: docs/performance.md).

Reading never runs code from the file: the bytes go through
:func:`gpunet.io.formats.pickled.unpickler.restricted_loads` (structure scan, then an
allow-list unpickler).  A file that is something else (gzip, zip/npz, Matlab,
JSON, random bytes) raises :class:`~gpunet.errors.FormatError` naming the file
and, when recognisable, what it is.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from gpunet.io.pipeline.state_types import NetworkState, PopulationState
>>> pop = PopulationState("exc", (3,), 3, "Izhikevich", ["a"], ["v"],
...                       {"a": np.array(0.02), "v": np.array([-65.0, -64.0, -63.0])})
>>> path = os.path.join(tempfile.mkdtemp(), "state.txt")
>>> save(path, NetworkState(populations=[pop], step=5, dt=0.5))
>>> back = load(path)
>>> back.step, back.dt, back.population("exc").values["v"].tolist()
(5, 0.5, [-65.0, -64.0, -63.0])
"""
from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO, Optional

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike, atomic_writer
from gpunet.io.formats.annarchy_dict import EXTRA_KEY, describe_file, list_rows, to_annarchy_dict
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.formats.pickled.pickle_rows import encode_int_list, encode_rows
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.io.formats.pickled.unpickler import DEFAULT_LIMITS, PickleLimits, _numpy_core, restricted_loads

__all__ = ["FORMAT_NAME", "PROTOCOL", "EXTRA_KEY", "to_annarchy_dict", "from_annarchy_dict", "dumps", "write",
           "loads", "save", "load", "inspect", "read_file", "identify"]

FORMAT_NAME = "pickle"
#: ANNarchy 5 writes ``pickle.HIGHEST_PROTOCOL`` (5 on Python 3.8+).
PROTOCOL = 5

_MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file (name it *.gz)"),
    (b"PK\x03\x04", "a zip archive such as an .npz file (name it *.npz)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"MATLAB", "a Matlab file (name it *.mat)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF", "an HDF5 file"),
)


def identify(data: bytes) -> Optional[str]:
    """What ``data`` looks like when it is clearly not a pickle (None when it may be one)."""
    for magic, description in _MAGIC:
        if data.startswith(magic):
            return description
    if data.lstrip()[:1] in (b"{", b"["):
        return "a JSON or text file"
    return None


# --------------------------------------------------------------------------- writing
class _Rows:
    """Per-row values still as one flat array: written as pickle opcodes without Python objects."""

    __slots__ = ("flat", "bounds", "object_array")

    def __init__(self, flat: np.ndarray, bounds: list[int], object_array: bool) -> None:
        self.flat, self.bounds, self.object_array = flat, bounds, object_array


class _RawList:
    """The list of rows itself, inside the state of an object array."""

    __slots__ = ("rows",)

    def __init__(self, rows: _Rows) -> None:
        self.rows = rows


_RECONSTRUCT = _numpy_core().multiarray._reconstruct


class _StatePickler(pickle._Pickler):
    """Python's pickler, plus direct encoding of :class:`_Rows` blocks (the bulk of a state)."""

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        kind = type(obj)
        if kind is _Rows:
            rows = obj
            if rows.object_array:  # numpy's reduction of an object array, around the raw list
                count = len(rows.bounds) - 1
                self.save_reduce(_RECONSTRUCT, (np.ndarray, (0,), b"b"),
                                 state=(1, (count,), np.dtype(object), False, _RawList(rows)))
                return
            obj = _RawList(rows)
            kind = _RawList
        if kind is _RawList:
            encoded = encode_rows(obj.rows.flat, obj.rows.bounds)
            if encoded is None:  # e.g. ints beyond int32: let pickle write the lists
                return super().save(list_rows(obj.rows.flat, obj.rows.bounds, False), save_persistent_id)
            self.framer.write_large_bytes(b"", encoded)
            return
        if kind is list and len(obj) >= 64 and id(obj) not in self.memo:
            encoded = encode_int_list(obj)  # e.g. post_ranks: one opcode record per int, no Python loop
            if encoded is not None:
                self.write(encoded)
                self.memoize(obj)
                return
        super().save(obj, save_persistent_id)


def write(state: NetworkState, handle: BinaryIO) -> None:
    """Pickle ``state`` into the open binary ``handle``.

    The dict is ANNarchy's (:func:`to_annarchy_dict`); the per-row values
    (``pre_ranks``, synaptic variables, per-synapse delays) are encoded
    straight from the arrays instead of through millions of Python floats.

    Raises
    ------
    FormatError
        The state cannot be written in ANNarchy's layout.
    """
    _StatePickler(handle, protocol=PROTOCOL).dump(to_annarchy_dict(state, rows=_Rows))


def dumps(state: NetworkState) -> bytes:
    """The bytes of the pickle file for ``state`` (see :func:`write`)."""
    buffer = io.BytesIO()
    write(state, buffer)
    return buffer.getvalue()


def loads(data: bytes, source: str = "<bytes>", *, limits: PickleLimits = DEFAULT_LIMITS,
          format_name: str = FORMAT_NAME) -> NetworkState:
    """Parse the bytes of a pickle state file (ANNarchy's or gpunet's).

    Parameters
    ----------
    data : bytes
        The whole file.
    source : str
        Name of the file, used in every error message.
    limits : PickleLimits
        Size and depth limits of the unpickler.
    format_name : str
        Stored in ``NetworkState.format``.

    Raises
    ------
    UnsafeFileError
        The pickle refers to code outside the allow-list (nothing was run).
    FormatError
        Empty, truncated, corrupted or mislabelled data, or a dict that is not
        ANNarchy's layout.
    """
    if len(data) == 0:
        raise FormatError(f"{source}: empty file")
    what = identify(bytes(data[:16]))
    if what is not None:
        raise FormatError(f"{source}: not a pickled state file: this is {what}")
    desc = restricted_loads(data, source, limits=limits, decode_rows=True)
    return from_annarchy_dict(desc, source, format_name=format_name, input_bytes=len(data))


def save(path: PathLike, state: NetworkState, *, fsync: bool = True) -> None:
    """Write ``state`` to ``path`` atomically (the parent folder is created).

    The previous file, if any, stays intact until the new one is complete.
    """
    with atomic_writer(path, fsync=fsync) as handle:
        write(state, handle)


def read_file(path: PathLike, limit: Optional[int] = None) -> bytes:
    """The bytes of ``path``, with ``FormatError`` for a missing or unreadable file.

    ``limit`` refuses files larger than that many bytes.
    """
    source = str(path)
    try:
        with open(path, "rb") as handle:
            if limit is None:
                return handle.read()
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise FormatError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{source}: is a folder, not a file") from None
    except OSError as exc:
        raise FormatError(f"{source}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise FormatError(f"{source}: larger than the limit of {limit} bytes")
    return data


def load(path: PathLike, *, limits: PickleLimits = DEFAULT_LIMITS) -> NetworkState:
    """Read a pickle state file (``.txt`` or any suffix gpunet does not know).

    Raises
    ------
    UnsafeFileError, FormatError
        See :func:`loads`; a missing file is a ``FormatError`` too.
    """
    return loads(read_file(path, limits.max_bytes), str(path), limits=limits)


def inspect(path: PathLike) -> dict:
    """Describe a pickle state file: objects, sizes, variables, dtypes, shapes, step.

    Returns
    -------
    dict
        :func:`~gpunet.io.formats.annarchy_dict.summarize` of the state, plus
        ``file``, ``file_size`` and ``written_by`` (``"gpunet"`` or
        ``"ANNarchy"``).
    """
    return describe_file(path, load(path))

