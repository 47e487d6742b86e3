"""Allow-list unpickling: the only way gpunet reads a pickle.

A pickle is a program for a small stack machine that may import and call any
function.  gpunet treats every pickle file as untrusted input and reads it in
two passes:

1. **Structure scan** (:func:`~gpunet.io.formats.pickled.pickle_scan.scan_pickle`, in its own
   module :mod:`gpunet.io.formats.pickled.pickle_scan`; pure Python, runs nothing): the opcodes
   are walked once with an abstract stack; persistent ids, extension codes,
   huge memo indices, nesting beyond :attr:`PickleLimits.max_depth`, cycles,
   trailing bytes and objects beyond the memory budget are refused before
   anything is loaded.
2. **Restricted load** (:class:`RestrictedUnpickler`, CPython's C unpickler; this
   module, the security boundary):
   every global the pickle names goes through :meth:`find_class`, which
   resolves it from a fixed table (:data:`ALLOWED_GLOBALS`) and never imports
   anything.  The table holds exactly what NumPy 1.x and 2.x need to rebuild
   arrays, dtypes and scalars, plus builtin containers and scalars.  Anything
   else raises :class:`~gpunet.errors.UnsafeFileError` before it is called.

The NumPy entries are wrappers that check their arguments against the forms
NumPy itself writes (``_reconstruct(ndarray, (0,), b'b')``, a dtype from a
type string, a scalar from a dtype and its bytes), so that a pickle cannot use
them to allocate memory it does not carry.  An array's state (applied by
BUILD) must carry exactly the data its shape and dtype need: NumPy trusts it,
and an object array given a shorter list crashes the interpreter.  Loaded
arrays are plain ``ndarray`` objects.  The builtins accept only the arguments
pickle writes for them: ``bytes`` and ``bytearray`` refuse a size (any integer,
NumPy's included), ``list``/``tuple``/``set`` only take a list or a tuple (not
a string or bytes, one item per character), ``str`` never takes the repr of
an object; ``range`` is not allowed at all.

Memory is bounded by the pickle's size: the structure scan counts the memory
of every object the unpickler will make, and every copy made while loading (an
array's data, ``bytearray(b)``, ...) is charged when it is made, each use of a
memoized object again; beyond ``memory_ratio * len(pickle) + memory_allowance``
bytes (:class:`PickleLimits`) the load stops with a ``FormatError`` before it
allocates.

Every failure is a :class:`~gpunet.errors.FormatError` (or its subclass
``UnsafeFileError``) whose message names the file; ``RecursionError`` and
``MemoryError`` never escape.

Examples
--------
>>> import pickle, numpy as np
>>> restricted_loads(pickle.dumps({"v": np.arange(3.0)}, protocol=5), "<bytes>")["v"]
array([0., 1., 2.])
>>> import os
>>> restricted_loads(pickle.dumps(os.getcwd), "evil.txt")
Traceback (most recent call last):
...
gpunet.errors.UnsafeFileError: evil.txt: the pickle refers to posix.getcwd, which is not on gpunet's allow-list ...
"""
from __future__ import annotations

import collections
import contextvars
import io
import math
import pickle
from typing import Any, BinaryIO, Optional

import numpy as np

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats.pickled.pickle_rows import DecodedRows
from gpunet.io.formats.pickled.pickle_scan import DEFAULT_LIMITS, BytesLike, PickleLimits, scan_pickle
from gpunet.io.storage.read_budget import ReadBudget

__all__ = [
    "ALLOWED_GLOBALS",
    "PickleLimits",
    "DEFAULT_LIMITS",
    "RestrictedUnpickler",
    "restricted_loads",
    "restricted_load",
    "scan_pickle",
]


# --------------------------------------------------------------------------- allowed globals
class _NdarraySentinel:
    """Stands for ``numpy.ndarray`` inside a pickle: usable only as ``_reconstruct``'s first argument.

    Returning the real class would let a pickle call ``ndarray(shape)`` and
    allocate memory it does not carry.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<numpy.ndarray (restricted)>"


_NDARRAY = _NdarraySentinel()


def _refuse(message: str) -> UnsafeFileError:
    return UnsafeFileError(message)


#: The budget of the load in progress (set by :func:`restricted_loads` around the unpickler).
_BUDGET: contextvars.ContextVar[Optional[ReadBudget]] = contextvars.ContextVar("gpunet_unpickle_budget",
                                                                               default=None)


def _charge(nbytes: int, what: str) -> None:
    """Count a copy the load is about to make (each use of a memoized object is counted again)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(nbytes, what)


def _numpy_core() -> Any:
    """NumPy's core package (``numpy._core`` on NumPy 2, ``numpy.core`` on 1.x), without deprecation warnings."""
    core = getattr(np, "_core", None)
    return core if core is not None and hasattr(core, "multiarray") else np.core


_REAL_RECONSTRUCT = _numpy_core().multiarray._reconstruct
_REAL_SCALAR = _numpy_core().multiarray.scalar


class _DtypeProxy:
    """What ``numpy.dtype(...)`` gives inside a pickle: the call and its BUILD state, kept, not applied.

    NumPy's ``dtype.__setstate__`` trusts its input: states a file can carry
    give a float32 object flags, an object dtype plain-data flags (file bytes
    then become pointers), or crash NumPy outright.  :meth:`resolve` makes the
    dtype only when the state is exactly the one NumPy writes for it.
    """

    __slots__ = ("spec", "align", "state")

    def __init__(self, spec: str, align: bool) -> None:
        self.spec, self.align, self.state = spec, align, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<numpy.dtype {self.spec!r} (restricted)>"

    def resolve(self) -> np.dtype:
        """The dtype, or UnsafeFileError when its state is not NumPy's own for it."""
        try:
            dtype = np.dtype(self.spec, self.align)
        except Exception as exc:  # NumPy parses the string: TypeError, ValueError, SyntaxError and more
            raise _refuse(f"numpy.dtype({self.spec!r}) is not a valid dtype ({type(exc).__name__})") from None
        if self.state is None:
            return dtype
        byteorder = self.state[1] if isinstance(self.state, tuple) and len(self.state) > 1 else None
        if byteorder in ("<", ">") and dtype.byteorder != "|":
            dtype = dtype.newbyteorder(byteorder)
        if dtype.__reduce__()[2] != self.state:
            raise _refuse(f"numpy.dtype({self.spec!r}) with a state NumPy never writes for it (forged flags, "
                          "fields or sizes)")
        return dtype


def _dtype_of(value: Any, what: str) -> np.dtype:
    if type(value) is _DtypeProxy:
        return value.resolve()
    raise _refuse(f"{what} needs a numpy dtype")


def _checked_array_state(state: Any) -> tuple:
    """The ndarray state with its dtype resolved, or an error when it does not describe its data exactly.

    NumPy trusts the state: an object array whose list is shorter than its
    shape reads past the end of the list and crashes the interpreter.
    """
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise _refuse("an array state that is not NumPy's (version, shape, dtype, fortran, data)")
    shape, dtype, fortran, data = state[-4:]
    dtype = _dtype_of(dtype, "an array state")
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
        raise _refuse("an array state whose shape is not a tuple of non-negative ints")
    count = math.prod(shape)
    if dtype.itemsize == 0 and count:
        raise FormatError(f"an array of shape {shape} and dtype {dtype!r} has items of zero bytes (corrupted data)")
    if dtype.hasobject:
        if dtype != np.dtype(object):
            raise _refuse("structured arrays holding Python objects are refused")
        if not isinstance(data, list) or len(data) != count:
            found = f"{len(data)} items" if isinstance(data, list) else type(data).__name__
            raise FormatError(f"an object array of shape {shape} carries {found} (corrupted data)")
        _charge(8 * count + 112, f"an object array of shape {shape}")
    elif not isinstance(data, (bytes, bytearray, str)) or len(data) != count * dtype.itemsize:
        found = f"{len(data)} bytes" if isinstance(data, (bytes, bytearray, str)) else type(data).__name__
        raise FormatError(f"an array of shape {shape} and dtype {dtype} carries {found} (corrupted data)")
    else:
        _charge(len(data) + 112, f"an array of shape {shape} and dtype {dtype}")
    return state[:-4] + (shape, dtype, fortran, data)


class _CheckedArray(np.ndarray):
    """The array :func:`_safe_reconstruct` makes: its state is checked before NumPy applies it.

    Otherwise an ordinary ndarray (``np.asarray`` and copies give plain ones).
    """

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(_checked_array_state(state))


def _safe_reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """``_reconstruct`` limited to what ``ndarray.__reduce__`` writes: ``(ndarray, (0,), b'b')``."""
    if subtype is not _NDARRAY:
        raise _refuse(f"_reconstruct called on {type(subtype).__name__}; only numpy.ndarray is allowed")
    if not (isinstance(shape, tuple) and len(shape) <= 1 and all(type(s) is int and s == 0 for s in shape)):
        raise _refuse("_reconstruct called with a shape other than (0,), which NumPy never writes")
    if not isinstance(typecode, (bytes, str)) or len(typecode) != 1:
        raise _refuse("_reconstruct called with an invalid type code")
    return _REAL_RECONSTRUCT(_CheckedArray, shape, typecode)


def _safe_dtype(spec: Any, align: Any = False, copy: Any = True) -> _DtypeProxy:
    """``numpy.dtype`` from a type string, made only once its state is known to be NumPy's own."""
    if not isinstance(spec, str) or not 0 < len(spec) <= 32:
        raise _refuse(f"numpy.dtype called with {type(spec).__name__}; NumPy pickles a dtype from a type string")
    return _DtypeProxy(spec, bool(align))


def _safe_scalar(dtype: Any, data: Any = None) -> Any:
    """``scalar(dtype, bytes)`` for a non-object dtype and exactly ``itemsize`` bytes."""
    dtype = _dtype_of(dtype, "a numpy scalar")
    if dtype.hasobject:
        raise _refuse("numpy scalar with an object dtype")
    if isinstance(data, str):  # Python 2 pickles carry the bytes as latin-1 text
        data = data.encode("latin1")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise _refuse(f"numpy scalar of dtype {dtype} needs exactly {dtype.itemsize} bytes")
    _charge(2 * len(data) + 64, f"a numpy scalar of dtype {dtype}")
    return _REAL_SCALAR(dtype, bytes(data))


def _safe_frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """``_frombuffer`` (NumPy's protocol-5 array pickles): an array over the bytes the file carries."""
    dtype = _dtype_of(dtype, "_frombuffer")
    if not isinstance(buffer, (bytes, bytearray)) or dtype.hasobject:
        raise _refuse("_frombuffer needs bytes and a non-object dtype")
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
        raise _refuse("_frombuffer needs a shape tuple of non-negative ints")
    if order not in ("C", "F"):
        raise _refuse("_frombuffer order must be 'C' or 'F'")
    if dtype.itemsize == 0:
        raise FormatError(f"_frombuffer with dtype {dtype!r}, whose items have zero bytes (corrupted data)")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order)


def _safe_codecs_encode(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    """``_codecs.encode`` as protocol 0-2 pickles use it for bytes: latin-1 only."""
    if not isinstance(text, str) or not isinstance(encoding, str) or encoding.lower() not in ("latin1", "latin-1"):
        raise _refuse("_codecs.encode is allowed only for latin-1 text (how pickle writes bytes)")
    _charge(len(text) + 64, "_codecs.encode")
    return text.encode("latin1", "strict")


# The builtins a pickle may call, each limited to the arguments pickle itself writes for it.  None
# of them may turn a small argument into a large object: a size (an int of any kind, NumPy's
# included) for bytes/bytearray, a string or bytes for list/tuple/set (one item per character),
# or any object for str (its repr) is refused; every copy is charged to the load's budget.
_TEXT_LIMIT = 4300  # characters of a number written as text (CPython's own int-to-str digit limit)


def _bytes_arguments(name: str, args: tuple) -> tuple:
    """The arguments of ``bytes``/``bytearray`` if they are ``()``, ``(bytes,)`` or ``(str, encoding[, errors])``."""
    if not args:
        return args
    first = args[0]
    if type(first) in (bytes, bytearray) and len(args) == 1:
        _charge(len(first) + 64, f"{name}()")
        return args
    if type(first) is str and 2 <= len(args) <= 3 and all(type(a) is str for a in args[1:]):
        _charge(4 * len(first) + 64, f"{name}()")
        return args
    raise _refuse(f"{name}() called with {type(first).__name__}: only bytes or text with an encoding are "
                  "allowed (a size would allocate memory the file does not carry)")


def _safe_bytes(*args: Any) -> bytes:
    return bytes(*_bytes_arguments("bytes", args))


def _safe_bytearray(*args: Any) -> bytearray:
    return bytearray(*_bytes_arguments("bytearray", args))


def _container(kind: type, per_item: int) -> Any:
    """``kind`` limited to ``kind()`` and ``kind(list_or_tuple)`` (items the file carries), charged per item."""
    def build(*args: Any) -> Any:
        if not args:
            return kind()
        if len(args) == 1 and type(args[0]) in (list, tuple):
            _charge(per_item * len(args[0]) + 256, f"{kind.__name__}()")
            return kind(args[0])
        raise _refuse(f"{kind.__name__}() called with {', '.join(type(a).__name__ for a in args)}: only a list or "
                      "a tuple is allowed (one item per character of a string would allocate memory the file "
                      "does not carry)")
    build.__name__ = build.__qualname__ = kind.__name__
    return build


def _number(kind: type) -> Any:
    """``kind`` limited to numbers and short text: ``int('9' * 10**6)`` is refused, not computed."""
    def build(*args: Any) -> Any:
        if len(args) > 2 or not all(isinstance(a, (int, float, complex, np.number, np.bool_))
                                    or (type(a) is str and len(a) <= _TEXT_LIMIT) for a in args):
            raise _refuse(f"{kind.__name__}() called with {', '.join(type(a).__name__ for a in args)}: only numbers "
                          "and short text are allowed")
        return kind(*args)
    build.__name__ = build.__qualname__ = kind.__name__
    return build


def _safe_str(*args: Any) -> str:
    """``str`` of text, or of bytes with an encoding: never the repr of an object (it can be huge)."""
    if not args or (len(args) == 1 and type(args[0]) is str):
        return str(*args)
    if type(args[0]) in (bytes, bytearray) and 2 <= len(args) <= 3 and all(type(a) is str for a in args[1:]):
        _charge(4 * len(args[0]) + 64, "str()")
        return str(*args)
    raise _refuse(f"str() called with {', '.join(type(a).__name__ for a in args)}: only text, or bytes with an "
                  "encoding, is allowed")


_BUILTINS: dict[str, Any] = {
    "dict": _container(dict, 64), "list": _container(list, 9), "tuple": _container(tuple, 8),
    "set": _container(set, 96), "frozenset": _container(frozenset, 96),
    "int": _number(int), "float": _number(float), "complex": _number(complex), "bool": _number(bool),
    "str": _safe_str, "bytes": _safe_bytes, "bytearray": _safe_bytearray, "slice": slice,
}
_PY2_BUILTINS = {"unicode": _safe_str, "long": _number(int)}

#: (module, name) -> object handed to the unpickler.  Nothing else is ever resolved.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{("builtins", name): obj for name, obj in _BUILTINS.items()},
    **{("__builtin__", name): obj for name, obj in {**_BUILTINS, **_PY2_BUILTINS}.items()},
    ("collections", "OrderedDict"): _container(collections.OrderedDict, 100),
    ("_codecs", "encode"): _safe_codecs_encode,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _safe_dtype,
}
for _core in ("numpy.core", "numpy._core"):
    ALLOWED_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = _safe_reconstruct
    ALLOWED_GLOBALS[(f"{_core}.multiarray", "scalar")] = _safe_scalar
    ALLOWED_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = _safe_frombuffer
del _core


class RestrictedUnpickler(pickle.Unpickler):
    """CPython's unpickler with every global resolved from :data:`ALLOWED_GLOBALS`.

    Use :func:`restricted_loads` rather than this class directly: it also runs
    the structure scan and turns every failure into a ``FormatError``.

    Parameters
    ----------
    file : binary file
        The pickle stream.
    source : str
        Name of the file, for error messages.
    """

    def __init__(self, file: BinaryIO, source: str) -> None:
        super().__init__(file, fix_imports=False, encoding="latin1", errors="strict")
        self.source = source
        #: Whether the pickle named a NumPy global (then its result may hold restricted arrays and dtypes).
        self.used_numpy = False

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        try:
            found = ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafeFileError(
                f"{self.source}: the pickle refers to {str(module)[:80]}.{str(name)[:80]}, which is not on "
                f"gpunet's allow-list (NumPy arrays, dtypes and scalars, builtin containers and scalars); "
                f"nothing from the file was run") from None
        if module.startswith("numpy"):
            self.used_numpy = True
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeFileError(f"{self.source}: the pickle uses a persistent id, which gpunet refuses; "
                              "nothing from the file was run")


# --------------------------------------------------------------------------- public API
_LOAD_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                SystemError, OverflowError, UnicodeError, RecursionError, MemoryError, ImportError, LookupError)


class _RowBlockUnpickler(RestrictedUnpickler):
    """The restricted unpickler, fed a stream whose row blocks were replaced by persistent ids.

    Only :func:`restricted_loads` writes those ids (the file's own are refused
    by the structure scan); each resolves to the block's list of rows, as one
    :class:`~gpunet.io.formats.pickled.pickle_rows.DecodedRows` repeated once per row.
    """

    def __init__(self, file: BinaryIO, source: str, blocks: list[DecodedRows]) -> None:
        super().__init__(file, source)
        self.blocks = blocks

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not int or not 0 <= pid < len(self.blocks):  # pragma: no cover - we write the ids
            return super().persistent_load(pid)
        block = self.blocks[pid]
        return [block] * len(block.lengths)


_SCALAR_TYPES = (int, float, bool, complex, str, bytes, type(None))


def _plain_arrays(obj: Any) -> Any:
    """``obj`` with each :class:`_CheckedArray` in it a plain ndarray view, each dtype resolved.

    Dicts, lists, tuples and object arrays are walked (the scan bounds their
    depth); a list that starts with a number (a row of synapses) is not.
    """
    kind = type(obj)
    if kind is _DtypeProxy:
        return obj.resolve()
    if kind is _CheckedArray:
        plain = obj.view(np.ndarray)
        if plain.dtype == object:
            flat = plain.reshape(-1)
            for index, item in enumerate(flat):
                if type(item) not in _SCALAR_TYPES:
                    flat[index] = _plain_arrays(item)
        return plain
    if kind is dict or kind is collections.OrderedDict:
        for key, value in obj.items():
            if type(value) not in _SCALAR_TYPES:
                obj[key] = _plain_arrays(value)
    elif kind is list:
        if obj and type(obj[0]) not in _SCALAR_TYPES:
            for index, value in enumerate(obj):
                obj[index] = _plain_arrays(value)
    elif kind is tuple:
        return tuple(_plain_arrays(value) for value in obj)
    return obj


def _without_row_blocks(data: bytes, rows: list) -> bytes:
    """``data`` with each decoded row block replaced by ``BININT index BINPERSID``."""
    pieces = []
    previous = 0
    for index, (start, end, _) in enumerate(rows):
        pieces += (data[previous:start], b"J", index.to_bytes(4, "little"), b"Q")
        previous = end
    pieces.append(data[previous:])
    return b"".join(pieces)


def restricted_loads(data: BytesLike, source: str, *, limits: PickleLimits = DEFAULT_LIMITS,
                     decode_rows: bool = False, budget: Optional[ReadBudget] = None) -> Any:
    """Unpickle ``data`` through the structure scan and the allow-list.

    Parameters
    ----------
    data : bytes-like
        A complete pickle.
    source : str
        Name of the file (or other origin), used in every error message.
    limits : PickleLimits, optional
        Size and depth limits.
    decode_rows : bool, optional
        Read gpunet's row blocks (:mod:`gpunet.io.formats.pickled.pickle_rows`) as NumPy
        arrays: each such list of rows comes back as a list holding one
        :class:`~gpunet.io.formats.pickled.pickle_rows.DecodedRows` per row (use
        :func:`~gpunet.io.formats.pickled.pickle_rows.as_decoded`) instead of lists of
        Python numbers.  For readers that know that form.
    budget : ReadBudget, optional
        The memory budget to charge (shared by several pickles of one file);
        default: ``limits.memory_ratio * len(data) + limits.memory_allowance``
        bytes for this pickle.

    Returns
    -------
    object
        The unpickled object, built only from allowed globals.

    Raises
    ------
    UnsafeFileError
        The pickle names a global outside :data:`ALLOWED_GLOBALS`, uses a
        persistent id or an extension code, or calls an allowed function with
        arguments pickle never writes.  Nothing from the file was run.
    FormatError
        Empty, truncated, corrupted, too deep or otherwise invalid data, or
        objects or copies beyond the memory budget (checked before they are
        made).

    Examples
    --------
    >>> restricted_loads(b"\\x80\\x05K\\x2a.", "answer.txt")
    42
    """
    if isinstance(data, memoryview):
        data = data.cast("B") if data.format != "B" else data
    if len(data) == 0:
        raise FormatError(f"{source}: empty file (no pickle data)")
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        raise FormatError(f"{source}: pickle of {len(data)} bytes exceeds the limit of {limits.max_bytes} bytes")
    if not isinstance(data, bytes):
        data = bytes(data)
    rows: Optional[list] = [] if decode_rows else None
    if budget is None:
        budget = ReadBudget(source, len(data), limits.memory_ratio, limits.memory_allowance)
    try:
        scan_pickle(data, source, limits, rows, budget)
    except RecursionError as exc:  # pragma: no cover - the scan does not recurse
        raise FormatError(f"{source}: pickle too deeply nested") from exc
    token = _BUDGET.set(budget)
    try:
        # A buffered reader lets the unpickler peek ahead: unframed stretches (large payloads, gpunet's
        # row blocks) are otherwise read opcode by opcode, twice as slowly.
        rows = [row for row in rows or () if row is not None]
        if rows:
            stream = io.BufferedReader(io.BytesIO(_without_row_blocks(data, rows)), buffer_size=1 << 16)
            unpickler = _RowBlockUnpickler(stream, source, [block for _, _, block in rows])
        else:
            stream = io.BufferedReader(io.BytesIO(data), buffer_size=1 << 16)
            unpickler = RestrictedUnpickler(stream, source)
        loaded = unpickler.load()
        return _plain_arrays(loaded) if unpickler.used_numpy else loaded
    except FormatError as exc:
        if source in str(exc):
            raise
        raise type(exc)(f"{source}: {exc}") from exc
    except _LOAD_ERRORS as exc:
        raise FormatError(f"{source}: corrupted pickle ({type(exc).__name__}: {str(exc)[:200]})") from exc
    finally:
        _BUDGET.reset(token)


def restricted_load(fileobj: BinaryIO, source: str, *, limits: PickleLimits = DEFAULT_LIMITS) -> Any:
    """Read ``fileobj`` to its end and unpickle it like :func:`restricted_loads`.

    The whole stream is read first: the structure scan needs all of it before
    anything is loaded.
    """
    if limits.max_bytes is not None:
        data = fileobj.read(limits.max_bytes + 1)
    else:
        data = fileobj.read()
    return restricted_loads(data, source, limits=limits)
