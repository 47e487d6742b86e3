"""``gpunet inspect | convert | diff | verify``: tools for state files of every format."""
from __future__ import annotations

import argparse
import dataclasses
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gpunet.errors import FormatError, GpunetError
from gpunet.io import formats
from gpunet.io.api import read_state, serializer_for
from gpunet.io.storage.atomic import atomic_writer
from gpunet.io.check import check_state, check_writable
from gpunet.io.state_diff import compare_states
from gpunet.io.pipeline.state_types import NetworkState


def _read(path: str) -> NetworkState:
    return read_state(path)


def _checksums(path: Path) -> str:
    if formats.format_name(path) == "state_shards":
        from gpunet.io.formats import state_shards
        problems = state_shards.verify_files(path)
        return "ok (CRC-32 of every shard file, and of every block of rows, verified)" if not problems else "BAD: " + "; ".join(problems)
    if formats.format_name(path) != "state_npz":
        return "none in this format"
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile as exc:
        return f"unreadable ({exc})"
    return "ok (CRC-32 of every member verified)" if bad is None else f"BAD in member {bad}"


def _describe(array: Any) -> str:
    array = np.asarray(array)
    return f"{array.dtype}{list(array.shape)}"


def inspect_file(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if formats.format_name(path) == "params_json":
        from gpunet.io.formats import params_json
        content = params_json.load(path)
        print(f"{path}: global parameters (JSON)")
        for section in ("populations", "projections"):
            for name, values in (content.get(section) or {}).items():
                print(f"  {section[:-1]} {name}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))
        print(f"  network: {content.get('network', {})}")
        return 0
    state = _read(path)
    time = f"{state.step * state.dt:g} ms" if state.step is not None and state.dt else "unknown"
    print(f"{path}")
    print(f"  format      {formats.format_name(path)}"
          + (f" version {state.format_version}" if state.format_version else "")
          + (f", written by gpunet {state.gpunet_version}" if state.gpunet_version else ""))
    print(f"  step        {state.step if state.step is not None else 'unknown'} (t = {time}, dt = {state.dt})")
    print(f"  seed        {state.seed if state.seed is not None else 'not stored'}")
    print(f"  checksums   {_checksums(path)}")
    for pop in state.populations:
        print(f"  population {pop.name}: {pop.size} neurons, geometry {tuple(pop.geometry)}, model {pop.model or '?'}")
        for key, value in {**pop.values, **pop.internal}.items():
            print(f"    {key:<16} {_describe(value)}")
    for proj in state.projections:
        print(f"  projection {proj.name}: {proj.pre} -> {proj.post} ({proj.target}), {proj.nb_synapses} synapses, "
              f"model {proj.model or '?'}, delays {_describe(proj.delays)}")
        for key, value in {**proj.values, **proj.internal}.items():
            print(f"    {key:<16} {_describe(value)}")
    for monitor in state.monitors:
        print(f"  monitor {monitor.name}: {monitor.target_kind} {monitor.target}, records "
              f"{', '.join(monitor.variables)} every {monitor.period_steps} step(s)"
              + ("" if monitor.recording else " (paused)"))
        for key, value in monitor.arrays.items():
            print(f"    {key:<16} {_describe(value)}")
    return 0


def verify_file(args: argparse.Namespace) -> int:
    """``gpunet verify``: OK when a load could accept the file as far as the file alone decides (exit 0), else FAIL."""
    path = Path(args.file)
    try:
        state = _read(path)
        problems = check_state(state, str(path))
    except GpunetError as exc:
        print(f"FAIL {_one_line(exc)}")
        return 1
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError,
            MemoryError, OverflowError) as exc:  # a reader let through an error of its own: still a bad file
        print(f"FAIL {path}: cannot be read ({type(exc).__name__}: {_one_line(exc)})")
        return 1
    checksums = _checksums(path)
    if checksums.startswith(("BAD", "unreadable")):
        problems.insert(0, f"checksums: {checksums}")
    if problems:
        print(f"FAIL {path}: " + "; ".join(problems))
        return 1
    print(f"OK {path}: {len(state.populations)} populations, {len(state.projections)} projections, "
          f"checksums {checksums}")
    return 0


def _one_line(exc: BaseException) -> str:
    return str(exc).replace("\n", " ")


def convert_file(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    state = _read(source)
    problems = check_state(state, str(source))
    if problems:
        raise FormatError(f"{source}: not converted: " + "; ".join(problems))
    if formats.format_name(target) == "params_json":
        raise FormatError(f"{target}: {target.suffix} files cannot hold a network state")
    if state.monitors and not formats.format_for(target).carries_monitors:
        names = ", ".join(repr(recording.name) for recording in state.monitors)
        if not args.drop_recordings:  # nothing is lost without being asked for
            raise FormatError(f"{source}: holds the recordings of monitor(s) {names}, which the "
                              f"{formats.format_name(target)} format of {target} cannot hold; convert to .npz, or "
                              "pass --drop-recordings to convert the network state without them")
        print(f"gpunet convert: recordings of monitor(s) {names} dropped (--drop-recordings)", file=sys.stderr)
        state = dataclasses.replace(state, monitors=[])
    if formats.format_for(target).directory:  # .shards: the shards one process writes, then the manifest
        from gpunet.io.formats import state_shards
        check_writable(state, target)
        state_shards.save(target, state)
    else:
        serialize = serializer_for(target)
        with atomic_writer(target) as stream:
            serialize(state, stream)
    print(f"{source} -> {target} ({formats.format_name(target)})")
    return 0


def diff_files(args: argparse.Namespace) -> int:
    a, b = _read(args.a), _read(args.b)
    out = compare_states(a, b)
    for line in out:
        print(line)
    if not out:
        print(f"no differences between {args.a} and {args.b}")
    return 1 if out else 0


def add_parsers(commands: Any) -> None:
    """Register the file subcommands on an argparse subparsers object."""
    inspect = commands.add_parser("inspect", help="show the objects, variables and metadata of a file")
    inspect.add_argument("file")
    inspect.set_defaults(handler=inspect_file)
    verify = commands.add_parser("verify", help="check checksums and structure (exit status 0 or 1)")
    verify.add_argument("file")
    verify.set_defaults(handler=verify_file)
    convert = commands.add_parser("convert", help="convert a state file to another format (by suffix)")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--drop-recordings", action="store_true",
                         help="convert a state holding monitor recordings to a format that cannot hold them")
    convert.set_defaults(handler=convert_file)
    diff = commands.add_parser("diff", help="compare two state files (exit status 1 when they differ)")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.set_defaults(handler=diff_files)
