"""Collect every problem of an input first, then raise them together: a user fixes a file in one pass.

Loads (:mod:`gpunet.io.pipeline.restore`), parameter files (:mod:`gpunet.io.parameters`) and ``gpunet verify``
(:mod:`gpunet.io.check`) all check this way.  Messages name the object and the variable; the input
(``source``) is named once, in front.
"""
from __future__ import annotations

from typing import Type

from gpunet.errors import GpunetError, StructureError
from gpunet.io.pipeline.user_warnings import warn_at_caller


class Problems:
    """The problems found in ``source``: errors, and what ``strict`` makes errors instead of warnings.

    Examples
    --------
    >>> problems = Problems("p.json")
    >>> problems.error("population 'a', parameter 'x': expected a number")
    >>> problems.error("population 'b' is missing")
    >>> problems.raise_if_any("nothing was changed")
    Traceback (most recent call last):
    ...
    gpunet.errors.StructureError: p.json: 2 problems, nothing was changed:
      - population 'a', parameter 'x': expected a number
      - population 'b' is missing
    """

    def __init__(self, source: str, strict: bool = False) -> None:
        self.source, self.strict = source, strict
        self.found: list[tuple[Type[GpunetError], str]] = []
        self.notes: list[str] = []

    @property
    def errors(self) -> list[str]:
        """The messages of the errors so far, in the order found."""
        return [message for _, message in self.found]

    def error(self, message: str, error_type: Type[GpunetError] = StructureError) -> None:
        """Record an error; :meth:`raise_if_any` raises the first one's type."""
        self.found.append((error_type, message))

    def tolerated(self, message: str) -> None:
        """Record what a lenient check accepts with a warning and a strict one refuses."""
        if self.strict:
            self.error(message)
        else:
            self.notes.append(message)

    def raise_if_any(self, outcome: str) -> None:
        """Raise every error at once (``outcome``: what that means, e.g. "nothing was loaded"), if any."""
        if not self.found:
            return
        error_type = self.found[0][0]
        if len(self.found) == 1:
            raise error_type(f"{self.source}: {self.found[0][1]}; {outcome}")
        lines = "\n".join(f"  - {message}" for _, message in self.found)
        raise error_type(f"{self.source}: {len(self.found)} problems, {outcome}:\n{lines}")

    def warn_notes(self, category: Type[Warning]) -> None:
        """Warn once per tolerated problem, naming the source (at the caller of gpunet)."""
        for note in self.notes:
            warn_at_caller(f"{self.source}: {note}", category)
