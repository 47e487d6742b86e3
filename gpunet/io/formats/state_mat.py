"""Matlab state files (``.mat``): ANNarchy's layout through ``scipy.io``; gpunet writes and reads them.

ANNarchy writes ``scipy.io.savemat(filename, desc)`` of its save dictionary
(see :mod:`gpunet.io.formats.annarchy_dict`) and cannot read the result back.
gpunet writes the same layout and reads both its own files and ANNarchy's:

* ``time_step``, ``net_id``: 1x1 integers; ``obj_names``: a struct whose
  fields ``populations`` and ``projections`` are char matrices of names.
* One struct per object, stored under the object's name: ``name``,
  ``geometry`` (1xD), ``size``, ``attributes``, ``parameters`` and
  ``variables`` (char matrices, one name per row, blank-padded), then one field
  per attribute: a population local as an array shaped like the geometry
  (1xN for 1-D), a global as a 1x1 array.  Projection ``post_ranks`` is 1xR;
  ``pre_ranks``, the synaptic variables and per-synapse ``delays`` are RxK
  matrices when all rows have K synapses and 1xR cell arrays of 1xK rows
  otherwise.
* A single object (``pop.save("pop.mat")``) has the object's fields as its
  top-level variables, as ANNarchy writes it.

Matlab names
------------
Variable and field names must be identifiers of at most 63 characters
(a letter, then letters, digits, underscores); SciPy silently drops names
that start with an underscore.  A name that is not such an identifier, or
that starts with the reserved prefix ``gn_``, or an object named ``gpunet``
(the name of gpunet's own variable) is stored as ``gn_<readable part>_<8 hex digits of its SHA-1>`` (see
:func:`matlab_name`).  The original names stay in the ``name``,
``attributes`` and ``obj_names`` fields, which is how a reader finds them.
Objects named ``time_step``, ``net_id``, ``obj_names`` or ``_gpunet`` are
refused, as in the pickle formats (they collide with ANNarchy's keys).

gpunet's extra information
--------------------------
The top-level struct ``gpunet`` holds ``meta`` (a JSON text: format name and
version, gpunet version, dt, seed, step, and per object its model, exact
parameter/variable lists, dtypes, which attributes are global, and the dtype
and shape of each internal array) and ``internal`` (a struct of structs of
the internal arrays: refractory counters, last spikes, spike history).
Through it a gpunet file reads back exactly: bool arrays (which Matlab stores
as uint8), 1-element locals and the internal state included.  Matlab itself
cannot tell a global from a 1-element local: in ANNarchy's files (no
``gpunet`` struct) a 1x1 value is read as a global (a single constant weight
``w`` is expanded to every synapse).

Reading does not use ``scipy.io.loadmat``, which crashes the interpreter on
some corrupted files: :mod:`gpunet.io.formats.mat5_reader` checks every size
against the bytes present and returns the same forms.  Compressed variables
(Matlab's default ``-v7``) are decompressed under the same bomb guard as
``.gz`` files (:func:`gpunet.io.formats.pickled.state_gzip.output_limit`).  Matlab
7.3 (HDF5) files are refused with a clear message.  SciPy writes the files.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
from typing import Any, BinaryIO, Optional

import numpy as np
import scipy.io

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike, atomic_writer
from gpunet.io.storage.writeback import WritebackFile
from gpunet.io.formats.pickled import state_gzip, state_pickle
from gpunet.io.formats.annarchy_dict import EXTRA_FORMAT, EXTRA_KEY, EXTRA_VERSION, RESERVED_KEYS, describe_file
from gpunet.io.formats.annarchy_reader import from_annarchy_dict
from gpunet.io.formats.mat5_reader import read_mat5
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.version import __version__

__all__ = ["FORMAT_NAME", "META_VARIABLE", "matlab_name", "to_matlab_dict", "dumps", "write", "loads", "save",
           "load", "inspect"]

FORMAT_NAME = "mat"
META_VARIABLE = "gpunet"
_TOP_RESERVED = frozenset({"time_step", "net_id", "obj_names", META_VARIABLE})
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}\Z")
_PREFIX = "gn_"


def matlab_name(name: str, reserved: frozenset = frozenset()) -> str:
    """The Matlab variable/field name under which ``name`` is stored.

    Valid identifiers are kept; anything else becomes
    ``gn_<sanitised>_<8 hex digits of SHA-1(name)>`` (at most 63 characters).

    Examples
    --------
    >>> matlab_name("v"), matlab_name("_last_spike"), matlab_name("PFC exc")
    ('v', 'gn__last_spike_56dbafd8', 'gn_PFC_exc_4812f2d0')
    """
    if _IDENTIFIER.match(name) and not name.startswith(_PREFIX) and name not in reserved:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    readable = re.sub(r"[^A-Za-z0-9_]", "_", name)[:50]
    return f"{_PREFIX}{readable}_{digest}"


# =========================================================================== writing
def _per_row(flat: np.ndarray, row_ptr: np.ndarray, equal: bool) -> np.ndarray:
    """An R x K matrix (equal rows) or a 1-D object array of rows (a cell array in Matlab)."""
    n_rows = len(row_ptr) - 1
    if n_rows == 0:
        return np.empty(0, dtype=object)
    if equal:
        return flat.reshape(n_rows, -1) if n_rows else flat.reshape(0, 0)
    cells = np.empty(n_rows, dtype=object)
    for index, row in enumerate(np.split(flat, row_ptr[1:-1])):
        cells[index] = row
    return cells


def _matlab_value(value: np.ndarray) -> Any:
    return value.item() if value.ndim == 0 else value


def _population_struct(pop: PopulationState, reserved: frozenset = frozenset()) -> dict:
    geometry = tuple(int(g) for g in pop.geometry)
    fields: dict[str, Any] = {"name": pop.name, "geometry": np.array(geometry, dtype=np.int64),
                              "size": int(pop.size), "attributes": list(pop.parameters) + list(pop.variables),
                              "parameters": list(pop.parameters), "variables": list(pop.variables)}
    for attribute in pop.attributes:
        if attribute not in pop.values:
            raise FormatError(f"population {pop.name!r}: no value for attribute {attribute!r}")
        value = np.asarray(pop.values[attribute])
        if value.ndim == 0:
            fields[matlab_name(attribute, reserved)] = value.item()
        elif value.shape == (pop.size,):
            fields[matlab_name(attribute, reserved)] = np.ascontiguousarray(value).reshape(geometry)
        else:
            raise FormatError(f"population {pop.name!r}, attribute {attribute!r}: shape {value.shape}, expected "
                              f"({pop.size},) or ()")
    return fields


def _projection_struct(proj: ProjectionState, reserved: frozenset = frozenset()) -> dict:
    row_ptr = np.asarray(proj.row_ptr, dtype=np.int64)
    pre_ranks = np.asarray(proj.pre_ranks, dtype=np.int64)
    counts = np.diff(row_ptr)
    equal = len(counts) > 0 and bool(np.all(counts == counts[0]))
    has_w = "w" in proj.values
    parameters = list(proj.parameters) + (["w"] if has_w and "w" not in proj.parameters else [])
    variables = list(proj.variables) + (["w"] if has_w and "w" not in proj.variables else [])
    delays = np.asarray(proj.delays, dtype=np.float64)
    fields: dict[str, Any] = {"name": proj.name, "pre": proj.pre, "post": proj.post, "target": proj.target,
                              "post_ranks": np.asarray(proj.post_ranks, dtype=np.int64),
                              "attributes": parameters + variables, "parameters": parameters,
                              "variables": variables,
                              "delays": float(delays) if delays.ndim == 0 else _per_row(delays, row_ptr, equal),
                              "pre_ranks": _per_row(pre_ranks, row_ptr, equal)}
    for attribute in dict.fromkeys(parameters + variables):
        if attribute not in proj.values:
            raise FormatError(f"projection {proj.name!r}: no value for attribute {attribute!r}")
        value = np.asarray(proj.values[attribute])
        if attribute in proj.semiglobal:  # one value per post row: ANNarchy's plain list (a 1 x rows matrix)
            if value.shape != (len(counts),):
                raise FormatError(f"projection {proj.name!r}, attribute {attribute!r}: shape {value.shape}, "
                                  f"expected ({len(counts)},), one value per post row")
            fields[matlab_name(attribute, reserved)] = value
        elif value.ndim == 0:
            fields[matlab_name(attribute, reserved)] = value.item()
        elif value.shape == (len(pre_ranks),):
            fields[matlab_name(attribute, reserved)] = _per_row(value, row_ptr, equal)
        else:
            raise FormatError(f"projection {proj.name!r}, attribute {attribute!r}: shape {value.shape}, expected "
                              f"({len(pre_ranks)},) or ()")
    return fields


def _meta(state: NetworkState, objects: list) -> tuple[str, dict]:
    entries = {}
    internal: dict[str, dict] = {}
    for obj in objects:
        entries[obj.name] = {
            "kind": obj.kind, "model": obj.model, "parameters": list(obj.parameters),
            "variables": list(obj.variables),
            "dtypes": {key: np.asarray(value).dtype.str for key, value in obj.values.items()},
            "globals": [key for key, value in obj.values.items() if np.ndim(value) == 0],
            **({"semiglobal": list(obj.semiglobal)} if getattr(obj, "semiglobal", None) else {}),
            "uniform_delays": isinstance(obj, ProjectionState) and np.ndim(obj.delays) == 0,
            "internal": {key: {"dtype": np.asarray(value).dtype.str, "shape": list(np.shape(value))}
                         for key, value in obj.internal.items()}}
        if obj.internal:
            internal[matlab_name(obj.name)] = {matlab_name(key): np.asarray(value)
                                               for key, value in obj.internal.items()}
    meta = {"format": EXTRA_FORMAT, "format_version": EXTRA_VERSION, "gpunet_version": state.gpunet_version or
            __version__, "step": state.step, "dt": state.dt, "seed": state.seed, "single_object": state.single_object,
            "objects": entries}
    return json.dumps(meta, ensure_ascii=True), internal


def to_matlab_dict(state: NetworkState) -> dict:
    """The dict handed to ``scipy.io.savemat`` for ``state`` (see the module docstring)."""
    objects = list(state.populations) + list(state.projections)
    names = [obj.name for obj in objects]
    if len(set(names)) != len(names):
        raise FormatError(f"cannot write a state in which several objects share a name ({names})")
    clashes = [name for name in names if name in RESERVED_KEYS]
    if clashes and not state.single_object:
        raise FormatError(f"objects named {clashes} collide with the keys {list(RESERVED_KEYS)} of ANNarchy's "
                          "layout; rename them or use the native .npz format")
    meta, internal = _meta(state, objects)
    extra = {"meta": meta}
    if internal:
        extra["internal"] = internal
    if state.single_object:
        if len(objects) != 1:
            raise FormatError(f"a single-object file holds one population or projection, not {len(objects)}")
        obj = objects[0]
        reserved = frozenset({META_VARIABLE})
        fields = (_population_struct(obj, reserved) if isinstance(obj, PopulationState)
                  else _projection_struct(obj, reserved))
        return {**fields, META_VARIABLE: extra}
    mdict: dict[str, Any] = {"time_step": 0 if state.step is None else int(state.step), "net_id": int(state.net_id)}
    for pop in state.populations:
        mdict[matlab_name(pop.name, _TOP_RESERVED)] = _population_struct(pop)
    for proj in state.projections:
        mdict[matlab_name(proj.name, _TOP_RESERVED)] = _projection_struct(proj)
    mdict["obj_names"] = {"populations": [pop.name for pop in state.populations],
                          "projections": [proj.name for proj in state.projections]}
    mdict[META_VARIABLE] = extra
    return mdict


def write(state: NetworkState, handle: BinaryIO) -> None:
    """Write ``state`` as a Matlab 5 file into the open binary ``handle`` (uncompressed, as ANNarchy)."""
    # savemat makes hundreds of thousands of small writes and seeks: a Python-level hook on each of them (the
    # early writeback of durable saves) costs more than the overlap with the disk saves, so it writes to the file.
    target = handle.raw if isinstance(handle, WritebackFile) else handle
    scipy.io.savemat(target, to_matlab_dict(state), long_field_names=True, do_compression=False, oned_as="row")


def dumps(state: NetworkState) -> bytes:
    """The bytes of the ``.mat`` file for ``state``."""
    buffer = io.BytesIO()
    write(state, buffer)
    return buffer.getvalue()


def save(path: PathLike, state: NetworkState, *, fsync: bool = True) -> None:
    """Write ``state`` to ``path`` atomically (the parent folder is created)."""
    with atomic_writer(path, fsync=fsync) as handle:
        write(state, handle)


# =========================================================================== reading
def _struct_fields(value: Any, where: str, source: str) -> dict:
    if not (isinstance(value, np.ndarray) and value.dtype.names and value.size == 1):
        raise FormatError(f"{source}: {where}: expected a Matlab struct, found "
                          f"{getattr(value, 'dtype', type(value).__name__)}")
    record = value.reshape(-1)[0]
    return {name: record[name] for name in value.dtype.names}


def _names(value: Any) -> list[str]:
    """A char matrix (blank-padded rows), a cell array of strings or an empty matrix as a list of names."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return [str(item).rstrip(" ") for item in value.reshape(-1)]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [name for item in value.reshape(-1) for name in _names(item)]
    if isinstance(value, np.ndarray) and value.size == 0:
        return []
    return value  # not names: the layout reader reports the type


def _text(value: Any) -> Any:
    names = _names(value)
    return names[0] if isinstance(names, list) and len(names) == 1 else value


def _rows(value: Any) -> Any:
    """Matlab rows back to ANNarchy's forms: cells -> 1-D object array of 1-D rows; matrices unchanged."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        cells = value.reshape(-1)
        rows = np.empty(len(cells), dtype=object)
        for index, cell in enumerate(cells):
            rows[index] = np.asarray(cell).reshape(-1)
        return rows
    return value


def _single_value(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype != object and value.size == 1:
        return value.reshape(()).copy()
    return value


def _object_desc(fields: dict, kind: str, extra: Optional[dict], reserved: frozenset = frozenset()) -> dict:
    """ANNarchy's object dict from a struct's fields (field names decoded through the attribute lists)."""
    desc: dict[str, Any] = {}
    for key in ("name", "pre", "post", "target"):
        if key in fields:
            desc[key] = _text(fields[key])
    for key in ("attributes", "parameters", "variables"):
        if key in fields:
            desc[key] = _names(fields[key])
    for key in ("geometry", "size", "post_ranks"):
        if key in fields:
            desc[key] = fields[key]
    if "pre_ranks" in fields:
        desc["pre_ranks"] = _rows(fields["pre_ranks"])
    if "delays" in fields:
        delays = _rows(fields["delays"])
        desc["delays"] = _single_value(delays) if extra is None or extra.get("uniform_delays", True) else delays
    attributes = desc.get("attributes", [])
    global_names = set(extra.get("globals", [])) if extra else None
    for attribute in attributes if isinstance(attributes, list) else []:
        field = matlab_name(attribute, reserved) if isinstance(attribute, str) else attribute
        if field not in fields:
            continue  # reported as a missing key by the layout reader
        value = fields[field]
        if kind == "projection":
            value = _rows(value)
            is_global = attribute in global_names if global_names is not None else (
                isinstance(value, np.ndarray) and value.dtype != object and value.size == 1)
            if is_global:
                value = _single_value(value)
        elif global_names is not None and attribute in global_names:
            value = _single_value(value)
        desc[attribute] = value
    return desc


# The dtypes gpunet's metadata may name: plain scalars of the kinds a state holds (``dtype.str`` as written,
# or a NumPy name).  Anything else (``(N,)i8``, ``V0``, structured) is refused before NumPy parses it.
_META_DTYPE = re.compile(r"[<>|=]?(?:b1|[iu][1248]|f[248])|bool|u?int(?:8|16|32|64)|float(?:16|32|64)")
_MAX_META_DEPTH = 16


def _meta_dtype(value: Any, source: str, where: str) -> np.dtype:
    if not isinstance(value, str) or _META_DTYPE.fullmatch(value) is None:
        raise FormatError(f"{source}: {where}: invalid dtype {str(value)[:40]!r} in the gpunet metadata (a plain "
                          "bool, integer or float type is expected)")
    return np.dtype(value)


def _json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, counted without recursion (stops past ``limit``)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _parse_meta_text(text: Any, source: str) -> Any:
    """The JSON of the ``gpunet.meta`` variable; None when it is not JSON (an ANNarchy object named gpunet)."""
    if not isinstance(text, str):
        return None
    try:
        meta = json.loads(text)
    except RecursionError:
        raise FormatError(f"{source}: variable {META_VARIABLE!r}, field 'meta': JSON nested too deeply "
                          f"(corrupted gpunet metadata)") from None
    except ValueError:
        return None
    if _json_depth(meta, _MAX_META_DEPTH) > _MAX_META_DEPTH:
        raise FormatError(f"{source}: variable {META_VARIABLE!r}, field 'meta': JSON nested deeper than "
                          f"{_MAX_META_DEPTH} (corrupted gpunet metadata)")
    return meta


def _check_meta_entry(name: Any, entry: Any, source: str) -> None:
    """FormatError unless the per-object metadata has the types gpunet writes."""
    where = f"gpunet metadata of object {str(name)[:60]!r}"
    if not isinstance(name, str) or not isinstance(entry, dict):
        raise FormatError(f"{source}: {where}: expected an object entry (a JSON object)")
    expected = {"kind": str, "model": str, "parameters": list, "variables": list, "dtypes": dict, "globals": list,
                "uniform_delays": bool, "internal": dict}
    for key, kind in expected.items():
        if key in entry and not isinstance(entry[key], kind):
            raise FormatError(f"{source}: {where}: entry {key!r} is a {type(entry[key]).__name__}, expected a "
                              f"{kind.__name__}")
    for key in ("parameters", "variables", "globals"):
        if not all(isinstance(item, str) for item in entry.get(key, [])):
            raise FormatError(f"{source}: {where}: entry {key!r} must be a list of names")
    for key, dtype in entry.get("dtypes", {}).items():
        _meta_dtype(dtype, source, f"{where}, variable {key!r}")
    for key, spec in entry.get("internal", {}).items():
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise FormatError(f"{source}: {where}, internal array {key!r}: expected a dtype and a shape (a list "
                              "of sizes)")
        _meta_dtype(spec.get("dtype"), source, f"{where}, internal array {key!r}")


def _read_meta(mdict: dict, source: str) -> Optional[dict]:
    if META_VARIABLE not in mdict:
        return None
    try:
        fields = _struct_fields(mdict[META_VARIABLE], f"variable {META_VARIABLE!r}", source)
        text = _text(fields["meta"])
    except (KeyError, ValueError, TypeError, FormatError):
        return None  # an ANNarchy object that happens to be named "gpunet"
    meta = _parse_meta_text(text, source)
    if not isinstance(meta, dict) or meta.get("format") != EXTRA_FORMAT:
        return None
    objects = meta.get("objects")
    if not isinstance(objects, dict):
        raise FormatError(f"{source}: invalid gpunet metadata (objects)")
    for name, entry in objects.items():
        _check_meta_entry(name, entry, source)
    internal_structs = _struct_fields(fields["internal"], "gpunet.internal", source) if "internal" in fields else {}
    for name, entry in objects.items():
        specs = entry.get("internal", {})
        arrays = {}
        if specs:
            where = f"gpunet.internal.{matlab_name(name)}"
            structs = _struct_fields(internal_structs.get(matlab_name(name)), where, source)
            for key, spec in specs.items():
                if matlab_name(key) not in structs:
                    raise FormatError(f"{source}: {where}: internal array {key!r} missing")
                array = np.asarray(structs[matlab_name(key)])
                shape = tuple(spec["shape"])
                if array.dtype == object or array.dtype.kind not in "biuf" or array.size != math.prod(shape):
                    raise FormatError(f"{source}: {where}: internal array {key!r} holds {array.size} values of "
                                      f"type {array.dtype}, the metadata says shape {shape}")
                arrays[key] = array.astype(_meta_dtype(spec["dtype"], source, where)).reshape(shape)
        entry["internal"] = arrays
    return meta


def _to_annarchy_dict(mdict: dict, source: str) -> dict:
    meta = _read_meta(mdict, source)
    objects_meta = meta["objects"] if meta else {}
    extras = None
    if meta:
        extras = {key: meta.get(key) for key in ("format", "format_version", "gpunet_version", "step", "dt", "seed")}
        extras["objects"] = objects_meta
    if "obj_names" not in mdict and "time_step" not in mdict and "attributes" in mdict:
        name = _text(mdict.get("name"))
        extra = objects_meta.get(name) if isinstance(name, str) else None
        kind = "projection" if "post_ranks" in mdict or "pre_ranks" in mdict else "population"
        desc = _object_desc(mdict, kind, extra, frozenset({META_VARIABLE}))
        if extras:
            desc[EXTRA_KEY] = extras
        return desc
    desc: dict[str, Any] = {}
    for key in ("time_step", "net_id"):
        if key in mdict:
            desc[key] = mdict[key]
    if meta:
        kinds = {name: entry.get("kind") for name, entry in objects_meta.items()}
        populations = [name for name, kind in kinds.items() if kind == "population"]
        projections = [name for name, kind in kinds.items() if kind == "projection"]
    elif "obj_names" in mdict:
        names = _struct_fields(mdict["obj_names"], "variable 'obj_names'", source)
        populations = _names(names.get("populations", np.zeros((0, 0))))
        projections = _names(names.get("projections", np.zeros((0, 0))))
        if not isinstance(populations, list) or not isinstance(projections, list):
            raise FormatError(f"{source}: variable 'obj_names': expected lists of names")
    else:
        raise FormatError(f"{source}: not a state file (no 'obj_names' variable)")
    for kind, names in (("population", populations), ("projection", projections)):
        for name in names:
            variable = matlab_name(name, _TOP_RESERVED) if meta else name
            if variable not in mdict:
                raise FormatError(f"{source}: {kind} {name!r} is listed but the file has no variable {variable!r}")
            fields = _struct_fields(mdict[variable], f"{kind} {name!r}", source)
            desc[name] = _object_desc(fields, kind, objects_meta.get(name))
    desc["obj_names"] = {"populations": populations, "projections": projections}
    if extras:
        desc[EXTRA_KEY] = extras
    return desc


def loads(data: bytes, source: str = "<bytes>", *, max_output: Optional[int] = None) -> NetworkState:
    """Parse the bytes of a ``.mat`` state file (gpunet's or ANNarchy's).

    Raises
    ------
    FormatError
        Not a Matlab 5 file (HDF5-based 7.3 files included), truncated or
        corrupted, compressed variables beyond ``max_output`` bytes, or
        content that is not ANNarchy's layout; the message names the file.
    """
    data = bytes(data)
    if len(data) == 0:
        raise FormatError(f"{source}: empty file")
    if not data.startswith(b"MATLAB"):
        what = state_pickle.identify(data[:16])
        raise FormatError(f"{source}: not a Matlab .mat file" + (f": this is {what}" if what else ""))
    limit = state_gzip.output_limit(len(data)) if max_output is None else max_output
    mdict, inflated = read_mat5(data, source, limit, with_inflated=True)
    try:
        desc = _to_annarchy_dict(mdict, source)
    except FormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        # a safety net: every expected defect has its own message above
        raise FormatError(f"{source}: malformed Matlab state content ({type(exc).__name__}: {str(exc)[:200]})") from exc
    return from_annarchy_dict(desc, source, format_name=FORMAT_NAME, input_bytes=len(data) + inflated)


def load(path: PathLike, *, max_output: Optional[int] = None) -> NetworkState:
    """Read a ``.mat`` state file; see :func:`loads`."""
    return loads(state_pickle.read_file(path), str(path), max_output=max_output)


def inspect(path: PathLike) -> dict:
    """Describe a ``.mat`` state file (objects, sizes, variables, dtypes, shapes, step)."""
    return describe_file(path, load(path))
