"""The values of one variable a monitor records: one device copy per recorded step until they are read back.

Each recorded step adds a device copy of the variable (no synchronisation on a
GPU).  Reading the recordings (``Monitor.get``, a save with ``monitors=True``)
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
        self._unread: list = []
        self._read_back: Optional[np.ndarray] = None
        self._steps: list[int] = []

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def nbytes(self) -> int:
        """Bytes held: device copies not read back yet and the host rows."""
        host = 0 if self._read_back is None else int(self._read_back.nbytes)
        return host + sum(int(a.nbytes) for a in self._unread)

    def append(self, step: int, array: Any) -> None:
        """Keep a device copy of ``array`` as the row of ``step`` (in the network's device context)."""
        self._unread.append(self._backend.xp.copy(array))
        self._steps.append(int(step))

    @property
    def steps(self) -> np.ndarray:
        """The step of each row."""
        return np.asarray(self._steps, dtype=np.int64)

    def host(self, width: Optional[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(values, steps)`` on the host: values of shape ``(rows,)`` or ``(rows, width)``.

        ``width`` (None for a global attribute) shapes the empty array returned when nothing was recorded.

        The values array is the recording's own (never modified in place afterwards): copy it before
        modifying it.
        """
        if self._unread:
            backend = self._backend
            with backend.activate():  # stack on the monitor's device and stream (gpu fix, issue 14)
                fresh = backend.to_host(backend.xp.stack(self._unread))
            self._read_back = fresh if self._read_back is None else np.concatenate([self._read_back, fresh])
            self._unread = []
        values = self._read_back
        if values is None:
            values = np.zeros((0,) if width is None else (0, width), dtype=np.float64)
        return values, self.steps

    def clear(self) -> None:
        """Forget every row."""
        self._unread, self._read_back, self._steps = [], None, []

    def replace(self, values: np.ndarray, steps: np.ndarray) -> None:
        """Hold exactly ``values`` / ``steps`` (validated host arrays: a restored recording)."""
        self._unread = []
        self._read_back = values if len(steps) else None
        self._steps = [int(s) for s in steps]
