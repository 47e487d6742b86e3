"""Blocks of rows inside a shard, each with its own CRC-32, so that a reader reads and checks only its rows.

A shard of a ``.shards`` snapshot of format version 2 (docs/FORMAT.md, "Sharded snapshots") cuts the rows it
holds of every population into consecutive blocks (``rows``: the block boundaries, in global neuron ranks) and
records, in its manifest's ``annotations["blocks"]``, for every array cut by rows the CRC-32 of each block:

* population arrays per neuron (``by: "neurons"``, cut along their last axis; a block of a 2-D array is its
  columns of every leading row, in C order), ``_spike_times`` (``"times"``, the times of the block's neurons);
* projection arrays onto the population: per synapse (``"synapses"``: the synapses of the block's post
  neurons, contiguous as synapses are stored post-major), per row (``"rows"``: ``_post_ranks`` and the
  semiglobal attributes) and ``_row_ptr`` (``"row_ptr"``: the block's rows and the next row's start).

``offsets`` give, per object and unit, where each block starts in its arrays; 0-d arrays and anything
else are read whole (the member's own CRC-32).  :func:`block_table` makes the table, whose CRC-32s the writer fills member by member
(:meth:`BlockTable.member_crc`, which also gives the member's CRC-32, combined from its blocks, so that the
data is read once);
:class:`RowsSelector` reads the blocks covering the rows asked for, checks each block's CRC-32, and says
which rows it read (the caller cuts them exactly).
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Mapping, Optional

import numpy as np

from gpunet.backend.host_alloc import empty_for_reading
from gpunet.errors import FormatError
from gpunet.io.formats import state_npz
from gpunet.io.pipeline.state_types import NetworkState, ProjectionState
from gpunet.io.storage.checksum import crc32, crc32_combine

__all__ = ["BLOCK_BYTES", "MAX_BLOCKS", "ReadTally", "tally", "BlockTable", "block_table", "RowsSelector"]

#: A block holds about this many bytes of the rows' data (every array cut by those rows together).
BLOCK_BYTES = 1 << 20
#: At most this many blocks per population in a shard (larger shards get larger blocks).
MAX_BLOCKS = 4096
_UNITS = ("neurons", "times", "rows", "row_ptr", "synapses")
_TIMES, _COUNTS = "_spike_times", "_spike_counts"


@dataclasses.dataclass
class ReadTally:
    """Bytes of array data read from shards by this process (blocks and whole members), for measurements.

    ``data_bytes`` counts what is read from the files; :meth:`reset` sets it to 0.
    """

    data_bytes: int = 0
    block_reads: int = 0
    whole_members: int = 0

    def reset(self) -> None:
        """Start counting again from 0."""
        self.data_bytes = self.block_reads = self.whole_members = 0


#: What this process has read from shards so far.
tally = ReadTally()


# -- writing ------------------------------------------------------------------------------------------------
def _bounds(lo: int, hi: int, row_bytes: np.ndarray) -> list[int]:
    """Block boundaries over rows ``[lo, hi)``: where the bytes of the rows cross multiples of the block size."""
    if hi <= lo:
        return [int(lo), int(hi)]
    cumulative = np.cumsum(row_bytes, dtype=np.float64)
    step = max(float(BLOCK_BYTES), float(cumulative[-1]) / MAX_BLOCKS, 1.0)
    targets = step * np.arange(1, int(cumulative[-1] // step) + 1)
    cuts = np.unique(np.searchsorted(cumulative, targets, side="left") + 1)
    cuts = cuts[(cuts > 0) & (cuts < hi - lo)]
    return [int(lo)] + [int(lo + c) for c in cuts] + [int(hi)]


def _unit_of_population(key: str, array: np.ndarray, rows: int, times: Optional[np.ndarray]) -> Optional[str]:
    if key == _TIMES:
        return "times" if times is not None and array.ndim == 1 else None
    return "neurons" if array.ndim >= 1 and array.shape[-1] == rows else None


def _unit_of_projection(key: str, array: np.ndarray, proj: ProjectionState) -> Optional[str]:
    rows, synapses = len(proj.post_ranks), int(proj.nb_synapses)
    if array.ndim != 1:
        return None
    if key == "_row_ptr":
        return "row_ptr" if array.shape == (rows + 1,) else None
    if key == "_post_ranks" or key in proj.semiglobal:
        return "rows" if array.shape == (rows,) else None
    return "synapses" if array.shape == (synapses,) else None


class BlockTable:
    """The block table of one shard: ``table`` (JSON data, see the module), whose CRC-32 lists
    :meth:`member_crc` fills as the writer writes each member (the data is read once, while in cache).

    Parameters
    ----------
    table : dict
        ``{"rows": {population: bounds}, "objects": {name: {"offsets": {unit: [...]}, "arrays":
        {key: {"by": unit, "crc32": []}}}}}``.
    plans : dict
        Member name -> (its CRC-32 list in ``table``, unit, offsets, itemsize, leading rows, row length).
    """

    def __init__(self, table: dict, plans: dict) -> None:
        self.table, self._plans = table, plans

    def member_crc(self, member: str, data: memoryview) -> Optional[int]:
        """Record the CRC-32 of each block of ``member`` (its data ``data``, bytes); return the CRC-32 of the
        whole data when the blocks tile it (1-D arrays but ``_row_ptr``), else None.

        Parameters
        ----------
        member : str
            The member's name.
        data : memoryview
            Its data, as written (after the ``.npy`` header), one byte per item.
        """
        plan = self._plans.get(member)
        if plan is None:
            return None
        crcs, unit, offsets, itemsize, leading, length = plan
        crcs.clear()
        if unit == "row_ptr":  # the block's rows and the start of the next row: blocks overlap by one entry
            crcs.extend(crc32(data[itemsize * a:itemsize * (b + 1)]) for a, b in zip(offsets[:-1], offsets[1:]))
            return None
        if leading == 1:
            total = 0
            for a, b in zip(offsets[:-1], offsets[1:]):
                crc = crc32(data[itemsize * a:itemsize * b])
                crcs.append(crc)
                total = crc32_combine(total, crc, itemsize * (b - a))
            return total
        row = itemsize * length
        for a, b in zip(offsets[:-1], offsets[1:]):  # a block's columns of every leading row, in C order
            crc = 0
            for start in range(0, leading * row, row):
                crc = crc32(data[start + itemsize * a:start + itemsize * b], crc)
            crcs.append(crc)
        return None


def block_table(part: NetworkState) -> BlockTable:
    """The block table of a shard's ``part`` (rows in ``annotations["rows"]``); its CRC-32s are filled while the
    shard is written (``state_npz.write(..., data_crc=table.member_crc)``).

    Parameters
    ----------
    part : NetworkState
        The part one process writes (:func:`gpunet.io.pipeline.shard_state.cut`).
    """
    rows = {name: (int(r[0]), int(r[1])) for name, r in part.annotations["rows"].items()}
    row_bytes = {name: np.zeros(hi - lo, dtype=np.float64) for name, (lo, hi) in rows.items()}
    for pop in part.populations:
        lo, hi = rows[pop.name]
        counts = pop.internal.get(_COUNTS)
        for key, array in state_npz.object_arrays(pop).items():
            if key == _TIMES and counts is not None and np.shape(counts) == (hi - lo,):
                row_bytes[pop.name] += np.asarray(counts, dtype=np.float64) * array.dtype.itemsize
            elif array.ndim >= 1 and array.shape[-1] == hi - lo:
                row_bytes[pop.name] += array.dtype.itemsize * math.prod(array.shape[:-1])
    for proj in part.projections:
        if proj.post not in rows:
            continue
        lo, hi = rows[proj.post]
        per_synapse = sum(a.dtype.itemsize for k, a in state_npz.object_arrays(proj).items()
                          if _unit_of_projection(k, a, proj) == "synapses")
        lengths = np.diff(np.asarray(proj.row_ptr, dtype=np.int64)).astype(np.float64)
        post = np.asarray(proj.post_ranks, dtype=np.int64) - lo
        if len(post) and (post.min() < 0 or post.max() >= hi - lo):
            continue  # not a part of these rows: its arrays are left whole (the cut reports them)
        row_bytes[proj.post] += np.bincount(post, weights=lengths * per_synapse + 16, minlength=hi - lo)
    bounds = {name: _bounds(lo, hi, row_bytes[name]) for name, (lo, hi) in rows.items()}
    objects: dict[str, Any] = {}
    plans: dict[str, tuple] = {}
    for obj in list(part.populations) + list(part.projections):
        owner = obj.post if obj.kind == "projection" else obj.name
        if owner not in bounds:
            continue
        lo, edges = bounds[owner][0], np.asarray(bounds[owner], dtype=np.int64)
        arrays = state_npz.object_arrays(obj)
        if obj.kind == "population":
            counts = obj.internal.get(_COUNTS)
            times = None
            if counts is not None and np.shape(counts) == (int(edges[-1] - lo),):
                times = np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64))))
            offsets = {"neurons": (edges - lo).tolist()}
            if times is not None and _TIMES in arrays and len(arrays[_TIMES]) == times[-1]:
                offsets["times"] = times[edges - lo].tolist()
            units = {key: _unit_of_population(key, a, int(edges[-1] - lo), times) for key, a in arrays.items()}
            units = {k: u for k, u in units.items() if u is not None and u in offsets}
        else:
            post = np.asarray(obj.post_ranks, dtype=np.int64)
            if len(post) and (post.min() < edges[0] or post.max() >= edges[-1]):
                continue
            row_offsets = np.searchsorted(post, edges, side="left")
            offsets = {"rows": row_offsets.tolist(),
                       "synapses": np.asarray(obj.row_ptr, dtype=np.int64)[row_offsets].tolist()}
            units = {key: _unit_of_projection(key, a, obj) for key, a in arrays.items()}
            units = {k: u for k, u in units.items() if u is not None}
        entry: dict[str, Any] = {"offsets": offsets, "arrays": {}}
        for key, unit in units.items():
            array = arrays[key]
            crcs: list = []
            entry["arrays"][key] = {"by": unit, "crc32": crcs}
            plans[state_npz.member_name(obj.kind, obj.name, key)] = (
                crcs, unit, offsets["rows" if unit == "row_ptr" else unit], array.dtype.itemsize,
                math.prod(array.shape[:-1]), array.shape[-1])
        objects[obj.name] = entry
    return BlockTable({"rows": bounds, "objects": objects}, plans)


# -- reading ------------------------------------------------------------------------------------------------
def _fail(source: str, message: str) -> FormatError:
    return FormatError(f"{source}: {message}")


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(type(v) is int for v in value)


def _non_decreasing(values: list) -> bool:
    return all(a <= b for a, b in zip(values[:-1], values[1:]))


class _BlockRead:
    """Blocks ``[k0, k1)`` of one array: the segments to read (one per leading row, ``(file offset, view)``),
    then every block's CRC-32 (``blocks``: index, expected CRC-32, byte range in each segment)."""

    def __init__(self, fd: int, segments: list, blocks: list, source: str, where: str, label: Any) -> None:
        self.fd, self.segments, self.blocks, self.source, self.where = fd, segments, blocks, source, where
        self.label = label  # block index -> its description, for errors

    @property
    def nbytes(self) -> int:
        return sum(len(view) for _, view in self.segments)

    def read(self) -> None:
        for offset, view in self.segments:
            done = 0
            try:
                while done < len(view):
                    got = os.preadv(self.fd, [view[done:]], offset + done)
                    if got <= 0:
                        raise _fail(self.source, f"{self.where}: member is truncated")
                    done += got
            except OSError as exc:
                raise _fail(self.source, f"{self.where}: {exc}") from exc

    def check(self) -> None:
        for k, expected, start, stop in self.blocks:
            crc = 0
            for _, view in self.segments:  # the block's elements of every leading row, in C order
                crc = crc32(view[start:stop], crc)
            if crc != expected:
                raise _fail(self.source, f"{self.where}: block {self.label(k)} has a bad CRC-32 (the data is "
                                         "corrupt)")

    def read_and_check(self) -> None:
        self.read()
        self.check()


class RowsSelector:
    """Reads, from one shard, the blocks covering ``wanted`` rows: a ``select`` for :func:`state_npz.read`.

    Parameters
    ----------
    source : str
        The shard, for errors.
    wanted : mapping
        Population name -> rows ``[lo, hi)`` among the shard's rows (possibly empty).

    After the read, :meth:`finish` gives the part: the rows read (whole blocks) in its ``rows`` annotation,
    ``_row_ptr`` from 0.  A shard without a block table, or whose members are deflated (``compress=True``),
    or a file without positioned reads, is read whole (``held`` stays None).
    """

    def __init__(self, source: str, wanted: Mapping[str, tuple[int, int]]) -> None:
        self.source = source
        self.wanted = {name: (int(lo), int(hi)) for name, (lo, hi) in wanted.items()}
        self.held: Optional[dict[str, tuple[int, int]]] = None
        self._ranges: dict[str, tuple[int, int]] = {}
        self._table: dict = {}
        self._layouts: dict = {}
        self._access: Any = None

    # the shard's manifest is parsed: choose blocks or whole reads
    def __call__(self, manifest: dict, access: Any) -> Any:
        self._access = access
        annotations = manifest.get("annotations")
        table = annotations.get("blocks") if isinstance(annotations, dict) else None
        if table is None or access.fd is None:
            return self._whole
        rows = annotations.get("rows")
        entries = [e for e in manifest["objects"] if isinstance(e, dict) and isinstance(e.get("arrays"), dict)]
        self._table = self._checked(table, rows, entries)
        for entry in entries:
            for key in self._table["objects"].get(entry["name"], {}).get("arrays", {}):
                layout = access.stored(entry["name"], key, entry["arrays"][key])
                if layout is None:  # deflated: no reads at offsets
                    self._layouts = {}
                    return self._whole
                self._layouts[(entry["name"], key)] = layout
        self.held = {}
        for name, bounds in self._table["rows"].items():
            lo, hi = self.wanted.get(name, (bounds[0], bounds[0]))
            if not bounds[0] <= lo <= hi <= bounds[-1]:
                raise _fail(self.source, f"rows [{lo}, {hi}) of population {name!r} are not in the shard's "
                                         f"[{bounds[0]}, {bounds[-1]})")
            if lo == hi:
                self._ranges[name] = (-1, -1)
                self.held[name] = (lo, lo)
                continue
            k0 = int(np.searchsorted(bounds, lo, side="right")) - 1
            k1 = int(np.searchsorted(bounds, hi, side="left"))
            self._ranges[name] = (k0, k1)
            self.held[name] = (bounds[k0], bounds[k1])
        return self._arrays

    def _checked(self, table: Any, rows: Any, entries: list) -> dict:
        if not isinstance(table, dict) or not isinstance(table.get("rows"), dict) \
                or not isinstance(table.get("objects"), dict) or not isinstance(rows, dict):
            raise _fail(self.source, "malformed block table")
        for name, bounds in table["rows"].items():
            held = rows.get(name)
            empty = isinstance(held, list) and len(held) == 2 and bounds == [held[0], held[0]] == [held[0], held[1]]
            increasing = _ints(bounds) and all(a < b for a, b in zip(bounds[:-1], bounds[1:]))
            if (not _ints(bounds) or len(bounds) < 2 or not isinstance(held, list) or len(held) != 2
                    or bounds[0] != held[0] or bounds[-1] != held[1] or not (increasing or empty)):
                raise _fail(self.source, f"block table: the blocks of population {name!r} do not cover its rows")
        for entry in entries:
            name = entry["name"]
            owner = name if entry["kind"] == "population" else entry.get("post")
            if owner not in table["rows"]:
                continue
            blocks = table["objects"].get(name)
            if not isinstance(blocks, dict) or not isinstance(blocks.get("offsets"), dict) \
                    or not isinstance(blocks.get("arrays"), dict):
                raise _fail(self.source, f"block table: object {name!r} has no blocks")
            count = len(table["rows"][owner])
            shapes = {key: spec.get("shape") for key, spec in entry["arrays"].items() if isinstance(spec, dict)}
            extents = {"neurons": table["rows"][owner][-1] - table["rows"][owner][0]}
            if entry["kind"] == "population":
                extents["times"] = (shapes.get(_TIMES) or [None])[0]
            else:
                extents["rows"] = (shapes.get("_post_ranks") or [None])[0]
                extents["synapses"] = (shapes.get("_pre_ranks") or [None])[0]
            for unit, offsets in blocks["offsets"].items():
                if (unit not in extents or not _ints(offsets) or len(offsets) != count or offsets[0] != 0
                        or offsets[-1] != extents[unit] or not _non_decreasing(offsets)):
                    raise _fail(self.source, f"block table: object {name!r}: malformed {unit!r} offsets")
            for key, spec in blocks["arrays"].items():
                shape = shapes.get(key)
                unit = spec.get("by") if isinstance(spec, dict) else None
                crcs = spec.get("crc32") if isinstance(spec, dict) else None
                span = "rows" if unit == "row_ptr" else unit
                if (unit not in _UNITS or span not in blocks["offsets"] or not _ints(crcs)
                        or len(crcs) != count - 1 or not all(0 <= c < 1 << 32 for c in crcs)
                        or not isinstance(shape, list) or not shape
                        or shape[-1] != extents[span] + (unit == "row_ptr")
                        or (unit != "neurons" and len(shape) != 1)):
                    raise _fail(self.source, f"block table: object {name!r}, array {key!r}: malformed entry")
        return table

    def _whole(self, entry: dict) -> dict:
        arrays = {}
        for key, spec in entry["arrays"].items():
            arrays[key] = self._access.whole(entry["name"], key, spec)
            tally.data_bytes += arrays[key].nbytes
            tally.whole_members += 1
        return arrays

    def _arrays(self, entry: dict) -> dict:
        name = entry["name"]
        owner = name if entry["kind"] == "population" else entry.get("post")
        blocks = self._table["objects"].get(name)
        if owner not in self._ranges or blocks is None:
            return self._whole(entry)
        k0, k1 = self._ranges[owner]
        bounds = self._table["rows"][owner]
        arrays = {}
        for key, spec in entry["arrays"].items():
            if key not in blocks["arrays"]:
                arrays[key] = self._access.whole(name, key, spec)
                tally.data_bytes += arrays[key].nbytes
                tally.whole_members += 1
                continue
            unit = blocks["arrays"][key]["by"]
            layout = self._layouts[(name, key)]
            if k0 < 0:  # no rows of this shard: nothing to read
                arrays[key] = (np.zeros(1, dtype=layout.dtype) if unit == "row_ptr"
                               else np.empty(layout.shape[:-1] + (0,), dtype=layout.dtype))
                continue
            arrays[key] = self._schedule(name, key, layout, unit, blocks, bounds, k0, k1, owner)
        return arrays

    def _schedule(self, name: str, key: str, layout: Any, unit: str, blocks: dict, bounds: list, k0: int, k1: int,
                  owner: str) -> np.ndarray:
        extra = 1 if unit == "row_ptr" else 0
        offsets = blocks["offsets"]["rows" if unit == "row_ptr" else unit]
        crcs = blocks["arrays"][key]["crc32"]
        first, last = offsets[k0], offsets[k1] + extra
        length = layout.shape[-1]
        leading = math.prod(layout.shape[:-1])
        itemsize = layout.dtype.itemsize
        out = empty_for_reading(layout.shape[:-1] + (last - first,), layout.dtype)
        rows = out.reshape(leading, last - first).view(np.uint8)
        views = [memoryview(row) for row in rows]
        segments = [(layout.offset + (row * length + first) * itemsize, view) for row, view in enumerate(views)]
        checks = [(k, crcs[k], (offsets[k] - first) * itemsize, (offsets[k + 1] + extra - first) * itemsize)
                  for k in range(k0, k1)]
        task = _BlockRead(self._access.fd, segments, checks, self.source, f"object {name!r}, array {key!r}",
                          lambda k: f"{k} (rows [{bounds[k]}, {bounds[k + 1]}) of population {owner!r})")
        tally.data_bytes += task.nbytes
        tally.block_reads += 1
        self._access.schedule(task)
        return out

    def finish(self, part: NetworkState) -> NetworkState:
        """The part read: its ``rows`` annotation the rows read, ``_row_ptr`` of each projection from 0.

        Parameters
        ----------
        part : NetworkState
            What :func:`state_npz.read` returned with this selector.
        """
        if self.held is None:
            return part
        projections = []
        for proj in part.projections:
            row_ptr = np.asarray(proj.row_ptr, dtype=np.int64)
            if proj.post in self.held and len(row_ptr):
                row_ptr = row_ptr - row_ptr[0]
            projections.append(dataclasses.replace(proj, row_ptr=row_ptr))
        rows = {name: [int(lo), int(hi)] for name, (lo, hi) in self.held.items()}
        return dataclasses.replace(part, projections=projections, annotations=dict(part.annotations, rows=rows))
