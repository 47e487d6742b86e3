"""The stand-in's device array: a NumPy array that remembers its device and refuses the host.

Strict where CuPy is strict: no implicit conversion to NumPy (``__array__``
raises TypeError), no host array operand in a device operation, no array of
one device in an operation on another device's context; every read-back to
the host is counted (:data:`gpunet.testing.cupy_standin.syncs`).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from gpunet.testing.cupy_standin import _hazards, _state

#: NumPy functions whose result size depends on the data: CuPy reads a count back to the host.
DATA_DEPENDENT = frozenset({"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress"})
#: Functions and methods that write into their first operand (or ``self``).
IN_PLACE = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal", "fill", "sort", "partition", "itemset"})


def _unsupported(value: Any) -> TypeError:
    return TypeError(f"Unsupported type {type(value)}")


def check_device(array: "ndarray", device: int, what: str) -> None:
    if array._device != device:
        raise ValueError(f"{what}: the array is on device {array._device} but the current device is {device} "
                         "(CuPy stand-in: an array is used only in its own device's context)")


def unwrap(value: Any, device: int, what: str) -> Any:
    """``value`` with device arrays replaced by their NumPy data; host arrays refused."""
    if isinstance(value, ndarray):
        check_device(value, device, what)
        return value._a
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value
        raise _unsupported(value)
    if isinstance(value, (list, tuple)):
        items = [unwrap(v, device, what) for v in value]
        return type(value)(items) if isinstance(value, list) else tuple(items)
    return value


def wrap(result: Any, device: int) -> Any:
    """Results of NumPy as device arrays on ``device`` (scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(result, np.ndarray):
        return ndarray._of(result, device)
    if isinstance(result, np.generic):
        return ndarray._of(np.asarray(result), device)
    if isinstance(result, tuple):
        return tuple(wrap(r, device) for r in result)
    if isinstance(result, list):
        return [wrap(r, device) for r in result]
    return result


def stream_label() -> str:
    return _state.current_stream().label


def count_sync(kind: str, stream: Any = None) -> None:
    _state.syncs.count(kind, stream.label if stream is not None else stream_label())


def check_stream_device(what: str) -> None:
    stream = _state.current_stream()
    if stream.device is not None and stream.device != _state.current_device():
        raise ValueError(f"{what}: the current stream belongs to device {stream.device}, the current device is "
                         f"{_state.current_device()} (cudaErrorInvalidResourceHandle on a GPU)")


def device_arrays(value: Any) -> list:
    """The device arrays in ``value`` (nested lists and tuples included)."""
    if isinstance(value, ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in device_arrays(v)]
    return []


def run(name: str, function: Callable, args: tuple, kwargs: dict, owner: Any = None) -> Any:
    """Run NumPy ``function`` as one device operation on the current device and stream.

    ``owner`` is the array whose method ``function`` is.  The operation is
    recorded for the stream-order check: it reads its device operands and
    writes its results, its ``out=`` arrays and, for in-place functions, its
    first operand.
    """
    device = _state.current_device()
    check_stream_device(name)
    _state.refuse_while_capturing(f"operation {name}")
    reads = device_arrays(args) + device_arrays(list(kwargs.values())) + ([owner] if owner is not None else [])
    writes = device_arrays(kwargs.get("out", ()))
    if name in IN_PLACE or name.endswith(".at"):
        writes += [owner] if owner is not None else device_arrays(args[:1])
    args = unwrap(args, device, name)
    kwargs = {k: unwrap(v, device, name) for k, v in kwargs.items()}
    _state.launches.count(name)
    result = wrap(function(*args, **kwargs), device)
    fresh = [r for r in device_arrays(result) if r._a.base is None]  # new allocations, not views of operands
    _hazards.operation(name, reads, writes + fresh)
    if name in DATA_DEPENDENT or (name == "where" and len(args) == 1):
        count_sync(f"data-dependent size ({name})")
        _hazards.host_waits_for_stream()
    return result


class MemoryPointer:
    """``ndarray.data``: the address of an array's first byte on its device."""

    def __init__(self, array: "ndarray") -> None:
        self.ptr = int(array._a.ctypes.data) if array._a.size else 0
        self.device_id = array._device
        base = array._a
        while isinstance(base.base, np.ndarray):
            base = base.base
        owner = base.base if base.base is not None else base
        nbytes = base.nbytes if base.base is None else _buffer_size(owner, base)
        _state.register(owner, int(base.ctypes.data), nbytes, array._device)
        self.mem = owner

    def __int__(self) -> int:
        return self.ptr


def _buffer_size(owner: Any, base: np.ndarray) -> int:
    try:
        return memoryview(owner).nbytes
    except TypeError:
        return base.nbytes


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - CuPy's name
    """A device array of the stand-in (``cupy.ndarray``).

    It holds a NumPy array and the id of the device it lives on.  Create it
    with the module functions (``cupy.zeros``, ``cupy.asarray``, ...).
    """

    __slots__ = ("_a", "_device", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._device = _state.current_device()

    @classmethod
    def _of(cls, array: np.ndarray, device: int) -> "ndarray":
        obj = cls.__new__(cls)
        obj._a, obj._device = array, device
        return obj

    # -- what CuPy refuses ---------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
                        "NumPy array explicitly.")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            for out in kwargs["out"]:
                if not isinstance(out, ndarray):
                    raise _unsupported(out)
        function = getattr(ufunc, method)
        return run(f"{ufunc.__name__}" + ("" if method == "__call__" else f".{method}"), function, inputs, kwargs)

    def __array_function__(self, func: Callable, types: Any, args: tuple, kwargs: dict) -> Any:
        return run(func.__name__, func, args, kwargs)

    # -- attributes ----------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    ndim = property(lambda self: self._a.ndim)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T, self._device))

    @property
    def device(self) -> Any:
        from gpunet.testing.cupy_standin.cuda.device import Device
        return Device(self._device)

    @property
    def data(self) -> MemoryPointer:
        return MemoryPointer(self)

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.data.ptr, False), "version": 3,
                "strides": None if self.flags.c_contiguous else self.strides}

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for k in range(len(self._a)):
            yield self[k]

    def __repr__(self) -> str:
        count_sync("repr")
        return repr(self._a)

    __str__ = __repr__
    __hash__ = None  # type: ignore[assignment]

    # -- reads back to the host (counted) -----------------------------------------------------------
    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        """Copy to a NumPy array (a device-to-host transfer: counted)."""
        if stream is not None and stream.device is not None and stream.device != self._device:
            raise ValueError(f"get(): stream of device {stream.device} for an array on device {self._device}")
        _hazards.operation("get", [self], stream=stream)
        count_sync("get", stream)
        _hazards.host_waits_for_stream(stream)
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, array: np.ndarray, stream: Any = None) -> None:
        """Copy the host ``array`` into this array (host-to-device)."""
        if array.shape != self.shape:
            raise ValueError(f"set(): shape {array.shape} differs from {self.shape}")
        _hazards.operation("set", (), [self], stream=stream)
        self._a[...] = array

    def _scalar(self, kind: str) -> Any:
        _hazards.operation(kind, [self])
        count_sync(kind)
        _hazards.host_waits_for_stream()
        return self._a

    def item(self) -> Any:
        return self._scalar("scalar").item()

    def tolist(self) -> Any:
        return self._scalar("tolist").tolist()

    def __float__(self) -> float:
        return float(self._scalar("scalar"))

    def __int__(self) -> int:
        return int(self._scalar("scalar"))

    def __bool__(self) -> bool:
        return bool(self._scalar("scalar"))

    def __index__(self) -> int:
        if not np.issubdtype(self.dtype, np.integer) or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._scalar("scalar"))

    def __complex__(self) -> complex:
        return complex(self._scalar("scalar"))

    # -- indexing ----------------------------------------------------------------------------------
    def _key(self, key: Any, what: str) -> Any:
        device = _state.current_device()
        check_device(self, device, what)
        check_stream_device(what)
        items = key if isinstance(key, tuple) else (key,)
        out = []
        for item in items:
            if isinstance(item, ndarray):
                check_device(item, device, what)
                item = item._a
            out.append(item)
        return tuple(out) if isinstance(key, tuple) else out[0], items

    def __getitem__(self, key: Any) -> Any:
        key, items = self._key(key, "getitem")
        result = self._a[key]
        if not isinstance(result, np.ndarray):
            result = np.asarray(result)
        result = ndarray._of(result, self._device)
        if any(isinstance(i, (ndarray, np.ndarray, list)) for i in items):  # a gather kernel, not a view
            _state.launches.count("getitem")
            _hazards.operation("getitem", [self, *device_arrays(items)], [result])
            if any(isinstance(i, (ndarray, np.ndarray)) and i.dtype == np.bool_ for i in items):
                count_sync("data-dependent size (boolean mask)")
                _hazards.host_waits_for_stream()
        return result

    def __setitem__(self, key: Any, value: Any) -> None:
        key, items = self._key(key, "setitem")
        _state.launches.count("setitem")
        self._a[key] = unwrap(value, _state.current_device(), "setitem")
        _hazards.operation("setitem", device_arrays(items) + device_arrays(value), [self])

    # -- everything else: NumPy's methods, run as device operations ---------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attribute = getattr(self._a, name)
        if not callable(attribute):
            return wrap(attribute, self._device)

        def method(*args: Any, **kwargs: Any) -> Any:
            check_device(self, _state.current_device(), name)
            return run(name, attribute, args, kwargs, owner=self)
        return method

    def copy(self, order: str = "C") -> "ndarray":
        return run("copy", self._a.copy, (order,), {}, owner=self)

    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None,
               copy: bool = True) -> "ndarray":
        check_device(self, _state.current_device(), "astype")
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return run("astype", self._a.astype, (dtype,), {"order": order}, owner=self)

    def view(self, dtype: Any = None) -> "ndarray":
        return ndarray._of(self._a.view() if dtype is None else self._a.view(dtype), self._device)

    def reshape(self, *shape: Any, order: str = "C") -> "ndarray":
        return ndarray._of(self._a.reshape(*shape, order=order), self._device)

    def ravel(self, order: str = "C") -> "ndarray":
        return run("ravel", self._a.ravel, (order,), {}, owner=self)

    def __reduce__(self) -> Any:
        raise TypeError("a CuPy stand-in array is not pickled: fetch it with .get() first")
