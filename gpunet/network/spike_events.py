"""Recorded spikes as events: growable (step, rank) arrays on the network's device.

A monitor keeps one :class:`SpikeEvents`; its memory is proportional to the
number of spikes recorded (plus one initial chunk), not to neurons x steps.
"""
from __future__ import annotations

from typing import Any

import numpy as np

INITIAL_CAPACITY = 1024


class SpikeEvents:
    """Spike events appended step by step, in step order, ranks ascending within a step.

    Parameters
    ----------
    backend : Backend
        Array module and host transfers of the network.
    capacity : int
        Events held before the first growth; the arrays double when full.
    """

    def __init__(self, backend: Any, capacity: int = INITIAL_CAPACITY) -> None:
        self._backend = backend
        self._capacity = int(capacity)
        self._steps = None
        self._ranks = None
        self.count = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the event arrays (allocated capacity)."""
        if self._steps is None:
            return 0
        return int(self._steps.nbytes + self._ranks.nbytes)

    def append(self, step: int, spiked: Any) -> None:
        """Record the neurons whose entry of the boolean mask ``spiked`` is true, at ``step``."""
        xp = self._backend.xp
        ranks = xp.flatnonzero(spiked)
        added = int(ranks.size)
        if added == 0:
            return
        self._reserve(self.count + added)
        self._ranks[self.count:self.count + added] = ranks
        self._steps[self.count:self.count + added] = step
        self.count += added

    def _reserve(self, needed: int) -> None:
        xp = self._backend.xp
        if self._steps is None:
            capacity = max(self._capacity, needed)
            self._steps = xp.empty(capacity, dtype=np.int64)
            self._ranks = xp.empty(capacity, dtype=np.int64)
            return
        if needed <= len(self._steps):
            return
        capacity = max(2 * len(self._steps), needed)
        for name in ("_steps", "_ranks"):
            grown = xp.empty(capacity, dtype=np.int64)
            grown[:self.count] = getattr(self, name)[:self.count]
            setattr(self, name, grown)

    def host(self) -> tuple[np.ndarray, np.ndarray]:
        """Host copies ``(steps, ranks)`` of the events, in recording order."""
        if self.count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        to_host = self._backend.to_host
        return (np.array(to_host(self._steps[:self.count]), dtype=np.int64),
                np.array(to_host(self._ranks[:self.count]), dtype=np.int64))

    def clear(self) -> None:
        """Forget every event and release the arrays."""
        self._steps = self._ranks = None
        self.count = 0
