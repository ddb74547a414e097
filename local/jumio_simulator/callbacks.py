"""Callback delivery (contract §4) with seeded faults, off the request thread.

Jumio POSTs the callback when an execution ends (PROCESSED, SESSION_EXPIRED, TOKEN_EXPIRED)
and documents no redelivery policy. So the simulator may deliver late, twice (the copy with its
own delay, so it can come much later or after newer callbacks), or not at all, as the fault
config says. Each copy is sent from its own timer thread: the API request that caused it never
waits. The callback log (`GET /__admin/callbacks`) records each copy by execution id and
status, never the URL: a callback URL may carry a secret path segment.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from jumio_simulator.faults import FaultInjector

# Jumio documents no timeout for its callback POST; 10 s leaves a cold, loaded receiver time
# to answer, while the pipeline still answers at once (it only records and signals).
CALLBACK_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Jumio Callback (simulator)"


def callback_body(
    *,
    base_url: str,
    account_id: str,
    execution_id: str,
    definition_key: str,
    status: str,
    user_reference: str | None,
) -> dict[str, object]:
    """The documented payload without `callbackSentAt` (set when each copy is sent)."""
    account_href = f"{base_url}/api/v1/accounts/{account_id}"
    body: dict[str, object] = {}
    if user_reference is not None:
        body["userReference"] = user_reference
    body["workflowExecution"] = {
        "id": execution_id,
        "href": f"{account_href}/workflow-executions/{execution_id}",
        "definitionKey": definition_key,
        "status": status,
    }
    body["account"] = {"id": account_id, "href": account_href}
    return body


def _post(url: str, body: dict[str, object]) -> tuple[str, int | None]:
    """One POST: ("delivered", status) or ("failed", status or None). Never raises."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
            response.read()
            return "delivered", response.status
    except urllib.error.HTTPError as error:
        return "failed", error.code
    except (OSError, ValueError):
        return "failed", None


@dataclass
class _Pending:
    """One scheduled copy: its timer, log entry, target and when it is due (monotonic)."""

    timer: threading.Timer
    entry: dict[str, object]
    url: str
    body: dict[str, object]
    due: float


class CallbackDispatcher:
    """Plans, schedules, sends and logs callbacks; `flush` sends pending ones now."""

    def __init__(self, faults: FaultInjector, timestamp: Callable[[], str]) -> None:
        self._faults = faults
        self._timestamp = timestamp
        self._lock = threading.Lock()
        self._log: list[dict[str, object]] = []
        self._pending: dict[int, _Pending] = {}
        self._seq = 0
        self._generation = 0

    def send(self, url: str, execution_id: str, status: str, body: dict[str, object]) -> None:
        """Schedule the callback's copies as the fault plan says; returns at once."""
        plan = self._faults.callback_plan()
        if plan.fault == "drop":
            self._record(execution_id, status, "original", "drop", 0, "dropped")
            return
        for index, delay in enumerate(plan.delays):
            copy = "original" if index == 0 else "duplicate"
            fault = None if index == 0 else "duplicate"
            entry = self._record(execution_id, status, copy, fault, delay, "scheduled")
            with self._lock:
                seq, generation = int(entry["seq"]), self._generation  # type: ignore[call-overload]
                timer = threading.Timer(delay, self._deliver, (seq, generation))
                timer.daemon = True
                self._pending[seq] = _Pending(timer, entry, url, body, time.monotonic() + delay)
            timer.start()

    def _record(
        self,
        execution_id: str,
        status: str,
        copy: str,
        fault: str | None,
        delay: float,
        outcome: str,
    ) -> dict[str, object]:
        with self._lock:
            self._seq += 1
            entry: dict[str, object] = {
                "seq": self._seq,
                "workflowExecutionId": execution_id,
                "status": status,
                "copy": copy,
                "fault": fault,
                "delayMs": round(delay * 1000),
                "outcome": outcome,
                "httpStatus": None,
                "scheduledAt": self._timestamp(),
                "sentAt": None,
            }
            self._log.append(entry)
            return entry

    def _deliver(self, seq: int, generation: int) -> None:
        """Send one pending copy, unless a reset or a flush already took it."""
        with self._lock:
            pending = self._pending.pop(seq, None)
            if pending is None or generation != self._generation:
                return
            sent_at = self._timestamp()
            pending.entry["sentAt"] = sent_at
            pending.entry["outcome"] = "sending"
        outcome, http_status = _post(pending.url, {"callbackSentAt": sent_at, **pending.body})
        with self._lock:
            if generation == self._generation:
                pending.entry["outcome"] = outcome
                pending.entry["httpStatus"] = http_status

    def flush(self) -> int:
        """Send every pending copy now, earliest due first, before returning; how many."""
        with self._lock:
            due = sorted(self._pending.items(), key=lambda item: (item[1].due, item[0]))
            generation = self._generation
            for _, pending in due:
                pending.timer.cancel()
        for seq, _ in due:
            self._deliver(seq, generation)
        return len(due)

    def entries(self) -> list[dict[str, object]]:
        """A copy of the callback log, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def clear(self) -> None:
        """Forget the log (pending copies still go out and are not logged again)."""
        with self._lock:
            self._log = []

    def cancel_all(self) -> None:
        """Stop every pending copy and forget the log (reset and shutdown)."""
        with self._lock:
            self._generation += 1
            for pending in self._pending.values():
                pending.timer.cancel()
            self._pending = {}
            self._log = []
