"""Differences between two NetworkStates: everything a state file holds, compared.

Used by ``gpunet diff``.  Compared: the network's step counter, ``dt``, seed
and whether the file holds one object; per population and projection (matched
by name): the kind, model name, geometry and size, parameter and variable
lists, pre/post populations and target, every attribute, gpunet's extra state
(``_last_spike``, ``_refractory``, ``_spike_history``, ``_spike_times``,
``_last_event``, ...) and the connectivity (post ranks, row pointer, pre ranks,
delays); per monitor recording (matched by name): what it records, its period,
offset, session and window, and every recorded array.  NaN equals NaN.  Not compared: how the file is written (format and
its version, the gpunet version that wrote it), which is not state.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gpunet.io.pipeline.state_types import NetworkState

_CONNECTIVITY = ("post_ranks", "row_ptr", "pre_ranks", "delays")
_MONITOR_FIELDS = ("target", "target_kind", "variables", "period_steps", "offset_steps", "recording",
                   "session_start", "session_stop", "window")


def _as_array(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:  # ragged rows of a pickle: compare them flattened, as a load reads them
        try:
            array = np.asarray(np.concatenate([np.ravel(np.asarray(row, dtype=np.float64)) for row in array.ravel()])
                               if array.size else np.zeros(0))
        except (TypeError, ValueError):
            pass
    return array


def compare_arrays(label: str, a: Any, b: Any, out: list[str]) -> None:
    """Append a line to ``out`` when arrays ``a`` and ``b`` differ (shape, values or value kind)."""
    a, b = _as_array(a), _as_array(b)
    if a.shape != b.shape:
        out.append(f"{label}: shape {a.shape} != {b.shape}")
        return
    numeric = a.dtype.kind in "biuf" and b.dtype.kind in "biuf"
    if numeric:
        x, y = a.astype(np.float64), b.astype(np.float64)
        different = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        exact_ints = a.dtype.kind in "iu" and b.dtype.kind in "iu"
        if exact_ints:  # int64 values beyond 2**53 are not exact in float64
            different = a != b
    else:
        try:
            different = np.asarray(a != b, dtype=bool)
        except (TypeError, ValueError):
            different = np.ones(a.shape, dtype=bool)
        if different.shape != a.shape:
            different = np.broadcast_to(bool(np.any(different)), a.shape)
    if np.any(different):
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(different)), a.shape)) if a.ndim else ()
        detail = ""
        if numeric:
            with np.errstate(invalid="ignore", over="ignore"):
                delta = np.abs(a.astype(np.float64) - b.astype(np.float64))
            detail = f"max |a - b| = {float(np.nanmax(delta)) if np.any(~np.isnan(delta)) else float('nan'):.6g}, "
        count = int(np.count_nonzero(different))
        out.append(f"{label}: {detail}first difference at index {list(index)} ({_plain(a[index])!r} != {_plain(b[index])!r}), "
                   f"{count} of {max(a.size, 1)} value(s) differ")
    elif a.dtype.kind != b.dtype.kind:
        out.append(f"{label}: equal values of different kinds ({a.dtype} != {b.dtype})")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _compare_plain(label: str, a: Any, b: Any, out: list[str]) -> None:
    if a != b and not (a is not None and b is not None and _same_number(a, b)):
        out.append(f"{label}: {a!r} != {b!r}")


def _same_number(a: Any, b: Any) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return x == y or (x != x and y != y)


def _same_form(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 0-d array beside a 1-D one, broadcast to its length."""
    if a.ndim == 0 and b.ndim == 1:
        return np.broadcast_to(a, b.shape), b
    if b.ndim == 0 and a.ndim == 1:
        return a, np.broadcast_to(b, a.shape)
    return a, b


def _compare_mapping(name: str, a: dict, b: dict, out: list[str]) -> None:
    for key in dict.fromkeys(list(a) + list(b)):
        if key not in a or key not in b:
            out.append(f"{name}.{key}: only in {'A' if key in a else 'B'}")
        else:
            compare_arrays(f"{name}.{key}", a[key], b[key], out)


def compare_states(a: NetworkState, b: NetworkState) -> list[str]:
    """One line per difference between ``a`` and ``b`` (empty when they hold the same state)."""
    out: list[str] = []
    for field in ("step", "dt", "seed", "single_object"):
        _compare_plain(field, getattr(a, field), getattr(b, field), out)
    for kind in ("populations", "projections"):
        objects_a = {o.name: o for o in getattr(a, kind)}
        objects_b = {o.name: o for o in getattr(b, kind)}
        for name in dict.fromkeys(list(objects_a) + list(objects_b)):
            if name not in objects_a or name not in objects_b:
                out.append(f"{kind[:-1]} {name}: only in {'A' if name in objects_a else 'B'}")
                continue
            obj_a, obj_b = objects_a[name], objects_b[name]
            described = ("model", "parameters", "variables") + (
                ("geometry", "size") if kind == "populations" else ("pre", "post", "target"))
            for field in described:
                x, y = getattr(obj_a, field), getattr(obj_b, field)
                if field in ("parameters", "variables", "geometry"):
                    x, y = [str(v) if field != "geometry" else int(v) for v in x], \
                           [str(v) if field != "geometry" else int(v) for v in y]
                if field == "model" and (not x or not y):
                    continue  # ANNarchy's files do not name the model
                _compare_plain(f"{name}.{field}", x, y, out)
            _compare_mapping(name, obj_a.values, obj_b.values, out)
            _compare_mapping(name, obj_a.internal, obj_b.internal, out)
            if kind == "projections":
                for field in _CONNECTIVITY:
                    x, y = getattr(obj_a, field), getattr(obj_b, field)
                    if field == "delays":  # one uniform delay and the same delay per synapse are one state
                        x, y = _same_form(np.asarray(x), np.asarray(y))
                    compare_arrays(f"{name}.{field}", x, y, out)
    _compare_monitors(a, b, out)
    return out


def _compare_monitors(a: NetworkState, b: NetworkState, out: list[str]) -> None:
    """The monitors' recordings (files saved with ``monitors=True``), matched by name."""
    monitors_a, monitors_b = {m.name: m for m in a.monitors}, {m.name: m for m in b.monitors}
    for name in dict.fromkeys(list(monitors_a) + list(monitors_b)):
        if name not in monitors_a or name not in monitors_b:
            out.append(f"monitor {name}: only in {'A' if name in monitors_a else 'B'}")
            continue
        recording_a, recording_b = monitors_a[name], monitors_b[name]
        for field in _MONITOR_FIELDS:
            x, y = getattr(recording_a, field), getattr(recording_b, field)
            if field in ("variables", "window"):
                x, y = list(x), list(y)
            _compare_plain(f"monitor {name}.{field}", x, y, out)
        _compare_mapping(f"monitor {name}", recording_a.arrays, recording_b.arrays, out)
