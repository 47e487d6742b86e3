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


def _gf2_times(matrix: list, vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list) -> list:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _combine_slow(crc1: int, crc2: int, length2: int) -> int:
    """zlib's ``crc32_combine`` in Python: shift ``crc1`` over ``length2`` zero bytes by squaring the
    GF(2) operator of one zero bit (where zlib-ng, which has it in C, is missing)."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator of one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # one zero byte first, then doubling
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of ``A + B`` from ``crc1`` (of ``A``), ``crc2`` (of ``B``) and ``length2`` (bytes of ``B``).

    Parameters
    ----------
    crc1, crc2 : int
        CRC-32 of the first and of the second piece.
    length2 : int
        Length of the second piece in bytes.

    Examples
    --------
    >>> crc32_combine(crc32(b"hello "), crc32(b"world"), 5) == crc32(b"hello world")
    True
    """
    if _fast is not None:
        return _fast.crc32_combine(crc1, crc2, length2)
    return _combine_slow(crc1, crc2, length2)
