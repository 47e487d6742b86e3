"""The default network: the one ``gpunet.Population(...)`` joins when no ``network=`` is given.

It imports nothing of :mod:`gpunet.network`: :mod:`gpunet.network.network`
registers the class that makes it (:func:`register`), so populations and
projections find the default network without importing the network module
that imports them.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

_factory: Optional[Callable[..., Any]] = None
_current: Any = None
#: Keyword arguments of the next default network (``gpunet.setup`` keeps them across ``gpunet.clear``).
settings: dict = {}


def register(factory: Callable[..., Any]) -> None:
    """Make default networks with ``factory(**settings)`` (the Network class)."""
    global _factory
    _factory = factory


def default_network() -> Any:
    """The module-level network the functions ``gpunet.compile()``, ``simulate()``... act on."""
    global _current
    if _current is None:
        if _factory is None:  # pragma: no cover - gpunet.network registers it on import
            raise RuntimeError("import gpunet.network before asking for the default network")
        _current = _factory(**settings)
    return _current


def current() -> Any:
    """The default network if one exists, else None (asks nothing to be made)."""
    return _current


def replace(network: Any) -> None:
    """Make ``network`` the default network (None: a new one is made when next asked for)."""
    global _current
    _current = network
