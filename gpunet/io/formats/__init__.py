"""File formats: one module each, one :class:`FileFormat` record each, looked up by suffix in one place.

| suffix           | module               | kind       | holds                                   |
|------------------|----------------------|------------|-----------------------------------------|
| ``.json``        | params_json          | parameters | global parameters                       |
| ``.npz``         | state_npz            | state      | native state (ANNarchy .npz recognised) |
| ``.mat``         | state_mat            | state      | state, Matlab                           |
| ``.gz``          | pickled.state_gzip   | state      | state, gzipped ANNarchy pickle          |
| ``.txt``, others | pickled.state_pickle | state      | state, ANNarchy pickle                  |
| ``.shards``      | state_shards         | state      | native shards of N processes (a folder) |

Everything that picks a format by file name (``save``, ``load``, ``read_state``,
the ``gpunet`` command, snapshots) goes through :func:`format_for` or
:func:`state_format`; asking for a state from a parameters file is a
:class:`~gpunet.errors.FormatError` that names the function to use instead.
``save_parameters``/``load_parameters`` write and read JSON whatever the
suffix, as ANNarchy's do.
A format module is imported only when a file of its kind is read or written.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike

__all__ = ["FileFormat", "FORMATS", "format_for", "format_name", "state_format"]


@dataclass(frozen=True)
class FileFormat:
    """What gpunet knows of one file format.

    Attributes
    ----------
    name : str
        The module of :mod:`gpunet.io.formats` (or of its subpackage
        ``home``) that implements it.
    kind : {"state", "parameters"}
        A complete network state, or global parameters only.
    suffixes : tuple of str
        The suffixes (lower case) that select it; an empty tuple marks the
        format of every other suffix.
    description : str
        One line for ``gpunet inspect`` and error messages.
    compressible : bool
        ``compress=True`` changes what is written.
    carries_internal : bool
        Holds gpunet's internal state (refractory counters, spike history,
        last events, seed), so a restart from it is bit-identical.
    inflates : bool
        Holds compressed content; its reader takes ``max_output``, the cap on
        what that content may inflate to.
    carries_monitors : bool
        Can hold monitors' recordings (``save(..., monitors=True)``); a save
        asking for them in another format is a FormatError.
    directory : bool
        A folder of files rather than one file: saved by
        :mod:`gpunet.io.sharded_save`, not through :meth:`write`.
    home : str
        The subpackage of :mod:`gpunet.io.formats` that holds the module
        (``"pickled"``), or ``""`` for the package itself.
    """

    name: str
    kind: str
    suffixes: tuple[str, ...]
    description: str
    compressible: bool = False
    carries_internal: bool = False
    inflates: bool = False
    carries_monitors: bool = False
    directory: bool = False
    home: str = ""

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(".".join(part for part in (__name__, self.home, self.name) if part))

    def write(self, state: Any, stream: BinaryIO, compress: bool = False) -> None:
        """Serialize a :class:`~gpunet.io.pipeline.state_types.NetworkState` to an open binary stream."""
        self._require("state", "write")
        if self.directory:
            raise FormatError(f"the {self.name} format is a folder of files; it is written by "
                              "gpunet.io.sharded_save, not to one stream")
        if self.compressible:
            self.module.write(state, stream, compress=compress)
        else:
            self.module.write(state, stream)

    def read(self, path: PathLike, **options: Any) -> Any:
        """Parse ``path``: a ``NetworkState`` (state formats) or a parameter dictionary."""
        return self.module.load(path, **options)

    def inspect(self, path: PathLike) -> dict:
        """What ``gpunet inspect`` prints of ``path``."""
        return self.module.inspect(path)

    def require_monitors(self, path: PathLike) -> None:
        """FormatError naming the format unless it can hold monitors' recordings."""
        if not self.carries_monitors:
            carriers = ", ".join(s for f in FORMATS if f.carries_monitors for s in f.suffixes)
            raise FormatError(f"{path}: the {self.name} format ({self.description}) cannot hold monitor "
                              f"recordings (monitors=True); save them to {carriers}, or with Monitor.save")

    def _require(self, kind: str, action: str) -> None:
        if self.kind != kind:
            raise FormatError(f"the {self.name} format holds {self.kind}, it cannot {action} a network {kind}")


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("params_json", "parameters", (".json",), "global parameters (JSON, ANNarchy's layout)"),
    FileFormat("state_npz", "state", (".npz",), "gpunet native state (ANNarchy's .npz is read too)",
               compressible=True, carries_internal=True, inflates=True, carries_monitors=True),
    FileFormat("state_mat", "state", (".mat",), "state as Matlab structs (ANNarchy's layout)", carries_internal=True,
               inflates=True),
    FileFormat("state_gzip", "state", (".gz",), "gzipped ANNarchy pickle", carries_internal=True, inflates=True,
               home="pickled"),
    FileFormat("state_pickle", "state", (), "ANNarchy pickle (restricted unpickler)", carries_internal=True,
               home="pickled"),
    FileFormat("state_shards", "state", (".shards",), "gpunet sharded state (a folder: one native shard per process "
               "and a manifest)", carries_internal=True, inflates=True, carries_monitors=True, directory=True),
)
_BY_SUFFIX = {suffix: fmt for fmt in FORMATS for suffix in fmt.suffixes}
_OTHERWISE = next(fmt for fmt in FORMATS if not fmt.suffixes)

_USE_INSTEAD = {"parameters": "gpunet.save_parameters / gpunet.load_parameters (.json)"}


def format_for(path: PathLike) -> FileFormat:
    """The format of ``path``, by its suffix (case-insensitive); any unknown suffix is ANNarchy's pickle."""
    return _BY_SUFFIX.get(Path(path).suffix.lower(), _OTHERWISE)


def format_name(path: PathLike) -> str:
    """The name of the format module for ``path`` (see :func:`format_for`)."""
    return format_for(path).name


def state_format(path: PathLike) -> FileFormat:
    """The state format of ``path``; a parameters file raises :class:`~gpunet.errors.FormatError`.

    >>> state_format("run/state.npz").name
    'state_npz'
    >>> state_format("p.json")
    Traceback (most recent call last):
    ...
    gpunet.errors.FormatError: p.json: a .json file holds parameters, not a network state; use gpunet.save_parameters / gpunet.load_parameters (.json)
    """
    fmt = format_for(path)
    if fmt.kind != "state":
        raise FormatError(f"{path}: a {Path(path).suffix} file holds {fmt.kind}, not a network state; "
                          f"use {_USE_INSTEAD[fmt.kind]}")
    return fmt

