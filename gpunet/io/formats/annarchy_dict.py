"""ANNarchy's state dictionary <-> :class:`~gpunet.io.pipeline.state_types.NetworkState`.

ANNarchy's ``save()`` pickles (``.txt``, ``.gz``), writes to Matlab (``.mat``)
or to ``.npz`` one Python dict; this module converts between that dict and a
NetworkState.  The layout (read off ANNarchy 5.0.4.1's files) is:

* **Network file**: keys in this order: ``time_step`` (int, steps), ``net_id``
  (int), one dict per population, one per projection, ``obj_names``
  (``{"populations": [...], "projections": [...]}``).
* **Population dict**: ``name``, ``geometry`` (tuple), ``size``,
  ``attributes`` (``parameters + variables``), ``parameters``, ``variables``,
  then one key per attribute: a local as an array shaped like the geometry
  (float64, int64 or bool), a global as a Python scalar.
* **Projection dict**: ``name``, ``pre``, ``post``, ``target``, ``post_ranks``
  (list of ints), ``attributes``, ``parameters``, ``variables``, ``delays``
  (float ms when uniform, else a list of lists of ms), ``pre_ranks``, then one
  key per attribute.  When the rows (post neurons) have different numbers of
  synapses, ``pre_ranks`` and every synaptic variable are 1-D object arrays
  whose rows are Python lists; when all rows have the same length,
  ``pre_ranks`` is a 2-D int array and the variables are lists of lists.
  Globals are Python scalars; semiglobal (``postsynaptic``) attributes are
  plain lists of one value per ``post_ranks`` entry.
* **Single object** (``pop.save()`` / ``proj.save()``): the object's dict alone.

Writing (:func:`to_annarchy_dict`) reproduces those forms exactly, because
ANNarchy's loader depends on them (it compares ``pre_ranks`` with its own
with ``==``: rows must be lists, and a 2-D array when rows are equal).
``w`` rule: ANNarchy lists ``w`` among the parameters (it is implicit in every
synapse) and among the variables when a statement changes it, so its
``attributes`` (the concatenation) hold ``w`` twice.  A NetworkState only has
names, so ``w`` -- when the projection has values for it -- is appended to
both lists if missing, as in ANNarchy's STDP files.  The exact lists are kept
in the extra key, so a gpunet file reads back to the same lists.

gpunet-only information goes under one extra key, :data:`EXTRA_KEY`
(``"_gpunet"``), which ANNarchy ignores (its loader only looks up its own
objects' names): format name and version, gpunet version, ``dt``, ``seed``,
``step``, and per object its model name, exact parameter and variable lists,
dtypes and ``internal`` arrays (refractory counters, last spikes, spike
history...).  In a single-object file the key sits inside the object's dict.

Reading (:func:`from_annarchy_dict`, in :mod:`~gpunet.io.formats.annarchy_reader`) accepts every form
ANNarchy produces:
``pre_ranks`` as a 1-D object array of lists (or of arrays), a 2-D int array,
a 2-D object array or a list of lists; synaptic variables as object arrays,
lists of lists or 2-D arrays; one value per post neuron (ANNarchy's
"semiglobal" attributes, a plain list: kept per row and named in
``ProjectionState.semiglobal``); a single
constant weight stored as one float (expanded to one value per synapse, as
gpunet's ``w`` is always local); delays as a number or per synapse; globals
as scalars or one-element arrays; rows or synapses out of order (sorted into
gpunet's post-major, ascending-pre order).  Malformed content raises
:class:`~gpunet.errors.FormatError` naming the file, the object and the key.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gpunet.errors import FormatError, StructureError
from gpunet.io.pipeline.connectivity import Connectivity
from gpunet.io.pipeline.state_types import NetworkState, PopulationState, ProjectionState
from gpunet.version import __version__

__all__ = ["EXTRA_KEY", "RESERVED_KEYS", "EXTRA_FORMAT", "EXTRA_VERSION", "to_annarchy_dict", "list_rows",
           "summarize"]

EXTRA_KEY = "_gpunet"
RESERVED_KEYS = ("time_step", "net_id", "obj_names", EXTRA_KEY)
EXTRA_FORMAT = "gpunet-annarchy-dict"
EXTRA_VERSION = 1

_POPULATION_KEYS = ("name", "geometry", "size", "attributes", "parameters", "variables")
_PROJECTION_KEYS = ("name", "pre", "post", "target", "post_ranks", "attributes", "parameters", "variables",
                    "delays", "pre_ranks")


# =========================================================================== writing
def _rows_as_lists(flat: np.ndarray, bounds: list[int]) -> list[list]:
    values = flat.tolist()
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def list_rows(flat: np.ndarray, bounds: list[int], object_array: bool) -> Any:
    """ANNarchy's per-row form of ``flat``: a list of lists, or a 1-D object array of lists.

    The default ``rows`` builder of :func:`to_annarchy_dict`.  ``bounds`` are
    the row offsets (``row_ptr``) as a list.
    """
    rows = _rows_as_lists(flat, bounds)
    return _object_array(rows) if object_array else rows


def _object_array(rows: list) -> np.ndarray:
    array = np.empty(len(rows), dtype=object)
    for index, row in enumerate(rows):
        array[index] = row
    return array


def _scalar(value: np.ndarray) -> Any:
    return value.item()


def _write_error(obj: Any, message: str) -> FormatError:
    return FormatError(f"{obj.kind} {obj.name!r} cannot be written in ANNarchy's layout: {message}")


def _with_w(names: list[str], has_w: bool) -> list[str]:
    names = list(names)
    if has_w and "w" not in names:
        names.append("w")
    return names


def _population_dict(pop: PopulationState) -> dict:
    geometry = tuple(int(g) for g in pop.geometry)
    size = int(pop.size)
    if math.prod(geometry) != size:
        raise _write_error(pop, f"geometry {geometry} does not hold {size} neurons")
    desc: dict[str, Any] = {"name": pop.name, "geometry": geometry, "size": size,
                            "attributes": list(pop.parameters) + list(pop.variables),
                            "parameters": list(pop.parameters), "variables": list(pop.variables)}
    for name in pop.attributes:
        if name not in pop.values:
            raise _write_error(pop, f"no value for attribute {name!r}")
        value = np.asarray(pop.values[name])
        if value.ndim == 0:
            desc[name] = _scalar(value)
        elif value.shape == (size,):
            desc[name] = np.ascontiguousarray(value).reshape(geometry)
        else:
            raise _write_error(pop, f"attribute {name!r} has shape {value.shape}; expected ({size},) or ()")
    return desc


def _projection_dict(proj: ProjectionState, rows: Callable[[np.ndarray, list[int], bool], Any]) -> dict:
    post_ranks = np.asarray(proj.post_ranks, dtype=np.int64).reshape(-1)
    row_ptr = np.asarray(proj.row_ptr, dtype=np.int64).reshape(-1)
    pre_ranks = np.asarray(proj.pre_ranks, dtype=np.int64).reshape(-1)
    n_rows, n_syn = len(post_ranks), len(pre_ranks)
    try:
        Connectivity(post_ranks, row_ptr, pre_ranks).validate(rows_only=True)
    except StructureError as exc:
        raise _write_error(proj, str(exc)) from exc
    bounds = row_ptr.tolist()
    counts = np.diff(row_ptr)
    equal_rows = n_rows > 0 and bool(np.all(counts == counts[0]))
    has_w = "w" in proj.values
    parameters = _with_w(proj.parameters, has_w)
    variables = _with_w(proj.variables, has_w)

    def per_row(flat: np.ndarray) -> Any:
        return rows(flat, bounds, not equal_rows)

    delays = np.asarray(proj.delays)
    if delays.ndim == 0:
        delays_value: Any = float(delays)
    elif delays.shape == (n_syn,):
        delays_value = rows(delays.astype(np.float64, copy=False), bounds, False)
    else:
        raise _write_error(proj, f"delays have shape {delays.shape}; expected () or ({n_syn},)")
    if equal_rows:
        pre_value: Any = pre_ranks.reshape(n_rows, int(counts[0]))
    else:
        pre_value = rows(pre_ranks, bounds, True)
    desc: dict[str, Any] = {"name": proj.name, "pre": proj.pre, "post": proj.post, "target": proj.target,
                            "post_ranks": post_ranks.tolist(), "attributes": parameters + variables,
                            "parameters": parameters, "variables": variables, "delays": delays_value,
                            "pre_ranks": pre_value}
    for name in dict.fromkeys(parameters + variables):
        if name not in proj.values:
            raise _write_error(proj, f"no value for attribute {name!r}")
        value = np.asarray(proj.values[name])
        if name in proj.semiglobal:
            if value.shape != (n_rows,):
                raise _write_error(proj, f"semiglobal attribute {name!r} has shape {value.shape}; expected "
                                         f"({n_rows},), one value per post neuron with synapses")
            desc[name] = value.tolist()  # ANNarchy: a plain list, one value per post_ranks entry
        elif value.ndim == 0:
            desc[name] = _scalar(value)
        elif value.shape == (n_syn,):
            desc[name] = per_row(value)
        else:
            raise _write_error(proj, f"attribute {name!r} has shape {value.shape}; expected ({n_syn},) or ()")
    return desc


def _object_extras(obj: Any) -> dict:
    return {"kind": obj.kind, "model": obj.model, "parameters": list(obj.parameters),
            "variables": list(obj.variables),
            "dtypes": {key: np.asarray(value).dtype.str for key, value in obj.values.items()},
            "globals": [key for key, value in obj.values.items() if np.ndim(value) == 0],
            **({"semiglobal": list(obj.semiglobal)} if getattr(obj, "semiglobal", None) else {}),
            "internal": {key: np.ascontiguousarray(value) for key, value in obj.internal.items()}}


def _extras(state: NetworkState, objects: list) -> dict:
    return {"format": EXTRA_FORMAT, "format_version": EXTRA_VERSION,
            "gpunet_version": state.gpunet_version or __version__,
            "step": None if state.step is None else int(state.step),
            "dt": None if state.dt is None else float(state.dt),
            "seed": None if state.seed is None else int(state.seed),
            "objects": {obj.name: _object_extras(obj) for obj in objects}}


def to_annarchy_dict(state: NetworkState, *, extras: bool = True,
                     rows: Callable[[np.ndarray, list[int], bool], Any] = list_rows) -> dict:
    """ANNarchy's save dictionary for ``state`` (key order and value forms included).

    Parameters
    ----------
    state : NetworkState
        What to write.  With ``state.single_object`` the result is the
        object's dict alone, as ``pop.save()`` / ``proj.save()`` write it.
    extras : bool
        Add gpunet's extra key (:data:`EXTRA_KEY`), which ANNarchy ignores.
    rows : callable
        ``rows(flat, row_offsets, object_array)`` builds the per-row values
        (default :func:`list_rows`: ANNarchy's lists).  The pickle writer
        passes a builder of lazy blocks that it encodes without creating
        Python objects.

    Returns
    -------
    dict
        Plain Python and NumPy values only.

    Raises
    ------
    FormatError
        A name collides with one of ANNarchy's top-level keys, two objects
        share a name, a single-object state holds another number of objects,
        or an object's arrays do not fit its size or connectivity.

    Examples
    --------
    >>> import numpy as np
    >>> pop = PopulationState("exc", (2,), 2, "Izhikevich", ["a"], ["v"],
    ...                       {"a": np.array(0.02), "v": np.array([-65.0, -60.0])})
    >>> d = to_annarchy_dict(NetworkState(populations=[pop], step=10))
    >>> list(d), d["exc"]["a"], d["exc"]["v"]
    (['time_step', 'net_id', 'exc', 'obj_names', '_gpunet'], 0.02, array([-65., -60.]))
    """
    objects = list(state.populations) + list(state.projections)
    names = [obj.name for obj in objects]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FormatError(f"cannot write a state in which several objects are named {duplicates}")
    if state.single_object:
        if len(objects) != 1:
            raise FormatError(f"a single-object file holds one population or projection, not {len(objects)}")
        obj = objects[0]
        desc = _population_dict(obj) if isinstance(obj, PopulationState) else _projection_dict(obj, rows)
        if extras:
            desc[EXTRA_KEY] = _extras(state, objects)
        return desc
    clashes = [name for name in names if name in RESERVED_KEYS]
    if clashes:
        raise FormatError(f"objects named {clashes} collide with the keys {list(RESERVED_KEYS)} of ANNarchy's "
                          "layout; rename them or use the native .npz format")
    desc = {"time_step": 0 if state.step is None else int(state.step), "net_id": int(state.net_id)}
    for pop in state.populations:
        desc[pop.name] = _population_dict(pop)
    for proj in state.projections:
        desc[proj.name] = _projection_dict(proj, rows)
    desc["obj_names"] = {"populations": [pop.name for pop in state.populations],
                         "projections": [proj.name for proj in state.projections]}
    if extras:
        desc[EXTRA_KEY] = _extras(state, objects)
    return desc


# =========================================================================== inspection
def describe_file(path: Any, state: NetworkState) -> dict:
    """:func:`summarize` of a file's state plus ``file``, ``file_size`` and ``written_by`` (gpunet or ANNarchy)."""
    summary = summarize(state)
    summary.update(file=str(path), file_size=Path(path).stat().st_size,
                   written_by="gpunet" if state.format_version is not None else "ANNarchy")
    return summary


def summarize(state: NetworkState) -> dict:
    """A JSON-friendly description of ``state``: objects, sizes, variables, dtypes, shapes, step."""
    objects = []
    for obj in list(state.populations) + list(state.projections):
        entry: dict[str, Any] = {"kind": obj.kind, "name": obj.name, "model": obj.model}
        if isinstance(obj, PopulationState):
            entry.update(size=int(obj.size), geometry=list(obj.geometry))
        else:
            entry.update(pre=obj.pre, post=obj.post, target=obj.target, nb_synapses=obj.nb_synapses,
                         nb_dendrites=len(obj.post_ranks),
                         delays="uniform" if np.ndim(obj.delays) == 0 else "per synapse")
        entry["parameters"] = list(obj.parameters)
        entry["variables"] = list(obj.variables)
        entry["arrays"] = {key: {"dtype": str(np.asarray(v).dtype), "shape": list(np.shape(v)),
                                 "global": np.ndim(v) == 0} for key, v in obj.values.items()}
        entry["internal"] = {key: {"dtype": str(v.dtype), "shape": list(v.shape)} for key, v in obj.internal.items()}
        objects.append(entry)
    return {"format": state.format, "format_version": state.format_version, "gpunet_version": state.gpunet_version,
            "step": state.step, "dt": state.dt,
            "t": None if state.step is None or state.dt is None else state.step * state.dt,
            "seed": state.seed, "net_id": state.net_id, "single_object": state.single_object, "objects": objects}

