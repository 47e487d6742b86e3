"""Turn the text of one expression into sympy, through an explicit symbol table.

User text is never handed to ``sympify``: the Python AST of the expression is
walked and every name is looked up in the table the caller provides, so that a
variable called ``I``, ``E`` or ``beta`` stays an ordinary symbol and an
undefined name is reported instead of silently becoming a new symbol.

Conventions of the model language handled here:

* ``^`` means power;
* ``sum(exc)`` is the summed input of target ``exc`` (symbol ``_sum_exc``);
* ``pre.r`` / ``post.v`` in synapses become the symbols ``_pre_r`` / ``_post_v``;
  ``pre.sum(exc)`` / ``post.sum(exc)`` (the summed input of target ``exc`` of the
  pre/post neuron) become ``_pre__sum_exc`` / ``_post__sum_exc``;
* ``Uniform(a, b)`` and ``Normal(mu, sigma)`` are noise: each call site becomes
  a fresh symbol ``_rand_<k>`` recorded in :class:`NoiseSite`;
* ``and``, ``or``, ``not`` and comparisons build sympy booleans.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable, Mapping

import sympy

# Functions of the model language.  Undefined sympy functions keep their name
# so that every printer can map them (``pos`` -> ``maximum(x, 0)`` ...).
pos = sympy.Function("pos")
neg = sympy.Function("neg")
clip = sympy.Function("clip")
ite = sympy.Function("ite")

FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "abs": sympy.Abs,
    "fabs": sympy.Abs,
    "pos": pos,
    "neg": neg,
    "clip": clip,
    "ite": ite,
    "power": lambda base, exponent: sympy.Pow(base, exponent),
}
FUNCTION_ARITY = {"clip": 3, "ite": 3, "power": 2}
NOISE_FUNCTIONS = ("Uniform", "Normal")
RESERVED = set(FUNCTIONS) | set(NOISE_FUNCTIONS) | {"sum", "pre", "post", "and", "or", "not"}

_GRADIENT = re.compile(r"\bd([A-Za-z_]\w*)\s*/\s*dt\b")


@dataclass(frozen=True)
class NoiseSite:
    """One ``Uniform(a, b)`` or ``Normal(mu, sigma)`` call in a model.

    ``symbol`` stands for a fresh draw per element and step; ``low``/``high``
    (Uniform) or ``mean``/``std`` (Normal) are the call's arguments.
    """

    index: int
    kind: str
    arg0: sympy.Expr
    arg1: sympy.Expr
    symbol: sympy.Symbol


class ExpressionError(ValueError):
    """Raised for an invalid expression; the caller adds model and line."""


class ExpressionParser:
    """Parse expressions of one model against a fixed symbol table.

    Parameters
    ----------
    names : mapping of str to sympy.Symbol
        Every name an expression may use (attributes, ``t``, ``dt``, ...).
    user_functions : mapping of str to sympy.Lambda
        Functions declared by the model's ``functions`` argument.
    allow_prepost : bool
        Whether ``pre.x`` / ``post.x`` are allowed (synapses).
    pre_names, post_names : collection of str
        Names valid after ``pre.`` and ``post.``; empty means "any".
    """

    def __init__(self, names: Mapping[str, sympy.Symbol], user_functions=None,
                 allow_prepost: bool = False, pre_names=None, post_names=None) -> None:
        self.names = dict(names)
        self.user_functions = dict(user_functions or {})
        self.allow_prepost = allow_prepost
        self.pre_names = set(pre_names or ())
        self.post_names = set(post_names or ())
        self.noise_sites: list[NoiseSite] = []
        self.targets: list[str] = []
        self.prepost: list[tuple[str, str]] = []
        self.gradients: dict[str, sympy.Symbol] = {}

    # -- public ------------------------------------------------------------
    def parse(self, text: str, allow_gradient: bool = False) -> sympy.Expr:
        """Return the sympy form of ``text``; raise :class:`ExpressionError`."""
        source = text.strip()
        if not source:
            raise ExpressionError("empty expression")
        if allow_gradient:
            source = _GRADIENT.sub(lambda m: f"__grad__{m.group(1)}", source)
        source = source.replace("^", "**")
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"syntax error in {text.strip()!r}: {exc.msg}") from exc
        return self._convert(tree.body)

    # -- AST walk ----------------------------------------------------------
    def _convert(self, node: ast.AST) -> sympy.Expr:
        method = getattr(self, f"_node_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"unsupported syntax {ast.unparse(node)!r}")
        return method(node)

    def _node_Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            return sympy.Float(value)
        raise ExpressionError(f"unsupported constant {value!r}")

    def _node_Name(self, node: ast.Name):
        name = node.id
        if name.startswith("__grad__"):
            variable = name[len("__grad__"):]
            if variable not in self.names:
                raise ExpressionError(f"undefined name {variable!r} in d{variable}/dt")
            symbol = self.gradients.setdefault(variable, sympy.Symbol(f"__grad__{variable}"))
            return symbol
        if name in ("True", "False"):
            return sympy.true if name == "True" else sympy.false
        if name not in self.names:
            raise ExpressionError(f"undefined name {name!r}")
        return self.names[name]

    def _node_Attribute(self, node: ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in ("pre", "post")):
            raise ExpressionError(f"unsupported attribute access {ast.unparse(node)!r}")
        if not self.allow_prepost:
            raise ExpressionError(f"{ast.unparse(node)!r}: pre./post. are only valid in synapses")
        side, attribute = node.value.id, node.attr
        known = self.pre_names if side == "pre" else self.post_names
        if known and attribute not in known:
            raise ExpressionError(f"undefined name {side}.{attribute}")
        if (side, attribute) not in self.prepost:
            self.prepost.append((side, attribute))
        return sympy.Symbol(f"_{side}_{attribute}")

    def _node_UnaryOp(self, node: ast.UnaryOp):
        operand = self._convert(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return sympy.Not(operand)
        raise ExpressionError(f"unsupported operator in {ast.unparse(node)!r}")

    def _node_BinOp(self, node: ast.BinOp):
        left, right = self._convert(node.left), self._convert(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow):
            return left ** right
        if isinstance(op, ast.Mod):
            return sympy.Mod(left, right)
        raise ExpressionError(f"unsupported operator in {ast.unparse(node)!r}")

    def _node_BoolOp(self, node: ast.BoolOp):
        values = [self._convert(v) for v in node.values]
        return sympy.And(*values) if isinstance(node.op, ast.And) else sympy.Or(*values)

    def _node_Compare(self, node: ast.Compare):
        operators = {ast.Gt: sympy.StrictGreaterThan, ast.GtE: sympy.GreaterThan,
                     ast.Lt: sympy.StrictLessThan, ast.LtE: sympy.LessThan,
                     ast.Eq: sympy.Eq, ast.NotEq: sympy.Ne}
        terms = [self._convert(node.left)] + [self._convert(c) for c in node.comparators]
        relations = []
        for op, left, right in zip(node.ops, terms, terms[1:]):
            if type(op) not in operators:
                raise ExpressionError(f"unsupported comparison in {ast.unparse(node)!r}")
            relations.append(operators[type(op)](left, right, evaluate=False))
        return relations[0] if len(relations) == 1 else sympy.And(*relations)

    def _prepost_sum(self, node: ast.Call):
        """``pre.sum(exc)`` / ``post.sum(exc)``: the summed input of target ``exc`` of the pre/post neuron."""
        side = node.func.value.id
        if not self.allow_prepost:
            raise ExpressionError(f"{ast.unparse(node)!r}: pre./post. are only valid in synapses")
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name) or node.keywords:
            raise ExpressionError(f"{side}.sum() takes one target name: {ast.unparse(node)!r}")
        attribute = f"_sum_{node.args[0].id}"
        if (side, attribute) not in self.prepost:
            self.prepost.append((side, attribute))
        return sympy.Symbol(f"_{side}_{attribute}")

    def _node_Call(self, node: ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "sum" and \
                isinstance(node.func.value, ast.Name) and node.func.value.id in ("pre", "post"):
            return self._prepost_sum(node)
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise ExpressionError(f"unsupported call {ast.unparse(node)!r}")
        name = node.func.id
        if name == "sum":
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
                raise ExpressionError(f"sum() takes one target name: {ast.unparse(node)!r}")
            target = node.args[0].id
            if target not in self.targets:
                self.targets.append(target)
            return sympy.Symbol(f"_sum_{target}")
        args = [self._convert(a) for a in node.args]
        if name in NOISE_FUNCTIONS:
            if len(args) != 2:
                raise ExpressionError(f"{name}() takes 2 arguments: {ast.unparse(node)!r}")
            site = NoiseSite(len(self.noise_sites), name, args[0], args[1],
                             sympy.Symbol(f"_rand_{len(self.noise_sites)}"))
            self.noise_sites.append(site)
            return site.symbol
        if name in self.user_functions:
            function = self.user_functions[name]
            if len(args) != len(function.variables):
                raise ExpressionError(f"{name}() takes {len(function.variables)} argument(s)")
            return function(*args)
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name!r}")
        arity = FUNCTION_ARITY.get(name, 1)
        if len(args) != arity:
            raise ExpressionError(f"{name}() takes {arity} argument(s): {ast.unparse(node)!r}")
        return FUNCTIONS[name](*args)


def parse_function_definitions(text: str | None, known: Mapping[str, sympy.Lambda] | None = None
                               ) -> dict[str, sympy.Lambda]:
    """Parse ``functions`` text (``name(x, y) = expression`` per line); bodies may call ``known`` functions."""
    functions: dict[str, sympy.Lambda] = dict(known or {})
    defined: list[str] = []
    for _lineno, line in split_statements(text):
        match = re.fullmatch(r"([A-Za-z_]\w*)\s*\(([^)]*)\)\s*=\s*(.+)", line)
        if not match:
            raise ExpressionError(f"invalid function definition {line!r}")
        name, arguments, body = match.groups()
        argument_names = [a.strip() for a in arguments.split(",") if a.strip()]
        symbols = {a: sympy.Symbol(a) for a in argument_names}
        parser = ExpressionParser(symbols, user_functions=functions)
        functions[name] = sympy.Lambda(tuple(symbols.values()), parser.parse(body))
        defined.append(name)
    return {name: functions[name] for name in defined}


def split_statements(text) -> list[tuple[int, str]]:
    """Statements of a description block as (line number, text).

    One statement per line or per ``;``; ``#`` starts a comment.  A list of
    strings is accepted as one statement per item.
    """
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        text = "\n".join(str(t) for t in text)
    statements = []
    for lineno, raw in enumerate(str(text).splitlines(), start=1):
        raw = raw.split("#", 1)[0]
        for part in raw.split(";"):
            if part.strip():
                statements.append((lineno, part.strip()))
    return statements
