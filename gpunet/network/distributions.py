"""Random distributions for initial values, weights and delays.

They are drawn on the host with NumPy's Generator, seeded from the network's
seed and a per-network draw counter, so the same script with the same seed
builds the same network on every backend.

A process of a network under comm needs only a part of a draw (the synapses or
neurons it holds): :meth:`Distribution.draw_part` gives values ``[start, stop)``
of ``draw(generator, size)``, bit for bit, holding only them and a bounded
chunk.  ``Uniform`` jumps to ``start`` (one 64-bit word per value, and the
PCG64 generator advances in constant time); the other distributions draw a
variable number of words per value (rejection), so they run through the
values before ``start`` in chunks and keep none of them.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

#: Values drawn at once while running through the values a process does not keep (bounds the memory of a skip).
SKIP_CHUNK = 1 << 20


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

    def skip(self, generator: np.random.Generator, count: int) -> None:
        """Move ``generator`` past ``count`` values, as ``draw(generator, count)`` would, keeping none.

        Parameters
        ----------
        generator : numpy.random.Generator
            The source of randomness.
        count : int
            Values to pass over.
        """
        remaining = int(count)
        while remaining > 0:  # one value after the other in the stream: chunks do not change the values
            chunk = min(remaining, SKIP_CHUNK)
            self.draw(generator, chunk)
            remaining -= chunk

    def draw_part(self, generator: np.random.Generator, size: int, start: int, stop: int,
                  finish: bool = False) -> np.ndarray:
        """Values ``[start, stop)`` of ``draw(generator, size)``, bit for bit, without drawing the others at once.

        Parameters
        ----------
        generator : numpy.random.Generator
            The source of randomness, where ``draw(generator, size)`` would start.
        size : int
            Values of the whole draw.
        start, stop : int
            The part kept, ``0 <= start <= stop <= size``.
        finish : bool
            Leave ``generator`` where the whole draw would have (later draws from it then match too).

        Returns
        -------
        numpy.ndarray
            ``stop - start`` float64 values.
        """
        size, start, stop = int(size), int(start), int(stop)
        if not 0 <= start <= stop <= size:
            raise ValueError(f"draw_part: need 0 <= start <= stop <= size, got {start}, {stop}, {size}")
        self.skip(generator, start)
        values = self.draw(generator, stop - start)
        if finish:
            self.skip(generator, size - stop)
        return values

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

    def skip(self, generator, count):
        # one 64-bit word per value (next_double); PCG64 jumps ahead in constant time
        bits = generator.bit_generator
        if type(bits) in (np.random.PCG64, np.random.PCG64DXSM):
            bits.advance(int(count))
        else:
            super().skip(generator, count)

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


class Exponential(Distribution):
    """Exponential distribution of mean ``Lambda``, optionally clipped to [min, max].

    As ANNarchy 5 draws it (``numpy.random.Generator.exponential(Lambda)``):
    ``Lambda`` is the scale (the mean, 1 / rate), whatever ANNarchy's
    docstring's density says, so that a ported script draws the same
    distribution.

    Parameters
    ----------
    Lambda : float
        The mean (scale), >= 0.
    min, max : float, optional
        Clip the values to [min, max].
    """

    def __init__(self, Lambda: float, min: Optional[float] = None,  # noqa: N803,A002 - ANNarchy's names
                 max: Optional[float] = None) -> None:  # noqa: A002
        if not Lambda >= 0:
            raise ValueError(f"Exponential: Lambda must be >= 0, got {Lambda}")
        self.Lambda, self.min, self.max = float(Lambda), min, max

    def draw(self, generator, shape):
        return self._bounded(generator.exponential(self.Lambda, shape), self.min, self.max)

    def __repr__(self) -> str:
        return f"Exponential({self.Lambda})"


class Gamma(Distribution):
    """Gamma distribution of shape ``alpha`` and scale ``beta``, optionally clipped to [min, max].

    Parameters
    ----------
    alpha : float
        Shape, > 0.
    beta : float
        Scale, > 0.
    min, max : float, optional
        Clip the values to [min, max].
    """

    def __init__(self, alpha: float, beta: float = 1.0, min: Optional[float] = None,  # noqa: A002
                 max: Optional[float] = None) -> None:  # noqa: A002
        if not alpha > 0 or not beta > 0:
            raise ValueError(f"Gamma: alpha and beta must be > 0, got {alpha} and {beta}")
        self.alpha, self.beta, self.min, self.max = float(alpha), float(beta), min, max

    def draw(self, generator, shape):
        return self._bounded(generator.gamma(self.alpha, self.beta, shape), self.min, self.max)

    def __repr__(self) -> str:
        return f"Gamma({self.alpha}, {self.beta})"


class Binomial(Distribution):
    """Number of successes of ``n`` trials of probability ``p`` (integers, returned as floats).

    Parameters
    ----------
    n : int
        Trials, >= 0.
    p : float
        Probability of success of each, in [0, 1].
    """

    def __init__(self, n: int, p: float) -> None:
        if int(n) != n or n < 0:
            raise ValueError(f"Binomial: n must be an integer >= 0, got {n}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Binomial: p must lie in [0, 1], got {p}")
        self.n, self.p = int(n), float(p)

    def draw(self, generator, shape):
        return generator.binomial(self.n, self.p, shape).astype(np.float64)

    def __repr__(self) -> str:
        return f"Binomial({self.n}, {self.p})"
