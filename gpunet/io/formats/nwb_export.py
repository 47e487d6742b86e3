"""Monitors' recordings as Neurodata Without Borders (NWB) files (``Monitor.save("run.nwb")``; extra ``nwb``).

The mapping (:func:`nwb_content`, plain NumPy, tested without pynwb):

* spikes -> the file's units table: one unit per recorded neuron, its id the
  neuron's population rank, its ``spike_times`` in seconds (``step * dt / 1000``:
  the start of the step in which the spike was computed, as ``Monitor.get``'s
  steps);
* each recorded variable -> one ``TimeSeries`` in ``acquisition``, named
  ``<monitor>.<variable>``: ``data`` of shape ``(recorded steps, columns)``
  (``(recorded steps,)`` for a global attribute), ``timestamps`` in seconds,
  ``unit`` ``"n.a."`` (gpunet's models carry no units), and ``comments`` saying
  what the columns are (population ranks, or a projection's synapses as
  ``post<-pre`` pairs in post-major order).

:func:`write` builds the file with pynwb in memory and commits it atomically.
"""
from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import write_bytes_atomic

#: The unit written for recorded variables (the models name none).
UNIT = "n.a."
#: Longest ``comments`` text listing the columns; longer lists are summarised.
MAX_COLUMN_TEXT = 10_000


@dataclass(frozen=True)
class Series:
    """One recorded variable as an NWB TimeSeries."""

    name: str
    data: np.ndarray
    timestamps: np.ndarray
    unit: str
    description: str
    comments: str


@dataclass(frozen=True)
class Units:
    """The spikes as an NWB units table: unit ids and each unit's spike times (s)."""

    ids: np.ndarray
    spike_times: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class NWBContent:
    """What :func:`write` puts in the file."""

    description: str
    units: Optional[Units]
    series: tuple[Series, ...]


def _columns(arrays: dict) -> str:
    if "info.ranks" in arrays:
        ranks = np.asarray(arrays["info.ranks"])
        if ranks.size and np.array_equal(ranks, np.arange(ranks.size)):
            text = f"columns: population ranks 0..{ranks.size - 1}"
        else:
            text = "columns: population ranks " + ",".join(str(int(r)) for r in ranks)
    else:
        pairs = zip(np.asarray(arrays["info.post_ranks"]).tolist(), np.asarray(arrays["info.pre_ranks"]).tolist())
        text = "columns: synapses post<-pre " + ",".join(f"{post}<-{pre}" for post, pre in pairs)
    if len(text) > MAX_COLUMN_TEXT:
        text = text[:MAX_COLUMN_TEXT].rsplit(",", 1)[0] + ",... (Monitor.save to .npz lists them all)"
    return text


def nwb_content(arrays: dict) -> NWBContent:
    """The NWB content of ``Monitor.export_arrays()`` (the module's mapping; no pynwb needed)."""
    dt = float(arrays["info.dt"])
    name, target = str(arrays["info.name"]), str(arrays["info.target"])
    units = None
    if "spike.steps" in arrays:
        ids = np.asarray(arrays["info.ranks"], dtype=np.int64)
        steps, ranks = np.asarray(arrays["spike.steps"]), np.asarray(arrays["spike.ranks"])
        order = np.lexsort((steps, ranks))
        sorted_ranks, sorted_seconds = ranks[order], steps[order].astype(np.float64) * dt / 1000.0
        first, last = np.searchsorted(sorted_ranks, ids, "left"), np.searchsorted(sorted_ranks, ids, "right")
        times = tuple(sorted_seconds[a:b] for a, b in zip(first, last))
        units = Units(ids=ids, spike_times=times)
    variables = [key for key in arrays if "." not in key]
    comments = _columns(arrays)
    series = tuple(Series(name=f"{name}.{variable}", data=np.asarray(arrays[variable]),
                          timestamps=np.asarray(arrays[f"{variable}.steps"], dtype=np.float64) * dt / 1000.0,
                          unit=UNIT, description=f"{variable} of {target} recorded by gpunet monitor {name} "
                                                 f"(every {float(arrays['info.period']):g} ms)",
                          comments=comments)
                   for variable in variables)
    return NWBContent(description=f"gpunet monitor {name} of {target}", units=units, series=series)


def available() -> bool:
    """Whether pynwb can be imported."""
    try:
        import pynwb  # noqa: F401
    except ImportError:
        return False
    return True


def require(path: Path) -> None:
    """FormatError naming ``path`` unless pynwb is installed."""
    if not available():
        raise FormatError(f"{path}: writing NWB files needs pynwb (pip install 'gpunet[nwb]')")


def write(path: Path, arrays: dict, session_start_time: Optional[datetime.datetime] = None) -> None:
    """Write ``Monitor.export_arrays()`` to ``path`` as an NWB file (atomic commit)."""
    require(path)
    import h5py
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    content = nwb_content(arrays)
    start = session_start_time or datetime.datetime.now(datetime.timezone.utc)
    nwbfile = NWBFile(session_description=content.description, identifier=f"gpunet-{Path(path).stem}",
                      session_start_time=start)
    if content.units is not None:
        for unit_id, times in zip(content.units.ids, content.units.spike_times):
            nwbfile.add_unit(id=int(unit_id), spike_times=times)
    for series in content.series:
        nwbfile.add_acquisition(TimeSeries(name=series.name, data=series.data, timestamps=series.timestamps,
                                           unit=series.unit, description=series.description,
                                           comments=series.comments))
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle, NWBHDF5IO(file=handle, mode="w") as writer:
        writer.write(nwbfile)
    write_bytes_atomic(path, buffer.getvalue())


__all__ = ["NWBContent", "Series", "Units", "nwb_content", "write", "available", "UNIT"]
