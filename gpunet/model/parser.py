"""Parse the text blocks of a Neuron or Synapse description into a ModelSpec.

Every failure raises :class:`~gpunet.errors.ModelError` naming the model, the
block and line, and the offending text.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import sympy

from gpunet.errors import ModelError
from gpunet.model.declarations import constant_value
from gpunet.model.global_functions import global_functions
from gpunet.model.conditionals import (ConditionalError, is_conditional, rewrite_conditional,
                                       split_conditional_flags)
from gpunet.model.expressions import (
    RESERVED,
    ExpressionError,
    ExpressionParser,
    parse_function_definitions,
    split_statements,
)
from gpunet.model.ir import ODE_METHODS, Attribute, ModelSpec, Statement, linear_part_rate

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*\Z")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=|\*=|/=|=(?!=))\s*(.+)$", re.S)
_GRADIENT_TARGET = re.compile(r"\bd([A-Za-z_]\w*)\s*/\s*dt\b")
_EQUALS = re.compile(r"(?<![<>=!+\-*/])=(?!=)")
SCOPE_FLAG = {"neuron": "population", "synapse": "projection"}
KNOWN_FLAGS = {"population", "projection", "postsynaptic", "int", "bool", "float", "init", "min", "max",
               "unless_refractory"} | set(ODE_METHODS)
TIME_NAMES = ("t", "dt")


class _Context:
    """Where we are, for error messages."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name

    def error(self, block: str, line: int, text: str, reason: str) -> ModelError:
        where = f"{self.kind} model {self.name!r}, {block} line {line}"
        return ModelError(f"{where}: {reason} in {text.strip()!r}")


def _split_flags(text: str) -> tuple[str, dict[str, Optional[str]]]:
    """Split ``body : flag, key = value`` into the body and its flags.

    A conditional (``x = if c: a else: b``) has colons of its own: its flags,
    if any, follow the last colon (ANNarchy's rule).
    """
    if ":" not in text:
        return text.strip(), {}
    if is_conditional(text):
        body, flag_text = split_conditional_flags(text, KNOWN_FLAGS)
        if flag_text is None:
            return text.strip(), {}
    else:
        body, _, flag_text = text.partition(":")
    flags: dict[str, Optional[str]] = {}
    for item in flag_text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        flags[key.strip()] = value.strip() if sep else None
    return body.strip(), flags


def _check_flags(ctx: _Context, block: str, line: int, text: str, flags: Mapping, kind: str) -> None:
    for flag in flags:
        if flag not in KNOWN_FLAGS:
            raise ctx.error(block, line, text, f"unknown flag {flag!r} (known: {', '.join(sorted(KNOWN_FLAGS))})")
        other = SCOPE_FLAG["synapse" if kind == "neuron" else "neuron"]
        if flag == other:
            raise ctx.error(block, line, text, f"flag {flag!r} is for {'synapses' if kind == 'neuron' else 'neurons'}"
                            f"; use {SCOPE_FLAG[kind]!r}")
        if flag == "postsynaptic" and kind != "synapse":
            raise ctx.error(block, line, text, "flag 'postsynaptic' (one value per post-synaptic neuron) is for "
                            "synapses")
        if flag == "postsynaptic" and block not in ("parameters", "equations"):
            raise ctx.error(block, line, text, "flag 'postsynaptic' belongs to a parameter or an equation")
        if flag == "postsynaptic" and SCOPE_FLAG[kind] in flags:
            raise ctx.error(block, line, text, f"flags 'postsynaptic' and {SCOPE_FLAG[kind]!r} exclude each other")


def _constant(ctx, block, line, text, value_text: str, names=None) -> Any:
    parser = ExpressionParser(names or {})
    try:
        expr = parser.parse(value_text)
    except ExpressionError as exc:
        raise ctx.error(block, line, text, str(exc)) from exc
    if expr in (sympy.true, sympy.false):
        return bool(expr)
    if names:
        return expr
    if not expr.is_number:
        raise ctx.error(block, line, text, "value is not a number")
    return expr


def _flag_text(flags: Mapping[str, Optional[str]]) -> str:
    return ", ".join(key if value is None else f"{key} = {value}" for key, value in flags.items())


def _join_continuations(statements: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Equations written over several lines, as ANNarchy reads them.

    A line without an assignment continues the equation above it: its text
    is appended to that equation and its flags to that equation's flags
    (ANNarchy's ``HH_cond_exp`` writes its membrane equation over two lines).
    """
    joined: list[tuple[int, str]] = []
    for line, text in statements:
        body, flags = _split_flags(text)
        continues = joined and not _EQUALS.search(body) and not _ASSIGNMENT.match(body)
        if not continues:
            joined.append((line, text))
            continue
        first_line, previous = joined[-1]
        previous_body, previous_flags = _split_flags(previous)
        merged_flags = _flag_text({**previous_flags, **flags})
        merged = f"{previous_body} {body}"
        joined[-1] = (first_line, f"{merged} : {merged_flags}" if merged_flags else merged)
    return joined


def _attribute_kind(flags) -> str:
    if "int" in flags:
        return "int"
    if "bool" in flags:
        return "bool"
    return "float"


def _coerce(kind: str, value: Any) -> Any:
    if isinstance(value, sympy.Basic) and not value.is_number:
        return value
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return float(value)


def build_spec(kind: str, name: str, description: str, *, parameters=None, equations=None,
               spike=None, reset=None, refractory=None, functions=None, psp=None,
               pre_spike=None, post_spike=None, overrides: Optional[Mapping[str, Any]] = None) -> ModelSpec:
    """Parse the blocks of a model description. See :class:`gpunet.Neuron`."""
    ctx = _Context(kind, name)
    attributes: dict[str, Attribute] = {}
    symbols: dict[str, sympy.Symbol] = {n: sympy.Symbol(n) for n in TIME_NAMES}

    try:
        # functions declared with gn.add_function, then the model's own (which win on a name clash)
        user_functions = global_functions()
        user_functions.update(parse_function_definitions(functions, user_functions))
    except ExpressionError as exc:
        raise ctx.error("functions", 0, str(functions), str(exc)) from exc

    def declare(attribute: Attribute, block: str, line: int, text: str) -> None:
        if not _IDENTIFIER.match(attribute.name):
            raise ctx.error(block, line, text, f"invalid name {attribute.name!r}")
        if attribute.name in RESERVED or attribute.name in TIME_NAMES or attribute.name in user_functions:
            raise ctx.error(block, line, text, f"name {attribute.name!r} is reserved")
        if attribute.name in attributes:
            raise ctx.error(block, line, text, f"duplicate name {attribute.name!r}")
        attributes[attribute.name] = attribute
        symbols[attribute.name] = sympy.Symbol(attribute.name)

    # -- parameters --------------------------------------------------------
    for line, text in split_statements(parameters):
        body, flags = _split_flags(text)
        _check_flags(ctx, "parameters", line, text, flags, kind)
        match = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.+)", body, re.S)
        if not match:
            raise ctx.error("parameters", line, text, "expected 'name = value'")
        pname, value_text = match.groups()
        attribute_kind = _attribute_kind(flags)
        value = _coerce(attribute_kind, _constant(ctx, "parameters", line, text, value_text))
        parameter = Attribute(pname, "parameter", SCOPE_FLAG[kind] in flags, attribute_kind, value,
                              semiglobal="postsynaptic" in flags)
        for bound in ("min", "max"):
            if flags.get(bound):
                setattr(parameter, bound, sympy.sympify(_constant(ctx, "parameters", line, text, flags[bound])))
        declare(parameter, "parameters", line, text)

    if overrides:
        unknown = [k for k in overrides if k not in attributes]
        if unknown:
            raise ModelError(f"{kind} model {name!r}: unknown parameter(s) {', '.join(map(repr, unknown))} "
                             f"in constructor overrides; parameters are {', '.join(attributes) or 'none'}")
        for key, value in overrides.items():
            attributes[key].init = _coerce(attributes[key].kind, value)

    # -- equations: first declare every variable they define ---------------
    equation_lines = []
    for line, text in _join_continuations(split_statements(equations)):
        body, flags = _split_flags(text)
        _check_flags(ctx, "equations", line, text, flags, kind)
        gradient = _GRADIENT_TARGET.search(_EQUALS.split(body, maxsplit=1)[0])
        assignment = _ASSIGNMENT.match(body)
        if gradient:
            target = gradient.group(1)
        elif assignment:
            target = assignment.group(1)
        else:
            raise ctx.error("equations", line, text, "expected 'dx/dt = ...', 'tau * dx/dt + x = ...' or 'x = ...'")
        if target in attributes and attributes[target].is_parameter:
            what = "an ODE" if gradient else "an assignment"
            raise ctx.error("equations", line, text, f"{what} on parameter {target!r}")
        if target in attributes:
            raise ctx.error("equations", line, text, f"duplicate definition of variable {target!r}")
        attribute_kind = _attribute_kind(flags)
        declare(Attribute(target, "variable", SCOPE_FLAG[kind] in flags, attribute_kind,
                          semiglobal="postsynaptic" in flags), "equations", line, text)
        equation_lines.append((line, text, body, flags, bool(gradient), target))

    spiking = kind == "neuron" and spike is not None
    if kind == "synapse":
        spiking = pre_spike is not None or post_spike is not None
        if "w" not in attributes:
            attributes["w"] = Attribute("w", "variable", False, "float", 0.0, implicit=True)
            symbols["w"] = sympy.Symbol("w")

    conductances: list[str] = []

    def implicit_symbol(symbol_name: str):
        if kind == "neuron" and re.fullmatch(r"g_\w+", symbol_name):
            if symbol_name not in conductances:
                conductances.append(symbol_name)
            return sympy.Symbol(symbol_name)
        return None

    class _Parser(ExpressionParser):
        def _node_Name(self, node):  # noqa: N802 - ast visitor naming
            if node.id not in self.names and not node.id.startswith("__grad__"):
                symbol = implicit_symbol(node.id)
                if symbol is not None:
                    self.names[node.id] = symbol
                elif constant_value(node.id) is not None:  # a gpunet.Constant, read now
                    return sympy.Float(constant_value(node.id))
            return super()._node_Name(node)

    parser = _Parser(symbols, user_functions, allow_prepost=(kind == "synapse"))

    def parse(block: str, line: int, text: str, expression: str, **options) -> sympy.Expr:
        try:
            return parser.parse(rewrite_conditional(expression), **options)
        except (ExpressionError, ConditionalError) as exc:
            raise ctx.error(block, line, text, str(exc)) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise ctx.error(block, line, text, f"invalid expression ({exc})") from exc

    def bounds(block, line, text, flags):
        lower = parse(block, line, text, flags["min"]) if flags.get("min") else None
        upper = parse(block, line, text, flags["max"]) if flags.get("max") else None
        return lower, upper

    # -- equations: now parse them against the full symbol table -----------
    statements: list[Statement] = []
    for line, text, body, flags, is_ode, target in equation_lines:
        attribute = attributes[target]
        if "init" in flags:
            if flags["init"] is None:
                raise ctx.error("equations", line, text, "flag 'init' needs a value")
            init = parse("equations", line, text, flags["init"])
            if init in (sympy.true, sympy.false):
                init = bool(init)
            elif not init.free_symbols <= {symbols[p] for p in attributes if attributes[p].is_parameter}:
                raise ctx.error("equations", line, text, "init may only use numbers and parameters")
            attribute.init = _coerce(attribute.kind, init) if getattr(init, "is_number", True) else init
        attribute.min, attribute.max = bounds("equations", line, text, flags)
        methods = [f for f in flags if f in ODE_METHODS]
        method = methods[0] if methods else "explicit"
        method = "explicit" if method == "euler" else method
        if method == "event-driven" and kind != "synapse":
            raise ctx.error("equations", line, text, "'event-driven' is only valid in synapses")
        if is_ode:
            lhs_text, rhs_text = _EQUALS.split(body, maxsplit=1)
            lhs = parse("equations", line, text, lhs_text, allow_gradient=True)
            rhs = parse("equations", line, text, rhs_text, allow_gradient=True)
            gradient = sympy.Symbol(f"__grad__{target}")
            expr = _solve_for_gradient(ctx, line, text, lhs, rhs, gradient)
            if method == "event-driven":
                _check_event_driven(ctx, line, text, expr, target, attributes)
            if method == "implicit" and sympy.Symbol(target) in sympy.diff(expr, sympy.Symbol(target)).free_symbols:
                raise ctx.error("equations", line, text, f"the implicit method needs an ODE linear in {target} "
                                "(as in ANNarchy); use explicit, midpoint or rk4")
            if method == "semiimplicit":
                try:
                    linear_part_rate(expr, target)
                except ValueError as exc:
                    raise ctx.error("equations", line, text, f"the semiimplicit method needs an ODE whose terms are "
                                    f"proportional to {target} or free of it (as in ANNarchy): {exc}") from None
            statements.append(Statement(target, "ode", expr, method, attribute.min, attribute.max,
                                        text, line, "equations"))
        else:
            _target, operation, rhs_text = _ASSIGNMENT.match(body).groups()
            expr = parse("equations", line, text, rhs_text)
            statements.append(Statement(target, operation, expr, "explicit", attribute.min,
                                        attribute.max, text, line, "equations"))

    def statement_block(block: str, text_block, allowed_targets) -> list[Statement]:
        result = []
        for line, text in split_statements(text_block):
            body, flags = _split_flags(text)
            _check_flags(ctx, block, line, text, flags, kind)
            match = _ASSIGNMENT.match(body)
            if not match:
                raise ctx.error(block, line, text, "expected 'name = value' or 'name += value'")
            target, operation, rhs_text = match.groups()
            if target not in allowed_targets:
                if target in attributes and attributes[target].is_parameter:
                    raise ctx.error(block, line, text, f"cannot assign parameter {target!r}")
                raise ctx.error(block, line, text, f"undefined name {target!r}")
            expr = parse(block, line, text, rhs_text)
            lower, upper = bounds(block, line, text, flags)
            attribute = attributes.get(target)
            if attribute is not None:
                lower = lower if lower is not None else attribute.min
                upper = upper if upper is not None else attribute.max
            result.append(Statement(target, operation, expr, "explicit", lower, upper, text, line, block))
        return result

    variables = [a for a in attributes if attributes[a].role == "variable"]
    spike_expr = refractory_expr = psp_expr = None
    reset_statements: list[Statement] = []
    pre_statements: list[Statement] = []
    post_statements: list[Statement] = []
    if kind == "neuron":
        if spike is not None:
            spike_line = " ".join(t for _l, t in split_statements(spike))
            spike_expr = parse("spike", 1, spike_line, spike_line)
            if spike_expr.is_Relational is False and not isinstance(spike_expr, sympy.logic.boolalg.Boolean):
                raise ctx.error("spike", 1, spike_line, "the spike condition must be a comparison")
            # conductances seen in the spike condition are fine; reset may use them too
            reset_statements = statement_block("reset", reset, set(variables) | set(conductances))
            if refractory is not None:
                refractory_text = str(refractory)
                refractory_expr = parse("refractory", 1, refractory_text, refractory_text)
        elif reset is not None or refractory is not None:
            raise ModelError(f"neuron model {name!r}: 'reset' and 'refractory' need a 'spike' condition")
    else:
        if psp is not None:
            psp_line = " ".join(t for _l, t in split_statements(psp))
            psp_expr = parse("psp", 1, psp_line, psp_line)
        allowed = set(variables) | {"g_target"}
        symbols["g_target"] = sympy.Symbol("g_target")
        pre_statements = statement_block("pre_spike", pre_spike, allowed)
        post_statements = statement_block("post_spike", post_spike, set(variables))
        if spiking and not any(s.target == "g_target" for s in pre_statements):
            # A spiking synapse without an explicit transmission adds psp (default w).
            transmission = psp_expr if psp_expr is not None else sympy.Symbol("w")
            pre_statements.insert(0, Statement("g_target", "+=", transmission, text="g_target += w",
                                               block="pre_spike"))
        if not spiking and psp_expr is None:
            psp_expr = sympy.Symbol("w") * sympy.Symbol("_pre_r")
            if ("pre", "r") not in parser.prepost:
                parser.prepost.append(("pre", "r"))

    if kind == "neuron":
        if spiking and "r" not in attributes:
            attributes["r"] = Attribute("r", "variable", False, "float", 0.0, implicit=True)
        for conductance in conductances:
            if conductance not in attributes:
                attributes[conductance] = Attribute(conductance, "variable", False, "float", 0.0, implicit=True)
        if not spiking and "r" not in attributes:
            raise ModelError(f"neuron model {name!r}: a rate-coded neuron must define the variable 'r'")

    used_noise = parser.noise_sites
    spec = ModelSpec(kind=kind, name=name, description=description or "", spiking=spiking,
                     attributes=attributes, equations=statements, spike=spike_expr,
                     reset=reset_statements, refractory=refractory_expr, psp=psp_expr,
                     pre_spike=pre_statements, post_spike=post_statements, noise_sites=used_noise,
                     targets=list(parser.targets), conductances=conductances,
                     prepost=list(parser.prepost))
    _check_noise_placement(ctx, spec)
    _check_semiglobal(ctx, spec)
    return spec


def _check_semiglobal(ctx: _Context, spec: ModelSpec) -> None:
    """ANNarchy's rules: a semiglobal (``postsynaptic``) equation reads no synapse-local attribute nor ``pre.``;
    a global one reads no semiglobal attribute; only continuous equations assign semiglobal variables."""
    semiglobal = {sympy.Symbol(n) for n in spec.semiglobal_names}
    if not semiglobal:
        return
    local = {sympy.Symbol(n) for n in spec.local_names}
    for statement in spec.equations:
        attribute = spec.attributes[statement.target]
        symbols = statement.expr.free_symbols
        if attribute.semiglobal:
            if statement.method == "event-driven":
                raise ctx.error("equations", statement.line, statement.text,
                                "a postsynaptic variable cannot be event-driven")
            if symbols & local:
                names = ", ".join(sorted(s.name for s in symbols & local))
                raise ctx.error("equations", statement.line, statement.text,
                                f"the postsynaptic variable {statement.target!r} cannot depend on the "
                                f"synapse-specific {names}")
            if any(s.name.startswith("_pre_") for s in symbols):
                raise ctx.error("equations", statement.line, statement.text,
                                f"the postsynaptic variable {statement.target!r} cannot depend on pre-synaptic "
                                "ones (pre.x)")
        elif attribute.is_global and symbols & semiglobal:
            raise ctx.error("equations", statement.line, statement.text,
                            f"the global variable {statement.target!r} cannot depend on a postsynaptic one")
    for statement in spec.pre_spike + spec.post_spike:
        if statement.target in spec.semiglobal_names:
            raise ctx.error(statement.block, statement.line, statement.text,
                            f"the postsynaptic variable {statement.target!r} is assigned only by its equation "
                            "(gpunet does not run pre_spike/post_spike statements on it)")


def _solve_for_gradient(ctx, line, text, lhs, rhs, gradient) -> sympy.Expr:
    if lhs == gradient:
        expr = rhs
    else:
        difference = lhs - rhs
        coefficient = sympy.diff(difference, gradient)
        if coefficient == 0 or gradient in coefficient.free_symbols:
            raise ctx.error("equations", line, text, "the ODE must be linear in its derivative")
        expr = -difference.subs(gradient, 0) / coefficient
    if any(s.name.startswith("__grad__") for s in expr.free_symbols):
        raise ctx.error("equations", line, text, "a derivative may only appear on the left-hand side")
    return expr


def _check_event_driven(ctx, line, text, expr, target, attributes) -> None:
    """An event-driven ODE is linear, ``dx/dt = A + B x``, with ``A`` and ``B`` made of parameters.

    Its exact solution between two events is then known (what ANNarchy
    integrates too): ``x_inf + (x - x_inf) exp(B elapsed)`` with
    ``x_inf = -A / B`` (``tau * dx/dt = -x`` and ``dx/dt = (1 - x) / tau_rec``
    are of this form).
    """
    symbol = sympy.Symbol(target)
    rate = sympy.diff(expr, symbol)
    constant_part = sympy.simplify(expr - rate * symbol)
    allowed = {sympy.Symbol(n) for n, a in attributes.items() if a.is_parameter} | {sympy.Symbol("dt")}
    if not (rate.free_symbols | constant_part.free_symbols) <= allowed:
        raise ctx.error("equations", line, text,
                        "an event-driven ODE must be linear in its variable with parameters as coefficients "
                        "('tau * dx/dt = -x', 'dx/dt = (1 - x)/tau_rec'), so that it has an exact solution")


def _check_noise_placement(ctx: _Context, spec: ModelSpec) -> None:
    noise_symbols = {s.symbol for s in spec.noise_sites}
    if spec.kind == "synapse":  # no code generator draws per-synapse streams
        for statement in spec.equations:
            if noise_symbols & statement.expr.free_symbols:
                raise ctx.error(statement.block, statement.line, statement.text,
                                "random distributions are only supported in neuron equations")
        if spec.psp is not None and noise_symbols & spec.psp.free_symbols:
            raise ModelError(f"synapse model {spec.name!r}, psp: random distributions are only supported in "
                             f"neuron equations in {str(spec.psp)!r}")
    for block in (spec.reset, spec.pre_spike, spec.post_spike):
        for statement in block:
            if noise_symbols & statement.expr.free_symbols:
                raise ctx.error(statement.block, statement.line, statement.text,
                                "random distributions are only supported in equations")
