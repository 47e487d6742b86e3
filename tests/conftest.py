"""Shared fixtures and markers: ``gpu`` tests skip cleanly without a CUDA device."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

import gpunet
from gpunet.backend import gpu_available

# Files written by ANNarchy 5.0.4.1 (tests/data/annarchy/make_fixtures.py): the chapter's example network.
FIXTURES = Path(__file__).resolve().parent / "data" / "annarchy" / "chapter"


# Scripts that the ANNarchy interpreter runs (they import ANNarchy): not test modules, nor doctest modules.
collect_ignore = ["data/annarchy/make_fixtures.py", "io/annarchy_loads.py"]

# Test profiles: "ci" (default) keeps the whole suite within a few minutes on 2 cores;
# GPUNET_TEST_PROFILE=long runs many more fuzzing examples and a longer soak.
PROFILE = os.environ.get("GPUNET_TEST_PROFILE", "ci")
# Hypothesis keeps its files (example database, caches) out of the checkout; GPUNET_HYPOTHESIS_HOME overrides.
set_hypothesis_home_dir(os.environ.get(
    "GPUNET_HYPOTHESIS_HOME", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gpunet" / "hypothesis"))
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile("long" if PROFILE == "long" else "ci")


def pytest_collection_modifyitems(config, items):
    if not gpu_available():
        skip = pytest.mark.skip(reason="needs a CUDA device with CuPy (none available)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_default_network():
    """Every test starts with an empty default network on NumPy and no constant (they are module-wide and
    parameter files list them all)."""
    gpunet.clear(constants=True)
    gpunet.setup(backend="numpy", dt=1.0, seed=1234)
    yield
    gpunet.clear(constants=True)


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of ANNarchy's files of the chapter's example network (part of the repository)."""
    return FIXTURES


@pytest.fixture
def numpy_net():
    return gpunet.Network(dt=1.0, seed=42, backend="numpy")


def pytest_report_header(config):
    return f"gpunet {gpunet.__version__}; GPU available: {gpu_available()}; cwd {os.getcwd()}"
