"""The save/load functions of the ``gpunet`` namespace, acting on the default network as ANNarchy's do.

``gpunet.save``, ``gpunet.load``, ``gpunet.load_latest``,
``gpunet.save_parameters``, ``gpunet.load_parameters`` and
``gpunet.wait_for_saves`` choose the network here, then call :mod:`gpunet.io`,
which only works on the network it is handed: objects given in
``populations=[...]`` / ``projections=[...]`` decide (their own network, an
error when they belong to different networks or to another one than
``network=``); else ``network=``; else the default network (the one
``gpunet.Population(...)`` fills), which must not be empty: a script that
built a ``Network`` object meant its methods (``net.save``, ``net.load``...).
This module sits above both :mod:`gpunet.network` and :mod:`gpunet.io`, so
that io never imports the network package.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from gpunet.errors import StructureError
from gpunet.io import api as io_api
from gpunet.io import parameters as io_parameters
from gpunet.io import snapshots as io_snapshots
from gpunet.network.network import default_network

__all__ = ["save", "load", "load_latest", "save_parameters", "load_parameters", "wait_for_saves"]

_Function = TypeVar("_Function", bound=Callable[..., Any])


def _network(network: Any, *selections: Any, action: str, methods: str) -> Any:
    net = io_api.network_for(network, *selections, action=action)
    if net is not None:
        return net
    net = default_network()
    if not net.populations and not net.projections:
        raise StructureError(f"{action}: the default network (the one gpunet.Population(...) fills) is empty; "
                             f"with a Network object call its method ({methods}) or pass network=net")
    return net


def _on_default_network(io_function: _Function, methods: str, selections: tuple[str, ...] = ()) -> _Function:
    """``io_function`` with ``network=`` chosen as the module says (docstring and signature are io's)."""
    signature = inspect.signature(io_function)

    @functools.wraps(io_function)
    def call(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        given = bound.arguments
        action = f"{io_function.__name__}({str(args[0] if args else next(iter(given.values()), ''))!r})"
        chosen = [given.get(name, True) for name in selections]
        given["network"] = _network(given.get("network"), *chosen, action=action, methods=methods)
        return io_function(*bound.args, **bound.kwargs)
    return call  # type: ignore[return-value]


_STATE_METHODS = "net.save, net.load, net.load_latest"
_PARAMETER_METHODS = "net.save_parameters, net.load_parameters"

save = _on_default_network(io_api.save, _STATE_METHODS, ("populations", "projections"))
load = _on_default_network(io_api.load, _STATE_METHODS, ("populations", "projections"))
load_latest = _on_default_network(io_snapshots.load_latest, _STATE_METHODS)
save_parameters = _on_default_network(io_parameters.save_parameters, _PARAMETER_METHODS)
load_parameters = _on_default_network(io_parameters.load_parameters, _PARAMETER_METHODS)


@functools.wraps(io_api.wait_for_saves)
def wait_for_saves(network: Any = None, timeout: Any = None) -> None:
    io_api.wait_for_saves(network=network if network is not None else default_network(), timeout=timeout)
