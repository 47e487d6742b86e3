"""ANNarchy's conditional expressions: ``x = if c: a else: b`` (and ``if c then a else b``).

:func:`rewrite_conditional` turns the right-hand side into the model
language's ``ite(c, a, b)``, nested conditionals included (``if c1: a else:
if c2: b else: c``); :func:`split_conditional_flags` finds the flags of such a
statement, which ANNarchy puts after its *last* colon.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

_STARTS_WITH_IF = re.compile(r"\s*if\b")
_TOKENS = re.compile(r"\b(if|then|else)\b|:")
_HAS_CONDITIONAL = re.compile(r"(?:^|[=(,])\s*if\b")


class ConditionalError(ValueError):
    """A malformed conditional; the caller adds model and line."""


def is_conditional(text: str) -> bool:
    """Whether a statement's text holds an ``if`` conditional."""
    return bool(_HAS_CONDITIONAL.search(text))


def split_conditional_flags(text: str, known_flags: Iterable[str]) -> tuple[str, Optional[str]]:
    """``(body, flag text or None)`` of a conditional statement: flags follow the last colon, if they are flags."""
    head, sep, tail = text.rpartition(":")
    if not sep:
        return text, None
    known = set(known_flags)
    items = [item.strip() for item in tail.split(",") if item.strip()]
    if items and all(item.partition("=")[0].strip() in known for item in items):
        return head, tail
    return text, None


def rewrite_conditional(expression: str) -> str:
    """``ite(...)`` for an expression that starts with ``if``; any other expression unchanged."""
    if not _STARTS_WITH_IF.match(expression):
        return expression
    tokens: list[tuple[str, str]] = []
    position = 0
    for match in _TOKENS.finditer(expression):
        if expression[position:match.start()].strip():
            tokens.append(("text", expression[position:match.start()].strip()))
        tokens.append(("word", match.group(0)))
        position = match.end()
    if expression[position:].strip():
        tokens.append(("text", expression[position:].strip()))
    result, rest = _conditional(tokens, expression)
    if rest:
        raise ConditionalError(f"unexpected {' '.join(t for _, t in rest)!r} after a conditional in {expression!r}")
    return result


def _conditional(tokens: list[tuple[str, str]], source: str) -> tuple[str, list]:
    if not tokens or tokens[0] != ("word", "if"):
        raise ConditionalError(f"expected 'if' in {source!r}")
    tokens = tokens[1:]
    condition, tokens = _text(tokens, source, "a condition")
    if not tokens or tokens[0] not in (("word", ":"), ("word", "then")):
        raise ConditionalError(f"expected ':' or 'then' after the condition in {source!r}")
    then_value, tokens = _value(tokens[1:], source)
    if not tokens or tokens[0] != ("word", "else"):
        raise ConditionalError(f"a conditional needs 'else' (var = if condition: a else: b) in {source!r}")
    tokens = tokens[1:]
    if tokens and tokens[0] == ("word", ":"):
        tokens = tokens[1:]
    else_value, tokens = _value(tokens, source)
    return f"ite({condition}, {then_value}, {else_value})", tokens


def _value(tokens: list[tuple[str, str]], source: str) -> tuple[str, list]:
    if tokens and tokens[0] == ("word", "if"):
        return _conditional(tokens, source)
    return _text(tokens, source, "a value")


def _text(tokens: list[tuple[str, str]], source: str, what: str) -> tuple[str, list]:
    if not tokens or tokens[0][0] != "text":
        raise ConditionalError(f"expected {what} in {source!r}")
    return f"({tokens[0][1]})", tokens[1:]
