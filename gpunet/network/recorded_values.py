"""The values of one variable a monitor records: one device copy per recorded step until they are read back.

Each recorded step adds a device copy of the variable (no synchronisation on a
GPU); the compiled CPU loop hands over whole blocks of host rows instead
(:meth:`RecordedValues.extend`).  Reading the recordings (``Monitor.get``, a save with ``monitors=True``)
stacks those copies into one host array, which is kept: later reads only move
the steps recorded since, so a run that snapshots its monitors reads each
recorded value back once.  The host array is never modified in place (a read
replaces it by a new one), so a save may hold it while the run goes on.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


class RecordedValues:
    """Rows of one recorded variable and the step of each row.

    Parameters
    ----------
    backend : Backend
        Array module, device context and host transfers of the network.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._unread: list = []          # device copies of single rows, after every host block
        self._unread_steps: list[int] = []
        self._blocks: list[np.ndarray] = []  # host rows in order: read back, or handed over by the compiled loop
        self._block_steps: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(steps) for steps in self._block_steps) + len(self._unread_steps)

    @property
    def nbytes(self) -> int:
        """Bytes held: device copies not read back yet and the host rows."""
        return sum(int(a.nbytes) for a in self._blocks) + sum(int(a.nbytes) for a in self._unread)

    def append(self, step: int, array: Any) -> None:
        """Keep a device copy of ``array`` as the row of ``step`` (in the network's device context)."""
        self._unread.append(self._backend.xp.copy(array))
        self._unread_steps.append(int(step))

    def extend(self, steps: np.ndarray, rows: np.ndarray) -> None:
        """Hold the host array ``rows`` (one row per step of ``steps``, ascending, after every row held).

        The compiled loop's recordings: ``rows`` is kept as it is (never modified afterwards, by anyone).
        """
        if not len(steps):
            return
        self._read_back()
        self._blocks.append(rows)
        self._block_steps.append(np.asarray(steps, dtype=np.int64))

    @property
    def steps(self) -> np.ndarray:
        """The step of each row."""
        parts = self._block_steps + [np.asarray(self._unread_steps, dtype=np.int64)]
        return np.concatenate(parts)

    def _read_back(self) -> None:
        """Move the device rows to the host, as one block after the others."""
        if not self._unread:
            return
        backend = self._backend
        with backend.activate():  # stack on the monitor's device and stream (gpu fix, issue 14)
            fresh = backend.to_host(backend.xp.stack(self._unread))
        self._blocks.append(fresh)
        self._block_steps.append(np.asarray(self._unread_steps, dtype=np.int64))
        self._unread, self._unread_steps = [], []

    def host(self, width: Optional[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(values, steps)`` on the host: values of shape ``(rows,)`` or ``(rows, width)``.

        ``width`` (None for a global attribute) shapes the empty array returned when nothing was recorded.

        The values array is the recording's own (never modified in place afterwards): copy it before
        modifying it.
        """
        self._read_back()
        if len(self._blocks) > 1:  # one block from now on: later reads only join the rows recorded since
            self._blocks = [np.concatenate(self._blocks)]
            self._block_steps = [np.concatenate(self._block_steps)]
        if self._blocks:
            return self._blocks[0], self._block_steps[0].copy()
        values = np.zeros((0,) if width is None else (0, width), dtype=np.float64)
        return values, np.zeros(0, dtype=np.int64)

    def clear(self) -> None:
        """Forget every row."""
        self._unread, self._unread_steps, self._blocks, self._block_steps = [], [], [], []

    def replace(self, values: np.ndarray, steps: np.ndarray) -> None:
        """Hold exactly ``values`` / ``steps`` (validated host arrays: a restored recording)."""
        self.clear()
        if len(steps):
            self._blocks, self._block_steps = [values], [np.asarray(steps, dtype=np.int64).copy()]
