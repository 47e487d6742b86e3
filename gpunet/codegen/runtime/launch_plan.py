"""What a launch of a generated kernel needs on the host, worked out once per kernel.

A :class:`KernelPlan` holds, for one :class:`~gpunet.codegen.cuda.common.KernelInfo`,
the position, expected dtype and scalar type of every parameter, so that a
launch neither re-splits C type strings nor looks up dtypes.  A
:class:`BoundKernel` checks its array arguments once and again only when one
of them is another array than the one checked (a load may replace an array
between steps); arguments that change at every step (the step counter, the
time, the row of the spike history) never cause a check.

A launcher (see :mod:`gpunet.codegen.runtime.kernel_calls`) may offer
``bind(kernel)``, returning a callable that takes the values of one launch,
already checked; a launcher without it is called as ``launcher(kernel, values)``.
"""
from __future__ import annotations

import operator
import threading
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from gpunet.codegen.cuda.common import KernelInfo

#: NumPy dtype of each C type the kernels use.
C_DTYPES = {"double": np.dtype(np.float64), "float": np.dtype(np.float32), "gn_i64": np.dtype(np.int64),
            "int": np.dtype(np.int32), "bool": np.dtype(np.bool_), "gn_u64": np.dtype(np.uint64),
            "unsigned char": np.dtype(np.uint8)}
#: Roles whose array is a new view at every launch (a row of the spike history): the caller checks the
#: array it is a view of (:meth:`BoundKernel.check_source`), so these never cause a check.
VIEW_ROLES = frozenset({"spikes"})

_lock = threading.Lock()
_plans: dict[int, tuple[KernelInfo, "KernelPlan"]] = {}


class KernelPlan:
    """The host-side facts of one kernel's parameters, in order.

    Attributes
    ----------
    kernel : KernelInfo
    pointers : tuple of int
        Positions of the array parameters.
    dtypes : tuple of numpy.dtype
        Expected dtype of each array parameter (same order as ``pointers``).
    scalar_types : tuple
        For every parameter, the NumPy scalar type of a by-value parameter, None for an array.
    checked : tuple of int
        Positions of the array parameters a :class:`BoundKernel` checks (those not in :data:`VIEW_ROLES`).
    """

    def __init__(self, kernel: KernelInfo) -> None:
        self.kernel = kernel
        params = kernel.params
        self.pointers = tuple(k for k, p in enumerate(params) if p.is_pointer)
        self.dtypes = tuple(C_DTYPES[params[k].base_type] for k in self.pointers)
        self.scalar_types = tuple(None if p.is_pointer else C_DTYPES[p.base_type].type for p in params)
        self.checked = tuple(k for k in self.pointers if params[k].role not in VIEW_ROLES)
        #: (position, scalar type) of the by-value parameters.
        self.scalars = tuple((k, kind) for k, kind in enumerate(self.scalar_types) if kind is not None)
        self._checked_getter = _tuple_getter(self.checked)
        # Values are gathered per role with C-level getters (one per role), then put in parameter order.
        roles: dict[str, list[Any]] = {}
        for p in params:
            roles.setdefault(p.role, [])
            if p.key:
                roles[p.role].append(int(p.key) if p.role == "key" else p.key)
        plain = [role for role, keys in roles.items() if not keys]
        keyed = [(role, keys) for role, keys in roles.items() if keys]
        self._plain = _tuple_getter(plain)
        self._keyed = tuple((role, _tuple_getter(keys)) for role, keys in keyed)
        order = {(role, None): k for k, role in enumerate(plain)}
        for role, keys in keyed:
            for key in keys:
                order[(role, key)] = len(order)
        self._order = _tuple_getter([order[(p.role, (int(p.key) if p.role == "key" else p.key) if p.key else None)]
                                     for p in params])

    def values(self, context: Mapping[str, Any]) -> tuple:
        """One value per parameter, taken from ``context`` by role (see ``KernelParam``)."""
        try:
            gathered = self._plain(context)
            for role, getter in self._keyed:
                gathered += getter(context[role])
        except KeyError as exc:
            raise KeyError(f"kernel {self.kernel.name}: no value for {exc.args[0]!r}") from None
        return self._order(gathered)

    def arrays(self, values: Sequence[Any]) -> tuple:
        """The values of the checked array parameters (see ``checked``)."""
        return self._checked_getter(values)

    def check(self, values: Sequence[Any], positions: Optional[Sequence[int]] = None) -> None:
        """Raise TypeError unless each array at ``positions`` (default: all) has its dtype and is C-contiguous."""
        kernel = self.kernel
        if len(values) != len(kernel.params):
            raise TypeError(f"kernel {kernel.name}: {len(kernel.params)} arguments expected, got {len(values)}")
        expected_of = dict(zip(self.pointers, self.dtypes))
        for k in self.pointers if positions is None else positions:
            param, value, expected = kernel.params[k], values[k], expected_of[k]
            dtype = getattr(value, "dtype", None)
            if dtype != expected:
                raise TypeError(f"kernel {kernel.name}: argument {param.name} ({param.role} {param.key}) must be a "
                                f"{expected} array, got {type(value).__name__} of dtype {dtype}")
            if not value.flags.c_contiguous:
                raise TypeError(f"kernel {kernel.name}: argument {param.name} must be C-contiguous")


def _tuple_getter(items: Sequence[Any]) -> Callable[[Any], tuple]:
    """``getter(container) -> tuple(container[i] for i in items)``, in C for two items or more."""
    items = list(items)
    if not items:
        return lambda container: ()
    if len(items) == 1:
        item = items[0]
        return lambda container: (container[item],)
    return operator.itemgetter(*items)


def kernel_plan(kernel: KernelInfo) -> KernelPlan:
    """The plan of ``kernel``, made once per kernel object (looked up by identity, not by hashing it)."""
    entry = _plans.get(id(kernel))
    if entry is not None and entry[0] is kernel:
        return entry[1]
    plan = KernelPlan(kernel)
    with _lock:
        _plans[id(kernel)] = (kernel, plan)
    return plan


def check_arguments(kernel: KernelInfo, values: Sequence[Any]) -> None:
    """Raise TypeError unless every array matches its parameter's type and is C-contiguous.

    A raw kernel reads memory as its signature says: an array of another dtype
    would be read as garbage.
    """
    kernel_plan(kernel).check(values)


def bind(launcher: Any, kernel: KernelInfo) -> Callable[[Sequence[Any]], None]:
    """The launcher's unchecked launch of ``kernel`` (``launcher.bind``), or a call of the launcher itself."""
    binder = getattr(launcher, "bind", None)
    if binder is not None:
        return binder(kernel)
    return lambda values: launcher(kernel, values)


class BoundKernel:
    """One kernel of a runner: arguments taken from a context, checked only when an array changes.

    Parameters
    ----------
    kernel : KernelInfo
    launcher : Launcher
        Its ``bind(kernel)`` when it has one (launches without checking again).
    """

    def __init__(self, kernel: KernelInfo, launcher: Any) -> None:
        self.kernel = kernel
        self.plan = kernel_plan(kernel)
        self._launch = bind(launcher, kernel)
        self._checked_arrays: tuple = ()
        #: How many times the arguments were checked (tests: a step must not check again).
        self.checks = 0

    def __call__(self, context: Mapping[str, Any]) -> None:
        """Launch with the values ``context`` gives (see :meth:`KernelPlan.values`)."""
        values = self.plan.values(context)
        arrays = self.plan.arrays(values)
        if len(arrays) != len(self._checked_arrays) or not all(map(operator.is_, arrays, self._checked_arrays)):
            self.plan.check(values, self.plan.checked)
            self._checked_arrays = arrays
            self.checks += 1
        self._launch(values)

    def check_source(self, role: str, source: Any) -> None:
        """Check ``source``, the array whose rows or views the parameters of ``role`` (a view role) get."""
        for k in self.plan.pointers:
            param = self.kernel.params[k]
            if param.role != role:
                continue
            expected = C_DTYPES[param.base_type]
            if getattr(source, "dtype", None) != expected or not source.flags.c_contiguous:
                raise TypeError(f"kernel {self.kernel.name}: argument {param.name} takes rows of a C-contiguous "
                                f"{expected} array, got {type(source).__name__} of dtype "
                                f"{getattr(source, 'dtype', None)}")
