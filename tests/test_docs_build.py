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


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html",
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
