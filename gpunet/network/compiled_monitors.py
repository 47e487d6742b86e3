"""Monitors of variables recorded inside compiled chunks (the network's side of ``codegen.runtime.host_monitors``).

Before a chunk of ``count`` steps from ``first``, :class:`ValueRecorder`
reserves, per recorded variable, one host buffer of (record steps of the chunk
but its last) x (recorded size) rows, in the variable's dtype, and points the
driver's table at it; the driver copies the variable at the end of each record
step (where :meth:`Monitor._record` copies it in the array code's step), and
after the chunk the monitor takes the buffer as it is (no copy).  The chunk's
last step is recorded by the network as after every chunk.

Memory: the buffers of one chunk hold at most :data:`CHUNK_RECORD_BYTES`
(:meth:`ValueRecorder.max_steps` shortens the chunk); a row larger than that
leaves the chunk at one step, recorded by the network itself.  The buffers are
the recordings themselves: the monitor keeps them until read.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gpunet.codegen.runtime.host_monitors import RecordTable, ValueRecord
from gpunet.errors import StructureError

#: Most bytes the variable buffers of one compiled chunk reserve together (64 MiB): e.g. 8,192 rows of 1,000
#: float64 values.  A longer ``simulate()`` call runs as several chunks.
CHUNK_RECORD_BYTES = 1 << 26


def records_between(first: int, stop: int, period: int, offset: int) -> int:
    """Number of steps ``s`` in ``[first, stop)`` with ``s % period == offset``."""
    if stop <= first:
        return 0
    return (stop - 1 - offset) // period - (first - 1 - offset) // period


def _sources(monitor: Any) -> Optional[list[tuple[str, np.ndarray, Optional[np.ndarray]]]]:
    """``(variable, array, ranks or None)`` of each variable ``monitor`` records, or None when the compiled
    loop cannot copy one of them (then the network records them, ending a chunk at each record step)."""
    ranks = monitor._device_ranks
    if ranks is not None:
        if not isinstance(ranks, np.ndarray) or ranks.dtype.kind not in "iu":
            return None
        ranks = np.ascontiguousarray(ranks, dtype=np.int64)
    sources = []
    for variable in monitor._values:
        try:
            array = monitor._source.device_view(variable)
        except StructureError:  # a projection not connected: the array code's record says so
            return None
        if not isinstance(array, np.ndarray) or not array.flags.c_contiguous or array.ndim > 1:
            return None
        sources.append((variable, array, ranks if array.ndim == 1 else None))
    return sources


class ValueRecorder:
    """The variable monitors of one network, recorded by its compiled loop (see the module docstring)."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.table = RecordTable()
        self._pending: list[tuple[Any, str, np.ndarray, int, int]] = []  # (monitor, variable, rows, first, count)

    def records(self, monitor: Any) -> bool:
        """Whether the compiled chunks record every variable of ``monitor`` (all of them, or it ends chunks)."""
        return bool(monitor._values) and _sources(monitor) is not None

    def _recorded(self) -> list[tuple[Any, list]]:
        recorded = []
        for monitor in self.network.monitors:
            if monitor.recording and monitor._values:
                sources = _sources(monitor)
                if sources is not None:
                    recorded.append((monitor, sources))
        return recorded

    def max_steps(self) -> int:
        """Most steps of one chunk whose buffers stay within :data:`CHUNK_RECORD_BYTES` (large: no limit)."""
        fixed = per_step = 0.0
        for monitor, sources in self._recorded():
            for _variable, array, ranks in sources:
                row = array.itemsize * (array.size if ranks is None else len(ranks))
                fixed += row  # a window of any start holds at most steps // period + 1 record steps
                per_step += row / monitor.period_steps
        if per_step == 0:
            return 1 << 62
        return max(1, int((CHUNK_RECORD_BYTES - fixed) // per_step))

    def prepare(self, first: int, count: int) -> None:
        """Reserve the buffers of the chunk of ``count`` steps from ``first`` and point the table at them."""
        records, pending = [], []
        for monitor, sources in self._recorded():
            rows = records_between(first, first + count - 1, monitor.period_steps, monitor.offset_steps)
            if rows == 0:
                continue
            for variable, array, ranks in sources:
                width = () if array.ndim == 0 else (array.size if ranks is None else len(ranks),)
                buffer = np.empty((rows,) + width, dtype=array.dtype)
                records.append(ValueRecord(array, ranks, buffer, monitor.period_steps, monitor.offset_steps))
                pending.append((monitor, variable, buffer, first, count))
        self.table.set(records)
        self._pending = pending

    def deliver(self) -> None:
        """Give each monitor the rows its variables got in the chunk just run."""
        for (monitor, variable, buffer, first, count), written in zip(self._pending, self.table.rows()):
            period, offset = monitor.period_steps, monitor.offset_steps
            start = first + (offset - first) % period
            steps = np.arange(start, first + count - 1, period, dtype=np.int64)
            if written != len(buffer) or len(steps) != written:
                raise RuntimeError(f"Monitor {monitor.name!r}: the compiled loop recorded {written} rows of "
                                   f"{variable!r}, {len(buffer)} expected")  # a bug, never bad input
            monitor._values[variable].extend(steps, buffer)
        self._pending = []
        self.table.set([])
