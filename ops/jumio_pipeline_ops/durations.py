"""Durations as operators type them (``30m``, ``2h``) and as the CLI prints them back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``90``, ``90s``, ``30m``, ``2h`` or ``1d``; ValueError for anything else."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 2h, 1d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def span(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    whole = int(abs(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86400:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d{(whole % 86400) // 3600:02d}h"


def iso(epoch: float | None) -> str | None:
    """UTC ISO 8601 to the second, or None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def time_left(expires_at: float, now: float) -> str:
    """``expires in 12m`` or ``expired 3m ago``."""
    left = expires_at - now
    return f"expires in {span(left)}" if left > 0 else f"expired {span(left)} ago"


def ago(epoch: float | None, now: float) -> str:
    """``12m ago`` (or ``-`` when the moment is unknown)."""
    return "-" if epoch is None else f"{span(now - epoch)} ago"
