"""A small terminal progress bar for long simulations (stderr, no dependency)."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class ProgressBar:
    """Shows ``[#####.....] 52% 520/1000 ms  elapsed 3.1 s  left 2.9 s`` on a terminal.

    With ``enabled=None`` the bar appears only when the stream is a terminal
    and the run is expected to last more than ``min_seconds``; ``True`` forces
    it (also to a file), ``False`` silences it.
    """

    def __init__(self, total_steps: int, dt: float, enabled: Optional[bool] = None,
                 stream: Optional[TextIO] = None, min_seconds: float = 2.0, width: int = 30) -> None:
        self.total = max(int(total_steps), 1)
        self.dt = dt
        self.stream = stream or sys.stderr
        self.forced = enabled
        self.min_seconds = min_seconds
        self.width = width
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.visible = False

    def _wanted(self, elapsed: float, done: int) -> bool:
        if self.forced is not None:
            return self.forced
        if not getattr(self.stream, "isatty", lambda: False)():
            return False
        expected = elapsed / max(done, 1) * self.total
        return elapsed > 0.25 and expected > self.min_seconds

    def update(self, done: int) -> None:
        """Redraw (at most 10 times a second) after ``done`` steps."""
        now = time.perf_counter()
        if now - self.last_draw < 0.1 and done < self.total:
            return
        elapsed = now - self.start
        if not self.visible and not self._wanted(elapsed, done):
            return
        self.visible = True
        self.last_draw = now
        fraction = done / self.total
        filled = int(self.width * fraction)
        left = elapsed / fraction - elapsed if fraction > 0 else float("nan")
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                          f"{done * self.dt:.0f}/{self.total * self.dt:.0f} ms  elapsed {elapsed:.1f} s  "
                          f"left {left:.1f} s ")
        self.stream.flush()

    def close(self) -> None:
        if self.visible:
            self.update(self.total)
            self.stream.write("\n")
            self.stream.flush()
