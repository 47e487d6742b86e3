"""Public save/load of the complete state: ``gpunet.save``, ``gpunet.load`` and per-object variants.

Formats by suffix (one table in :mod:`gpunet.io.formats`): ``.npz`` native
(fast, safe, checksummed, everything needed for restart equivalence),
``.txt`` and unknown suffixes ANNarchy's pickle, ``.gz`` gzipped pickle,
``.mat`` Matlab.  Loading compiles an uncompiled network first (documented
choice: a load fills the compiled state, including spike queues).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from gpunet.errors import FormatError, StructureError
from gpunet.io import formats
from gpunet.io.storage.atomic import PathLike, file_error
from gpunet.io.check import check_writable
from gpunet.io.recordings import restore_with_recordings
from gpunet.io.pipeline.restore import restore_state
from gpunet.io.pipeline.saving import SaveHandle, SaveOptions, save_network, saver_of
from gpunet.io.sharded_save import save_sharded
from gpunet.io.pipeline.state_types import NetworkState


def network_for(network: Any, *selections: Any, action: str = "") -> Any:
    """The network a save or load acts on, as the call says it; None when it does not say.

    Objects handed in ``populations=[...]`` / ``projections=[...]`` decide:
    their own network, and an error when they belong to different networks or
    to another network than ``network``.  Without objects, ``network``.  (The
    default network of ``gpunet.save`` and friends is chosen above io, by
    :mod:`gpunet.api`.)
    """
    objects = [obj for selection in selections if isinstance(selection, (list, tuple)) for obj in selection]
    owners = {id(obj.network): obj.network for obj in objects if hasattr(obj, "network")}
    if len(owners) > 1:
        raise StructureError(f"{action or 'this function'}: the objects given belong to different networks")
    if owners:
        owner = next(iter(owners.values()))
        if network is not None and network is not owner:
            raise StructureError(f"{action or 'this function'}: the objects given belong to another network than "
                                 "network=")
        return owner
    return network


def _network(network: Any, *selections: Any, action: str = "") -> Any:
    """:func:`network_for`, which must name a network."""
    net = network_for(network, *selections, action=action)
    if net is None:
        raise StructureError(f"{action or 'this function'}: no network given (gpunet.io's functions take network=; "
                             "gpunet.save, gpunet.load... use the default network)")
    return net


def serializer_for(path: Path, compress: bool = False):
    """``serialize(state, stream)`` writing the state format of ``path`` (by suffix) to an open binary stream."""
    fmt = formats.state_format(path)
    if fmt.directory:
        raise FormatError(f"{path}: a {path.suffix} snapshot is a folder that only a whole network saves "
                          "(gpunet.save / net.save), not one object")

    def serialize(state: NetworkState, stream) -> None:
        check_writable(state, path)
        fmt.write(state, stream, compress=compress)
    return serialize


def save(filename: PathLike, populations: Any = True, projections: Any = True, network: Any = None, *,
         blocking: bool = True, max_pending: int = 2, on_full: str = "wait", staging: str = "auto",
         compress: bool = False, fsync: bool = True, monitors: bool = False, comm: Any = None) -> SaveHandle:
    """Save the complete state of the network.

    Parameters
    ----------
    filename : str or Path
        The format follows the suffix: ``.npz`` (gpunet's native format),
        ``.txt`` or any other suffix (ANNarchy's pickle), ``.gz`` (gzipped
        pickle), ``.mat`` (Matlab), ``.shards`` (a folder: one native shard
        per process and a manifest, ``gpunet.io.sharded_save``).  A missing
        parent folder is created.
    populations, projections : bool
        Save the neural and/or the synaptic state.
    network : Network, optional
        Default: the module-level network.
    blocking : bool
        False returns at once with a :class:`SaveHandle` while the file is
        written in the background; the file holds the state of the moment of
        the call, bit for bit.
    max_pending, on_full, staging, compress, fsync
        See :class:`~gpunet.io.pipeline.saving.SaveOptions`.
    monitors : bool
        Also save every monitor's recordings (spikes, recorded variables and
        where recording stands), so that a load makes the monitors continue
        where they stopped.  Only formats that can hold them accept it (the
        native ``.npz``; docs/FORMAT.md); others raise ``FormatError``.  The
        recordings are read back to the host at the call.
    comm : mpi4py communicator, optional
        The processes that save together (default: the network's ``comm``
        attribute when it has one, else this process alone).  Every process
        calls the save; each writes its own shard, so the file must be a
        ``.shards`` folder when there are several processes.

    Returns
    -------
    SaveHandle
        Already committed when ``blocking`` is true.

    Raises
    ------
    FormatError, OSError
        For a blocking save that fails, or ``monitors=True`` with a format
        that cannot hold recordings; the previous file is left intact.

    Examples
    --------
    >>> import gpunet as gn, tempfile, os
    >>> net = gn.Network(backend="numpy", seed=1)
    >>> pop = net.create(10, gn.Izhikevich, name="exc")
    >>> handle = gn.save(os.path.join(tempfile.mkdtemp(), "state.npz"), network=net)
    >>> handle.done()
    True
    """
    path = Path(filename)
    options = SaveOptions(blocking=blocking, max_pending=max_pending, on_full=on_full, staging=staging,
                          compress=compress, fsync=fsync)
    net = _network(network, populations, projections, action=f"save({str(filename)!r})")
    if monitors:
        formats.state_format(path).require_monitors(path)
    comm = getattr(net, "comm", None) if comm is None else comm
    if formats.state_format(path).directory:  # .shards: each process its shard, process 0 the manifest
        return save_sharded(net, path, options, comm=comm, populations=populations, projections=projections,
                            monitors=bool(monitors))
    if comm is not None and comm.Get_size() > 1:
        raise FormatError(f"{path}: {comm.Get_size()} processes save together into a .shards folder, not into "
                          f"one {path.suffix or 'pickle'} file")
    return save_network(net, path, serializer_for(path, compress), options,
                        populations=populations, projections=projections, monitors=bool(monitors))


def read_state(filename: PathLike, *, max_output: Optional[int] = None) -> NetworkState:
    """Parse any supported state file into a :class:`NetworkState` (no network needed).

    Parameters
    ----------
    filename : str or Path
        A state file; its suffix says the format.
    max_output : int, optional
        Caps what compressed content (``.gz``, ``.mat`` variables, deflated
        ``.npz`` members) may inflate to, in bytes; default ``64 x the file's
        size + 1 GiB`` (see the file format specification, "Memory bound").
    """
    path = Path(filename)
    fmt = formats.state_format(path)
    options = {"max_output": max_output} if max_output is not None and fmt.inflates else {}
    try:
        if not path.exists():
            raise FormatError(f"{path}: no such file")
        return fmt.read(path, **options)
    except OSError as exc:  # name too long, permission denied, a folder, an I/O error...
        raise file_error(path, "cannot load", exc) from exc


def load(filename: PathLike, populations: Any = True, projections: Any = True, strict: bool = False,
         network: Any = None, monitors: bool = True, *, comm: Any = None) -> None:
    """Load the complete state of the network from a file.

    Everything is validated before anything changes: on any error the network
    is exactly as it was.  A variable in the file that the network lacks is
    skipped with a warning; a variable the network has and the file lacks keeps
    its value with a warning; ``strict=True`` turns both into
    :class:`~gpunet.errors.StructureError`.  Size and shape mismatches are
    always errors.  A projection whose saved connectivity differs from the
    network's is rebuilt from the file.  The step counter (and, for the native
    format, the seed of the noise) is restored.  An uncompiled network is
    compiled first, once the file has been validated (a failed load leaves it
    uncompiled).

    A file saved with ``monitors=True`` also gives each monitor (found by
    name) the recordings it held then, so it goes on recording where it
    stopped (``monitors=False`` ignores them; rules: ``gpunet.io.recordings``).

    Parameters
    ----------
    filename : str or Path
        The file; its suffix says the format (``.npz``, ``.txt``, ``.gz``, ``.mat``...).
    populations, projections : bool or list
        Load the populations' / projections' state (True), none of it (False),
        or only that of the objects listed.
    strict : bool
        Make a variable missing on either side an error instead of a warning.
    monitors : bool
        Give the monitors the recordings the file holds (files saved with ``monitors=True``).
    network : Network, optional
        The network to load into; None: the network of the objects listed,
        else the default network.
    comm : mpi4py communicator, optional
        Load together on every process of ``comm`` (default: the network's
        ``comm`` attribute when it has one): each reads and validates, and the
        network changes on none of them unless all succeeded
        (``gpunet.io.collective_load``).

    Raises
    ------
    FormatError
        The file is missing, unreadable, corrupt or of an unknown layout.
    UnsafeFileError
        A pickle names something outside the allow-list.
    StructureError
        The file does not fit the network, or no object of the file is in
        the network (every name differs: the wrong network, e.g. the empty
        default network when the script works with a ``Network`` object).
    """
    net = _network(network, populations, projections, action=f"load({str(filename)!r})")
    comm = getattr(net, "comm", None) if comm is None else comm
    if comm is not None and comm.Get_size() > 1:
        from gpunet.io.collective_load import load_together
        load_together(net, lambda: read_state(filename), str(filename), comm, populations=populations,
                      projections=projections, strict=strict, monitors=monitors)
        return
    state = read_state(filename)
    restore_with_recordings(net, state, str(filename), monitors=monitors, populations=populations,
                            projections=projections, strict=strict, whole_network=True)


def save_object(obj: Any, filename: PathLike, kind: str, **options: Any) -> SaveHandle:
    """``pop.save(filename)`` / ``proj.save(filename)``: one object (``kind`` "population" or "projection") alone."""
    path = Path(filename)
    compress = options.pop("compress", False)
    saving = SaveOptions(compress=compress, **options)
    is_population = kind == "population"
    return save_network(obj.network, path, serializer_for(path, compress), saving,
                        populations=[obj] if is_population else [], projections=[] if is_population else [obj],
                        single_object=True)


def load_object(obj: Any, filename: PathLike, kind: str, strict: bool = False) -> None:
    """``pop.load(filename)`` / ``proj.load(filename)``: restore one object from a file.

    The file may hold that object alone (``pop.save``) or a whole network (the
    object is found by name).  Validation rules are those of :func:`load`.
    """
    state = read_state(filename)
    is_population = kind == "population"
    restore_state(obj.network, state, str(filename), populations=[obj] if is_population else [],
                  projections=[] if is_population else [obj], strict=strict, whole_network=False)


def wait_for_saves(network: Any = None, timeout: Optional[float] = None) -> None:
    """Wait for every pending save of the network; raise the first error not yet reported.

    Parameters
    ----------
    network : Network, optional
        Whose saves; None: the default network's.
    timeout : float, optional
        Seconds to wait at most (None: until done).
    """
    saver_of(_network(network)).wait_all(timeout)
