"""Peak memory and wall time of every fuzzing input, kept per generator and summarised (issue 18).

``measure(name, size, action)`` runs one input under :mod:`tracemalloc` (NumPy reports its arrays to it)
and a clock, keeps ``(size, peak bytes, seconds)`` under ``name``, and returns ``(peak, outcome)``: the
action's result, or the gpunet error it raised (any other exception escapes).  ``summary()`` prints the
worst input of each generator (seen with ``pytest -s``; ``GPUNET_TEST_PROFILE=long`` runs many more).
"""
from __future__ import annotations

import time
import tracemalloc
from typing import Any, Callable

from gpunet.errors import GpunetError

#: name -> [(input size, peak traced bytes, wall seconds), ...]
RECORDS: dict[str, list[tuple[int, int, float]]] = {}


def measure(name: str, size: int, action: Callable[[], Any], max_seconds: float = 5.0) -> tuple[int, Any]:
    """Run ``action`` for one input; record and bound its wall time; only gpunet errors are caught."""
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = action()
    except GpunetError as exc:
        outcome = exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        if not tracing:
            tracemalloc.stop()
    RECORDS.setdefault(name, []).append((size, peak, elapsed))
    assert elapsed < max_seconds, f"{name}: one input took {elapsed:.1f} s"
    return peak, outcome


def summary(names: Any = None) -> str:
    """One line per generator: inputs run, the largest peak memory and the longest wall time."""
    lines = []
    for name, records in sorted(RECORDS.items()):
        if names is not None and name not in names:
            continue
        worst_memory = max(records, key=lambda r: r[1])
        worst_time = max(records, key=lambda r: r[2])
        lines.append(f"{name}: {len(records)} inputs; peak traced memory at most {worst_memory[1] / 1024:.0f} KiB "
                     f"(input of {worst_memory[0]} bytes); wall time at most {worst_time[2] * 1000:.1f} ms")
    return "\n".join(lines)
