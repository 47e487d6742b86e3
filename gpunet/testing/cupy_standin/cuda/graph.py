"""``cupy.cuda.graph.Graph`` of the stand-in: the raw-kernel launches a stream captured, replayed on launch.

A stream between ``begin_capture()`` and ``end_capture()`` records each raw
kernel launched on it (checked as any launch, run later) instead of running
it; any other device operation or a synchronisation on a capturing stream
raises :class:`~gpunet.testing.cupy_standin.cuda.errors.CUDARuntimeError`,
as CUDA refuses what it cannot capture (the stand-in captures raw kernels
only, which is stricter than CuPy).  :meth:`Graph.launch` runs the recorded
kernels in order with the arguments they had at capture, each counted as a
launch (``launches.by_kernel``), the graph itself once in ``launches.graphs``.
"""
from __future__ import annotations

from typing import Any, Optional

from gpunet.testing.cupy_standin import _hazards, _state


class Graph:
    """A captured sequence of raw-kernel launches (made by ``Stream.end_capture()``)."""

    def __init__(self, launches: list, device: int) -> None:
        self._launches = list(launches)
        self.device = device

    @property
    def size(self) -> int:
        """How many kernels one launch runs."""
        return len(self._launches)

    def upload(self, stream: Optional[Any] = None) -> None:
        """Nothing to prepare on the stand-in."""

    def launch(self, stream: Optional[Any] = None) -> None:
        """Run the captured kernels in order on ``stream`` (default: the current one)."""
        if _state.current_device() != self.device:
            raise ValueError(f"a graph captured on device {self.device} launched while device "
                             f"{_state.current_device()} is current")
        _state.launches.count_graph()
        for name, function, converted, reads, writes in self._launches:
            _state.launches.count(name, in_graph=True)
            _hazards.operation(f"kernel {name} (graph)", reads, writes, stream=stream)
            function(*converted)
