"""Print the sympy expressions of a ModelSpec as NumPy code or CUDA C.

Both printers share :class:`ModelPrinterMixin` (symbol naming, constants and
the model language's functions) and keep sympy's term order, so the NumPy
path and the CUDA kernels evaluate the same arithmetic in the same order.
"""
from __future__ import annotations

from typing import Mapping

import sympy
from sympy.printing.c import C99CodePrinter
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
    """CUDA C for one element of a kernel; ``real`` is the floating type."""

    true_literal, false_literal = "true", "false"

    def __init__(self, names: Mapping[str, str], real: str = "double", **settings) -> None:
        super().__init__(names, **settings)
        self.real = real

    def _print_Float(self, expr) -> str:
        return f"(({self.real}){float(expr)!r})"

    def _print_Rational(self, expr) -> str:
        return f"(({self.real}){expr.p}/({self.real}){expr.q})"

    def _print_Function(self, expr) -> str:
        name = type(expr).__name__
        args = [self._print(a) for a in expr.args]
        if name == "pos":
            return f"fmax({args[0]}, ({self.real})0)"
        if name == "neg":
            return f"fmin({args[0]}, ({self.real})0)"
        if name == "clip":
            return f"fmin(fmax({args[0]}, {args[1]}), {args[2]})"
        if name == "ite":
            return f"(({args[0]}) ? ({args[1]}) : ({args[2]}))"
        return super()._print_Function(expr)

    def _print_Mod(self, expr) -> str:
        return f"fmod({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Relational(self, expr) -> str:
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"
