"""Turn what a user assigns to an attribute into a host array of the right shape and type."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gpunet.model.ir import Attribute
from gpunet.network.distributions import Distribution


def python_scalar(value: Any, kind: str) -> Any:
    """A Python float/int/bool for a global attribute's value."""
    value = value.item() if hasattr(value, "item") else value
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return float(value)


def coerce_values(value: Any, *, owner: str, attribute: Attribute, size: int,
                  shape: tuple[int, ...], dtype: np.dtype, generator, part: Optional[tuple[int, int]] = None
                  ) -> np.ndarray:
    """Host values for one attribute, from a scalar, an array or a distribution.

    Locals come back with shape ``(size,)``; globals as a 0-d array.  ``part=(start, stop)``: only the local
    values ``[start, stop)`` of the ``size`` (under comm, a process's neurons or synapses); a distribution
    then draws only those (:meth:`~gpunet.network.distributions.Distribution.draw_part`), the same numbers.

    Raises
    ------
    ValueError
        When an array has another shape than ``shape`` (or ``(size,)``), or a
        global attribute is given several different values.
    TypeError
        When the value is not a number, an array or a distribution.
    """
    name = attribute.name
    if isinstance(value, Distribution):
        if attribute.is_global:
            raise ValueError(f"{owner}.{name} is global: assign one number, not a distribution")
        # ``generator`` may be a factory: only distributions consume random numbers,
        # so assigning a plain number never shifts the network's later draws.
        source = generator() if callable(generator) else generator
        if part is not None:
            return _cast(value.draw_part(source, size, *part), dtype, owner, name)
        return _cast(value.draw(source, size), dtype, owner, name)
    if part is not None and not attribute.is_global:
        whole = coerce_values(value, owner=owner, attribute=attribute, size=size, shape=shape, dtype=dtype,
                              generator=generator)
        return whole[part[0]:part[1]]
    if np.isscalar(value) or (isinstance(value, np.ndarray) and value.ndim == 0):
        array = np.full(() if attribute.is_global else (size,), value)
        return _cast(array, dtype, owner, name)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}.{name}: cannot use a value of type {type(value).__name__}") from exc
    if array.dtype == object:
        raise TypeError(f"{owner}.{name}: cannot use a value of type {type(value).__name__} "
                        "(expected a number, an array or a distribution)")
    if attribute.is_global:
        flat = array.ravel()
        if flat.size == 0 or not np.all(flat == flat[0]):
            raise ValueError(f"{owner}.{name} is global: assign one number (got an array of shape {array.shape} "
                             "with different values)")
        return _cast(np.asarray(flat[0]), dtype, owner, name)
    if array.shape not in (tuple(shape), (size,)):
        expected = f"{tuple(shape)}" + (f" or ({size},)" if tuple(shape) != (size,) else "")
        raise ValueError(f"{owner}.{name}: expected an array of shape {expected}, got shape {array.shape}")
    return _cast(array.reshape(size), dtype, owner, name)


def _cast(array: np.ndarray, dtype: np.dtype, owner: str, name: str) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{owner}.{name}: values must be numbers, got dtype {array.dtype}")
    if dtype.kind in "iu" and array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(f"{owner}.{name} holds integers; got non-integral values")
    return np.require(np.asarray(array, dtype=dtype), requirements="C")
