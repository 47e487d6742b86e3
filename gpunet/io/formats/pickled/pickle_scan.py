"""The structure scan of a pickle: the first of the two passes of
:mod:`gpunet.io.formats.pickled.unpickler`; it runs nothing.

The opcodes are walked once with an abstract stack that tracks, for every
object, its nesting depth.  The scan refuses persistent ids, extension codes
and out-of-band buffers, memo indices that would make the unpickler allocate
a huge memo table, objects nested deeper than :attr:`PickleLimits.max_depth`
(hashing a deep tuple overflows the C stack of CPython's unpickler, a crash
rather than an exception), objects modified after they were put into another
object (cycles; never produced for state files), MARKs beyond the depth limit
and trailing bytes after the STOP opcode.  It adds up the memory of every
object the unpickler will make (upper estimates of CPython's sizes) and
refuses the file before anything is loaded when that exceeds the budget of
:class:`PickleLimits`.  It also finds gpunet's row blocks
(:mod:`gpunet.io.formats.pickled.pickle_rows`), which the loader then takes as arrays.
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from typing import Optional, Union

from gpunet.errors import FormatError, UnsafeFileError
from gpunet.io.formats.pickled.pickle_rows import decode_hinted_block
from gpunet.io.storage.read_budget import ALLOWANCE, UNPICKLE_RATIO, ReadBudget

__all__ = ["PickleLimits", "DEFAULT_LIMITS", "scan_pickle"]

BytesLike = Union[bytes, bytearray, memoryview]


@dataclass(frozen=True)
class PickleLimits:
    """Structural limits checked before a pickle is loaded.

    Attributes
    ----------
    max_depth : int
        Deepest nesting of objects allowed (a dict of dicts of object arrays
        of lists is depth 6 or so; ANNarchy's files stay below 10).
    max_bytes : int or None
        Largest pickle accepted, in bytes (None: no limit).
    memory_ratio, memory_allowance : int
        The unpickler may allocate at most ``memory_ratio * len(pickle) +
        memory_allowance`` bytes: the objects the structure scan counts
        before anything is loaded, plus every copy made while loading
        (:class:`~gpunet.io.storage.read_budget.ReadBudget`).
    """

    max_depth: int = 100
    max_bytes: Optional[int] = None
    memory_ratio: int = UNPICKLE_RATIO
    memory_allowance: int = ALLOWANCE


DEFAULT_LIMITS = PickleLimits()


# --------------------------------------------------------------------------- structure scan
def _table(entries: dict[bytes, int], default: int = -1) -> list[int]:
    table = [default] * 256
    for op, value in entries.items():
        table[op[0]] = value
    return table


# Size of the fixed argument of each opcode (-1: not a fixed-size opcode).
_FIXED = _table({
    b"(": 0, b".": 0, b"0": 0, b"1": 0, b"2": 0, b"N": 0, b"Q": 0, b"R": 0, b"a": 0, b"b": 0, b"d": 0,
    b"}": 0, b"e": 0, b"l": 0, b"]": 0, b"o": 0, b"s": 0, b"t": 0, b")": 0, b"u": 0,
    b"J": 4, b"K": 1, b"M": 2, b"G": 8, b"h": 1, b"j": 4, b"q": 1, b"r": 4,
    b"\x80": 1, b"\x81": 0, b"\x82": 1, b"\x83": 2, b"\x84": 4, b"\x85": 0, b"\x86": 0, b"\x87": 0,
    b"\x88": 0, b"\x89": 0, b"\x8f": 0, b"\x90": 0, b"\x91": 0, b"\x92": 0, b"\x93": 0, b"\x94": 0,
    b"\x95": 8, b"\x97": 0, b"\x98": 0,
})
# Width of the length prefix of counted opcodes (strings, bytes, long ints); negative: signed.
_COUNTED = _table({
    b"T": -4, b"U": 1, b"X": 4, b"\x8d": 8, b"\x8c": 1, b"B": 4, b"C": 1, b"\x8e": 8, b"\x96": 8,
    b"\x8a": 1, b"\x8b": -4,
}, 0)
_LINES = _table({**{bytes([c]): 1 for c in b"ILFSVgpP"}, **{bytes([c]): 2 for c in b"ci"}}, 0)

# What each opcode does to the abstract stack.
(_ATOM, _MUTABLE, _MEMOIZE, _GET, _MARK, _EXTEND, _BUILD_MARK, _BUILD_FIXED, _APPEND1, _APPEND2, _STACK_GLOBAL,
 _PUT, _POP, _POP_MARK, _DUP, _PROTO, _NOTHING, _STOP, _UNSAFE, _BUFFER) = range(20)
_ACTION = _table({
    **{bytes([c]): _ATOM for c in b"NJKMGIFLSTUVXBCc\x88\x89\x8a\x8b\x8c\x8d\x8e\x96)"},
    **{bytes([c]): _MUTABLE for c in b"]}\x8f"},
    b"\x94": _MEMOIZE, b"h": _GET, b"j": _GET, b"g": _GET, b"(": _MARK,
    b"e": _EXTEND, b"u": _EXTEND, b"\x90": _EXTEND,
    **{bytes([c]): _BUILD_MARK for c in b"tld\x91oi"},
    **{bytes([c]): _BUILD_FIXED for c in b"\x85\x86\x87R\x81\x92"},
    b"a": _APPEND1, b"b": _APPEND1, b"s": _APPEND2, b"\x93": _STACK_GLOBAL,
    b"q": _PUT, b"r": _PUT, b"p": _PUT, b"0": _POP, b"1": _POP_MARK, b"2": _DUP, b"\x80": _PROTO,
    b"\x95": _NOTHING, b".": _STOP, b"P": _UNSAFE, b"Q": _UNSAFE, b"\x82": _UNSAFE, b"\x83": _UNSAFE,
    b"\x84": _UNSAFE, b"\x97": _BUFFER, b"\x98": _BUFFER,
})
# How many stack items the fixed-arity builders take.
_ARITY = _table({b"\x85": 1, b"\x86": 2, b"\x87": 3, b"R": 2, b"\x81": 2, b"\x92": 3}, 0)
# Bytes of memory the unpickler allocates for each opcode (the object it makes and its stack or memo slot),
# upper estimates for CPython 3.10+ on 64-bit; counted opcodes add their length, builders a cost per item.
_COST = _table({
    **{bytes([c]): 8 for c in b"NK)c\x88\x89\x93hjg2("},
    **{bytes([c]): 40 for c in b"MJIL\x8a\x8b"}, **{bytes([c]): 32 for c in b"GF"},
    **{bytes([c]): 72 for c in b"STUVXBC\x8c\x8d\x8e\x96"},
    b"]": 64, b"}": 64, b"\x8f": 224, b"\x94": 16, b"q": 16, b"r": 16, b"p": 16,
    **{bytes([c]): 48 for c in b"t\x85\x86\x87"}, b"l": 64, b"d": 240, b"\x91": 224, b"o": 64, b"i": 64,
    b"R": 64, b"\x81": 64, b"\x92": 64, b"a": 9, b"b": 8, b"s": 64, b"e": 0, b"u": 0, b"\x90": 0,
}, 0)
# Per item taken from the stack by the builders and the batch opcodes.
_ITEM_COST = _table({b"t": 8, b"\x85": 8, b"\x86": 8, b"\x87": 8, b"l": 9, b"d": 64, b"\x91": 96, b"o": 8,
                     b"i": 8, b"e": 9, b"u": 64, b"\x90": 96}, 0)
# Runs of numbers (the bulk of a list of floats or ints) are skipped by one regex match.
_RUNS: list[Optional[tuple[re.Pattern, int]]] = [None] * 256
for _op, _size in ((b"G", 8), (b"K", 1), (b"M", 2), (b"J", 4)):
    _RUNS[_op[0]] = (re.compile(b"(?:" + re.escape(_op) + b".{%d})+" % _size, re.DOTALL), _size + 1)
del _op, _size
#: Memory per byte of pickle of a whole list of numbers taken by one regex match (ints of 3 bytes: 48 of memory).
_FLAT_LIST_COST = 16
_RECORD_SIZE = _table({b"G": 9, b"J": 5, b"K": 2, b"M": 3}, 1)
#: Memory per byte of a decoded row block (the values, row lengths and layout arrays).
_ROW_BLOCK_COST = 4
# A whole flat list of numbers as protocol 4/5 writes it (EMPTY_LIST, MEMOIZE or not, then batches
# of MARK numbers APPENDS or one number APPEND): one regex match instead of one step per opcode.
_NUMBER = rb"(?:G.{8}|K.|M..|J.{4}|\x88|\x89|N)"
_FLAT_LIST = re.compile(rb"\](\x94)?(?:\(" + _NUMBER + rb"+e|" + _NUMBER + rb"a)*", re.DOTALL)
# The same for one batch of one kind of number (gpunet's writer, and most of ANNarchy's float rows):
# a regex without alternation runs about a third faster.
_UNIFORM_ROWS: list[Optional[re.Pattern]] = [None] * 256
for _op, _size in ((b"G", 8), (b"J", 4), (b"K", 1), (b"M", 2)):
    _UNIFORM_ROWS[_op[0]] = re.compile(rb"\](\x94)?\((?:" + re.escape(_op) + b".{%d})+e" % _size, re.DOTALL)
del _op, _size


def scan_pickle(data: BytesLike, source: str, limits: PickleLimits = DEFAULT_LIMITS,
                rows: Optional[list] = None, budget: Optional[ReadBudget] = None) -> None:
    """Check the structure of a pickle without running any of it.

    The opcodes are walked with an abstract stack whose entries are object ids
    (0 for atoms: numbers, strings, bytes, globals); each object carries its
    nesting depth and a flag set once it is nested in another object.

    Parameters
    ----------
    data : bytes-like
        The whole pickle.
    source : str
        Name of the file, for error messages.
    limits : PickleLimits
        Depth limit.
    rows : list, optional
        When given, gpunet's row blocks (:mod:`gpunet.io.formats.pickled.pickle_rows`) that
        stand outside any frame are decoded with NumPy instead of being walked
        opcode by opcode, and ``(start, end, DecodedRows)`` is appended for
        each: ``data[start:end]`` unpickles to the list of rows.  The entry
        becomes None when the pickle modifies that list later (then it must
        be read the ordinary way).

    Raises
    ------
    UnsafeFileError
        Persistent ids or extension codes (references to objects outside the
        pickle).
    FormatError
        Truncated data, unknown opcodes, stack underflow, a memo index beyond
        the entries stored so far (CPython would allocate a memo table of that
        size), nesting deeper than ``limits.max_depth`` (objects, or MARKs
        still open), objects whose memory would exceed ``limits.memory_ratio *
        len(data) + limits.memory_allowance`` (or ``budget``), an object modified
        after it was nested in another one, out-of-band buffers, or bytes after
        the end of the pickle.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    n = len(data)
    max_depth = limits.max_depth
    if budget is None:
        budget = ReadBudget(source, n, limits.memory_ratio, limits.memory_allowance)
    allowed = budget.remaining  # what the objects the unpickler will make may take (checked as they are counted)
    cost = 0
    stack: list[int] = []
    metastack: list[list[int]] = []
    memo: list[int] = []
    depth = [0]
    nested = bytearray(1)
    pos = 0

    def fail(message: str, cls: type = FormatError) -> FormatError:
        return cls(f"{source}: invalid pickle at byte {pos}: {message}")

    def new_object(d: int) -> int:
        if d > max_depth:
            raise fail(f"objects nested {d} deep (limit {max_depth})")
        depth.append(d)
        nested.append(0)
        return len(depth) - 1

    def consume(ids: list[int]) -> int:
        deepest = 0
        for oid in set(ids):
            if oid:
                nested[oid] = 1
                if depth[oid] > deepest:
                    deepest = depth[oid]
        return deepest + 1

    def mutate(items: list[int]) -> None:
        if not stack:
            raise fail("stack underflow")
        container = stack[-1]
        if container == 0:
            raise fail("an item is added to a number, a string or a global")
        if nested[container] or container in items:
            raise fail("an object is modified after it was nested in another one (a cyclic or "
                       "self-modifying pickle; state files never contain one)")
        if container in decoded_at:  # the pickle changes the list of rows after it: read it the ordinary way
            rows[decoded_at.pop(container)] = None
        d = consume(items)
        if d > depth[container]:
            if d > max_depth:
                raise fail(f"objects nested {d} deep (limit {max_depth})")
            depth[container] = d

    def too_large() -> FormatError:
        return fail(f"the objects it makes would need more than {allowed} bytes of memory, the most a pickle of "
                    f"{n} bytes may need ({limits.memory_ratio} x its size + {limits.memory_allowance}); a "
                    "corrupted or hostile file")

    flat_list = _FLAT_LIST.match
    frame_end = 0
    decoded_at: dict[int, int] = {}  # object id of a decoded list of rows -> its index in `rows`
    while pos < n:
        if cost > allowed:
            raise too_large()
        op = data[pos]
        if op == 0x42 and rows is not None and pos >= frame_end:  # BINBYTES: perhaps a row hint
            found = decode_hinted_block(data, pos)
            if found is not None:
                cost += _ROW_BLOCK_COST * (found[1] - pos)
                oid = new_object(2)
                decoded_at[oid] = len(rows)
                rows.append((pos, found[1], found[0]))
                stack.append(oid)
                pos = found[1]
                continue
        if op == 0x5D:  # EMPTY_LIST: try to take the whole list of numbers at once
            mark = pos + 2 if data[pos + 1:pos + 2] == b"\x94" else pos + 1
            uniform = _UNIFORM_ROWS[data[mark + 1]] if mark + 1 < n and data[mark] == 0x28 else None
            match = uniform.match(data, pos) if uniform is not None else None
            if match is not None:  # one kind of number: its exact cost per item (the list's slot included)
                size = _RECORD_SIZE[data[mark + 1]]
                cost += 64 + (match.end() - mark - 2) // size * (_COST[data[mark + 1]] + 1)
            else:
                match = flat_list(data, pos)
                if match is not None:
                    cost += 64 + _FLAT_LIST_COST * (match.end() - pos)
            if match is not None:
                oid = new_object(1)
                if match.group(1):
                    memo.append(oid)
                stack.append(oid)
                pos = match.end()
                continue
        run = _RUNS[op]
        if run is not None:
            match = run[0].match(data, pos)
            if match is not None:
                count = (match.end() - pos) // run[1]
                cost += count * _COST[op]
                if cost > allowed:
                    raise too_large()
                stack += [0] * count
                pos = match.end()
                continue
            raise fail("truncated")
        start = pos + 1
        size = _FIXED[op]
        arg = 0
        if size >= 0:
            if start + size > n:
                raise fail("truncated")
            if size:
                arg = int.from_bytes(data[start:start + size], "little")
            next_pos = start + size
        elif _COUNTED[op]:
            width = _COUNTED[op]
            signed = width < 0
            width = abs(width)
            if start + width > n:
                raise fail("truncated")
            length = int.from_bytes(data[start:start + width], "little", signed=signed)
            if length < 0 or start + width + length > n:
                raise fail("truncated (or negative length)")
            next_pos = start + width + length
            cost += length
        elif _LINES[op]:
            end = data.find(b"\n", start)
            if end >= 0 and _LINES[op] == 2:
                end = data.find(b"\n", end + 1)
            if end < 0:
                raise fail("truncated (end of line missing)")
            if op in b"gp":
                try:
                    arg = int(data[start:end])
                except ValueError:
                    raise fail("invalid memo index") from None
            next_pos = end + 1
            cost += end - start
        else:
            raise fail(f"unknown opcode {bytes([op])!r}")

        cost += _COST[op]
        action = _ACTION[op]
        if action == _ATOM:
            stack.append(0)
        elif action == _MEMOIZE:
            if not stack:
                raise fail("MEMOIZE on an empty stack")
            memo.append(stack[-1])
        elif action == _GET:
            if not 0 <= arg < len(memo):
                raise fail(f"memo entry {arg} missing")
            stack.append(memo[arg])
        elif action == _MARK:
            if len(metastack) >= max_depth:
                raise fail(f"more than {max_depth} MARKs open at once (objects nested deeper than the limit)")
            metastack.append(stack)
            stack = []
        elif action == _MUTABLE:
            stack.append(new_object(1))
        elif action == _EXTEND:
            if not metastack:
                raise fail("MARK expected")
            items, stack = stack, metastack.pop()
            cost += _ITEM_COST[op] * len(items)
            mutate(items)
        elif action == _BUILD_MARK:
            if not metastack:
                raise fail("MARK expected")
            items, stack = stack, metastack.pop()
            cost += _ITEM_COST[op] * len(items)
            stack.append(new_object(consume(items)))
        elif action == _BUILD_FIXED:
            count = _ARITY[op]
            if len(stack) < count:
                raise fail("stack underflow")
            items = stack[-count:]
            del stack[-count:]
            cost += _ITEM_COST[op] * count
            stack.append(new_object(consume(items)))
        elif action == _APPEND1 or action == _APPEND2:
            count = 1 if action == _APPEND1 else 2
            if len(stack) < count + 1:
                raise fail("stack underflow")
            items = stack[-count:]
            del stack[-count:]
            mutate(items)
        elif action == _STACK_GLOBAL:
            if len(stack) < 2:
                raise fail("stack underflow")
            del stack[-2:]
            stack.append(0)
        elif action == _PUT:
            if not stack:
                raise fail("PUT on an empty stack")
            if arg > len(memo):
                raise fail(f"memo index {arg} beyond the {len(memo)} entries stored so far")
            if arg == len(memo):
                memo.append(stack[-1])
            else:
                memo[arg] = stack[-1]
        elif action == _POP:
            if stack:
                stack.pop()
            elif metastack:
                stack = metastack.pop()
            else:
                raise fail("stack underflow")
        elif action == _POP_MARK:
            if not metastack:
                raise fail("MARK expected")
            stack = metastack.pop()
        elif action == _DUP:
            if not stack:
                raise fail("stack underflow")
            stack.append(stack[-1])
        elif action == _NOTHING:  # FRAME: the next `arg` bytes are one frame
            frame_end = next_pos + arg
        elif action == _PROTO:
            if arg > pickle.HIGHEST_PROTOCOL:
                raise fail(f"unsupported pickle protocol {arg}")
        elif action == _STOP:
            if len(stack) != 1 or metastack:
                raise fail("STOP with an unbalanced stack")
            if next_pos != n:
                raise FormatError(f"{source}: {n - next_pos} unexpected bytes after the end of the pickle "
                                  "(corrupted or concatenated file)")
            if cost > allowed:
                raise too_large()
            budget.charge(cost, "the objects of the pickle")
            return
        elif action == _UNSAFE:
            raise fail("persistent ids and extension-registry references are refused; nothing from the file "
                       "was run", UnsafeFileError)
        elif action == _BUFFER:
            raise fail("out-of-band buffers are not supported")
        pos = next_pos
    raise FormatError(f"{source}: truncated pickle (no STOP opcode in {n} bytes)")
