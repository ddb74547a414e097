"""Publishing a session's verdict on the stack's EventBridge bus.

One ``PutEvents`` entry per verdict; a failed entry is raised (the state machine retries the
step), so an event is sent at least once. The detail is built by
:mod:`jumio_pipeline.domain.verdict_event` and holds no personal data.
"""

from __future__ import annotations

import json
from typing import Any

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.domain.errors import VerdictPublishFailed
from jumio_pipeline.domain.verdict_event import DETAIL_TYPE, EVENT_SOURCE


class EventBridgeVerdicts:
    """``VerdictEvents`` on one event bus."""

    def __init__(self, bus_name: str, *, client: Any = None) -> None:
        self._bus_name = bus_name
        self._client = client or aws_clients.client("events")

    def publish(self, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": EVENT_SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                    "Resources": [],
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            [entry] = answer["Entries"]
            raise VerdictPublishFailed(
                f"EventBridge refused the verdict event: {entry.get('ErrorCode', 'unknown')}"
            )
