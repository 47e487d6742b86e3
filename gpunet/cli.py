"""The ``gpunet`` command: ``demo`` (the main job) and the file tools.

Errors are reported as one line with their cause and a non-zero exit status;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from gpunet.commands import demo, files
from gpunet.errors import GpunetError
from gpunet.version import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``gpunet`` command."""
    parser = argparse.ArgumentParser(prog="gpunet", description="gpunet: GPU-resident neural networks, saved and "
                                     "restored without loss.")
    parser.add_argument("--version", action="version", version=f"gpunet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_parser(commands)
    files.add_parsers(commands)
    _add_kernels_parser(commands)
    return parser


def _kernels(args: argparse.Namespace) -> int:
    from gpunet.commands.kernels import kernels_command
    return kernels_command(args.emit, check=args.check, arch=args.arch, jobs=args.jobs)


def _add_kernels_parser(commands: argparse._SubParsersAction) -> None:
    kernels = commands.add_parser("kernels", help="write the CUDA source generated for every built-in model and "
                                  "example network; --check compiles each file with nvcc")
    kernels.add_argument("--emit", required=True, metavar="DIR", help="folder to write the .cu files into")
    kernels.add_argument("--check", action="store_true", help="compile each file with nvcc -arch=ARCH --ptx "
                         "(skipped, with the reason, when nvcc is not found)")
    kernels.add_argument("--arch", default="sm_90", help="GPU architecture of the check (default sm_90)")
    kernels.add_argument("--jobs", type=int, default=None, help="parallel compilations (default: one per CPU)")
    kernels.set_defaults(handler=_kernels)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("gpunet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line reports every error in one line
        if args.debug:
            raise
        message = str(exc).replace("\n", " ")
        kind = type(exc).__name__ if isinstance(exc, (GpunetError, OSError, ValueError, KeyError)) \
            else f"internal error ({type(exc).__name__}; --debug shows where)"
        print(f"gpunet {args.command}: error: {kind}: {message}", file=sys.stderr)
        return 2
