"""Short HTML tables that Jupyter shows for networks, populations, projections and monitors (``_repr_html_``).

Every text is HTML-escaped; the tables carry no style beyond ``<table>``'s,
so they follow the notebook's theme.
"""
from __future__ import annotations

import html
from typing import Any, Sequence


def _cell(value: Any, tag: str = "td") -> str:
    return f"<{tag} style=\"text-align:left\">{html.escape(str(value))}</{tag}>"


def table(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table (name, value) under the heading ``title``.

    >>> table("Population pop0", [("size", 3)])
    '<div><strong>Population pop0</strong><table><tr><th style="text-align:left">size</th><td style="text-align:left">3</td></tr></table></div>'
    """
    body = "".join(f"<tr>{_cell(name, 'th')}{_cell(value)}</tr>" for name, value in rows)
    return f"<div><strong>{html.escape(title)}</strong><table>{body}</table></div>"


def grid(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table with a header row and one row per item (an empty string when there is no row)."""
    if not rows:
        return ""
    head = "".join(_cell(name, "th") for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<div><strong>{html.escape(title)}</strong><table><tr>{head}</tr>{body}</table></div>"


def names(items: Sequence[str], limit: int = 12) -> str:
    """``a, b, c`` with at most ``limit`` names (then ``... (N in all)``)."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "") if items else "-"
