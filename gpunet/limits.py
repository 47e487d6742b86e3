"""What a network accepts: object names, seeds, step counters, delays.

These bounds hold for networks built in code and for state loaded from files
alike, so every saved file loads back.

* Object names: 1 to :data:`MAX_NAME_LENGTH` characters from
  ``A-Z a-z 0-9 _ . -`` (no spaces, no control characters: Matlab's
  blank-padded char matrices would lose trailing spaces, zip member names and
  C strings end at NUL).  The names ``time_step``, ``net_id``, ``obj_names``
  and ``_gpunet`` are ANNarchy's (and gpunet's) top-level keys of a state file
  and are refused.
* Seeds: integers in ``[0, 2**64 - 1]`` (the counter-based generator uses 64
  bits of it).
* Step counters: integers in ``[0, MAX_STEP]`` (``2**53``: the step and the
  time ``step * dt`` stay exact in float64 and no step arithmetic overflows).
* Delays: at most :data:`MAX_DELAY_STEPS` steps (``2**20``).  The spike ring
  buffer of a population holds ``max delay x size`` booleans; a load may grow
  it to at most :data:`MAX_LOAD_RING_BYTES` bytes (more only if the network's
  own delays already need more).
"""
from __future__ import annotations

import numbers
import re
from typing import Any

from gpunet.errors import StructureError

MAX_NAME_LENGTH = 128
NAME_CHARACTERS = "A-Z a-z 0-9 _ . -"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")
RESERVED_NAMES = frozenset({"time_step", "net_id", "obj_names", "_gpunet"})

MAX_SEED = 2 ** 64 - 1
MAX_STEP = 2 ** 53
MAX_DELAY_STEPS = 2 ** 20
MAX_LOAD_RING_BYTES = 2 ** 30


def check_name(name: Any, kind: str) -> str:
    """``name`` when it is a valid object name, else a :class:`StructureError` saying the rule.

    Examples
    --------
    >>> check_name("PFC_exc", "population")
    'PFC_exc'
    """
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise StructureError(f"invalid {kind} name {name!r}: use 1 to {MAX_NAME_LENGTH} characters among "
                             f"{NAME_CHARACTERS} (letters, digits, underscore, dot, hyphen)")
    if name in RESERVED_NAMES:
        raise StructureError(f"invalid {kind} name {name!r}: {sorted(RESERVED_NAMES)} are keys of the state files")
    return name


def _integer(value: Any) -> Any:
    if isinstance(value, (bool,)) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def check_seed(seed: Any) -> int:
    """``seed`` as an int when it lies in ``[0, MAX_SEED]``, else a :class:`StructureError`."""
    value = _integer(seed)
    if value is None or not 0 <= value <= MAX_SEED:
        raise StructureError(f"seed must be an integer in [0, 2**64 - 1], got {seed!r}")
    return value


def check_step(step: Any) -> int:
    """``step`` as an int when it lies in ``[0, MAX_STEP]``, else a :class:`StructureError`."""
    value = _integer(step)
    if value is None or not 0 <= value <= MAX_STEP:
        raise StructureError(f"step counter must be an integer in [0, 2**53], got {step!r}")
    return value
