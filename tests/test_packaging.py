"""The package metadata ships every subpackage and the CUDA sources."""
import importlib.resources
import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_found_by_the_pyproject_discovery():
    setuptools = pytest.importorskip("setuptools")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    discovered = set(setuptools.find_packages(str(ROOT), include=find["include"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "gpunet").rglob("__init__.py")}
    assert discovered == on_disk
    assert "gpunet.kernels" in discovered
    shipped = config["tool"]["setuptools"]["package-data"]["gpunet.kernels"]
    sources = {p.suffix for p in (ROOT / "gpunet" / "kernels").iterdir() if p.name != "__init__.py"}
    assert {f"*{suffix}" for suffix in sources} <= set(shipped)


def test_kernels_are_found_through_importlib_resources():
    folder = importlib.resources.files("gpunet.kernels")
    assert folder.joinpath("__init__.py").is_file()


def test_readme_has_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e . && gpunet demo" in readme
    test_command = "pip install -e '.[test]' && python -m pytest"
    assert test_command in readme
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_the_test_extra_brings_the_mpi_extra():
    """The README's test command installs mpi4py and mpich, so the tests marked ``mpi`` run in CI (not skip)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"mpi4py", "mpich"} == {r.split(">")[0].split("=")[0] for r in extras["mpi"]}
    assert set(extras["mpi"]) <= set(extras["test"])
