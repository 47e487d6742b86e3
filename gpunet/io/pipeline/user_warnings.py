"""Warnings that point at the user's line, whichever gpunet function path led to them.

``warnings.warn(..., stacklevel=N)`` with a fixed N points at the right line
for one call path only (``gn.load`` and ``net.load`` differ by one frame);
:func:`warn_at_caller` counts the frames inside the gpunet package instead.
"""
from __future__ import annotations

import os
import sys
import warnings

import gpunet.errors

_PACKAGE_DIR = os.path.dirname(os.path.abspath(gpunet.errors.__file__)) + os.sep  # the gpunet package folder


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """Issue ``message`` attributed to the first frame outside the gpunet package."""
    frame = sys._getframe(1)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
