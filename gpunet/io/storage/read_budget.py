"""Memory budgets of the file readers: what a parse may allocate is bounded by what it reads.

A parse of ``D`` bytes (the file's bytes after decompression) may allocate at most
``ratio * D + allowance`` bytes for what it builds from them.  Each reader charges its budget
*before* it allocates: the restricted unpickler charges the objects the pickle will create
(estimated by the structure scan) and every copy an allowed callable or an array state makes;
the layout reader charges every array it builds from the unpickled objects.  An object used
several times (a memo reference in a pickle) is charged each time it is copied, so a file
cannot make a reader build more than its budget by repeating one large object.  The bound
and its figures are documented in docs/FORMAT.md ("Memory bound").

Examples
--------
>>> budget = ReadBudget("f.txt", 1000, ratio=2, allowance=0)
>>> budget.charge(1500, "a list")
>>> budget.charge(1000, "an array")
Traceback (most recent call last):
...
gpunet.errors.FormatError: f.txt: an array needs 1000 more bytes of memory, beyond the 2000 bytes ...
"""
from __future__ import annotations

from gpunet.errors import FormatError

__all__ = ["UNPICKLE_RATIO", "READER_RATIO", "ALLOWANCE", "ReadBudget", "parse_memory_bound"]

#: Bytes the unpickler may allocate per byte of pickle (Python objects: a float of 9 bytes in the
#: pickle is 32 bytes in memory, an int of 3 bytes 40).
UNPICKLE_RATIO = 24
#: Bytes the layout readers may allocate per byte of input (int64/float64 arrays of the values,
#: sorting permutations, a constant weight expanded to every synapse).
READER_RATIO = 32
#: Fixed allowance of every budget (small files, names, metadata).
ALLOWANCE = 64 << 20


class ReadBudget:
    """A count of the bytes a parse has allocated, against its limit.

    Parameters
    ----------
    source : str
        Name of the file, for error messages.
    input_bytes : int
        Bytes the parse reads (after decompression).
    ratio, allowance : int
        The limit is ``ratio * input_bytes + allowance``.
    """

    __slots__ = ("source", "limit", "used")

    def __init__(self, source: str, input_bytes: int, ratio: int = UNPICKLE_RATIO, allowance: int = ALLOWANCE) -> None:
        self.source = source
        self.limit = ratio * max(int(input_bytes), 0) + allowance
        self.used = 0

    @property
    def remaining(self) -> int:
        """Bytes still allowed."""
        return self.limit - self.used

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` about to be allocated for ``what``; FormatError beyond the limit."""
        nbytes = int(nbytes)
        if nbytes > self.limit - self.used:
            raise FormatError(
                f"{self.source}: {what} needs {nbytes} more bytes of memory, beyond the {self.limit} bytes this "
                f"file's size allows ({self.used} used); the file describes far more data than it carries "
                "(repeated references to one object, or a corrupted size)")
        self.used += nbytes


def parse_memory_bound(input_bytes: int) -> int:
    """The documented bound on the peak extra memory of parsing ``input_bytes`` bytes (after decompression).

    The unpickler's budget, the layout reader's budget, and the input itself with its decompressed
    copies: ``(UNPICKLE_RATIO + READER_RATIO + 4) * input_bytes + 2 * ALLOWANCE``.
    """
    return (UNPICKLE_RATIO + READER_RATIO + 4) * max(int(input_bytes), 0) + 2 * ALLOWANCE
