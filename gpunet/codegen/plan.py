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
  midpoint variable of the run moved to its half step;
* rk4 (classic Runge-Kutta): ``k1 = f(x)``, ``k2 = f(x + dt/2 k1)``,
  ``k3 = f(x + dt/2 k2)``, ``k4 = f(x + dt k3)``,
  ``inc = dt * (k1 + 2 k2 + 2 k3 + k4) / 6``, every rk4 variable of the run
  moved together at each stage (ANNarchy couples all rk4 ODEs of a model);
* implicit (backward) Euler, ``f`` linear in ``x`` (``f = A + B x``):
  ``x_new = x + dt f(x_new)``, i.e. ``inc = dt / (1 - B dt) * f(x)``, other
  variables at their values before the run (ANNarchy solves several
  implicit ODEs of a model as one coupled linear system: the same numbers
  for uncoupled equations).
* semi-implicit Euler (ANNarchy's ``semiimplicit``): implicit for the linear
  part only, ``f = A(x) + B x`` with ``B`` the coefficient of ``x`` and
  ``A`` the other terms (:func:`gpunet.model.ir.linear_part_rate`):
  ``inc = dt / (1 - B dt) * f(x)``, ``A`` and ``B`` taken at the old values
  (the implicit formula, the same numbers as ``implicit`` on a linear ODE).

Explicit, exponential and midpoint are ANNarchy's formulas, evaluated in the
same order, so a network gives the same numbers in both simulators.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from gpunet.errors import ModelError
from gpunet.model.ir import ModelSpec, Statement, linear_part_rate

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


def _staged(group: list[Statement], method: str, ops: list[Op]) -> dict[str, list[sympy.Symbol]]:
    """Temporaries of the stages of the ``midpoint`` or ``rk4`` equations of a run: ``{target: [k1, ...]}``."""
    staged = [s for s in group if s.method == method]
    if not staged:
        return {}
    # (fraction of dt each stage moves the variables by, from the previous stage's slope)
    fractions = [None, sympy.Float(0.5)] if method == "midpoint" else \
        [None, sympy.Float(0.5), sympy.Float(0.5), sympy.S.One]
    slopes: dict[str, list[sympy.Symbol]] = {s.target: [] for s in staged}
    for stage, fraction in enumerate(fractions, start=1):
        moved = {} if fraction is None else {
            sympy.Symbol(s.target): sympy.Symbol(s.target) + fraction * DT * slopes[s.target][-1] for s in staged}
        for statement in staged:
            name = f"_k_{statement.target}" if method == "midpoint" else f"_k{stage}_{statement.target}"
            if method == "midpoint" and stage == 2:
                continue  # the midpoint's second slope is the increment itself (below)
            ops.append(Op("temp", name, statement.expr.xreplace(moved)))
            slopes[statement.target].append(sympy.Symbol(name))
    return slopes


def _ode_group(model: str, group: list[Statement]) -> list[Op]:
    """Temporaries and updates of a run of consecutive ODEs.

    The increment is kept as a product of two temporaries (``dt * _d_x`` or
    ``_step_x * _d_x``) so that its rounding does not depend on how sympy
    orders the factors of a longer product.
    """
    ops: list[Op] = []
    midpoint = _staged(group, "midpoint", ops)
    half_step = {sympy.Symbol(target): sympy.Symbol(target) + sympy.Float(0.5) * DT * slopes[0]
                 for target, slopes in midpoint.items()}
    rk4 = _staged(group, "rk4", ops)
    updates = []
    for statement in group:
        derivative = sympy.Symbol(f"_d_{statement.target}")
        linear = statement.method in ("exponential", "implicit")
        rate = _rate(statement, model) if linear else sympy.S.Zero
        if statement.method == "semiimplicit":
            rate = linear_part_rate(statement.expr, statement.target)
        if statement.method == "exponential" and rate != 0:
            step = sympy.Symbol(f"_step_{statement.target}")
            ops.append(Op("temp", step.name, 1 - sympy.exp(rate * DT)))
            ops.append(Op("temp", derivative.name, statement.expr / -rate))
            updates.append((statement, step * derivative))
        elif statement.method in ("implicit", "semiimplicit") and rate != 0:
            step = sympy.Symbol(f"_step_{statement.target}")
            ops.append(Op("temp", step.name, DT / (1 - rate * DT)))
            ops.append(Op("temp", derivative.name, statement.expr))
            updates.append((statement, step * derivative))
        elif statement.method == "rk4":
            k1, k2, k3, k4 = rk4[statement.target]
            ops.append(Op("temp", derivative.name, (k1 + (k2 + k2) + (k3 + k3) + k4) / 6))
            updates.append((statement, DT * derivative))
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
    """The exact solution of each event-driven ODE ``dx/dt = A + B x`` since the synapse's last event.

    ``elapsed`` stands for ``dt * (last_event - reference_step)`` (a negative
    duration).  A pure decay (``A = 0``) becomes ``x * exp(-B elapsed)``,
    which prints as ``exp(elapsed / tau)`` like ANNarchy's; otherwise
    ``x_inf + (x - x_inf) * exp(-B elapsed)`` with ``x_inf = -A / B``
    (``x - A elapsed`` when ``B = 0``).
    """
    ops = []
    for statement in spec.event_driven:
        x = sympy.Symbol(statement.target)
        rate = sympy.diff(statement.expr, x)
        constant = sympy.simplify(statement.expr - rate * x)
        if constant == 0:
            value = x * sympy.exp(-rate * elapsed)
        elif rate == 0:
            value = x - constant * elapsed
        else:
            steady = sympy.simplify(-constant / rate)
            value = steady + (x - steady) * sympy.exp(-rate * elapsed)
        ops.append(Op("assign", statement.target, value))
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
