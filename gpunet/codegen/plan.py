"""Turn a ModelSpec's equations into an ordered list of element-wise operations.

The plan is the one place where the integration methods and the order of
evaluation are decided; the NumPy and the CUDA generators only print it.

Order of evaluation (also ANNarchy's): statements run in the order written.
An assignment ``x = ...`` takes effect at once.  A run of consecutive ODEs is
integrated together: every right-hand side of the run is computed from the
values before the run, then all its variables are updated.

Integration (``x_new = x + inc``):

* explicit Euler: ``inc = dt * f(x)``;
* exponential Euler (``f`` linear in ``x``: ``f = A + B x``):
  ``inc = (1 - exp(B dt)) * (f / -B)``, exact for constant inputs;
* midpoint: ``k = f(x)``, then ``inc = dt * f(x + 0.5 dt k)`` with every
  midpoint variable of the run moved to its half step.

These are ANNarchy's formulas, evaluated in the same order, so a network gives
the same numbers in both simulators.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from gpunet.errors import ModelError
from gpunet.model.ir import ModelSpec, Statement

DT = sympy.Symbol("dt")


@dataclass(frozen=True)
class Op:
    """One element-wise operation.

    kind ``"temp"``: ``target`` is a fresh temporary set to ``expr``.
    kind ``"assign"``: the attribute ``target`` becomes ``expr``.
    kind ``"update"``: the attribute ``target`` becomes ``target + expr``.
    ``low``/``high`` clip the new value of an attribute.
    """

    kind: str
    target: str
    expr: sympy.Expr
    low: Optional[sympy.Expr] = None
    high: Optional[sympy.Expr] = None


def _rate(statement: Statement, model: str) -> sympy.Expr:
    """``B`` of an ODE ``dx/dt = A + B x`` (exponential Euler needs linearity)."""
    x = sympy.Symbol(statement.target)
    rate = sympy.diff(statement.expr, x)
    if x in rate.free_symbols:
        raise ModelError(f"model {model!r}, equations line {statement.line}: 'exponential' needs an ODE "
                         f"linear in {statement.target} in {statement.text!r}")
    return rate


def continuous_plan(spec: ModelSpec, statements: Optional[list[Statement]] = None) -> list[Op]:
    """The operations of the continuous equations of ``spec`` (event-driven ones excluded)."""
    statements = spec.continuous if statements is None else statements
    ops: list[Op] = []
    index = 0
    while index < len(statements):
        statement = statements[index]
        if statement.operation != "ode":
            ops.append(Op("assign", statement.target, statement.assigned_value(), statement.min, statement.max))
            index += 1
            continue
        group = []
        while index < len(statements) and statements[index].operation == "ode":
            group.append(statements[index])
            index += 1
        ops.extend(_ode_group(spec.name, group))
    return ops


def _ode_group(model: str, group: list[Statement]) -> list[Op]:
    """Temporaries and updates of a run of consecutive ODEs.

    The increment is kept as a product of two temporaries (``dt * _d_x`` or
    ``_step_x * _d_x``) so that its rounding does not depend on how sympy
    orders the factors of a longer product.
    """
    ops: list[Op] = []
    half_step: dict[sympy.Symbol, sympy.Expr] = {}
    for statement in group:
        if statement.method == "midpoint":
            k = sympy.Symbol(f"_k_{statement.target}")
            ops.append(Op("temp", k.name, statement.expr))
            half_step[sympy.Symbol(statement.target)] = sympy.Symbol(statement.target) + sympy.Float(0.5) * DT * k
    updates = []
    for statement in group:
        derivative = sympy.Symbol(f"_d_{statement.target}")
        rate = _rate(statement, model) if statement.method == "exponential" else sympy.S.Zero
        if statement.method == "exponential" and rate != 0:
            step = sympy.Symbol(f"_step_{statement.target}")
            ops.append(Op("temp", step.name, 1 - sympy.exp(rate * DT)))
            ops.append(Op("temp", derivative.name, statement.expr / -rate))
            updates.append((statement, step * derivative))
        else:
            rhs = statement.expr.xreplace(half_step) if statement.method == "midpoint" else statement.expr
            ops.append(Op("temp", derivative.name, rhs))
            updates.append((statement, DT * derivative))
    for statement, increment in updates:
        ops.append(Op("update", statement.target, increment, statement.min, statement.max))
    return ops


def updated_when_refractory(name: str) -> bool:
    """Whether a neuron's variable ``name`` is integrated during the refractory period.

    As in ANNarchy 5, the conductances (``g_*``) go on decaying while a neuron is refractory; every other
    variable keeps its value until the period ends.
    """
    return name.startswith("g_")


def statement_ops(statements: list[Statement]) -> list[Op]:
    """Operations of a reset / pre_spike / post_spike block, in order."""
    return [Op("assign", s.target, s.assigned_value(), s.min, s.max) for s in statements]


def event_driven_decays(spec: ModelSpec, elapsed: sympy.Symbol) -> list[Op]:
    """``x = x * exp(elapsed * rate)`` for each event-driven ODE ``dx/dt = rate * x``.

    ``elapsed`` stands for ``dt * (last_event - reference_step)`` (a negative
    duration), so the factor prints as ``exp(elapsed / tau)`` like ANNarchy's.
    """
    ops = []
    for statement in spec.event_driven:
        x = sympy.Symbol(statement.target)
        rate = sympy.diff(statement.expr, x)
        ops.append(Op("assign", statement.target, x * sympy.exp(-rate * elapsed)))
    return ops


def noise_gates(spec: ModelSpec) -> dict[int, list[str]]:
    """Parameters that scale each noise site everywhere it appears.

    When all these parameters are zero the draw cannot change any value, so
    the array code may skip it (the stream is stateless: skipping a draw does
    not shift later ones).  Sites without such a factor map to ``[]``.
    """
    parameters = {sympy.Symbol(n) for n in spec.parameters}
    gates: dict[int, list[str]] = {}
    expressions = [s.expr for s in spec.equations]
    for site in spec.noise_sites:
        common: Optional[set] = None
        for expr in expressions:
            for term in sympy.preorder_traversal(expr):
                if isinstance(term, sympy.Add):
                    for addend in term.args:
                        if site.symbol in addend.free_symbols:
                            factors = set(sympy.Mul.make_args(addend)) if isinstance(addend, sympy.Mul) else {addend}
                            found = factors & parameters
                            common = found if common is None else common & found
        gates[site.index] = sorted(s.name for s in (common or set()))
    return gates
