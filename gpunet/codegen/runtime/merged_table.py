"""The launch shared by a step graph's merged kernels: a device table of the members' arguments and block items.

A merged kernel (one launch for several populations or projections of one
unit) reads each member's arguments from a row of ``gn_u64`` words (arrays as
addresses, integers as values; :func:`gpunet.codegen.cuda.common.table_arguments`
writes the C side) and, per block, one item of int64 words saying which rows and
elements it takes.  :class:`TableLaunch` uploads both and records the launches.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from gpunet.codegen.runtime.launch_plan import BoundKernel
from gpunet.codegen.runtime.runners import array_address


def table_words(params: Sequence[Any], values: Sequence[Any]) -> list[int]:
    """One table row: each value of ``params`` as a word (an array's address, an integer's value).

    Parameters
    ----------
    params : sequence of KernelParam
        The parameters the row holds, in order.
    values : sequence
        Their values (device arrays or integers).
    """
    return [array_address(value) if param.is_pointer else int(value) for param, value in zip(params, values)]


class TableLaunch:
    """Merged kernels reading one device table and its block items (see the module docstring).

    Parameters
    ----------
    kernels : sequence of KernelInfo
        The kernels to launch, in order, with the same table.
    launcher : callable
        The launcher of the unit's source (a step graph's recorder).
    clock : device array
        The step graph's clock.
    dt : float
        Step size (ms).
    to_device : callable
        Copies a NumPy array to the device (the backend's ``asarray``).
    """

    def __init__(self, kernels: Sequence[Any], launcher: Any, clock: Any, dt: float, to_device: Any) -> None:
        self.kernels = [BoundKernel(kernel, launcher) for kernel in kernels]
        self._clock, self._dt, self._to_device = clock, float(dt), to_device
        #: The device table of the members' arguments (kept: the launches hold its address).
        self.table: Optional[Any] = None
        #: The device block items (int64).
        self.items: Optional[Any] = None

    def _launch(self, rows: list[list[int]], items: list[tuple[int, ...]], item_words: int, prefix: str,
                width: bool = True) -> None:
        """Upload ``rows`` and ``items`` (``item_words`` each) and record the kernels over the items; the context
        names them ``<prefix>_table`` and ``<prefix>_items`` (and the row width ``<prefix>_width`` with ``width``)."""
        self.table = self._to_device(np.asarray(rows, dtype=np.uint64).reshape(len(rows), -1))
        self.items = self._to_device(np.asarray(items, dtype=np.int64).reshape(-1, item_words))
        context = {"n": len(items), "clock": self._clock, "dt": self._dt, f"{prefix}_table": self.table,
                   f"{prefix}_items": self.items}
        if width:
            context[f"{prefix}_width"] = int(self.table.shape[1])
        if items:
            for kernel in self.kernels:
                kernel(context)
