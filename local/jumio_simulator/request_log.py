"""The request log: what tests count retries and exactly-once with (never bodies or tokens)."""

from __future__ import annotations

import threading


class RequestLog:
    """An append-only, thread-safe list of `{seq, route, method, path, status, fault, at}`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, object]] = []
        self._seq = 0

    def record(
        self,
        *,
        route: str | None,
        method: str,
        path: str,
        status: int | None,
        fault: str | None,
        at: str,
    ) -> None:
        """Append one entry; `path` must be the path without its query string."""
        with self._lock:
            self._seq += 1
            self._entries.append(
                {
                    "seq": self._seq,
                    "route": route,
                    "method": method,
                    "path": path,
                    "status": status,
                    "fault": fault,
                    "at": at,
                }
            )

    def entries(self) -> list[dict[str, object]]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        """Forget every entry (sequence numbers keep counting up)."""
        with self._lock:
            self._entries.clear()
