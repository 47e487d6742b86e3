"""Counter-based, stateless random numbers, identical on NumPy and CUDA.

A draw is a pure function of ``(seed, stream, step, counter)``: no generator
state exists, so a snapshot needs only the seed and the step counter to resume
the same random sequence, and a run on the CPU draws exactly the numbers a run
on the GPU draws.  ``kernels/rng.cuh`` implements the same integer algorithm in
CUDA C; tests compare both bit for bit.

Algorithm (all arithmetic modulo 2**64)::

    mix(z)     = SplitMix64 finaliser: z ^= z >> 30; z *= M1; z ^= z >> 27; z *= M2; z ^= z >> 31
    key        = mix(seed + G * (stream + 1))
    step_key   = mix(key ^ (G * (step + 1)))
    bits(i)    = mix(step_key + G * (i + 1))
    uniform(i) = (bits(i) >> 11) * 2**-53            in [0, 1)
    normal(i)  = sqrt(-2 log(1 - uniform(2i))) * cos(2 pi uniform(2i + 1))

with ``G = 0x9E3779B97F4A7C15``, ``M1 = 0xBF58476D1CE4E5B9``,
``M2 = 0x94D049BB133111EB``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
_U53 = 2.0 ** -53
TWO_PI = 2.0 * math.pi


def mix64(z: int) -> int:
    """SplitMix64 finaliser on a Python int (host side keys)."""
    z &= MASK64
    z ^= z >> 30
    z = (z * MIX1) & MASK64
    z ^= z >> 27
    z = (z * MIX2) & MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, stream: int) -> int:
    """The key of one random stream (one noise call site of one object)."""
    return mix64((seed + GOLDEN * (stream + 1)) & MASK64)


def step_key(key: int, step: int) -> int:
    """The key of one stream at one step."""
    return mix64(key ^ ((GOLDEN * (step + 1)) & MASK64))


def _mix_array(xp: Any, z: Any) -> Any:
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(MIX1)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def random_bits(xp: Any, key: int, step: int, counters: Any) -> Any:
    """64 random bits per counter (uint64 array of the shape of ``counters``)."""
    base = np.uint64(step_key(key, step))
    with np.errstate(over="ignore"):
        z = base + (counters.astype(np.uint64) + np.uint64(1)) * np.uint64(GOLDEN)
        return _mix_array(xp, z)


def uniform01(xp: Any, key: int, step: int, counters: Any, dtype=np.float64) -> Any:
    """Uniform numbers in [0, 1) (53 random bits, then cast to ``dtype``)."""
    bits = random_bits(xp, key, step, counters)
    values = (bits >> np.uint64(11)).astype(np.float64) * _U53
    return values if dtype == np.float64 else values.astype(dtype)


def uniform(xp: Any, key: int, step: int, size: int, low: Any, high: Any, dtype=np.float64,
            start: int = 0) -> Any:
    """``size`` draws of Uniform(low, high) for one step of one stream, of the counters ``start .. start + size - 1``.

    ``start`` lets a process draw the numbers of its own block of neurons (their global ranks) alone.
    """
    counters = xp.arange(start, start + size, dtype=np.uint64)
    u = uniform01(xp, key, step, counters)
    return (low + (high - low) * u).astype(dtype, copy=False)


def normal(xp: Any, key: int, step: int, size: int, mean: Any, std: Any, dtype=np.float64,
           start: int = 0) -> Any:
    """``size`` draws of Normal(mean, std) for one step of one stream (Box-Muller), of the counters from ``start``."""
    counters = xp.arange(start, start + size, dtype=np.uint64) * np.uint64(2)
    u1 = uniform01(xp, key, step, counters)
    u2 = uniform01(xp, key, step, counters + np.uint64(1))
    z = xp.sqrt(-2.0 * xp.log(1.0 - u1)) * xp.cos(TWO_PI * u2)
    return (mean + std * z).astype(dtype, copy=False)
