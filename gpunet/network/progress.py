"""The progress bar of long simulations: tqdm's automatic front end (a widget in notebooks, a bar on terminals)."""
from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO

from tqdm.auto import tqdm

#: What the bar shows: percentage, bar, simulated ms done and in all, elapsed and remaining time.
BAR_FORMAT = "{l_bar}{bar}| {n:g}/{total:g} ms [{elapsed}<{remaining}]"


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where tqdm.auto draws a widget)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class ProgressBar:
    """Shows the simulated time done, in ms, with tqdm (``tqdm.auto``).

    With ``enabled=None`` the bar appears only on a terminal (``stream`` is a
    tty) or in a notebook, and once the run is expected to last more than
    ``min_seconds``; ``True`` forces it (also to a file), ``False`` silences it.
    """

    def __init__(self, total_steps: int, dt: float, enabled: Optional[bool] = None,
                 stream: Optional[TextIO] = None, min_seconds: float = 2.0) -> None:
        self.total = max(int(total_steps), 1)
        self.dt = dt
        self.stream = stream or sys.stderr
        self.forced = enabled
        self.min_seconds = min_seconds
        self.start = time.perf_counter()
        self.bar: Optional[Any] = None
        self._shown = 0

    @property
    def visible(self) -> bool:
        """Whether the bar has appeared."""
        return self.bar is not None

    def may_show(self) -> bool:
        """Whether the bar may appear during this run (forced, or a terminal or notebook to draw on)."""
        if self.forced is not None:
            return self.forced
        return bool(getattr(self.stream, "isatty", lambda: False)() or in_notebook())

    def _wanted(self, elapsed: float, done: int) -> bool:
        if self.forced is not None:
            return self.forced
        if not (getattr(self.stream, "isatty", lambda: False)() or in_notebook()):
            return False
        expected = elapsed / max(done, 1) * self.total
        return elapsed > 0.25 and expected > self.min_seconds

    def update(self, done: int) -> None:
        """Advance to ``done`` steps (tqdm redraws at most about 10 times a second)."""
        if self.bar is None:
            if self.forced is False or not self._wanted(time.perf_counter() - self.start, done):
                return
            self.bar = tqdm(total=self.total, unit="ms", unit_scale=self.dt if self.dt != 1.0 else False,
                            file=self.stream, bar_format=BAR_FORMAT, dynamic_ncols=True, leave=True)
            self.bar.start_t -= time.perf_counter() - self.start  # the steps already done count as elapsed
        self.bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
