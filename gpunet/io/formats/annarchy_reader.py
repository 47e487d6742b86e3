"""Reading ANNarchy's state dictionary into a :class:`~gpunet.io.pipeline.state_types.NetworkState`.

The layout and the writer are described in :mod:`gpunet.io.formats.annarchy_dict`.
:func:`from_annarchy_dict` accepts every form ANNarchy produces: ``pre_ranks``
as a 1-D object array of lists (or of arrays), a 2-D int array, a 2-D object
array or a list of lists; synaptic variables as object arrays, lists of lists
or 2-D arrays; one value per post neuron (ANNarchy's "semiglobal" attributes,
a plain list: kept per row, named in ``ProjectionState.semiglobal``); a single constant weight stored as
one float (expanded to one value per synapse, as gpunet's ``w`` is always
local); delays as a number or per synapse; globals as scalars or one-element
arrays; rows or synapses out of order (sorted into gpunet's post-major,
ascending-pre order); single-object files (``pop.save()`` / ``proj.save()``);
very old files without ``obj_names``.  gpunet's extra key restores ``dt``,
``seed``, model names, exact parameter/variable lists, dtypes and internal
arrays.

Everything read is untrusted: malformed content raises
:class:`~gpunet.errors.FormatError` naming the file, the object and the key.
Every array built from the content is charged to a memory budget before it is
allocated (:class:`~gpunet.io.storage.read_budget.ReadBudget`, ``READER_RATIO`` bytes
per byte of the file): rows that are all one object (memo references) or a
constant expanded to every synapse cannot make the reader build more than the
file's size allows.
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Any, Optional

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.io.formats.annarchy_dict import EXTRA_FORMAT, EXTRA_KEY, EXTRA_VERSION
from gpunet.io.formats.pickled.pickle_rows import as_decoded
from gpunet.io.storage.read_budget import READER_RATIO, ReadBudget
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState

_DTYPE_NAME = re.compile(r"[<>|=]?[A-Za-z][A-Za-z0-9]{0,15}")  # a plain type name such as "float64" or "<i4"

__all__ = ["from_annarchy_dict"]


class _Reader:
    """Converts one ANNarchy dict; remembers the file name for error messages and charges the budget."""

    def __init__(self, source: str, budget: Optional[ReadBudget] = None) -> None:
        self.source = source
        self.budget = budget

    def error(self, where: str, message: str) -> FormatError:
        return FormatError(f"{self.source}: {where}: {message}")

    def charge(self, count: int, where: str, itemsize: int = 8) -> None:
        """Charge an array of ``count`` items about to be built for ``where``."""
        if self.budget is not None:
            self.budget.charge(int(count) * itemsize + 64, where)

    # -- scalars and names -------------------------------------------------
    def integer(self, value: Any, where: str, *, minimum: Optional[int] = None) -> int:
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(()).item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            else:
                raise self.error(where, f"expected an integer, found {_type_name(value)}")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self.error(where, f"expected an integer >= {minimum}, found {value}")
        return value

    def text(self, value: Any, where: str) -> str:
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "US":
            value = value.reshape(()).item()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            raise self.error(where, f"expected a string, found {_type_name(value)}")
        return value

    def names(self, value: Any, where: str) -> list[str]:
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "US" or value.dtype == object:
                value = value.reshape(-1).tolist()
            elif value.size == 0:
                value = []
        if not isinstance(value, (list, tuple)):
            raise self.error(where, f"expected a list of names, found {_type_name(value)}")
        return [self.text(item, where) for item in value]

    def number(self, value: Any, where: str) -> np.ndarray:
        """A 0-d array of a Python or NumPy number (bool, int or float)."""
        if isinstance(value, np.ndarray):
            value = value.reshape(()) if value.size == 1 else value
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
            return value.copy()
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return np.asarray(value)
        if isinstance(value, bool):
            return np.asarray(value, dtype=np.bool_)
        if isinstance(value, numbers.Integral):
            return np.asarray(value, dtype=np.int64)
        if isinstance(value, numbers.Real):
            return np.asarray(value, dtype=np.float64)
        raise self.error(where, f"expected a number, found {_type_name(value)}")

    # -- rows of synapses --------------------------------------------------
    def rows(self, value: Any, where: str, *, integers: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Row lengths and flat values of a per-row structure (any of ANNarchy's forms)."""
        decoded = as_decoded(value)
        if decoded is not None:
            return decoded.lengths, self.check_values(decoded.flat, where, integers)
        if isinstance(value, np.ndarray) and value.dtype != object:
            if value.ndim != 2:
                raise self.error(where, f"expected one row per post neuron, found an array of shape {value.shape}")
            flat = value.reshape(-1)
            lengths = np.full(value.shape[0], value.shape[1], dtype=np.int64)
            return lengths, self.check_values(flat, where, integers)
        if isinstance(value, np.ndarray):
            value = list(value) if value.ndim == 1 else value.tolist()
        if not isinstance(value, (list, tuple)):
            raise self.error(where, f"expected one row per post neuron, found {_type_name(value)}")
        self.charge(len(value), where)
        try:
            lengths = np.fromiter(map(len, value), dtype=np.int64, count=len(value))
        except TypeError:
            bad = next(i for i, row in enumerate(value) if not hasattr(row, "__len__"))
            raise self.error(where, f"row {bad} is {_type_name(value[bad])}, not a sequence") from None
        # The values are counted before they are joined: rows may all be one object (memo references).
        self.charge(2 * float(lengths.sum(dtype=np.float64)), where)
        if not int(lengths.sum()):
            flat = np.zeros(0, dtype=np.int64 if integers else np.float64)
        elif all(type(row) is list for row in value):
            try:  # row by row: NumPy infers each row's type (strings or None would show), then joins
                flat = np.concatenate([np.array(row) for row in value if row])
            except (ValueError, TypeError) as exc:
                raise self.error(where, f"rows do not hold plain numbers ({exc})") from None
        else:
            try:
                flat = np.concatenate([np.asarray(row).reshape(-1) if np.ndim(row) <= 1 else np.asarray(row)
                                       for row in value])
            except (ValueError, TypeError) as exc:
                raise self.error(where, f"rows do not hold plain numbers ({exc})") from None
        if flat.ndim != 1 or len(flat) != int(lengths.sum()):
            raise self.error(where, "rows do not hold plain numbers (nested sequences)")
        return lengths, self.check_values(flat, where, integers)

    def check_values(self, flat: np.ndarray, where: str, integers: bool) -> np.ndarray:
        if len(flat) == 0:
            return flat.astype(np.int64 if integers else (flat.dtype if flat.dtype.kind in "biuf" else np.float64))
        kinds = "iu" if integers else "biuf"
        if flat.dtype.kind not in kinds:
            expected = "integers" if integers else "numbers"
            raise self.error(where, f"expected {expected}, found values of type {flat.dtype}")
        return flat

    # -- objects -----------------------------------------------------------
    def population(self, key: str, desc: Any, extra: Optional[dict]) -> PopulationState:
        where = f"population {key!r}"
        if not isinstance(desc, dict):
            raise self.error(where, f"expected a dict, found {_type_name(desc)}")
        self.require(desc, ("attributes",), where)
        name = self.object_name(desc, key, where)
        attributes = self.names(desc["attributes"], f"{where}, key 'attributes'")
        parameters, variables = self.lists(desc, attributes, where)
        if "geometry" in desc:
            geometry_value = desc["geometry"]
            if isinstance(geometry_value, (numbers.Integral, np.integer)):
                geometry_value = (geometry_value,)
            if isinstance(geometry_value, np.ndarray):
                geometry_value = geometry_value.reshape(-1).tolist()
            if not isinstance(geometry_value, (tuple, list)) or not geometry_value:
                raise self.error(f"{where}, key 'geometry'", f"expected a tuple of sizes, found "
                                                             f"{_type_name(geometry_value)}")
            geometry = tuple(self.integer(g, f"{where}, key 'geometry'", minimum=0) for g in geometry_value)
        elif "size" in desc:
            geometry = (self.integer(desc["size"], f"{where}, key 'size'", minimum=0),)
        else:
            raise self.error(where, "missing keys 'geometry' and 'size'")
        size = self.integer(desc.get("size", math.prod(geometry)), f"{where}, key 'size'", minimum=0)
        if math.prod(geometry) != size:
            raise self.error(where, f"geometry {geometry} does not hold size {size}")
        dtypes, global_names = self.extra_types(extra, where)
        values = {}
        for attribute in dict.fromkeys(attributes):
            at = f"{where}, key {attribute!r}"
            if attribute not in desc:
                raise self.error(where, f"missing key {attribute!r} (listed in 'attributes')")
            value = desc[attribute]
            if isinstance(value, (list, tuple)):
                self.charge(len(value), at)
                try:
                    value = np.asarray(value)
                except (ValueError, TypeError):
                    raise self.error(at, "expected a list of numbers (ragged or mixed content found)") from None
            if isinstance(value, np.ndarray) and value.dtype != object and value.size == size and (
                    value.ndim >= 1 and attribute not in global_names):
                if value.dtype.kind not in "biuf":
                    raise self.error(at, f"expected numbers, found values of type {value.dtype}")
                array = value.reshape(-1)
            elif isinstance(value, np.ndarray) and value.dtype != object and value.size != 1:
                raise self.error(at, f"expected {size} values (geometry {geometry}) or one global value, "
                                     f"found an array of shape {value.shape}")
            else:
                array = self.number(value, at)
            values[attribute] = self.cast(array, dtypes.get(attribute), at)
        model, parameters, variables, internal = self.extra_object(extra, parameters, variables, where)
        return PopulationState(name=name, geometry=geometry, size=size, model=model, parameters=parameters,
                               variables=variables, values=values, internal=internal)

    def projection(self, key: str, desc: Any, extra: Optional[dict]) -> ProjectionState:
        where = f"projection {key!r}"
        if not isinstance(desc, dict):
            raise self.error(where, f"expected a dict, found {_type_name(desc)}")
        self.require(desc, ("pre", "post", "target", "post_ranks", "pre_ranks", "attributes", "delays"), where)
        name = self.object_name(desc, key, where)
        pre = self.text(desc["pre"], f"{where}, key 'pre'")
        post = self.text(desc["post"], f"{where}, key 'post'")
        target = desc["target"]
        if isinstance(target, (list, tuple)):  # ANNarchy allows several targets
            target = ",".join(self.names(target, f"{where}, key 'target'"))
        target = self.text(target, f"{where}, key 'target'")
        attributes = self.names(desc["attributes"], f"{where}, key 'attributes'")
        parameters, variables = self.lists(desc, attributes, where)
        post_value = desc["post_ranks"]
        if isinstance(post_value, np.ndarray) and post_value.dtype != object:
            post_ranks = post_value.reshape(-1)
        else:
            if not isinstance(post_value, (list, tuple, range, np.ndarray)):
                raise self.error(f"{where}, key 'post_ranks'", f"expected a list of ranks, found "
                                                               f"{_type_name(post_value)}")
            self.charge(2 * len(post_value), f"{where}, key 'post_ranks'")
            post_ranks = np.asarray(list(post_value))
        if post_ranks.size == 0:
            post_ranks = np.zeros(0, dtype=np.int64)
        post_ranks = self.check_values(post_ranks.reshape(-1), f"{where}, key 'post_ranks'", True).astype(np.int64)
        if len(post_ranks) and post_ranks.min() < 0:
            raise self.error(f"{where}, key 'post_ranks'", f"negative rank {int(post_ranks.min())}")
        counts, pre_ranks = self.rows(desc["pre_ranks"], f"{where}, key 'pre_ranks'", integers=True)
        pre_ranks = pre_ranks.astype(np.int64, copy=False)
        if len(counts) != len(post_ranks):
            raise self.error(f"{where}, key 'pre_ranks'", f"{len(counts)} rows, but 'post_ranks' lists "
                                                          f"{len(post_ranks)} post neurons")
        if len(pre_ranks) and pre_ranks.min() < 0:
            raise self.error(f"{where}, key 'pre_ranks'", f"negative rank {int(pre_ranks.min())}")
        n_syn = len(pre_ranks)
        self.charge(2 * n_syn, f"{where}, key 'pre_ranks'")  # as int64, and the row of each synapse
        dtypes, global_names = self.extra_types(extra, where)

        semiglobal: list[str] = []
        declared_semiglobal = self.extra_semiglobal(extra, where)

        def per_synapse(value: Any, at: str, attribute: str = "") -> np.ndarray:
            plain_list = False
            if (isinstance(value, (list, tuple)) and value and as_decoded(value) is None
                    and not any(hasattr(v, "__len__") for v in value)):
                try:
                    value = np.asarray(value)   # one number per post neuron, as a list
                    plain_list = True
                except (TypeError, ValueError):
                    raise self.error(at, "expected numbers") from None
            if (attribute and isinstance(value, np.ndarray) and value.dtype != object and value.ndim == 2
                    and value.shape == (1, len(counts)) and (len(counts) != 1 or attribute in declared_semiglobal)):
                value, plain_list = value.reshape(-1), True  # a .mat file's plain list: a 1 x rows matrix
            if isinstance(value, np.ndarray) and value.dtype != object and value.ndim == 1:
                flat = self.check_values(value, at, False)
                per_row = len(flat) == len(counts) and (len(flat) != n_syn or plain_list)
                if attribute and (attribute in declared_semiglobal or per_row):
                    if len(flat) != len(counts):
                        raise self.error(at, f"expected one value per post neuron with synapses ({len(counts)}), "
                                             f"found {len(flat)}")
                    semiglobal.append(attribute)
                    return flat  # one value per post neuron (ANNarchy's "semiglobal"): kept per row
                if len(flat) == n_syn:
                    return flat
                if len(flat) == len(counts):
                    self.charge(n_syn, at)
                    return np.repeat(flat, counts)  # delays given once per post neuron
                raise self.error(at, f"expected one value per post neuron ({len(counts)}) or per synapse "
                                     f"({n_syn}), found {len(flat)}")
            lengths, flat = self.rows(value, at)
            if len(lengths) != len(counts):
                raise self.error(at, f"{len(lengths)} rows, but 'pre_ranks' has {len(counts)}")
            if not np.array_equal(lengths, counts):
                bad = int(np.nonzero(lengths != counts)[0][0])
                raise self.error(at, f"row {bad} (post neuron {int(post_ranks[bad])}) has {int(lengths[bad])} "
                                     f"values, but 'pre_ranks' has {int(counts[bad])} synapses there")
            return flat

        def is_single_value(value: Any, attribute: str) -> bool:
            if attribute in global_names or not isinstance(value, (list, tuple, np.ndarray)):
                return True
            if isinstance(value, np.ndarray) and value.dtype != object:
                return value.ndim == 0 or (value.ndim == 1 and value.size == 1 and n_syn != 1)
            return False

        values = {}
        for attribute in dict.fromkeys(attributes):
            at = f"{where}, key {attribute!r}"
            if attribute not in desc:
                raise self.error(where, f"missing key {attribute!r} (listed in 'attributes')")
            value = desc[attribute]
            if is_single_value(value, attribute):
                array = self.number(value, at)
                if attribute == "w" and attribute not in global_names:
                    self.charge(n_syn, at)
                    array = np.full(n_syn, array, dtype=array.dtype)  # ANNarchy's single constant weight
            else:
                array = per_synapse(value, at, attribute)
            values[attribute] = self.cast(array, dtypes.get(attribute), at)
        delays_value = desc["delays"]
        at = f"{where}, key 'delays'"
        if isinstance(delays_value, (list, tuple)) or (isinstance(delays_value, np.ndarray) and (
                delays_value.ndim > 1 or delays_value.dtype == object
                or (delays_value.ndim == 1 and delays_value.size != 1))):
            delays = per_synapse(delays_value, at)
            self.charge(len(delays), at)
            delays = delays.astype(np.float64)
        else:
            delays = self.number(delays_value, at).astype(np.float64)
        if delays.size and not (np.all(np.isfinite(delays)) and delays.min() >= 0):
            raise self.error(at, "delays must be finite and non-negative")
        row_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=row_ptr[1:])
        file_ranks = post_ranks
        connectivity, order = Connectivity(post_ranks, row_ptr, pre_ranks).sorted()
        post_ranks, row_ptr, pre_ranks = connectivity.post_ranks, connectivity.row_ptr, connectivity.pre_ranks
        if order is not None:
            self.charge((4 + len(values)) * n_syn, f"{where} (sorting the synapses)")
            # a semiglobal value follows its row: the first row of each post rank, empty rows dropped
            row_order = np.argsort(file_ranks, kind="stable")
            rows_of = row_order[np.searchsorted(file_ranks[row_order], post_ranks)]
            values = {k: v[rows_of] if k in semiglobal else v[order] if v.ndim == 1 else v
                      for k, v in values.items()}
            delays = delays[order] if delays.ndim == 1 else delays
        model, parameters, variables, internal = self.extra_object(extra, parameters, variables, where)
        return ProjectionState(name=name, pre=pre, post=post, target=target, model=model, parameters=parameters,
                               variables=variables, post_ranks=post_ranks, row_ptr=row_ptr, pre_ranks=pre_ranks,
                               delays=delays, values=values, internal=internal, semiglobal=semiglobal)

    # -- helpers -----------------------------------------------------------
    def object_name(self, desc: dict, key: str, where: str) -> str:
        name = self.text(desc.get("name", key), f"{where}, key 'name'")
        if name != key:
            raise self.error(f"{where}, key 'name'", f"the object stored under {key!r} is named {name!r}")
        return name

    def require(self, desc: dict, keys: tuple, where: str) -> None:
        missing = [key for key in keys if key not in desc]
        if missing:
            raise self.error(where, f"missing key{'s' if len(missing) > 1 else ''} "
                                    f"{', '.join(repr(k) for k in missing)}")

    def lists(self, desc: dict, attributes: list[str], where: str) -> tuple[list[str], list[str]]:
        parameters = self.names(desc["parameters"], f"{where}, key 'parameters'") if "parameters" in desc else None
        variables = self.names(desc["variables"], f"{where}, key 'variables'") if "variables" in desc else None
        if parameters is None and variables is None:
            parameters, variables = [], list(dict.fromkeys(attributes))
        elif parameters is None:
            parameters = [a for a in dict.fromkeys(attributes) if a not in variables]
        elif variables is None:
            variables = [a for a in dict.fromkeys(attributes) if a not in parameters]
        return list(dict.fromkeys(parameters)), list(dict.fromkeys(variables))

    def cast(self, array: np.ndarray, dtype: Optional[str], where: str) -> np.ndarray:
        if dtype is None:
            return array
        # Only plain type names: NumPy parses other strings (with commas, brackets) as expressions and can
        # raise anything on a corrupted one.
        if not isinstance(dtype, str) or _DTYPE_NAME.fullmatch(dtype) is None:
            raise self.error(where, f"invalid dtype {str(dtype)[:40]!r} in the gpunet metadata")
        try:
            target = np.dtype(dtype)
        except (TypeError, ValueError):
            raise self.error(where, f"invalid dtype {dtype!r} in the gpunet metadata") from None
        if target.kind not in "biuf":
            raise self.error(where, f"invalid dtype {dtype!r} in the gpunet metadata")
        if target != array.dtype:
            self.charge(array.size, where, target.itemsize)
        return array.astype(target, copy=False)

    def extra_types(self, extra: Optional[dict], where: str) -> tuple[dict, set]:
        if extra is None:
            return {}, set()
        dtypes = extra.get("dtypes", {})
        global_names = extra.get("globals", [])
        if not isinstance(dtypes, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in dtypes.items()):
            raise self.error(where, f"invalid '{EXTRA_KEY}' metadata (dtypes)")
        return dtypes, set(self.names(global_names, f"{where}, gpunet metadata 'globals'"))

    def extra_semiglobal(self, extra: Optional[dict], where: str) -> set:
        """The semiglobal attributes a gpunet file names (an empty set for ANNarchy's files)."""
        if extra is None or "semiglobal" not in extra:
            return set()
        return set(self.names(extra["semiglobal"], f"{where}, gpunet metadata 'semiglobal'"))

    def extra_object(self, extra: Optional[dict], parameters: list[str], variables: list[str],
                     where: str) -> tuple[str, list[str], list[str], dict]:
        if extra is None:
            return "", parameters, variables, {}
        model = self.text(extra.get("model", ""), f"{where}, gpunet metadata 'model'")
        if "parameters" in extra:
            parameters = self.names(extra["parameters"], f"{where}, gpunet metadata 'parameters'")
        if "variables" in extra:
            variables = self.names(extra["variables"], f"{where}, gpunet metadata 'variables'")
        internal = extra.get("internal", {})
        if not isinstance(internal, dict):
            raise self.error(where, f"invalid '{EXTRA_KEY}' metadata (internal)")
        checked = {}
        for key, value in internal.items():
            if not isinstance(key, str) or not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
                raise self.error(where, f"invalid internal array {str(key)[:40]!r} in the gpunet metadata")
            checked[key] = value
        return model, parameters, variables, checked


def _type_name(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


def _read_extras(reader: _Reader, value: Any) -> dict:
    if not isinstance(value, dict):
        raise reader.error(f"key {EXTRA_KEY!r}", f"expected a dict, found {_type_name(value)}")
    if value.get("format") != EXTRA_FORMAT:
        raise reader.error(f"key {EXTRA_KEY!r}", f"unknown gpunet metadata format {str(value.get('format'))[:40]!r}")
    version = value.get("format_version")
    if not isinstance(version, int) or version > EXTRA_VERSION:
        raise reader.error(f"key {EXTRA_KEY!r}", f"gpunet metadata version {version!r} is newer than this gpunet "
                                                 f"reads ({EXTRA_VERSION}); upgrade gpunet")
    objects = value.get("objects", {})
    if not isinstance(objects, dict) or not all(isinstance(v, dict) for v in objects.values()):
        raise reader.error(f"key {EXTRA_KEY!r}", "invalid per-object metadata")
    return {**value, "objects": objects}


def _optional(reader: _Reader, extras: dict, key: str, kind: type) -> Any:
    value = extras.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if kind is int:
        return reader.integer(value, f"key {EXTRA_KEY!r}, entry {key!r}")
    if kind is str and isinstance(value, str):
        return value
    raise reader.error(f"key {EXTRA_KEY!r}", f"entry {key!r} has type {type(value).__name__}")


def from_annarchy_dict(desc: Any, source: str, *, format_name: str = "pickle",
                       input_bytes: Optional[int] = None) -> NetworkState:
    """A :class:`NetworkState` from ANNarchy's save dictionary (network or single object).

    Parameters
    ----------
    desc : dict
        What ANNarchy's ``save()`` pickled (or what a format module rebuilt
        from a ``.mat`` or ``.npz`` file).
    source : str
        Name of the file, used in every error message.
    format_name : str
        Stored in ``NetworkState.format``.
    input_bytes : int, optional
        Size of the file's content (after decompression): the arrays built
        may take at most ``READER_RATIO * input_bytes`` bytes plus the fixed
        allowance of :class:`~gpunet.io.storage.read_budget.ReadBudget` (None: no
        limit, for dicts made in memory).

    Returns
    -------
    NetworkState
        ``step`` is the file's ``time_step`` (None for single-object files);
        ``dt``, ``seed``, model names and internal state come from gpunet's
        extra key when present.

    Raises
    ------
    FormatError
        Not a dict, missing keys, wrong types, rows that do not match
        ``post_ranks`` or ``pre_ranks``, negative ranks or delays, more data
        than the file's size allows; the message names the file, the object
        and the key.
    """
    budget = None if input_bytes is None else ReadBudget(source, input_bytes, READER_RATIO)
    try:
        return _from_dict(desc, source, format_name, budget)
    except FormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError,
            MemoryError) as exc:
        # a safety net: every expected defect has its own message above
        raise FormatError(f"{source}: malformed state content ({type(exc).__name__}: {str(exc)[:200]})") from exc


def _from_dict(desc: Any, source: str, format_name: str, budget: Optional[ReadBudget]) -> NetworkState:
    reader = _Reader(source, budget)
    if not isinstance(desc, dict):
        raise FormatError(f"{source}: not an ANNarchy state file (the pickle holds {_type_name(desc)}, "
                          "not a dict)")
    network_keys = "obj_names" in desc or "time_step" in desc or "net_id" in desc
    if not network_keys and "attributes" in desc:
        return _single_object(reader, desc, format_name)
    if not network_keys:
        raise FormatError(f"{source}: not an ANNarchy state file (no 'obj_names', 'time_step' or "
                          "'attributes' key)")
    extras = _read_extras(reader, desc[EXTRA_KEY]) if EXTRA_KEY in desc else None
    objects_extra = extras["objects"] if extras else {}
    state = NetworkState(format=format_name)
    if "time_step" in desc:
        state.step = reader.integer(desc["time_step"], "key 'time_step'", minimum=0)
    if "net_id" in desc:
        state.net_id = reader.integer(desc["net_id"], "key 'net_id'")
    if "obj_names" in desc:
        obj_names = desc["obj_names"]
        if not isinstance(obj_names, dict):
            raise reader.error("key 'obj_names'", f"expected a dict, found {_type_name(obj_names)}")
        populations = reader.names(obj_names.get("populations", []), "key 'obj_names', entry 'populations'")
        projections = reader.names(obj_names.get("projections", []), "key 'obj_names', entry 'projections'")
    else:  # very old files: find the objects by their keys
        populations = [k for k, v in desc.items() if isinstance(v, dict) and "geometry" in v]
        projections = [k for k, v in desc.items() if isinstance(v, dict) and "post_ranks" in v]
    for name in populations + projections:
        if name not in desc:
            raise reader.error("key 'obj_names'", f"lists {name!r}, but the file has no key {name!r}")
    state.populations = [reader.population(name, desc[name], objects_extra.get(name)) for name in populations]
    state.projections = [reader.projection(name, desc[name], objects_extra.get(name)) for name in projections]
    if extras:
        _apply_network_extras(reader, state, extras)
    return state


def _single_object(reader: _Reader, desc: dict, format_name: str) -> NetworkState:
    extras = _read_extras(reader, desc[EXTRA_KEY]) if EXTRA_KEY in desc else None
    name = reader.text(desc.get("name", "?"), "key 'name'")
    extra = extras["objects"].get(name) if extras else None
    state = NetworkState(format=format_name, single_object=True)
    if "post_ranks" in desc or "pre_ranks" in desc:
        state.projections = [reader.projection(name, desc, extra)]
    else:
        state.populations = [reader.population(name, desc, extra)]
    if extras:
        _apply_network_extras(reader, state, extras)
    return state


def _apply_network_extras(reader: _Reader, state: NetworkState, extras: dict) -> None:
    if "step" in extras:
        state.step = _optional(reader, extras, "step", int)
    state.dt = _optional(reader, extras, "dt", float)
    state.seed = _optional(reader, extras, "seed", int)
    state.gpunet_version = _optional(reader, extras, "gpunet_version", str)
    state.format_version = extras["format_version"]
