"""Variables recorded inside the compiled step loop: a table of copies the driver makes at the end of a step.

The driver (:mod:`gpunet.codegen.runtime.host_loop`) reads one bound array, the
*header* of a :class:`RecordTable`: the address of a table and its number of
entries.  Each entry copies one array (a population's or projection's variable;
through a list of ranks for a population view) into the next row of a
destination buffer at the steps ``s`` with ``s % period == offset``, at the end
of the step (after the post-synaptic events: where the array code's monitors
record), for every step of a call but its last (the caller records the last
step itself, as it does for spikes).  The copies are byte copies, so the rows
are the very bits the array code's monitors would copy.

The table is refilled before each call (the network layer allocates the
destination rows of that call), so monitors added, paused or resumed between
calls need no rebinding and the driver's text does not depend on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

#: The fields of one table entry (each an unsigned 64-bit integer), in order.
FIELDS = ("source", "ranks", "width", "item_size", "period", "offset", "destination", "rows")

#: C++ helpers of the driver (after ``gn_ring_row``, which they use).
HELPERS = """\
static inline void gn_gather_items(char* to, const char* from, const gn_i64* ranks, gn_i64 n, gn_i64 size)
{
    if (size == 8) {
        for (gn_i64 i = 0; i < n; ++i) std::memcpy(to + 8 * i, from + 8 * ranks[i], 8);
    } else if (size == 4) {
        for (gn_i64 i = 0; i < n; ++i) std::memcpy(to + 4 * i, from + 4 * ranks[i], 4);
    } else {
        for (gn_i64 i = 0; i < n; ++i) std::memcpy(to + size * i, from + size * ranks[i], (std::size_t)size);
    }
}
// One entry per recorded variable: source, ranks (0: the whole array), width, item size, period, offset,
// destination, rows written so far; a record step copies the source into the destination's next row.
static inline void gn_record_values(const gn_u64* header, gn_i64 step)
{
    gn_u64* table = (gn_u64*)(uintptr_t)header[0];
    for (gn_i64 e = 0; e < (gn_i64)header[1]; ++e) {
        gn_u64* entry = table + 8 * e;
        if (gn_ring_row(step - (gn_i64)entry[5], (gn_i64)entry[4]) != 0) continue;
        const gn_i64 width = (gn_i64)entry[2], size = (gn_i64)entry[3];
        char* to = (char*)(uintptr_t)entry[6] + (gn_i64)entry[7] * width * size;
        const char* from = (const char*)(uintptr_t)entry[0];
        if (entry[1]) gn_gather_items(to, from, (const gn_i64*)(uintptr_t)entry[1], width, size);
        else std::memcpy(to, from, (std::size_t)(width * size));
        entry[7] += 1;
    }
}
"""


@dataclass
class ValueRecord:
    """One variable recorded by a call: ``source`` (or ``source[ranks]``) into ``destination`` at its record steps.

    ``destination`` has one row per record step of the call (the rows of ``source`` or of its ranks), the
    dtype of ``source``; a 0-d ``source`` (a global) gives ``(rows,)``.
    """

    source: np.ndarray
    ranks: Optional[np.ndarray]
    destination: np.ndarray
    period: int
    offset: int


class RecordTable:
    """The records of the next call, as the driver reads them (see the module docstring)."""

    def __init__(self) -> None:
        #: Bound once in the driver: the address of the table and its number of entries.
        self.header = np.zeros(2, dtype=np.uint64)
        self._table = np.zeros((0, len(FIELDS)), dtype=np.uint64)
        self._records: list[ValueRecord] = []

    def set(self, records: Sequence[ValueRecord]) -> None:
        """Make ``records`` the entries of the next call (their arrays are held until the next :meth:`set`).

        Parameters
        ----------
        records : sequence of ValueRecord
            Each with C-contiguous arrays; ``ranks`` int64 within ``source``; ``destination`` of the dtype of
            ``source`` with room for every row the call records.

        Raises
        ------
        ValueError
            When an array does not have the layout the driver copies.
        """
        table = np.zeros((len(records), len(FIELDS)), dtype=np.uint64)
        for row, record in zip(table, records):
            _check(record)
            width = record.source.size if record.ranks is None else len(record.ranks)
            row[:] = [record.source.ctypes.data, 0 if record.ranks is None else record.ranks.ctypes.data, width,
                      record.source.itemsize, record.period, record.offset, record.destination.ctypes.data, 0]
        self._table, self._records = table, list(records)
        self.header[0] = table.ctypes.data if len(table) else 0
        self.header[1] = len(table)

    def rows(self) -> list[int]:
        """Rows each entry has written since :meth:`set`."""
        return [int(n) for n in self._table[:, FIELDS.index("rows")]]


def _check(record: ValueRecord) -> None:
    source, destination, ranks = record.source, record.destination, record.ranks
    if not (isinstance(source, np.ndarray) and source.flags.c_contiguous and source.ndim <= 1):
        raise ValueError("a recorded source must be a C-contiguous NumPy array of at most one dimension")
    if not (isinstance(destination, np.ndarray) and destination.flags.c_contiguous
            and destination.dtype == source.dtype):
        raise ValueError("a record destination must be a C-contiguous NumPy array of the source's dtype")
    if ranks is not None and not (isinstance(ranks, np.ndarray) and ranks.dtype == np.int64
                                  and ranks.flags.c_contiguous and source.ndim == 1
                                  and (len(ranks) == 0 or (ranks.min() >= 0 and ranks.max() < source.size))):
        raise ValueError("record ranks must be a C-contiguous int64 array of ranks within the source")
    if record.period < 1 or not 0 <= record.offset < record.period:
        raise ValueError(f"record period {record.period} and offset {record.offset}: 0 <= offset < period needed")


def record_lines(header: Optional[np.ndarray], slots: Any, ind: str) -> list[str]:
    """The driver's lines at the end of a step: the table's records of every step of a call but its last."""
    if header is None:
        return []
    return [f"{ind}if (step + 1 < first + count) gn_record_values((const gn_u64*)P[{slots.pointer(header)}], step);"]
