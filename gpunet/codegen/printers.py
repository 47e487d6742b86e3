"""Print the sympy expressions of a ModelSpec as NumPy code or CUDA C.

Both printers share :class:`ModelPrinterMixin` (symbol naming, constants and
the model language's functions) and keep sympy's term order, so the NumPy
path and the CUDA kernels evaluate the same arithmetic in the same order.
"""
from __future__ import annotations

from typing import Mapping

import sympy
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter


class ModelPrinterMixin:
    """Naming and constants shared by every gpunet printer.

    ``names`` maps each symbol name to the code that reads it (``"v"`` ->
    ``"S_v"`` in NumPy, ``"v[i]"`` in CUDA).  A symbol without an entry is a
    bug in the code generator and raises ``KeyError``.
    """

    def __init__(self, names: Mapping[str, str], **settings) -> None:
        super().__init__(settings)
        self.names = names  # shared: generators bind temporaries as they go

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        try:
            return self.names[expr.name]
        except KeyError:
            raise KeyError(f"code generator: no name bound for symbol {expr.name!r}") from None

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_BooleanTrue(self, expr) -> str:
        return self.true_literal

    def _print_BooleanFalse(self, expr) -> str:
        return self.false_literal


class NumpyPrinter(ModelPrinterMixin, StrPrinter):
    """Array code against the module bound to ``xp`` (NumPy or CuPy)."""

    true_literal, false_literal = "True", "False"
    _functions = {"exp": "xp.exp", "log": "xp.log", "sin": "xp.sin", "cos": "xp.cos",
                  "tan": "xp.tan", "tanh": "xp.tanh", "Abs": "xp.abs"}

    def _print_Integer(self, expr) -> str:
        return str(int(expr))

    def _print_Rational(self, expr) -> str:
        return f"({expr.p}/{expr.q})"

    def _print_Pow(self, expr, rational=False) -> str:
        if expr.exp == sympy.S.Half:
            return f"xp.sqrt({self._print(expr.base)})"
        if expr.exp == -sympy.S.Half:
            return f"(1/xp.sqrt({self._print(expr.base)}))"
        return super()._print_Pow(expr, rational)

    def _print_Function(self, expr) -> str:
        name = type(expr).__name__
        args = [self._print(a) for a in expr.args]
        if name in self._functions:
            return f"{self._functions[name]}({', '.join(args)})"
        if name == "pos":
            return f"xp.maximum({args[0]}, 0.0)"
        if name == "neg":
            return f"xp.minimum({args[0]}, 0.0)"
        if name == "clip":
            return f"xp.minimum(xp.maximum({args[0]}, {args[1]}), {args[2]})"
        if name == "ite":
            return f"xp.where({args[0]}, {args[1]}, {args[2]})"
        raise KeyError(f"code generator: function {name!r} has no NumPy form")

    _print_exp = _print_log = _print_sin = _print_cos = _print_tan = _print_tanh = _print_Function
    _print_Abs = _print_Function

    def _print_Mod(self, expr) -> str:
        return f"xp.fmod({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Relational(self, expr) -> str:
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr) -> str:
        return "(" + " & ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr) -> str:
        return "(" + " | ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr) -> str:
        return f"(~{self._print(expr.args[0])})"


class CudaPrinter(ModelPrinterMixin, C99CodePrinter):
    """CUDA C for one element of a kernel; ``real`` is the floating type.

    The output evaluates the same operations in the same order as the
    NumPy printer's, so that a float64 kernel compiled without FMA
    contraction reproduces the array code bit for bit where the math library
    does not enter (``+ - * /``, ``sqrt``, comparisons):

    * products and quotients use :class:`StrPrinter`'s layout (``x/3``, not
      C99's ``(1.0/3.0)*x``);
    * NumPy's exact shortcuts are kept: ``x**2`` is ``(x*x)``, ``x**0.5``
      is ``sqrt(x)``, ``x**-1`` is ``((real)1)/x``; other powers call ``pow``;
    * number literals are cast to ``real`` as NumPy casts Python scalars to
      the array's type, rationals after dividing in double (as Python does);
    * ``pos``, ``neg`` and ``clip`` use ``gn_maximum``/``gn_minimum``
      (``kernels/prelude.cuh``), which propagate NaN like NumPy's.
    """

    true_literal, false_literal = "true", "false"

    def __init__(self, names: Mapping[str, str], real: str = "double", **settings) -> None:
        super().__init__(names, **settings)
        self.real = real

    _print_Mul = StrPrinter._print_Mul

    def _literal(self, value: float) -> str:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"code generator: the constant {value!r} has no CUDA C literal here")
        return f"(({self.real}){value!r})"

    def _print_Float(self, expr) -> str:
        return self._literal(float(expr))

    def _print_Infinity(self, expr) -> str:
        return self._literal(float("inf"))

    _print_NegativeInfinity = _print_NaN = _print_ComplexInfinity = _print_Infinity

    def _print_Rational(self, expr) -> str:
        return self._literal(expr.p / expr.q)

    def _print_Pow(self, expr, rational=False) -> str:
        base = self.parenthesize(expr.base, precedence(expr), strict=False)
        exponent = expr.exp
        value = float(exponent) if exponent.is_Number else None
        if value == 2.0:
            return f"({base}*{base})"
        if value == 0.5:
            return f"sqrt({self._print(expr.base)})"
        if exponent == -sympy.S.Half:  # the rational only: NumpyPrinter prints 1/sqrt for it alone
            return f"((({self.real})1)/sqrt({self._print(expr.base)}))"
        if value == -1.0:
            return f"((({self.real})1)/{base})"
        base = self._literal(float(expr.base)) if expr.base.is_Number else self._print(expr.base)
        if exponent.is_Number:
            return f"pow({base}, {self._literal(float(exponent))})"
        return f"pow({base}, {self._print(exponent)})"

    def _print_Function(self, expr) -> str:
        name = type(expr).__name__
        args = [f"(({self.real})({self._print(a)}))" for a in expr.args]
        if name == "pos":
            return f"gn_maximum({args[0]}, (({self.real})0))"
        if name == "neg":
            return f"gn_minimum({args[0]}, (({self.real})0))"
        if name == "clip":
            return f"gn_minimum(gn_maximum({args[0]}, {args[1]}), {args[2]})"
        if name == "ite":
            return f"(({self._print(expr.args[0])}) ? ({self._print(expr.args[1])}) : ({self._print(expr.args[2])}))"
        return super()._print_Function(expr)

    def _print_Mod(self, expr) -> str:
        return f"fmod({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Relational(self, expr) -> str:
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"
