"""The documentation builds with warnings as errors: every cross-reference resolves, every public name of
``gpunet.__all__`` has a reference entry with a summary and its parameters (docs/_ext/gpunet_reference.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gpunet

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytestmark = pytest.mark.slow  # Sphinx builds in subprocesses: about 15 s of CPU in all


def _build(source: Path, out: Path, *settings: str) -> subprocess.CompletedProcess:
    options = [f"-D{setting}" for setting in settings]
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html", *options,
                           str(source), str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_docs_build_without_a_warning(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    done = _build(DOCS, tmp_path / "html")
    assert done.returncode == 0, done.stderr
    reference = (tmp_path / "html" / "API.html").read_text()
    for name in gpunet.__all__:  # one anchor per public name
        assert f'id="gpunet.{name}"' in reference, name


def test_reference_check_names_what_is_missing():
    pytest.importorskip("numpydoc")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from gpunet_reference import docstring_problems
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    documented = "Do it.\n\nParameters\n----------\nx, y : int\n    Numbers.\n**options\n    More.\n"
    assert docstring_problems("f", documented, ["x", "y", "**options"]) == []
    assert docstring_problems("f", "Do it.", ["x"]) == ["f: parameters not documented: x"]
    assert docstring_problems("f", "", []) == ["f: no summary sentence"]


def test_a_public_name_without_an_entry_fails_the_build(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text((DOCS / "conf.py").read_text().replace(
        "DOCS = Path(__file__).resolve().parent", f"DOCS = Path({str(DOCS)!r})"))
    (source / "index.md").write_text("# Index\n\n```{toctree}\nAPI\n```\n")
    (source / "API.rst").write_text("API\n===\n\n.. gpunet-api::\n\n   save\n")
    done = _build(source, tmp_path / "html")
    assert done.returncode != 0
    assert "public name 'load' (gpunet.__all__) has no entry" in done.stderr


def test_a_page_added_to_docs_is_built_and_linked(tmp_path):
    """Pages other changes add (docs/scaling.md...) join the site without an edit of index.md, and a broken link
    in them fails the build."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text((DOCS / "conf.py").read_text().replace(
        "DOCS = Path(__file__).resolve().parent", f"DOCS = Path({str(DOCS)!r})"))
    (source / "index.md").write_text("# Index\n\n```{toctree}\nmany-processes\n```\n")
    (source / "many-processes.md").write_text("# Many processes\n\nToday: one process.\n")
    (source / "scaling.md").write_text("# Scaling\n\nShards.\n")
    done = _build(source, tmp_path / "html", "gpunet_reference_require_all=0")  # a site without the reference
    assert done.returncode == 0, done.stderr
    assert 'href="scaling.html"' in (tmp_path / "html" / "index.html").read_text()
    assert 'href="scaling.html"' in (tmp_path / "html" / "many-processes.html").read_text()
    (source / "scaling.md").write_text("# Scaling\n\nSee [the plan](plan.md).\n")
    broken = _build(source, tmp_path / "html2", "gpunet_reference_require_all=0")
    assert broken.returncode != 0
    assert "plan.md" in broken.stderr
