"""gpunet's sharded state (a ``.shards`` directory): one native shard per process plus a manifest.

Layout of ``NAME.shards/`` (specification: docs/FORMAT.md, "Sharded snapshots"):

* ``shard-<save>-<rank>.npz``: a native ``.npz`` file (:mod:`state_npz`)
  holding the rows of process ``rank`` (:mod:`gpunet.io.pipeline.shard_state`); its
  manifest's ``annotations["shard"]`` names the save, the run, the rank and
  the number of processes, ``annotations["rows"]`` the rows it holds;
* ``manifest.json``: written and fsynced by process 0 once every shard is
  durable, then committed by rename.  A snapshot exists exactly when its
  manifest exists: shards without a manifest naming them are leftovers.

``<save>`` is unique per save, so a save into an existing directory never
touches the shards the current manifest names; they are removed only after
the new manifest is committed.

Loading checks, per shard and before anything is returned: the file exists,
has the size the manifest records, carries the manifest's run, save and rank,
every member's CRC-32 (the native reader's own checks), or for a reader of
some rows every block's CRC-32 (format version 2: :mod:`shard_blocks`), and the
rows the manifest says; any failure is a :class:`~gpunet.errors.FormatError`
naming the shard.  ``gpunet verify``/``inspect`` also compare the CRC-32 of each whole
shard file with the manifest's (:func:`verify_files`).
"""
from __future__ import annotations

import dataclasses
import os
import re
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Optional, Sequence

import numpy as np
import orjson

from gpunet.errors import FormatError
from gpunet.io.storage.atomic import PathLike, atomic_writer, write_bytes_atomic
from gpunet.io.storage.checksum import crc32
from gpunet.io.formats import shard_blocks, state_npz
from gpunet.io.pipeline.partition import Partition
from gpunet.io.pipeline.recording_rows import cut_recordings
from gpunet.io.pipeline.shard_state import cut, cut_rows, join, rows_of
from gpunet.io.pipeline.state_types import NetworkState
from gpunet.version import __version__

FORMAT_NAME = "gpunet-shards"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
_MAX_MANIFEST = 64 * 1024 * 1024
_SHARD_NAME = re.compile(r"^shard-(?P<save>[0-9a-f]{16})-(?P<rank>\d{5,})\.npz$")
_ID = re.compile(r"^[A-Za-z0-9_.]{0,64}$")

__all__ = ["SaveIds", "ShardSummary", "new_ids", "shard_name", "write_shard", "commit_manifest", "save", "load",
           "read_rows", "read_manifest", "inspect", "verify_files"]


@dataclass(frozen=True)
class SaveIds:
    """Who wrote a sharded snapshot: ``run`` (the run it belongs to, may be empty) and ``save`` (unique per save)."""

    run: str
    save: str


def new_ids(run: Optional[str] = None) -> SaveIds:
    """Fresh identities for one save (``run`` defaults to the UTC time and random hex digits)."""
    if run is None:
        run = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + secrets.token_hex(3)
    if not _ID.match(run):
        raise ValueError(f"a run identity is at most 64 of A-Z a-z 0-9 _ . (got {run!r})")
    return SaveIds(run, secrets.token_hex(8))


def shard_name(ids: SaveIds, rank: int) -> str:
    """The file name of shard ``rank`` of the save ``ids``."""
    return f"shard-{ids.save}-{rank:05d}.npz"


@dataclass(frozen=True)
class ShardSummary:
    """What process 0 needs of one written shard to write the manifest (plain data: it crosses MPI)."""

    rank: int
    file: str
    nbytes: int
    crc32: int
    rows: dict
    synapses: dict
    shapes: dict  # object name -> {key: [dtype, shape]}


class _Checksummed:
    """A write-only stream that counts the bytes and CRC-32 of everything written through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.nbytes, self.crc = stream, 0, 0

    def write(self, data: Any) -> int:
        self.crc = crc32(data, self.crc)
        self.nbytes += memoryview(data).nbytes
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def _shapes(part: NetworkState) -> dict:
    shapes = {}
    for obj in list(part.populations) + list(part.projections):
        arrays = {**obj.values, **obj.internal}
        if hasattr(obj, "pre_ranks"):
            arrays.update(_post_ranks=obj.post_ranks, _pre_ranks=obj.pre_ranks, _delays=obj.delays)
        shapes[obj.name] = {k: [np.asarray(a).dtype.name, list(np.shape(a))] for k, a in arrays.items()}
    return shapes


def write_part(stream: BinaryIO, part: NetworkState, ids: SaveIds, rank: int, nprocs: int,
               compress: bool = False) -> ShardSummary:
    """Write the part of process ``rank`` (from :func:`gpunet.io.pipeline.shard_state.cut`) as a native shard
    to ``stream`` (its members deflated with ``compress``)."""
    shard = {"format": FORMAT_NAME, "run": ids.run, "save": ids.save, "rank": int(rank), "nprocs": int(nprocs)}
    annotations = dict(part.annotations, shard=shard)
    table = None
    if not compress:  # deflated members cannot be read at offsets: no blocks (their readers read them whole)
        table = shard_blocks.block_table(part)
        annotations["blocks"] = table.table  # its CRC-32s are filled as the members are written
    part = dataclasses.replace(part, annotations=annotations)
    counted = _Checksummed(stream)
    state_npz.write(part, counted, compress=compress, data_crc=None if table is None else table.member_crc)
    synapses = {proj.name: int(proj.nb_synapses) for proj in part.projections}
    return ShardSummary(int(rank), shard_name(ids, rank), counted.nbytes, counted.crc,
                        {name: list(r) for name, r in rows_of(part).items()}, synapses, _shapes(part))


def write_shard(directory: PathLike, part: NetworkState, ids: SaveIds, rank: int, nprocs: int,
                fsync: bool = True, compress: bool = False) -> ShardSummary:
    """Write and commit (durably with ``fsync``) the shard of process ``rank``; return its summary."""
    with atomic_writer(Path(directory) / shard_name(ids, rank), fsync=fsync) as stream:
        return write_part(stream, part, ids, rank, nprocs, compress=compress)


def _global_shape(shapes: list) -> list:
    first = shapes[0]
    if not first:
        return first
    return first[:-1] + [sum(s[-1] for s in shapes)]


def manifest_of(state: NetworkState, ids: SaveIds, summaries: Sequence[ShardSummary]) -> dict:
    """The manifest of a sharded save: ``state`` gives the metadata and objects (its arrays are not read)."""
    summaries = sorted(summaries, key=lambda s: s.rank)
    objects = []
    for obj in list(state.populations) + list(state.projections):
        entry: dict[str, Any] = {"kind": obj.kind, "name": obj.name, "model": obj.model}
        if obj.kind == "population":
            entry.update(size=int(obj.size), geometry=[int(g) for g in obj.geometry],
                         rows=[s.rows[obj.name] for s in summaries])
        else:
            entry.update(pre=obj.pre, post=obj.post, target=obj.target,
                         size=sum(s.synapses[obj.name] for s in summaries),
                         rows=[s.rows[obj.post] for s in summaries],
                         synapses=[s.synapses[obj.name] for s in summaries])
        keys = summaries[0].shapes[obj.name]
        entry["arrays"] = {key: {"dtype": keys[key][0],
                                 "shape": _global_shape([s.shapes[obj.name][key][1] for s in summaries])}
                           for key in keys}
        objects.append(entry)
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "gpunet_version": state.gpunet_version or __version__, "run": ids.run, "save": ids.save,
            "nprocs": len(summaries), "dt": state.dt,
            "t": None if state.step is None or state.dt is None else state.step * state.dt,
            "step": state.step, "seed": state.seed, "net_id": state.net_id, "single_object": state.single_object,
            "objects": objects,
            "shards": [{"file": s.file, "rank": s.rank, "bytes": s.nbytes, "crc32": s.crc32} for s in summaries]}


def commit_manifest(directory: PathLike, manifest: dict, fsync: bool = True) -> None:
    """Commit ``manifest`` (the snapshot now exists), then remove the shards no manifest names any more."""
    directory = Path(directory)
    write_bytes_atomic(directory / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2), fsync=fsync)
    remove_unnamed_shards(directory, manifest)


class PreparedManifest:
    """A manifest written and fsynced to its temporary file by a thread while the shard is still being made
    durable; :meth:`commit` renames it into place (the snapshot then exists), :meth:`cancel` drops it.

    Used when one process writes the only shard: the manifest's own fsync then overlaps the shard's.
    """

    def __init__(self, directory: PathLike, manifest: dict, fsync: bool = True) -> None:
        self.directory, self.manifest, self.fsync = Path(directory), manifest, fsync
        self._go = threading.Event()
        self._cancelled = False
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._write, name="gpunet-manifest", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        try:
            with atomic_writer(self.directory / MANIFEST, fsync=self.fsync) as handle:
                handle.write(orjson.dumps(self.manifest, option=orjson.OPT_INDENT_2))
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())  # now, beside the shard's fsync; the one at the commit finds it clean
                self._go.wait()
                if self._cancelled:
                    raise _Cancelled()
        except _Cancelled:
            pass
        except BaseException as exc:  # raised by commit()
            self._error = exc

    def commit(self) -> None:
        """Rename the manifest into place, fsync the folder, remove the shards it does not name."""
        self._go.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        remove_unnamed_shards(self.directory, self.manifest)

    def cancel(self) -> None:
        """Drop the temporary manifest; the folder's committed snapshot stays as it was."""
        self._cancelled = True
        self._go.set()
        self._thread.join()


class _Cancelled(Exception):
    pass


def remove_unnamed_shards(directory: PathLike, manifest: dict) -> None:
    """Remove the shard files of ``directory`` that ``manifest`` (just committed) does not name."""
    directory = Path(directory)
    named = {shard["file"] for shard in manifest["shards"]}
    for path in directory.iterdir():
        if _SHARD_NAME.match(path.name) and path.name not in named:
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def save(path: PathLike, state: NetworkState, nprocs: int = 1, run: Optional[str] = None,
         fsync: bool = True, compress: bool = False) -> dict:
    """Write ``state`` as the ``.shards`` snapshot that ``nprocs`` processes would write, all from this process.

    Every shard is written and made durable, then the manifest is committed;
    returns the manifest.  Populations are cut by :class:`Partition`; a
    projection saved alone needs its post population in ``state`` (it is not).
    """
    sizes = {pop.name: pop.size for pop in state.populations}
    lacking = sorted({proj.post for proj in state.projections} - set(sizes))
    if lacking:
        raise _fail(path, f"a sharded snapshot needs the post-synaptic populations {lacking} of its projections "
                          "(they own the synapses)")
    partition = Partition.of(sizes, nprocs)
    ids = new_ids(run)
    Path(path).mkdir(parents=True, exist_ok=True)
    summaries = [write_shard(path, cut(state, partition, rank), ids, rank, nprocs, fsync=fsync, compress=compress)
                 for rank in range(nprocs)]
    manifest = manifest_of(state, ids, summaries)
    commit_manifest(path, manifest, fsync=fsync)
    return manifest


def _fail(source: Any, message: str) -> FormatError:
    return FormatError(f"{source}: {message}")


def _int_pairs(source: Path, value: Any, count: int, what: str) -> list:
    if (not isinstance(value, list) or len(value) != count
            or not all(isinstance(p, list) and len(p) == 2 and all(type(x) is int and x >= 0 for x in p)
                       for p in value)):
        raise _fail(source, f"manifest.json: {what} must be {count} [lo, hi) pairs")
    return value


def read_manifest(path: PathLike) -> dict:
    """The checked manifest of a ``.shards`` directory (FormatError naming the directory otherwise)."""
    path = Path(path)
    target = path / MANIFEST
    if not path.is_dir():
        raise _fail(path, "no such sharded snapshot (not a directory)")
    try:
        with open(target, "rb") as handle:
            data = handle.read(_MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise _fail(path, "no manifest.json: not a committed sharded snapshot (a save may have been "
                          "interrupted)") from None
    if len(data) > _MAX_MANIFEST:
        raise _fail(target, "larger than allowed")
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _fail(target, f"corrupt ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _fail(target, f"does not describe a {FORMAT_NAME} snapshot")
    version = manifest.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise _fail(target, f"format version {version!r} is not supported (this gpunet reads up to "
                            f"{FORMAT_VERSION})")
    nprocs = manifest.get("nprocs")
    shards = manifest.get("shards")
    if type(nprocs) is not int or nprocs < 1 or not isinstance(shards, list) or len(shards) != nprocs:
        raise _fail(target, "the shard list does not match nprocs")
    for field, kind in (("run", str), ("save", str)):
        if not isinstance(manifest.get(field), kind):
            raise _fail(target, f"field {field!r} is missing or of the wrong type")
    for rank, shard in enumerate(shards):
        if (not isinstance(shard, dict) or shard.get("rank") != rank or not isinstance(shard.get("file"), str)
                or not _SHARD_NAME.match(shard["file"]) or type(shard.get("bytes")) is not int
                or type(shard.get("crc32")) is not int):
            raise _fail(target, f"malformed entry for shard {rank}")
    objects = manifest.get("objects")
    if not isinstance(objects, list):
        raise _fail(target, "no object list")
    for entry in objects:
        if (not isinstance(entry, dict) or entry.get("kind") not in ("population", "projection")
                or not isinstance(entry.get("name"), str) or type(entry.get("size")) is not int
                or entry["size"] < 0 or (entry["kind"] == "projection" and not isinstance(entry.get("post"), str))):
            raise _fail(target, "malformed object entry")
        _int_pairs(target, entry.get("rows"), nprocs, f"rows of {entry['name']!r}")
    return manifest


def _identity(archive: Optional[zipfile.ZipFile]) -> Optional[dict]:
    """The ``shard`` annotation of an opened shard, when its manifest member can be read (else None)."""
    if archive is None:
        return None
    try:
        info = archive.getinfo(state_npz.MANIFEST)
        if info.file_size > _MAX_MANIFEST:
            return None
        shard = orjson.loads(archive.read(info)).get("annotations", {}).get("shard")
    except Exception:  # any damage: the checks that follow name it
        return None
    return shard if isinstance(shard, dict) else None


def _check_identity(source: Path, shard: Optional[dict], manifest: dict, rank: int) -> None:
    if shard is None:
        return
    if (shard.get("run"), shard.get("save")) != (manifest["run"], manifest["save"]):
        raise _fail(source, f"the shard is from another save (run {shard.get('run')!r}, save {shard.get('save')!r}; "
                            f"the manifest's is run {manifest['run']!r}, save {manifest['save']!r})")
    if shard.get("rank") != rank or shard.get("nprocs") != manifest["nprocs"]:
        raise _fail(source, f"the shard says it is shard {shard.get('rank')!r} of {shard.get('nprocs')!r}, the "
                            f"manifest lists it as shard {rank} of {manifest['nprocs']}")


def _shard_rows(manifest: dict, rank: int) -> dict[str, tuple[int, int]]:
    return {obj["name"]: tuple(obj["rows"][rank]) for obj in manifest["objects"] if obj["kind"] == "population"}


def _clamped(wanted: dict, held: dict) -> dict[str, tuple[int, int]]:
    """The rows of ``wanted`` among the rows ``held`` by a shard (an empty range at the nearest end otherwise)."""
    clamped = {}
    for name, (lo, hi) in wanted.items():
        a, b = held.get(name, (lo, lo))
        start = min(max(lo, a), b)
        clamped[name] = (start, max(min(hi, b), start))
    return clamped


def _read_shard(directory: Path, manifest: dict, rank: int, *, max_output: Optional[int] = None,
                wanted: Optional[dict] = None) -> NetworkState:
    """Shard ``rank``, checked; with ``wanted`` (population -> rows) only those of its rows (the blocks
    holding them, when the shard has blocks), cut exactly."""
    entry = manifest["shards"][rank]
    source = directory / entry["file"]
    try:
        handle = open(source, "rb")
    except FileNotFoundError:
        raise _fail(source, f"shard {rank} of {manifest['nprocs']} is missing") from None
    except OSError as exc:
        raise _fail(source, f"shard {rank} cannot be opened ({exc.strerror})") from exc
    with handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            archive: Optional[zipfile.ZipFile] = zipfile.ZipFile(handle)
        except Exception:  # a truncated or damaged zip: the size check below names it, or the reader does
            archive = None
        _check_identity(source, _identity(archive), manifest, rank)  # a shard of another save says so first
        if size != entry["bytes"]:
            raise _fail(source, f"shard {rank} holds {size} bytes, the manifest records {entry['bytes']} "
                                "(truncated or replaced)")
        if archive is None:
            raise _fail(source, "not a readable zip file")
        rows = None if wanted is None else _clamped(wanted, _shard_rows(manifest, rank))
        selector = shard_blocks.RowsSelector(str(source), rows or {})
        if rows is None or manifest["format_version"] < 2:
            selector = None  # every row: the members whole (their CRC-32 covers them)
        part = state_npz.read(handle, str(source), archive, max_output=max_output, select=selector)
    if selector is None:  # counted as the reader of rows counts (the bytes of the objects' arrays read)
        arrays = [a for obj in part.populations + part.projections for a in state_npz.object_arrays(obj).values()]
        shard_blocks.tally.data_bytes += sum(np.asarray(a).nbytes for a in arrays)
        shard_blocks.tally.whole_members += len(arrays)
    shard = part.annotations.get("shard")
    if not isinstance(shard, dict) or shard.get("format") != FORMAT_NAME:
        raise _fail(source, "not a shard of a sharded snapshot")
    _check_identity(source, shard, manifest, rank)
    try:
        held = rows_of(part)
    except FormatError as exc:
        raise _fail(source, str(exc)) from None
    for obj in manifest["objects"]:
        if obj["kind"] == "population" and list(held.get(obj["name"], ())) != obj["rows"][rank]:
            raise _fail(source, f"rows of population {obj['name']!r} are {held.get(obj['name'])}, the manifest "
                                f"says {obj['rows'][rank]}")
    try:
        monitors = None
        if selector is not None and selector.held is not None and part.monitors:
            # the recordings are read whole: cut them while row_ptr still counts the shard's synapses
            synapses = {o["name"]: o["synapses"][rank] for o in manifest["objects"] if o["kind"] == "projection"}
            monitors = cut_recordings(part, held, rows, synapses)
            part = dataclasses.replace(part, monitors=[])
        if selector is not None:
            part = selector.finish(part)
        if rows is None:
            return part
        part = cut_rows(part, rows)
    except FormatError as exc:
        raise _fail(source, str(exc)) from None
    return part if monitors is None else dataclasses.replace(part, monitors=monitors)


def _finish(state: NetworkState, manifest: dict, keep_rows: bool) -> NetworkState:
    # the whole state carries no annotation, so that writing it gives what a one-process save writes
    annotations = {"rows": state.annotations["rows"]} if keep_rows else {}
    return dataclasses.replace(state, format="shards", format_version=manifest["format_version"],
                               annotations=annotations)


def _join(directory: Path, manifest: dict, ranks: Sequence[int], max_output: Optional[int],
          wanted: Optional[dict] = None) -> NetworkState:
    parts = [_read_shard(directory, manifest, rank, max_output=max_output, wanted=wanted) for rank in ranks]
    if wanted is not None:  # a shard holding none of the rows of a population gives an empty range: in line
        ends = {name: lo for name, (lo, _) in wanted.items()}
        for index, part in enumerate(parts):
            labels = {}
            for name, (lo, hi) in rows_of(part).items():
                start = ends.get(name, lo)
                labels[name] = [start, start + hi - lo]
                ends[name] = start + hi - lo
            parts[index] = dataclasses.replace(part, annotations=dict(part.annotations, rows=labels))
    return join(parts, [str(directory / manifest["shards"][rank]["file"]) for rank in ranks])


def load(path: PathLike, *, max_output: Optional[int] = None) -> NetworkState:
    """The whole state of a ``.shards`` snapshot, shards joined (what one process that wrote it would hold).

    ``max_output``: the cap on what each shard's deflated members may inflate to (see :mod:`state_npz`).
    """
    directory = Path(path)
    manifest = read_manifest(directory)
    state = _join(directory, manifest, range(manifest["nprocs"]), max_output)
    return _finish(state, manifest, keep_rows=False)


def read_rows(path: PathLike, nprocs: int, rank: int, *, max_output: Optional[int] = None) -> NetworkState:
    """The rows process ``rank`` of ``nprocs`` owns (:class:`Partition`), read from a ``.shards`` snapshot.

    Only the shards holding some of these rows are read (a consecutive run of
    them) and, in shards with a block table (format version 2, members
    stored), only the blocks holding the rows, each checked by its CRC-32
    (:mod:`gpunet.io.formats.shard_blocks`); others are read whole.  The result is a part (:mod:`gpunet.io.pipeline.shard_state`): its objects
    keep their global description, ``annotations["rows"]`` says which rows it
    holds, projections hold the synapses of those post neurons.
    """
    directory = Path(path)
    manifest = read_manifest(directory)
    sizes = {o["name"]: o["size"] for o in manifest["objects"] if o["kind"] == "population"}
    wanted = {name: Partition.of({name: size}, nprocs).rows(name, rank) for name, size in sizes.items()}
    needed = set()
    for obj in manifest["objects"]:
        name = obj["name"] if obj["kind"] == "population" else obj.get("post")
        if name not in wanted:
            continue
        lo, hi = wanted[name]
        for shard, (a, b) in enumerate(obj["rows"]):
            if a < hi and lo < b or (a == b == lo and lo == hi):
                needed.add(shard)
    ranks = range(min(needed), max(needed) + 1) if needed else range(0, 1)
    state = _join(directory, manifest, ranks, max_output, wanted)
    return _finish(state, manifest, keep_rows=True)


def verify_files(path: PathLike) -> list[str]:
    """Problems with the shard files of a ``.shards`` snapshot: missing, size or whole-file CRC-32 off the
    manifest's, and (format version 2) any block whose CRC-32 is not its block table's."""
    directory = Path(path)
    manifest = read_manifest(directory)
    problems = []
    for entry in manifest["shards"]:
        source = directory / entry["file"]
        crc, size = 0, 0
        try:
            with open(source, "rb") as handle:
                while chunk := handle.read(16 << 20):
                    crc = crc32(chunk, crc)
                    size += len(chunk)
        except FileNotFoundError:
            problems.append(f"{source}: shard {entry['rank']} is missing")
            continue
        if size != entry["bytes"] or crc != entry["crc32"]:
            problems.append(f"{source}: shard {entry['rank']}: {size} bytes with CRC-32 {crc:08x}, the manifest "
                            f"records {entry['bytes']} bytes with {entry['crc32']:08x}")
            continue
        if manifest["format_version"] >= 2:  # every block of every row, through the reader of rows
            try:
                _read_shard(directory, manifest, entry["rank"], wanted=_shard_rows(manifest, entry["rank"]))
            except FormatError as exc:
                problems.append(str(exc))
    return problems


def inspect(path: PathLike) -> dict:
    """The manifest of a ``.shards`` snapshot, with the CRC-32 check of every shard file."""
    manifest = read_manifest(path)
    problems = verify_files(path)
    manifest["checksums"] = "ok" if not problems else "; ".join(problems)
    return manifest
