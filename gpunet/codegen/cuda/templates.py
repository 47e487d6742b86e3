"""Read the CUDA sources shipped in ``gpunet.kernels`` and fill their placeholders.

Templates are named after step phases (``neuron_update.cu``,
``spike_propagation.cu``, ...).  Placeholders are ``${name}``
(:class:`string.Template`); each template declares the names it uses on a
``// placeholders: a, b, c`` line near its top (left out of the result).  Filling is strict: a
placeholder left without a value, a value for a name the template does not
use, or a declaration that disagrees with the text raises
:class:`TemplateError`, so a template and its generator cannot drift apart
silently.
"""
from __future__ import annotations

import functools
import re
import string
from importlib import resources
from typing import Mapping

from gpunet.errors import GpunetError

_DECLARATION = re.compile(r"^//\s*placeholders:\s*(.*)$", re.M)
_DECLARATION_LINE = re.compile(r"^//\s*placeholders:.*\n", re.M)


class TemplateError(GpunetError, KeyError):
    """A kernel template and the values given to fill it do not match."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


@functools.lru_cache(maxsize=None)
def read_source(name: str) -> str:
    """The text of ``kernels/<name>`` (a file of the ``gpunet.kernels`` package).

    Raises
    ------
    FileNotFoundError
        When the package has no such file.
    """
    path = resources.files("gpunet.kernels").joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f"gpunet.kernels has no file {name!r}")
    return path.read_text(encoding="utf-8")


def placeholders_used(text: str) -> set[str]:
    """Names of the ``${name}`` / ``$name`` placeholders in ``text``."""
    names = set()
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            line = text[:match.start()].count("\n") + 1
            raise TemplateError(f"invalid '$' at line {line} of a kernel template")
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


def declared_placeholders(text: str) -> set[str]:
    """Names on the template's ``// placeholders:`` line (empty set without one)."""
    match = _DECLARATION.search(text)
    if match is None:
        return set()
    return {n.strip() for n in match.group(1).split(",") if n.strip()}


def fill(text: str, values: Mapping[str, str], name: str = "<template>") -> str:
    """Substitute ``values`` into ``text``; every placeholder must be given, and nothing else.

    Parameters
    ----------
    text : str
        Template text.
    values : mapping of str to str
        One value per placeholder.
    name : str
        Template name for error messages.

    Raises
    ------
    TemplateError
        For a missing value, a value the template does not use, or a
        ``// placeholders:`` line that disagrees with the text.

    Examples
    --------
    >>> fill("// placeholders: fn\\nvoid ${fn}();", {"fn": "step"})
    'void step();'
    """
    used = placeholders_used(text)
    declared = declared_placeholders(text)
    if declared and declared != used:
        raise TemplateError(f"kernel template {name}: the placeholders line lists {sorted(declared)} "
                            f"but the text uses {sorted(used)}")
    missing = sorted(used - set(values))
    unknown = sorted(set(values) - used)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no value for {', '.join(missing)}")
        if unknown:
            parts.append(f"values for names it does not use: {', '.join(unknown)}")
        raise TemplateError(f"kernel template {name}: {'; '.join(parts)}")
    try:
        filled = string.Template(text).substitute(values)
        return _DECLARATION_LINE.sub("", filled, count=1)
    except (KeyError, ValueError) as exc:  # pragma: no cover - the checks above catch these first
        raise TemplateError(f"kernel template {name}: {exc}") from exc


def render(name: str, **values: str) -> str:
    """Fill the shipped template ``kernels/<name>`` (see :func:`fill`)."""
    return fill(read_source(name), values, name)
