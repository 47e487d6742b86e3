"""Sphinx configuration of gpunet's documentation: ``sphinx-build -W -b html docs build/docs``.

The pages are Markdown (MyST); the API reference (API.md) is generated from the NumPy-style docstrings of
every name in ``gpunet.__all__`` by the ``gpunet-api`` directive of ``_ext/gpunet_reference.py``, which also
fails the build (a warning, and ``-W``) when a public name has no entry, no summary sentence or an
undocumented parameter. ``nitpicky`` makes every unresolved cross-reference to gpunet a warning too.
"""
from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # the gpunet of this checkout, not an installed one

import gpunet  # noqa: E402

project = "gpunet"
author = "the gpunet developers"
copyright = "the gpunet developers"
release = version = gpunet.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
    "gpunet_reference",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Broken references are errors (with -W): every py: reference into gpunet must resolve. Types of the standard
# library and of NumPy/SciPy in signatures are not documented here, so those are let through.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!gpunet\b).*")]
autodoc_typehints = "none"  # types are in the docstrings' Parameters sections (NumPy style)
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"gpunet {release}"
html_theme_options = {"description": "Neural networks whose state lives on the GPU, saved without loss",
                      "fixed_sidebar": True}

# Pages added to docs/ later (docs/scaling.md, ...) join the index's "More" section by themselves until a
# page's author lists them in index.md's toctrees; see gpunet_reference.add_unlisted_pages.
gpunet_reference_unlisted_caption = "More"
# Lines appended to a page when the page they link to exists (pages other changes are adding).
gpunet_reference_optional_links = {
    "many-processes": [("scaling", "The design of sharded runs and snapshots, and what of it works today: "
                                   "[Scaling](scaling.md).")],
}
# Public methods of the classes in gpunet.__all__ must document their parameters too (False: a summary suffices).
gpunet_reference_method_parameters = True
