"""Global parameters of a network to and from a JSON file (ANNarchy's ``save_parameters``).

Layout (ANNarchy's)::

    {
        "populations": {"<population>": {"<global parameter>": value, ...}, ...},
        "projections": {"<projection>": {"<global parameter>": value, ...}, ...},
        "network": {},
        "constants": {"<constant>": value, ...}
    }

Objects appear in creation order and parameters in declaration order;
``constants`` holds every :class:`~gpunet.Constant` (they are module-wide in
gpunet), as ANNarchy writes its network's.  The
bytes are produced and parsed by :mod:`gpunet.io.formats.params_json`.

Loading validates the whole file against the network first and changes
nothing when it finds a problem; only then are the values applied.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import sympy

from gpunet.errors import FormatError, GpunetError, StructureError
from gpunet.io.formats import params_json
from gpunet.io.pipeline.problems import Problems
from gpunet.io.pipeline.user_warnings import warn_at_caller
from gpunet.io.storage.atomic import PathLike

if TYPE_CHECKING:  # pragma: no cover
    from gpunet.network.network import Network

__all__ = ["save_parameters", "load_parameters"]

SECTIONS = ("populations", "projections", "network", "constants")
_OBJECT_SECTIONS = {"populations": "population", "projections": "projection"}
_INT64 = np.iinfo(np.int64)


def _network(network: Optional["Network"], action: str) -> "Network":
    """``network``, which must be given (``gpunet.save_parameters`` passes the default network: :mod:`gpunet.api`)."""
    if network is None:
        raise StructureError(f"{action}: no network given (gpunet.io's functions take network=; "
                             "gpunet.save_parameters / load_parameters use the default network)")
    return network


def _objects(net: "Network", section: str) -> list:
    return list(net.populations if section == "populations" else net.projections)


def _is_unconnected_projection(obj: Any) -> bool:
    return getattr(obj, "connected", True) is False


def _global_parameters(obj: Any) -> list[str]:
    return [name for name in obj.spec.parameters if obj.spec.attributes[name].is_global]


def _constants(net: "Network") -> dict[str, Any]:
    """The network's constants (``gn.Constant``, module-wide) by name, in declaration order."""
    return {constant.name: constant for constant in net.get_constants()}


def _current_value(obj: Any, name: str) -> Union[float, int, bool]:
    """The current value of global parameter ``name`` (globals exist before a projection is connected)."""
    return getattr(obj, name)


# -- saving ------------------------------------------------------------------
def save_parameters(filename: PathLike, network: Optional["Network"] = None) -> None:
    """Write the global parameters of every population and projection to a JSON file.

    Parameters
    ----------
    filename : str or os.PathLike
        Target file; it is replaced atomically (a crash leaves the old file
        or the new one, never a torn one).
    network : Network, optional
        Network to save (default: the module-level default network).

    Notes
    -----
    The file holds ``{"populations": {name: {parameter: value}},
    "projections": {...}, "network": {}, "constants": {name: value}}``:
    objects in creation order, global parameters in declaration order,
    4-space indent.  Integer and boolean parameters are written as JSON
    integers and bools.  ``constants`` holds the current value of every
    :class:`~gpunet.Constant` (module-wide in gpunet, so every network's file
    lists them all), as ANNarchy does.

    **Difference from ANNarchy:** gpunet writes the *current* value of each
    parameter (what the simulation uses now, including changes made after
    creation or compile), whereas ANNarchy 5 writes the values the model was
    defined with.

    Examples
    --------
    >>> import gpunet as gn, tempfile, pathlib
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create(10, gn.LeakyIntegrator, name="rates")
    >>> pop.tau = 20.0
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "network.json"
    >>> save_parameters(target, network=net)
    >>> print(target.read_text())
    {
        "populations": {
            "rates": {
                "tau": 20.0,
                "T": 0.0
            }
        },
        "projections": {},
        "network": {},
        "constants": {}
    }
    """
    net = _network(network, f"save_parameters({str(filename)!r})")
    content: dict[str, dict] = {}
    for section in ("populations", "projections"):
        content[section] = {obj.name: {name: _current_value(obj, name) for name in _global_parameters(obj)}
                            for obj in _objects(net, section)}
    content["network"] = {}
    content["constants"] = {name: constant.value for name, constant in _constants(net).items()}
    params_json.save(filename, content)


# -- loading: validation -------------------------------------------------------
@dataclass
class _Assignment:
    """One value to set: ``obj.<name> = value``."""

    obj: Any
    kind: str  # "population" | "projection"
    name: str
    value: Union[float, int, bool]
    is_global: bool


def _describe(value: Any) -> str:
    """How a JSON value looks in a message: ``null``, ``an array [1, 2]``, ``str 'x'``."""
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        text = repr(value)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{'an object' if isinstance(value, dict) else 'an array'} {text}"
    return f"{type(value).__name__} {value!r}"


def _coerce(value: Any, kind: str) -> tuple[Optional[Union[float, int, bool]], Optional[str]]:
    """``(value converted to the attribute's kind, None)`` or ``(None, reason)``."""
    if isinstance(value, bool):
        if kind == "bool":
            return value, None
        return None, f"expected a number for this {kind} parameter, found bool {str(value).lower()}"
    if not isinstance(value, (int, float)):
        return None, f"expected a number or a bool, found {_describe(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"expected a finite number, found {value!r}"
    if kind == "bool":
        if value in (0, 1):
            return bool(value), None
        return None, f"expected a bool (true/false, or 0/1) for this bool parameter, found {value!r}"
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            return None, f"expected an integer for this int parameter, found {value!r}"
        if not _INT64.min <= value <= _INT64.max:
            return None, f"expected an integer within 64 bits for this int parameter, found {value!r}"
        return int(value), None
    return float(value), None


def _bound(expression: Optional[sympy.Expr], values: dict[str, Any]) -> Optional[float]:
    """A declared min/max as a float; expressions of global parameters use ``values``; None if unknown."""
    if expression is None:
        return None
    if isinstance(expression, (int, float)):
        return float(expression)
    substitutions = {symbol: float(values[symbol.name]) for symbol in expression.free_symbols
                     if symbol.name in values}
    evaluated = expression.subs(substitutions) if substitutions else expression
    if not evaluated.is_number:
        return None  # depends on local attributes: cannot be checked against one value
    return float(evaluated)


def _check_bounds(assignments: list[_Assignment], problems: Problems) -> None:
    by_object: dict[int, list[_Assignment]] = {}
    for assignment in assignments:
        by_object.setdefault(id(assignment.obj), []).append(assignment)
    for group in by_object.values():
        obj = group[0].obj
        values = {name: _current_value(obj, name) for name in _global_parameters(obj)}
        values.update({a.name: a.value for a in group if a.is_global})
        for assignment in group:
            attribute = obj.spec.attributes[assignment.name]
            lower, upper = _bound(attribute.min, values), _bound(attribute.max, values)
            value = float(assignment.value)
            if (lower is not None and value < lower) or (upper is not None and value > upper):
                limits = f"[{'-inf' if lower is None else lower}, {'inf' if upper is None else upper}]"
                problems.error(f"{assignment.kind} {obj.name!r}, parameter {assignment.name!r}: "
                               f"{assignment.value!r} is outside its declared range {limits}", FormatError)


def _plan_object(obj: Any, kind: str, values: dict, global_only: bool, problems: Problems,
                 source: str) -> list[_Assignment]:
    planned = []
    attributes = obj.spec.attributes
    known = _global_parameters(obj) if global_only else list(obj.spec.parameters)
    for name, raw in values.items():
        where = f"{kind} {obj.name!r}, parameter {name!r}"
        attribute = attributes.get(name)
        if attribute is None:
            warn_at_caller(f"{source}: {kind} {obj.name!r} has no parameter {name!r}; ignored. Its "
                           f"{'global ' if global_only else ''}parameters are: {', '.join(known) or 'none'}",
                           UserWarning)
            continue
        if not attribute.is_parameter:
            problems.error(f"{where}: {name!r} is a variable of model {obj.spec.name!r}, not a parameter; a "
                           f"parameter file only sets parameters ({', '.join(known) or 'none'})")
            continue
        if not attribute.is_global and global_only:
            problems.error(f"{where}: {name!r} is local (one value per "
                           f"{'neuron' if kind == 'population' else 'synapse'}); pass "
                           "global_only=False to set it to this value everywhere")
            continue
        value, reason = _coerce(raw, attribute.kind)
        if reason is not None:
            problems.error(f"{where}: {reason}", FormatError)
            continue
        if not attribute.is_global and _is_unconnected_projection(obj):
            problems.error(f"{where}: projection {obj.name!r} is not connected yet, so its local "
                           f"{name!r} has no synapses to set; connect it first")
            continue
        planned.append(_Assignment(obj, kind, name, value, attribute.is_global))
    return planned


def _section(content: dict, key: str, problems: Problems) -> dict:
    value = content.get(key, {})
    if isinstance(value, dict):
        return value
    problems.error(f"{key!r} must be a JSON object {{...}}, found {_describe(value)}", FormatError)
    return {}


def _plan(net: "Network", content: dict, global_only: bool, source: str) -> tuple[list[_Assignment], dict, list]:
    """Check the whole file against ``net``; return what to set and the ``network`` dict."""
    problems = Problems(source)
    unexpected = [key for key in content if key not in SECTIONS]
    if unexpected:
        warn_at_caller(f"{source}: unknown top-level key(s) {', '.join(map(repr, unexpected))} ignored; a "
                       f"parameter file has {', '.join(map(repr, SECTIONS))}", UserWarning)
    planned: list[_Assignment] = []
    unmatched: list[str] = []
    matched = 0
    for section, kind in _OBJECT_SECTIONS.items():
        by_name = {obj.name: obj for obj in _objects(net, section)}
        for name, values in _section(content, section, problems).items():
            obj = by_name.get(name)
            if obj is None:
                # Its values go nowhere (ANNarchy applies them to the previous object).
                unmatched.append(f"{source}: the network has no {kind} {name!r}; its values are ignored. "
                                 f"{section.capitalize()}: {', '.join(map(repr, by_name)) or 'none'}")
                continue
            matched += 1
            if not isinstance(values, dict):
                problems.error(f"{kind} {name!r}: expected a JSON object of parameter values, "
                               f"found {_describe(values)}", FormatError)
                continue
            planned.extend(_plan_object(obj, kind, values, global_only, problems, source))
    if unmatched and not matched:
        problems.error(f"no object of the file is in the network ({len(unmatched)} in the file, "
                       f"{len(net.populations) + len(net.projections)} in the network): is it the "
                       "wrong network? With a Network object, call net.load_parameters(...)")
    elif unmatched:
        for message in unmatched:
            warn_at_caller(message, UserWarning)
    network_values = _section(content, "network", problems)
    constants = _plan_constants(_constants(net), _section(content, "constants", problems), problems, source)
    _check_bounds(planned, problems)
    problems.raise_if_any("nothing was changed")
    return planned, network_values, constants


def _plan_constants(known: dict, values: dict, problems: Problems, source: str) -> list[tuple[Any, float]]:
    """``(constant, value)`` for the file's constants that exist (checked: finite numbers); a warning for each
    unknown one (ANNarchy's).  Pairs, not a dict: a Constant is a float, equal to any other of its value."""
    planned = []
    for name, value in values.items():
        if name not in known:
            warn_at_caller(f"{source}: constant {name!r} does not exist (gn.Constant); ignored. Constants: "
                           f"{', '.join(map(repr, known)) or 'none'}", UserWarning)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.error(f"constant {name!r}: expected a finite number, found {_describe(value)}", FormatError)
            continue
        planned.append((known[name], float(value)))
    return planned


# -- loading: applying -----------------------------------------------------------
def _apply(planned: list[_Assignment], verbose: bool, constants: Optional[list] = None) -> None:
    """Set every value, then the constants; if one fails, put back those already set and re-raise."""
    done: list[tuple[_Assignment, Any]] = []
    constants = constants or []
    previous_constants = [(constant, constant.value) for constant, _value in constants]
    try:
        for assignment in planned:
            previous = getattr(assignment.obj, assignment.name)
            setattr(assignment.obj, assignment.name, assignment.value)
            done.append((assignment, previous))
        for constant, value in constants:
            constant.set(value)
    except BaseException:
        for assignment, previous in reversed(done):
            setattr(assignment.obj, assignment.name, previous)
        for constant, value in previous_constants:
            constant.set(value)
        raise
    if verbose:
        for assignment, previous in done:
            label = f"{assignment.kind} {assignment.obj.name!r}: {assignment.name} = {assignment.value!r}"
            if assignment.is_global:
                print(f"{label} (was {previous!r})")
            else:
                print(f"{label} (local: set for every {'neuron' if assignment.kind == 'population' else 'synapse'})")


def load_parameters(filename: PathLike, global_only: bool = True, verbose: bool = False,
                    network: Optional["Network"] = None) -> dict:
    """Set parameters of the network's populations and projections from a JSON file.

    Parameters
    ----------
    filename : str or os.PathLike
        A file written by :func:`save_parameters` (gpunet's or ANNarchy's),
        or written by hand in the same layout.  Sections may be missing.
    global_only : bool
        True (default): only global parameters may be named.  False: a local
        parameter named in the file is set to that one value for every neuron
        or synapse.
    verbose : bool
        Print each value that is set.
    network : Network, optional
        Network to modify (default: the module-level default network).

    Returns
    -------
    dict
        The file's ``"network"`` dictionary (empty when absent): free values
        for the user, e.g. to initialize variables.

    Raises
    ------
    FormatError
        Missing or unreadable file; invalid JSON (with line and column); a top
        level or section that is not an object; a value that is not a number
        or a bool, or that does not fit the parameter's type (a non-integral
        float for an ``int`` parameter); NaN or infinity; a value outside the
        parameter's declared ``min``/``max``.
    StructureError
        A variable named instead of a parameter; a local parameter named with
        ``global_only=True``; a local parameter of a projection that is not
        connected yet.

    Every problem in the file is listed in one exception (of the type of the
    first one), and when an exception is raised **nothing has been changed**.

    Warns
    -----
    UserWarning
        For a population, projection or parameter the network does not have
        (the message lists the known names; those values are ignored), for
        trailing commas, unknown top-level keys and a constant that no
        :class:`~gpunet.Constant` declares.

    Notes
    -----
    The file's ``"constants"`` set the :class:`~gpunet.Constant` of each
    name (:meth:`Constant.set`): models defined from then on read the new
    value; gpunet's models already defined keep theirs (ANNarchy's compiled
    networks follow the change).

    Differences from ANNarchy 5: values of an unknown object are ignored
    (ANNarchy applies them to the previously named object); bad values are
    refused before anything changes; trailing commas are accepted with a
    warning.  Works before and after :meth:`Network.compile`.

    Examples
    --------
    >>> import gpunet as gn, tempfile, pathlib
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create(10, gn.LeakyIntegrator, name="rates")
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "network.json"
    >>> _ = target.write_text('{"populations": {"rates": {"tau": 20.0}}, "network": {"r_max": 1.3}}')
    >>> load_parameters(target, network=net)
    {'r_max': 1.3}
    >>> pop.tau
    20.0
    """
    if not isinstance(global_only, bool):
        raise TypeError(f"global_only must be True or False, got {global_only!r}")
    net = _network(network, f"load_parameters({str(filename)!r})")
    source = os.fspath(filename)
    content = params_json.load(filename)
    planned, network_values, constants = _plan(net, content, global_only, source)
    try:
        with net.backend.activate():
            _apply(planned, verbose, constants)
    except GpunetError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - validation should have caught it
        raise FormatError(f"{source}: could not apply a value ({exc}); nothing was changed") from exc
    return network_values
