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
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (GpunetError, OSError, ValueError, KeyError) as exc:
        if args.debug:
            raise
        message = str(exc).replace("\n", " ")
        print(f"gpunet {args.command}: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gpunet: interrupted", file=sys.stderr)
        return 130
