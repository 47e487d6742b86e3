"""Random distributions for initial values, weights and delays.

They are drawn on the host with NumPy's Generator, seeded from the network's
seed and a per-network draw counter, so the same script with the same seed
builds the same network on every backend.
"""
from __future__ import annotations

from typing import Optional

import numpy as np


class Distribution:
    """Base class: ``draw(generator, shape)`` returns a float64 array."""

    def draw(self, generator: np.random.Generator, shape) -> np.ndarray:
        """Draw values of the distribution.

        Parameters
        ----------
        generator : numpy.random.Generator
            The source of randomness (the network's, for reproducible builds).
        shape : int or tuple of int
            Shape of the result.

        Returns
        -------
        numpy.ndarray
            float64 values.
        """
        raise NotImplementedError

    def _bounded(self, values: np.ndarray, low: Optional[float], high: Optional[float]) -> np.ndarray:
        if low is not None or high is not None:
            values = np.clip(values, low, high)
        return values


class Uniform(Distribution):
    """Uniform distribution on [min, max).

    Parameters
    ----------
    min, max : float
        The bounds (``max >= min``).

    Examples
    --------
    >>> import numpy as np
    >>> Uniform(0.0, 1.0).draw(np.random.default_rng(0), 3).shape
    (3,)
    """

    def __init__(self, min: float, max: float) -> None:  # noqa: A002 - ANNarchy's names
        if not max >= min:
            raise ValueError(f"Uniform: max ({max}) must be >= min ({min})")
        self.min, self.max = float(min), float(max)

    def draw(self, generator, shape):
        return generator.uniform(self.min, self.max, shape)

    def __repr__(self) -> str:
        return f"Uniform({self.min}, {self.max})"


class DiscreteUniform(Distribution):
    """Integers uniformly drawn from [min, max] (both included).

    Parameters
    ----------
    min, max : int
        The bounds, both included (``max >= min``).
    """

    def __init__(self, min: int, max: int) -> None:  # noqa: A002
        if not max >= min:
            raise ValueError(f"DiscreteUniform: max ({max}) must be >= min ({min})")
        self.min, self.max = int(min), int(max)

    def draw(self, generator, shape):
        return generator.integers(self.min, self.max + 1, shape).astype(np.float64)

    def __repr__(self) -> str:
        return f"DiscreteUniform({self.min}, {self.max})"


class Normal(Distribution):
    """Normal distribution, optionally clipped to [min, max].

    Parameters
    ----------
    mu, sigma : float
        Mean and standard deviation (``sigma >= 0``).
    min, max : float, optional
        Values below ``min`` / above ``max`` are clipped to them.
    """

    def __init__(self, mu: float, sigma: float, min: Optional[float] = None,  # noqa: A002
                 max: Optional[float] = None) -> None:  # noqa: A002
        if sigma < 0:
            raise ValueError(f"Normal: sigma must be >= 0, got {sigma}")
        self.mu, self.sigma, self.min, self.max = float(mu), float(sigma), min, max

    def draw(self, generator, shape):
        return self._bounded(generator.normal(self.mu, self.sigma, shape), self.min, self.max)

    def __repr__(self) -> str:
        return f"Normal({self.mu}, {self.sigma})"


class LogNormal(Distribution):
    """Log-normal distribution (``mu``, ``sigma`` of the underlying normal).

    Parameters
    ----------
    mu, sigma : float
        Mean and standard deviation of the logarithm (``sigma >= 0``).
    min, max : float, optional
        Values below ``min`` / above ``max`` are clipped to them.
    """

    def __init__(self, mu: float, sigma: float, min: Optional[float] = None,  # noqa: A002
                 max: Optional[float] = None) -> None:  # noqa: A002
        if sigma < 0:
            raise ValueError(f"LogNormal: sigma must be >= 0, got {sigma}")
        self.mu, self.sigma, self.min, self.max = float(mu), float(sigma), min, max

    def draw(self, generator, shape):
        return self._bounded(generator.lognormal(self.mu, self.sigma, shape), self.min, self.max)

    def __repr__(self) -> str:
        return f"LogNormal({self.mu}, {self.sigma})"
