"""Console output of the demo: a progress line that updates in place, and plain tables.

Why separate: the demo's logic should read as the pipeline's story; how a line is redrawn on a
terminal (or printed only when it changes, when the output is a pipe or a test) lives here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


class ProgressLine:
    """One status line: redrawn with '\\r' on a terminal, printed on change otherwise."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._interactive = bool(getattr(self._out, "isatty", lambda: False)())
        self._last = ""
        self._open = False
        self._started = time.monotonic()

    def _stamp(self, text: str) -> str:
        return f"[{time.monotonic() - self._started:5.1f}s] {text}" if text else text

    def update(self, text: str) -> None:
        """Show `text` as the current progress (no output if nothing changed)."""
        if text == self._last:
            return
        self._last = text
        if self._interactive:
            self._out.write("\r\033[K" + self._stamp(text))
            self._open = True
        else:
            self._out.write(self._stamp(text) + "\n")
        self._out.flush()

    def say(self, text: str, *, stamp: bool = True) -> None:
        """Print a line of its own (time-stamped unless told not to) below the progress line."""
        self.close()
        self._out.write((self._stamp(text) if stamp else text) + "\n")
        self._out.flush()

    def close(self) -> None:
        """End the in-place line so that what follows starts on a new line."""
        if self._open:
            self._out.write("\n")
            self._out.flush()
            self._open = False


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table with a rule under the header."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(value)) for width, value in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), rule, *(line(row) for row in cells)]).rstrip()
