"""Functions declared once for every model: ANNarchy's ``add_function`` and ``functions``.

``gn.add_function("logistic(x) = 1 / (1 + exp(-x))")`` makes ``logistic``
usable in the equations of every model defined afterwards (models are parsed
when they are defined, so a function must be added before the models that use
it).  A model's own ``functions`` argument may define a function of the same
name, which then wins inside that model.  ``gn.functions("logistic")``
(:mod:`gpunet.api`) returns the function as NumPy code, for use on arrays.
"""
from __future__ import annotations

import re
import sympy

from gpunet.errors import ModelError
from gpunet.model.conditionals import ConditionalError, rewrite_conditional
from gpunet.model.expressions import FUNCTIONS, NOISE_FUNCTIONS, ExpressionError, parse_function_definitions

_DEFINITION_START = re.compile(r"\s*[A-Za-z_]\w*\s*\([^()]*\)\s*=(?!=)")
_functions: dict[str, sympy.Lambda] = {}
_texts: dict[str, str] = {}


def _definitions(text: str) -> list[str]:
    """One string per definition; a line that does not start ``name(args) =`` continues the one above."""
    definitions: list[str] = []
    for line in str(text).splitlines():
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        if _DEFINITION_START.match(line) or not definitions:
            definitions.append(line.strip())
        else:
            definitions[-1] += " " + line.strip()
    return definitions


def add_function(function: str) -> None:
    """Declare functions that every model defined afterwards may call.

    Parameters
    ----------
    function : str
        ``name(x, y) = expression``, one or more (a line that does not start
        a definition continues the previous one, so a conditional
        ``if x < a: a else: x`` may span lines).  The expression uses its
        arguments, numbers, the model language's functions and functions
        added before.

    Raises
    ------
    ModelError
        For a syntax error, a reserved name, or a name already declared with
        another definition (declaring the same text again does nothing).

    Examples
    --------
    >>> import gpunet as gn
    >>> gn.add_function("logistic_demo(x) = 1 / (1 + exp(-x))")
    >>> gn.Neuron(equations="r = logistic_demo(2.0 * t)").spec.equations[0].expr
    1/(1 + exp(-2.0*t))
    """
    parsed: dict[str, sympy.Lambda] = {}
    texts: dict[str, str] = {}
    for definition in _definitions(function):
        name, _, body = definition.partition("=")
        name = name.split("(", 1)[0].strip()
        if name in FUNCTIONS or name in NOISE_FUNCTIONS or name in ("sum", "pre", "post"):
            raise ModelError(f"add_function: {name!r} is a function of the model language already")
        if name in _texts and _texts[name] != definition:
            raise ModelError(f"add_function: the global function {name!r} is already declared as "
                             f"{_texts[name]!r}")
        head = definition[:definition.index("=") + 1]
        try:
            source = f"{head} {rewrite_conditional(body.strip())}"
            parsed.update(parse_function_definitions(source, {**_functions, **parsed}))
        except (ExpressionError, ConditionalError) as exc:
            raise ModelError(f"add_function: {exc} in {definition!r}") from exc
        texts[name] = definition
    _functions.update(parsed)
    _texts.update(texts)


def global_functions() -> dict[str, sympy.Lambda]:
    """The functions declared with :func:`add_function`, by name (a copy)."""
    return dict(_functions)


def clear_functions() -> None:
    """Forget every function declared with :func:`add_function`."""
    _functions.clear()
    _texts.clear()
