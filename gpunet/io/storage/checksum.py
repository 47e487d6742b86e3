"""CRC-32 (the checksum of ZIP members), as fast as the machine allows.

zlib-ng's SIMD implementation (a dependency of gpunet on the common platforms)
is several times faster than the C library zlib's; both compute the same
IEEE CRC-32, so files do not depend on which one wrote them.
"""
from __future__ import annotations

import zlib

try:
    from zlib_ng import zlib_ng as _fast
except ImportError:  # pragma: no cover - platforms without a zlib-ng wheel
    _fast = None

IMPLEMENTATION = "zlib-ng" if _fast is not None else "zlib"


def crc32(data, value: int = 0) -> int:
    """CRC-32 of ``data`` (any buffer), continuing from ``value``."""
    return (_fast.crc32 if _fast is not None else zlib.crc32)(data, value)
