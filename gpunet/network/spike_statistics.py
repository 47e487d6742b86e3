"""Spike-train statistics of ANNarchy 5's monitors: raster plot, histogram, rates.

Every function takes the ``{rank: [step, ...]}`` dict of ``Monitor.get('spike')``
(times in steps) and gives the numbers ANNarchy 5.0.4.1 gives for the same
dict (its monitors compute some of them in single precision; these are in
double precision, so they agree to about 1e-7 relative).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.signal


def _flatten(spikes: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, ranks)`` of every spike, in the dict's order (rank by rank)."""
    lengths = [len(train) for train in spikes.values()]
    steps = np.concatenate([np.asarray(train, dtype=np.int64) for train in spikes.values()]) if spikes \
        else np.zeros(0, dtype=np.int64)
    ranks = np.repeat(np.fromiter(spikes.keys(), dtype=np.int64, count=len(spikes)), lengths)
    return steps.astype(np.int64), ranks


def raster_plot(spikes: dict, dt: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(times in ms, ranks)`` of every spike, rank by rank in the dict's order."""
    steps, ranks = _flatten(spikes)
    return dt * steps.astype(np.float64), ranks


def histogram(spikes: dict, bins: Optional[float] = None, per_neuron: bool = False,
              recording_window: Optional[tuple] = None, dt: float = 1.0) -> np.ndarray:
    """Spike counts per bin of ``bins`` ms (default ``dt``).

    Bins start at the first spike (or ``recording_window[0]``, in steps) and
    there are ``int(duration / bin_steps) + 1`` of them, as in ANNarchy.
    ``per_neuron`` gives one row per rank up to the largest key.
    """
    bin_steps = int((dt if bins is None else bins) / dt)
    if bin_steps < 1:
        raise ValueError(f"histogram: bins must be at least dt = {dt} ms, got {bins}")
    steps, ranks = _flatten(spikes)
    if recording_window is None:
        if steps.size == 0:
            raise ValueError("histogram: no spike to count and no recording_window given")
        t_min, t_max = int(steps.min()), int(steps.max())
    else:
        t_min, t_max = recording_window
    count = int((t_max - t_min) / bin_steps) + 1
    index = ((steps - t_min) / float(bin_steps)).astype(np.int64)
    if np.any((index < 0) | (index >= count)):
        raise ValueError(f"histogram: spikes outside the recording window {recording_window}")
    if not per_neuron:
        return np.bincount(index, minlength=count).astype(np.int64)
    rows = int(max(spikes.keys())) + 1 if spikes else 0
    counts = np.zeros((rows, count), dtype=np.int64)
    np.add.at(counts, (ranks, index), 1)
    return counts


def rate(spike_count: int, neurons: int, duration_steps: int, dt: float) -> float:
    """Mean firing rate in Hz of ``neurons`` that emitted ``spike_count`` spikes in ``duration_steps``."""
    if neurons == 0 or duration_steps <= 0:
        raise ValueError(f"mean_fr: nothing recorded ({neurons} neurons over {duration_steps} steps)")
    return spike_count / float(neurons) / duration_steps / dt * 1000.0


def mean_fr(spikes: dict, duration: Optional[float] = None, dt: float = 1.0) -> float:
    """ANNarchy's module-level ``mean_fr``: ``duration`` in steps, default first to last spike."""
    steps, _ranks = _flatten(spikes)
    if duration is None:
        duration = int(steps.max()) - int(steps.min()) if steps.size else 0
    return rate(int(steps.size), len(spikes), duration, dt)


def population_rate(spikes: dict, start: int, stop: int, dt: float, smooth: float = 0.0) -> np.ndarray:
    """Population rate (Hz) in each step ``start..stop`` (inclusive), smoothed when ``smooth > dt``.

    The smoothing is ANNarchy's first-order filter
    ``r[t+1] = r[t] + (x[t+1] - r[t]) * dt / smooth`` starting from ``x[0]``.
    """
    length = int(stop) - int(start) + 1
    steps, _ranks = _flatten(spikes)
    counts = np.bincount(steps - int(start), minlength=length)[:length].astype(np.float64)
    rates = counts / (dt * len(spikes) / 1000.0) if spikes else counts
    if smooth <= dt or length == 0:
        return rates
    delta = dt / smooth
    smoothed, _ = scipy.signal.lfilter([delta], [1.0, delta - 1.0], rates, zi=[(1.0 - delta) * rates[0]])
    return smoothed
