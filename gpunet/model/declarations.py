"""ANNarchy 5's object syntax of models: ``Parameter``, ``Variable`` and ``Constant``.

``Neuron(parameters=dict(tau=10.0, b=Parameter(0.2, locality="local")),
equations=[Variable("tau * dv/dt + v = b", init=-65.0), "r = pos(v)"])`` is
turned into the text form the parser reads, with ANNarchy 5's rules: a plain
value in a ``parameters`` dict is a **global** parameter, a ``Parameter`` is
global unless ``locality="local"``, a ``Variable`` is local unless
``locality="global"``.  A :class:`Constant` is a named number that equations
may use by name; its value is read when the model is defined.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Union

from gpunet.errors import ModelError

_GLOBAL_FLAG = {"neuron": "population", "synapse": "projection"}
_LOCALITIES = {"global": "global", "population": "global", "projection": "global", "local": "local",
               "semiglobal": "semiglobal", "postsynaptic": "semiglobal"}
_TYPES = {float: "float", int: "int", bool: "bool", "float": "float", "int": "int", "bool": "bool"}
_METHODS = ("explicit", "euler", "exponential", "midpoint", "rk4", "implicit", "semiimplicit", "event-driven")
_constants: dict[str, "Constant"] = {}


@dataclass
class Parameter:
    """A parameter of a model (ANNarchy 5): ``value``, ``locality`` (``"global"`` default or ``"local"``), ``type``.

    Parameters
    ----------
    value : float, int or bool
        The default value.
    locality : {"global", "local", "semiglobal"}
        One value per population / projection, one per neuron / synapse, or
        (synapses) one per post-synaptic neuron.
    type : {float, int, bool}
        The storage type (a type or its name).
    """

    value: Union[float, int, bool]
    locality: str = "global"
    type: Any = "float"


@dataclass
class Variable:
    """A variable of a model (ANNarchy 5): its ``equation`` and flags; local unless ``locality="global"``.

    Parameters
    ----------
    equation : str
        ``dv/dt = ...``, ``tau * dv/dt + v = ...`` or ``v = ...``.
    init : float, int or bool, optional
        Initial value (0 by default).
    min, max : float, optional
        Bounds the variable is clipped to after each update.
    method : str, optional
        Integration method: ``explicit`` (default), ``exponential``,
        ``midpoint``, ``rk4``, ``implicit``, ``semiimplicit`` or
        ``event-driven`` (synapses).
    locality : {"local", "global", "semiglobal"}
        One value per neuron / synapse, one per population / projection, or
        (synapses) one per post-synaptic neuron.
    type : {float, int, bool}
        The storage type (a type or its name).
    """

    equation: str
    init: Optional[Union[float, int, bool]] = None
    min: Optional[float] = None
    max: Optional[float] = None
    method: Optional[str] = None
    locality: str = "local"
    type: Any = "float"


class Constant(float):
    """A named constant that equations may use by name (ANNarchy 5's ``Constant``).

    Parameters
    ----------
    name : str
        The name equations use.
    value : float

    Notes
    -----
    gpunet reads the value when a model is defined (models are parsed at
    once), so :meth:`set` changes the models defined afterwards, not those
    already defined (in ANNarchy it changes compiled networks too).
    Constants are module-wide (ANNarchy's default network's).

    Examples
    --------
    >>> import gpunet as gn
    >>> tau = gn.Constant("tau_demo", 20.0)
    >>> gn.Neuron(equations="tau_demo * dr/dt + r = 1.0").spec.equations[0].expr
    0.05 - 0.05*r
    """

    def __new__(cls, name: str, value: float) -> "Constant":
        return super().__new__(cls, float(value))

    def __init__(self, name: str, value: float) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ModelError(f"Constant: the name must be an identifier, got {name!r}")
        if not math.isfinite(float(value)):
            raise ModelError(f"Constant {name!r}: the value must be a finite number, got {value!r}")
        self.name = name
        self.value = float(value)
        _constants[name] = self

    def set(self, value: float) -> None:
        """Change the value used by models defined from now on.

        Parameters
        ----------
        value : float
            A finite number.
        """
        replacement = Constant(self.name, value)
        self.value = replacement.value

    def __repr__(self) -> str:
        return f"Constant({self.name!r}, {self.value!r})"


def clear_constants() -> None:
    """Forget every :class:`Constant` (models defined before keep the values they read)."""
    _constants.clear()


def declared_constants() -> list[Constant]:
    """Every :class:`Constant`, in declaration order (the current object of each name)."""
    return list(_constants.values())


def constant_value(name: str) -> Optional[float]:
    """The value of the constant called ``name``, or None."""
    constant = _constants.get(name)
    return None if constant is None else constant.value


def _number_text(owner: str, name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(int(value))
    raise ModelError(f"{owner}: {name} = {value!r}: a model value must be a number or a boolean (draw random "
                     "values by assigning a distribution to the population: pop.x = gn.Uniform(...))")


def _type_flag(owner: str, name: str, kind: Any) -> Optional[str]:
    if kind not in _TYPES:
        raise ModelError(f"{owner}: {name}: type must be float, int or bool, got {kind!r}")
    return None if _TYPES[kind] == "float" else _TYPES[kind]


def _locality_flag(owner: str, name: str, locality: str, model_kind: str) -> Optional[str]:
    if locality not in _LOCALITIES:
        raise ModelError(f"{owner}: {name}: locality {locality!r} is not supported (gpunet has 'global', "
                         "'local' and, in synapses, 'semiglobal')")
    if _LOCALITIES[locality] == "semiglobal":
        if model_kind != "synapse":
            raise ModelError(f"{owner}: {name}: locality 'semiglobal' (one value per post-synaptic neuron) "
                             "exists only in synapses")
        return "postsynaptic"
    return _GLOBAL_FLAG[model_kind] if _LOCALITIES[locality] == "global" else None


def parameters_text(parameters: Any, model_kind: str, owner: str) -> Any:
    """The text form of a ``parameters`` argument (text and None pass through)."""
    if parameters is None or isinstance(parameters, str):
        return parameters
    if isinstance(parameters, (list, tuple)):
        if not all(isinstance(line, str) for line in parameters):
            raise ModelError(f"{owner}: a parameters list holds strings; use a dict for Parameter objects")
        return "\n".join(parameters)
    if not isinstance(parameters, dict):
        raise ModelError(f"{owner}: parameters must be a string, a list of strings or a dict, "
                         f"got {type(parameters).__name__}")
    lines = []
    for name, value in parameters.items():
        declared = value if isinstance(value, Parameter) else Parameter(value)
        flags = [_locality_flag(owner, name, declared.locality, model_kind),
                 _type_flag(owner, name, declared.type)]
        text = f"{name} = {_number_text(owner, name, declared.value)}"
        flag_text = ", ".join(flag for flag in flags if flag)
        lines.append(f"{text} : {flag_text}" if flag_text else text)
    return "\n".join(lines)


def _variable_text(variable: Variable, model_kind: str, owner: str) -> str:
    name = variable.equation.split("=", 1)[0].strip()
    flags = []
    if variable.init is not None:
        flags.append(f"init = {_number_text(owner, name, variable.init)}")
    for bound in ("min", "max"):
        value = getattr(variable, bound)
        if value is not None:
            flags.append(f"{bound} = {value}")
    if variable.method is not None:
        if variable.method not in _METHODS:
            raise ModelError(f"{owner}: {name}: method {variable.method!r} is not supported "
                             f"(gpunet has {', '.join(_METHODS)})")
        flags.append(variable.method)
    flags.append(_type_flag(owner, name, variable.type))
    flags.append(_locality_flag(owner, name, variable.locality, model_kind))
    flag_text = ", ".join(flag for flag in flags if flag)
    return f"{variable.equation} : {flag_text}" if flag_text else variable.equation


def equations_text(equations: Any, model_kind: str, owner: str) -> Any:
    """The text form of an ``equations`` argument: a string, a Variable, or a list of both."""
    if equations is None or isinstance(equations, str):
        return equations
    items = [equations] if isinstance(equations, Variable) else equations
    if not isinstance(items, (list, tuple)):
        raise ModelError(f"{owner}: equations must be a string, a Variable or a list of them, "
                         f"got {type(equations).__name__}")
    lines = []
    for item in items:
        if isinstance(item, Variable):
            lines.append(_variable_text(item, model_kind, owner))
        elif isinstance(item, str):
            lines.append(item)
        else:
            raise ModelError(f"{owner}: an equations list holds strings and Variable objects, "
                             f"got {type(item).__name__}")
    return "\n".join(lines)
