"""The intermediate form of a parsed neuron or synapse model.

Both code generators (NumPy array code and CUDA C) read this form; nothing
downstream looks at the model's text again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import sympy

from gpunet.model.expressions import NoiseSite

Number = Union[float, int, bool]

ATTRIBUTE_KINDS = ("float", "int", "bool")
ODE_METHODS = ("explicit", "euler", "exponential", "midpoint", "rk4", "implicit", "semiimplicit", "event-driven")


def linear_part_rate(expr: sympy.Expr, target: str) -> sympy.Expr:
    """``B`` of the linear part of ``dx/dt = expr = A + B x`` as ANNarchy's ``semiimplicit`` method takes it.

    ``expr`` is expanded over products (not inside functions or powers) and
    collected in ``x``: ``B`` is the coefficient of ``x`` (it may hold
    ``x`` inside a function, as in ``x exp(-x)``), ``A`` the terms without a
    factor ``x`` (``exp(x)``, ``sin(x)``... stay there); 0 without such a term.

    Parameters
    ----------
    expr : sympy.Expr
        The right-hand side ``dx/dt``.
    target : str
        The name of ``x``.

    Raises
    ------
    ValueError
        When a term holds a power of ``x`` (``x**2``): ANNarchy refuses such an ODE for this method.
    """
    x = sympy.Symbol(target)
    expanded = sympy.expand(expr, modulus=None, power_base=False, power_exp=False, mul=True, log=False,
                            multinomial=False)
    collected = sympy.collect(expanded, x, evaluate=False, exact=False)
    others = [key for key in collected if key not in (x, sympy.S.One)]
    if others:
        raise ValueError(f"terms in {', '.join(str(k) for k in others)} are neither proportional to {target} "
                         f"nor free of it")
    return collected.get(x, sympy.S.Zero)


#: Storage types of the attribute kinds other than float (floats take the network's precision).
KIND_DTYPES = {"int": np.dtype(np.int64), "bool": np.dtype(np.bool_)}


@dataclass
class Attribute:
    """A parameter or variable of a model.

    ``init`` is a number or a sympy expression of parameters (evaluated when a
    population or projection is created, so ``Izhikevich(c=-50.0)`` also moves
    the initial ``v``).  ``implicit`` marks attributes gpunet adds on its own
    (``r`` and the conductances ``g_<target>`` of spiking neurons, ``w``).
    ``semiglobal`` marks a synaptic attribute with one value per post-synaptic
    neuron (ANNarchy's ``postsynaptic`` flag); such an attribute is neither
    global nor local.
    """

    name: str
    role: str  # "parameter" | "variable"
    is_global: bool
    kind: str = "float"
    init: Union[Number, sympy.Expr] = 0.0
    min: Optional[sympy.Expr] = None
    max: Optional[sympy.Expr] = None
    implicit: bool = False
    semiglobal: bool = False

    @property
    def is_parameter(self) -> bool:
        return self.role == "parameter"

    def dtype(self, precision: np.dtype) -> np.dtype:
        """Storage type: int64 for ``int``, bool for ``bool``, the network's ``precision`` for floats."""
        return KIND_DTYPES.get(self.kind, np.dtype(precision))


@dataclass
class Statement:
    """One line of ``equations``, ``reset``, ``pre_spike`` or ``post_spike``.

    ``operation`` is ``"ode"`` (``expr`` is the time derivative), ``"="`` or an
    augmented assignment (``"+="``, ``"-="``, ``"*="``, ``"/="``).  ``target``
    ``g_target`` in a synapse means the post-synaptic conductance.
    """

    target: str
    operation: str
    expr: sympy.Expr
    method: str = "explicit"
    min: Optional[sympy.Expr] = None
    max: Optional[sympy.Expr] = None
    text: str = ""
    line: int = 0
    block: str = "equations"

    def assigned_value(self) -> sympy.Expr:
        """The new value of ``target`` for a non-ODE statement."""
        symbol = sympy.Symbol(self.target)
        if self.operation == "=":
            return self.expr
        if self.operation == "+=":
            return symbol + self.expr
        if self.operation == "-=":
            return symbol - self.expr
        if self.operation == "*=":
            return symbol * self.expr
        if self.operation == "/=":
            return symbol / self.expr
        raise ValueError(f"not an assignment: {self.operation}")


@dataclass
class ModelSpec:
    """A parsed, validated model: what a Population or Projection instantiates."""

    kind: str  # "neuron" | "synapse"
    name: str
    description: str
    spiking: bool
    attributes: dict[str, Attribute]
    equations: list[Statement]
    spike: Optional[sympy.Expr] = None
    reset: list[Statement] = field(default_factory=list)
    refractory: Optional[sympy.Expr] = None
    psp: Optional[sympy.Expr] = None
    pre_spike: list[Statement] = field(default_factory=list)
    post_spike: list[Statement] = field(default_factory=list)
    noise_sites: list[NoiseSite] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    conductances: list[str] = field(default_factory=list)
    prepost: list[tuple[str, str]] = field(default_factory=list)
    source: dict = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        return [a.name for a in self.attributes.values() if a.role == "parameter"]

    @property
    def variables(self) -> list[str]:
        return [a.name for a in self.attributes.values() if a.role == "variable"]

    @property
    def global_names(self) -> list[str]:
        return [a.name for a in self.attributes.values() if a.is_global]

    @property
    def local_names(self) -> list[str]:
        return [a.name for a in self.attributes.values() if not a.is_global and not a.semiglobal]

    @property
    def semiglobal_names(self) -> list[str]:
        """Synaptic attributes with one value per post-synaptic neuron (ANNarchy's ``postsynaptic``)."""
        return [a.name for a in self.attributes.values() if a.semiglobal]

    @property
    def semiglobal_equations(self) -> list[Statement]:
        """The continuous equations of semiglobal variables (run once per post-synaptic neuron)."""
        return [s for s in self.continuous if s.target in self.attributes and self.attributes[s.target].semiglobal]

    @property
    def event_driven(self) -> list[Statement]:
        return [s for s in self.equations if s.operation == "ode" and s.method == "event-driven"]

    @property
    def continuous(self) -> list[Statement]:
        return [s for s in self.equations if not (s.operation == "ode" and s.method == "event-driven")]

    def modified_names(self) -> set[str]:
        """Names assigned by any statement of the model."""
        blocks = self.equations + self.reset + self.pre_spike + self.post_spike
        return {s.target for s in blocks}
