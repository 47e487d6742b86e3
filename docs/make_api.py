"""Regenerate docs/API.md from the docstrings of gpunet's public names: ``python docs/make_api.py``."""
from __future__ import annotations

import inspect
from pathlib import Path

import gpunet


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    paragraphs = doc.split("\n\n")
    return paragraphs[0].replace("\n", " ") if paragraphs else ""


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def main() -> None:
    lines = ["# gpunet API reference", "",
             "Generated from the docstrings by `python docs/make_api.py`; `help(gpunet.<name>)` shows the full text.",
             ""]
    for name in sorted(gpunet.__all__, key=str.lower):
        obj = getattr(gpunet, name)
        if name.startswith("__"):
            continue
        if inspect.isclass(obj):
            lines += [f"## class `{name}{_signature(obj)}`", "", _summary(obj), ""]
            for member_name, member in inspect.getmembers(obj):
                if member_name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                if member_name not in obj.__dict__:
                    continue
                target = member.fget if isinstance(member, property) else member
                kind = "property" if isinstance(member, property) else f"{member_name}{_signature(member)}"
                label = member_name if isinstance(member, property) else kind
                lines.append(f"- `{label}`{' (property)' if isinstance(member, property) else ''}: "
                             f"{_summary(target)}")
            lines.append("")
        elif isinstance(obj, (gpunet.Neuron, gpunet.Synapse)):
            lines += [f"## model `{name}` ({type(obj).__name__})", "", obj.description, "",
                      f"- parameters: {', '.join(obj.parameters)}", f"- variables: {', '.join(obj.variables)}",
                      f"- `{name}(**overrides)` returns a copy with other default parameter values", ""]
        elif callable(obj):
            lines += [f"## `{name}{_signature(obj)}`", "", _summary(obj), ""]
        else:
            description = getattr(obj, "description", "") or type(obj).__name__
            lines += [f"## `{name}`", "", f"{type(obj).__name__}: {description}", ""]
    Path(__file__).with_name("API.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
