"""``Monitor.save``: a monitor's recordings to ``.npz`` (NumPy, no pickle) or ``.nwb``
(:mod:`gpunet.io.formats.nwb_export`).

The ``.npz`` holds the arrays of ``Monitor.export_arrays`` under their names
(``spike.steps``, ``spike.ranks``, ``<variable>``, ``<variable>.steps``,
``info.*``; docs/FORMAT.md, "Monitor.save"), written with ``numpy.savez`` and
committed atomically; ``numpy.load(path)`` reads it back without pickle.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gpunet.io.formats import nwb_export
from gpunet.io.storage.atomic import write_atomic

SUFFIXES = (".npz", ".nwb")


def check_available(path: Path) -> None:
    """FormatError naming ``path`` when its format cannot be written here (``.nwb`` without pynwb)."""
    if path.suffix.lower() == ".nwb":
        nwb_export.require(path)


def write(path: Path, arrays: dict) -> None:
    """Write ``arrays`` (``Monitor.export_arrays()``) to ``path`` in the format of its suffix."""
    if path.suffix.lower() == ".nwb":
        nwb_export.write(path, arrays)
        return
    write_atomic(path, lambda stream: np.savez(stream, **arrays))
