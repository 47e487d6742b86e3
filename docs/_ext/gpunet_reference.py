"""Sphinx extension: gpunet's API reference, generated from ``gpunet.__all__`` and checked.

``gpunet-api`` directive: its content lists public names, one a line; each becomes an autodoc entry
(classes with their public members, functions, built-in models with their parameters and variables).
At the end of reading, every name of ``gpunet.__all__`` must have exactly one entry, and each entry must have
a summary sentence and document every parameter of its signature (a class: its constructor's); public
methods and properties need a summary sentence (and their parameters too with
``gpunet_reference_method_parameters = True`` in conf.py). Each miss is a Sphinx warning, so ``-W`` fails the build.

The ``source-read`` hooks append to the index a toctree of the pages of docs/ that no toctree of index.md lists,
so a page that another change adds is built (and its broken links caught) at once; and to a page the links of
``gpunet_reference_optional_links`` whose target page exists.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Callable

from docutils import nodes
from docutils.statemachine import StringList
from numpydoc.docscrape import NumpyDocString
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import gpunet

logger = logging.getLogger(__name__)


def _is_model(obj: Any) -> bool:
    return isinstance(obj, (gpunet.Neuron, gpunet.Synapse))


def _signature_parameters(func: Callable) -> list[str]:
    """Names a docstring must document: every parameter but self/cls and private ones (``_name``)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    names = []
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls") or parameter.name.startswith("_"):
            continue
        prefix = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        names.append(prefix + parameter.name)
    return names


def _documented_parameters(doc: NumpyDocString) -> set[str]:
    names = set()
    for entry in list(doc["Parameters"]) + list(doc["Other Parameters"]):
        names.update(part.strip().lstrip("*") for part in entry.name.split(","))
    return names


def docstring_problems(label: str, docstring: str, parameters: list[str]) -> list[str]:
    """What the docstring of ``label`` lacks: a summary sentence, entries for ``parameters``."""
    try:
        doc = NumpyDocString(docstring or "")
    except Exception as error:  # numpydoc's own parse errors, reported as a problem of this docstring
        return [f"{label}: the docstring does not parse as NumPy style ({error})"]
    problems = []
    if not " ".join(doc["Summary"]).strip():
        problems.append(f"{label}: no summary sentence")
    documented = _documented_parameters(doc)
    missing = [name for name in parameters if name.lstrip("*") not in documented]
    if missing:
        problems.append(f"{label}: parameters not documented: {', '.join(missing)}")
    return problems


def _public_members(cls: type) -> list[tuple[str, Any]]:
    members = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            members.append((name, member.fget))
        elif isinstance(member, (staticmethod, classmethod)):
            members.append((name, member.__func__))
        elif inspect.isfunction(member):
            members.append((name, member))
    return members


def entry_problems(name: str, method_parameters: bool = False) -> list[str]:
    """Every problem of the reference entry of ``gpunet.<name>``.

    With ``method_parameters`` the public methods of a class must document their parameters too.
    """
    obj = getattr(gpunet, name)
    if name == "__version__" or _is_model(obj):
        return []  # rendered from data (the version string; the model's description and attributes)
    if inspect.isclass(obj):
        if issubclass(obj, (BaseException, Warning)):
            return docstring_problems(name, inspect.getdoc(obj), [])
        init = obj.__init__ if "__init__" in vars(obj) or obj.__init__ is not object.__init__ else None
        problems = docstring_problems(name, inspect.getdoc(obj), _signature_parameters(init) if init else [])
        for member_name, member in _public_members(obj):
            parameters = _signature_parameters(member) if method_parameters and inspect.isfunction(member) \
                and not isinstance(vars(obj).get(member_name), property) else []
            problems += docstring_problems(f"{name}.{member_name}", inspect.getdoc(member), parameters)
        return problems
    if callable(obj):
        return docstring_problems(name, inspect.getdoc(obj), _signature_parameters(obj))
    return [f"{name}: neither a class, a function, a model nor __version__; the reference cannot render it"]


def _model_lines(name: str, model: Any) -> list[str]:
    spec = model.spec
    kind = "neuron" if isinstance(model, gpunet.Neuron) else "synapse"
    lines = [f".. data:: gpunet.{name}", "", f"   {model.description}", "",
             f"   A built-in {kind} model (a :class:`gpunet.{type(model).__name__}`); "
             f"``gpunet.{name}(**values)`` returns a copy with other default parameter values.", ""]
    if model.parameters:
        element = "neuron" if kind == "neuron" else "synapse"
        lines += ["   Parameters, with their defaults:", ""]
        for parameter in model.parameters:
            attribute = spec.attributes[parameter]
            scope = "global" if attribute.is_global else f"one per {element}"
            lines.append(f"   - ``{parameter} = {attribute.init}`` ({scope})")
        lines.append("")
    if model.variables:
        lines += ["   Variables: " + ", ".join(f"``{v}``" for v in model.variables), ""]
    return lines


class GpunetApi(SphinxDirective):
    """``gpunet-api``: reference entries for the public names listed in the content."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        documented = self.env.domaindata.setdefault("gpunet_reference", {})
        lines: list[str] = []
        for name in (line.strip() for line in self.content):
            if not name:
                continue
            if name not in gpunet.__all__:
                logger.warning(f"gpunet-api: {name!r} is not in gpunet.__all__", location=self.get_location())
                continue
            if name in documented:
                logger.warning(f"gpunet-api: {name!r} has two entries", location=self.get_location())
                continue
            documented[name] = self.env.docname
            for problem in entry_problems(name, self.config.gpunet_reference_method_parameters):
                logger.warning(f"gpunet reference: {problem}", location=self.get_location())
            obj = getattr(gpunet, name)
            if name == "__version__":
                lines += [".. data:: gpunet.__version__", "",
                          "   The version of gpunet, as a string (also written into every saved file).", ""]
            elif _is_model(obj):
                lines += _model_lines(name, obj)
            elif inspect.isclass(obj) and issubclass(obj, (BaseException, Warning)):
                lines += [f".. autoexception:: gpunet.{name}", "   :no-members:", "   :show-inheritance:", ""]
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: gpunet.{name}", "   :members:", ""]
            else:
                lines += [f".. autofunction:: gpunet.{name}", ""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), self.content_offset, container)
        return container.children


def check_every_name_has_an_entry(app: Sphinx, env: Any) -> None:
    if not app.config.gpunet_reference_require_all:
        return
    documented = env.domaindata.get("gpunet_reference", {})
    for name in gpunet.__all__:
        if name not in documented:
            logger.warning(f"gpunet reference: public name {name!r} (gpunet.__all__) has no entry; add it to a "
                           f"gpunet-api block of docs/API.md")


def _purge(app: Sphinx, env: Any, docname: str) -> None:
    documented = env.domaindata.get("gpunet_reference", {})
    for name in [n for n, doc in documented.items() if doc == docname]:
        del documented[name]


def add_unlisted_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    """Append the pages no toctree of the index names to the index, under a caption of their own."""
    if docname != app.config.root_doc:
        return
    listed = set(re.findall(r"^\s*([\w./-]+?)(?:\.md)?\s*$", source[0], flags=re.MULTILINE))
    srcdir = Path(app.srcdir)
    pages = sorted(p.relative_to(srcdir).with_suffix("").as_posix() for p in srcdir.glob("*.md"))
    unlisted = [page for page in pages if page not in listed and page != docname]
    if unlisted:
        caption = app.config.gpunet_reference_unlisted_caption
        source[0] += f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n" + "\n".join(unlisted) + "\n```\n"


def add_optional_links(app: Sphinx, docname: str, source: list[str]) -> None:
    """Append the lines of ``gpunet_reference_optional_links[docname]`` whose page exists in docs/."""
    for page, line in app.config.gpunet_reference_optional_links.get(docname, []):
        if (Path(app.srcdir) / f"{page}.md").exists():
            source[0] += "\n" + line + "\n"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("gpunet_reference_unlisted_caption", "More", "env")
    app.add_config_value("gpunet_reference_method_parameters", False, "env")
    app.add_config_value("gpunet_reference_require_all", True, "env")
    app.add_directive("gpunet-api", GpunetApi)
    app.connect("env-purge-doc", _purge)
    app.connect("env-check-consistency", check_every_name_has_an_entry)
    app.add_config_value("gpunet_reference_optional_links", {}, "env")
    app.connect("source-read", add_unlisted_pages)
    app.connect("source-read", add_optional_links)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
