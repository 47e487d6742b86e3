"""The parameter file format: one JSON object, written with orjson and a 4-space indent.

This module only turns a dictionary into bytes and back; what the dictionary
holds (``populations``, ``projections``, ``network``, ``constants``) is the
business of :mod:`gpunet.io.parameters`.

Writing
    Python's ``json.dump(indent=4)`` layout (ANNarchy's), produced by orjson:
    ``"key": value`` pairs, one per line, nested objects indented by four
    spaces, ``{}`` for an empty object and no trailing newline.  ints and bools
    stay ints and bools; floats are written in orjson's shortest form, which
    reads back to the same double (it may spell a number differently from
    Python, e.g. ``0.000066`` for ``6.6e-05``).  NaN and infinities are refused:
    JSON has no spelling for them.
Reading
    Strict JSON through orjson, with one tolerance: commas just before a
    closing ``}`` or ``]`` (outside strings) are removed with a warning,
    because the reference documentation's own example has them and users copy
    it.  Anything else that is not JSON is a :class:`~gpunet.errors.FormatError`
    naming the file, the line and the column.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import orjson

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike, write_bytes_atomic

__all__ = ["dumps", "loads", "save", "load", "inspect", "MAX_BYTES"]

MAX_BYTES = 64 * 1024 * 1024
"""Largest parameter file :func:`load` accepts (a parameter file is a few kB)."""

_INDENT_2 = re.compile(rb"^( +)", re.MULTILINE)
_NON_FINITE_WORDS = (b"NaN", b"Infinity", b"-Infinity", b"inf", b"-inf", b"nan")
_INT64_RANGE = (-(2 ** 63), 2 ** 64 - 1)  # orjson writes signed and unsigned 64-bit ints
_BOM = b"\xef\xbb\xbf"


# -- writing -----------------------------------------------------------------
def _plain(value: Any, where: str) -> Any:
    """A copy of ``value`` made of dict/list/str/int/float/bool/None only, checked for JSON."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"{where}: key {key!r} is a {type(key).__name__}; JSON keys must be strings")
            result[key] = _plain(item, f"{where}/{key}")
        return result
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if value is None or isinstance(value, (str, bool)):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # NumPy / CuPy scalars
        return _plain(value.item(), where)
    if isinstance(value, int):
        if not _INT64_RANGE[0] <= value <= _INT64_RANGE[1]:
            raise FormatError(f"{where}: the integer {value} does not fit in 64 bits")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FormatError(f"{where}: {value!r} cannot be written to JSON (values must be finite)")
        return float(value)
    raise FormatError(f"{where}: a {type(value).__name__} cannot be written to a parameter file "
                      "(expected numbers, bools, strings, lists or objects)")


def dumps(parameters: dict) -> bytes:
    """Serialize a dictionary as JSON with a 4-space indent.

    Parameters
    ----------
    parameters : dict
        String keys; values are dicts, lists, strings, ints, floats, bools or
        None (NumPy scalars are turned into Python ones).

    Returns
    -------
    bytes
        UTF-8 JSON text in ``json.dump(indent=4)``'s layout, without a
        trailing newline.

    Raises
    ------
    FormatError
        For a non-string key, a NaN or infinite float, an integer beyond 64
        bits or a value of another type; the message gives its path.

    Examples
    --------
    >>> print(dumps({"populations": {"pop0": {"a": 0.02, "n": 3, "on": True}}, "network": {}}).decode())
    {
        "populations": {
            "pop0": {
                "a": 0.02,
                "n": 3,
                "on": true
            }
        },
        "network": {}
    }
    """
    if not isinstance(parameters, dict):
        raise FormatError(f"the top level of a parameter file must be a dict, got {type(parameters).__name__}")
    text = orjson.dumps(_plain(parameters, "parameters"), option=orjson.OPT_INDENT_2)
    # Inside a JSON string a line break is always escaped, so every run of spaces
    # at the start of a line is indentation: doubling it turns 2 spaces into 4.
    return _INDENT_2.sub(lambda match: match.group(1) * 2, text)


# -- reading -----------------------------------------------------------------
def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def _trailing_commas(data: bytes) -> list[int]:
    """Byte offsets of the commas followed (after blanks) by ``}`` or ``]``, outside strings."""
    found = []
    in_string = escaped = False
    length = len(data)
    for index, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte == 0x2C:  # comma
            before = index - 1
            while before >= 0 and data[before] in b" \t\r\n":
                before -= 1
            if before < 0 or data[before] in b"{[,":
                continue  # not after a value: a real syntax error, left to orjson
            following = index + 1
            while following < length and data[following] in b" \t\r\n":
                following += 1
            if following < length and data[following] in b"}]":
                found.append(index)
    return found


def _without(data: bytes, offsets: list[int]) -> bytes:
    pieces, start = [], 0
    for offset in offsets:
        pieces.append(data[start:offset])
        start = offset + 1
    pieces.append(data[start:])
    return b"".join(pieces)


def _duplicate_keys(data: bytes) -> list[str]:
    """Keys that appear twice in one object of (valid) JSON ``data``; orjson keeps the last silently."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict:
        seen: set[str] = set()
        for key, _value in items:
            if key in seen and key not in found:
                found.append(key)
            seen.add(key)
        return {}

    try:
        json.loads(data, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # pragma: no cover - orjson accepted it; only the check is lost
        return []
    return found


def _decode_error(data: bytes, error: orjson.JSONDecodeError, source: str, removed: list[int]) -> FormatError:
    """A FormatError for ``error``, located in the original ``data`` (before commas were removed)."""
    position = error.pos
    for offset in removed:  # map a position in the cleaned text back to the original text
        if offset <= position:
            position += 1
    reason = error.msg
    if any(data.startswith(word, position) for word in _NON_FINITE_WORDS):
        if data[position - 1:position] == b"-":
            position -= 1  # point at the sign of -Infinity
        reason += " (NaN and Infinity are not JSON; parameter values must be finite numbers)"
    line, column = _line_column(data, position)
    return FormatError(f"{source}: invalid JSON at line {line}, column {column}: {reason}")


def loads(data: bytes, source: str = "<bytes>") -> dict:
    """Parse the bytes of a parameter file.

    Parameters
    ----------
    data : bytes
        UTF-8 JSON text (a leading byte-order mark is ignored).
    source : str
        Name of the file, used in messages and warnings.

    Returns
    -------
    dict
        The top-level JSON object, keys in file order.

    Raises
    ------
    FormatError
        When ``data`` is not UTF-8 or not JSON (the message gives the line and
        column), or its top level is not an object.

    Warns
    -----
    UserWarning
        When commas before a closing bracket had to be removed, or an object
        has the same key twice (the last value is used, as everywhere).

    Examples
    --------
    >>> loads(b'{"network": {"pop1_r_min": 0.1}}', "p.json")
    {'network': {'pop1_r_min': 0.1}}
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     loads(b'{"network": {"pop1_r_min": 0.1,},}', "p.json")
    {'network': {'pop1_r_min': 0.1}}
    >>> str(caught[0].message)
    'p.json: removed 2 trailing commas (line 1, column 31; line 1, column 33); strict JSON does not allow them'
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"loads() expects bytes, got {type(data).__name__}")
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise FormatError(f"{source}: not UTF-8 text at line {line}, column {column} (byte {exc.start})") from exc
    removed: list[int] = []
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as first_error:
        removed = _trailing_commas(data)
        if not removed:
            raise _decode_error(data, first_error, source, removed) from first_error
        try:
            value = orjson.loads(_without(data, removed))
        except orjson.JSONDecodeError as error:
            raise _decode_error(data, error, source, removed) from error
        places = "; ".join("line {}, column {}".format(*_line_column(data, offset)) for offset in removed)
        plural = "s" if len(removed) > 1 else ""
        warnings.warn(f"{source}: removed {len(removed)} trailing comma{plural} ({places}); "
                      "strict JSON does not allow them", UserWarning, stacklevel=2)
    duplicates = _duplicate_keys(data if not removed else _without(data, removed))
    if duplicates:
        warnings.warn(f"{source}: duplicate key(s) {', '.join(map(repr, duplicates))} in one object; the last "
                      "value of each is used", UserWarning, stacklevel=2)
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a bool", type(None): "null"}.get(type(value), "a number")
        raise FormatError(f"{source}: the top level must be a JSON object {{...}}, found {kind}")
    return value


# -- files -------------------------------------------------------------------
def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FormatError(f"{path}: {size} bytes is too large for a parameter file (at most {MAX_BYTES})")
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such parameter file") from exc
    except IsADirectoryError as exc:
        raise FormatError(f"{path}: is a folder, not a parameter file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the parameter file ({exc.strerror or exc})") from exc


def save(path: PathLike, parameters: dict) -> None:
    """Write ``parameters`` to ``path`` atomically (see :func:`dumps`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "p.json"
    >>> save(target, {"network": {"n": 1}})
    >>> load(target)
    {'network': {'n': 1}}
    """
    write_bytes_atomic(path, dumps(parameters))


def load(path: PathLike) -> dict:
    """Read the parameter file ``path`` (see :func:`loads`).

    Raises
    ------
    FormatError
        For a missing or unreadable file, a file larger than
        :data:`MAX_BYTES`, invalid JSON or a top level that is not an object.
    """
    path = Path(path)
    return loads(_read(path), str(path))


def inspect(path: PathLike) -> dict:
    """Summarize a parameter file without a network.

    Returns
    -------
    dict
        ``format`` (``"parameters-json"``), ``path``, ``bytes``, then for
        ``populations`` and ``projections`` the parameter names of each
        object, for ``network`` and ``constants`` their keys, and
        ``other_keys``: top-level keys outside those four.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "p.json"
    >>> save(target, {"populations": {"pop0": {"a": 0.1, "b": 0.2}}, "projections": {}, "network": {}})
    >>> summary = inspect(target)
    >>> summary["populations"], summary["projections"], summary["other_keys"]
    ({'pop0': ['a', 'b']}, {}, [])
    """
    path = Path(path)
    raw = _read(path)
    content = loads(raw, str(path))
    summary: dict[str, Any] = {"format": "parameters-json", "path": str(path), "bytes": len(raw)}
    for section in ("populations", "projections"):
        objects = content.get(section, {})
        summary[section] = ({name: list(values) if isinstance(values, dict) else [] for name, values in objects.items()}
                            if isinstance(objects, dict) else {})
    for section in ("network", "constants"):
        values = content.get(section, {})
        summary[section] = list(values) if isinstance(values, dict) else []
    summary["other_keys"] = [key for key in content if key not in ("populations", "projections", "network",
                                                                    "constants")]
    return summary
