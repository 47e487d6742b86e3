"""Recorded spikes as events: (step, rank) pairs, memory proportional to the spikes recorded.

Finding which neurons spiked needs the number of spikes on the host, which on
a GPU is a device-to-host synchronisation.  So each step's spike mask is only
copied into a device block of ``block_steps`` rows (no synchronisation); the
block is read back whole and turned into events once it is full or when the
events are asked for: one read-back per block, not per step.  Events are
kept on the host in arrays that double when full.  Memory: the block (``block_steps x neurons``
booleans, allocated at the first step and bounded by :data:`MAX_BLOCK_BYTES`)
plus 16 bytes per recorded spike.
"""
from __future__ import annotations

from typing import Any

import numpy as np

INITIAL_CAPACITY = 1024
#: Steps staged on the device before they are turned into events (fewer for very large populations).
BLOCK_STEPS = 256
MAX_BLOCK_BYTES = 16 << 20


class SpikeEvents:
    """Spike events appended step by step, returned in step order, ranks ascending within a step.

    Parameters
    ----------
    backend : Backend
        Array module, device context and host transfers of the network.
    capacity : int
        Events held before the first growth of the host arrays; they double when full.
    block_steps : int, optional
        Steps staged on the device per read-back (default :data:`BLOCK_STEPS`,
        fewer when a block would exceed :data:`MAX_BLOCK_BYTES`).
    """

    def __init__(self, backend: Any, capacity: int = INITIAL_CAPACITY, block_steps: int = BLOCK_STEPS) -> None:
        self._backend = backend
        self._capacity = int(capacity)
        self._block_steps = int(block_steps)
        self._block = None            # device (block_steps, neurons) booleans
        self._block_rows: list[int] = []  # the step of each filled row
        self._steps = np.zeros(0, dtype=np.int64)
        self._ranks = np.zeros(0, dtype=np.int64)
        self.count = 0                # events already turned out of blocks

    @property
    def nbytes(self) -> int:
        """Bytes held: the event arrays (allocated capacity) and the device block."""
        block = 0 if self._block is None else int(self._block.nbytes)
        return int(self._steps.nbytes + self._ranks.nbytes) + block

    def append(self, step: int, spiked: Any) -> None:
        """Record the neurons whose entry of the boolean mask ``spiked`` is true, at ``step``.

        Runs in the network's device context (the simulation loop's); copies
        the mask on the device and reads nothing back until a block is full.
        """
        if self._block is None:
            neurons = max(1, int(spiked.size))
            rows = max(1, min(self._block_steps, MAX_BLOCK_BYTES // neurons))
            self._block = self._backend.xp.zeros((rows, int(spiked.size)), dtype=bool)
        self._block[len(self._block_rows)] = spiked
        self._block_rows.append(int(step))
        if len(self._block_rows) == len(self._block):
            self._flush()

    def extend(self, steps: np.ndarray, ranks: np.ndarray) -> None:
        """Record host events ``(steps, ranks)`` (step order, ranks ascending within a step) after all earlier ones.

        For the compiled runner, which records a chunk of steps' spikes as events itself.
        """
        self._flush()
        added = len(ranks)
        if added:
            self._reserve(self.count + added)
            self._steps[self.count:self.count + added] = steps
            self._ranks[self.count:self.count + added] = ranks
            self.count += added

    def _flush(self) -> None:
        """Turn the filled rows of the block into events (one read-back)."""
        filled = len(self._block_rows)
        if filled == 0:
            return
        backend = self._backend
        with backend.activate():  # the rows come back whole: one read-back, and no device-side count to wait for
            rows, ranks = np.nonzero(backend.to_host(self._block[:filled]))
        added = len(ranks)
        if added:
            self._reserve(self.count + added)
            self._steps[self.count:self.count + added] = np.asarray(self._block_rows, dtype=np.int64)[rows]
            self._ranks[self.count:self.count + added] = ranks
            self.count += added
        self._block_rows = []

    def _reserve(self, needed: int) -> None:
        if needed <= len(self._steps):
            return
        capacity = max(self._capacity, 2 * len(self._steps), needed)
        for name in ("_steps", "_ranks"):
            grown = np.empty(capacity, dtype=np.int64)
            grown[:self.count] = getattr(self, name)[:self.count]
            setattr(self, name, grown)

    def __len__(self) -> int:
        """Spikes recorded (reads the device block back first)."""
        self._flush()
        return self.count

    def host(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies ``(steps, ranks)`` of every event, in recording order."""
        self._flush()
        return self._steps[:self.count].copy(), self._ranks[:self.count].copy()

    def replace(self, steps: np.ndarray, ranks: np.ndarray) -> None:
        """Hold exactly these events (validated int64 host arrays of equal length: a restored recording)."""
        self.clear()
        self._reserve(len(steps))
        self._steps[:len(steps)] = steps
        self._ranks[:len(ranks)] = ranks
        self.count = len(steps)

    def clear(self) -> None:
        """Forget every event and release the arrays."""
        self._block, self._block_rows = None, []
        self._steps = np.zeros(0, dtype=np.int64)
        self._ranks = np.zeros(0, dtype=np.int64)
        self.count = 0
