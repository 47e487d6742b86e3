"""File formats, one module each; :func:`format_for` is the one suffix table.

| suffix            | module          | holds                                   |
|-------------------|-----------------|-----------------------------------------|
| ``.json``         | params_json     | global parameters                       |
| ``.npz``          | state_npz       | native state (ANNarchy .npz recognised) |
| ``.mat``          | state_mat       | state, Matlab                           |
| ``.gz``           | state_gzip      | state, gzipped ANNarchy pickle          |
| ``.txt``, others  | state_pickle    | state, ANNarchy pickle                  |
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Union

SUFFIXES = {".json": "params_json", ".npz": "state_npz", ".mat": "state_mat", ".gz": "state_gzip"}
DEFAULT = "state_pickle"


def format_name(path: Union[str, Path]) -> str:
    """The name of the format module for ``path`` (by suffix, case-insensitive)."""
    return SUFFIXES.get(Path(path).suffix.lower(), DEFAULT)


def format_for(path: Union[str, Path]) -> ModuleType:
    """The format module that reads and writes ``path``."""
    return importlib.import_module(f"gpunet.io.formats.{format_name(path)}")
