"""Jumio's callback, as documented, checked field by field; nothing else is accepted.

Jumio posts ``{"callbackSentAt", "userReference"?, "workflowExecution": {"id", "href",
"definitionKey", "status"}, "account": {"id", "href"}}`` when an execution ends (PROCESSED,
SESSION_EXPIRED or TOKEN_EXPIRED). It carries no result and no signature, so it is only a
hint that something ended: the pipeline keeps the ids and the status, and reads the decision
from the retrieval API itself. ``userReference`` is never kept (Jumio asks for it to hold no
personal data, but it is the caller's value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.workflow_status import WorkflowStatus

MAX_CALLBACK_BYTES = 16_384  # the documented payload is a few hundred bytes
CALLBACK_STATUSES = frozenset(
    {WorkflowStatus.PROCESSED, WorkflowStatus.SESSION_EXPIRED, WorkflowStatus.TOKEN_EXPIRED}
)
_TOP_LEVEL = frozenset({"callbackSentAt", "userReference", "workflowExecution", "account"})
INVALID_CALLBACK = "INVALID_CALLBACK"


@dataclass(frozen=True)
class JumioCallback:
    """The ids and status of one callback."""

    workflow_execution_id: str
    account_id: str
    status: WorkflowStatus
    sent_at: str


def parse_callback(body: bytes) -> JumioCallback:
    """The callback in ``body``, or InvalidMessage naming the first field that is wrong."""
    if len(body) > MAX_CALLBACK_BYTES:
        raise InvalidMessage(
            INVALID_CALLBACK, f"the body is larger than {MAX_CALLBACK_BYTES} bytes"
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested too deeply for the decoder.
        raise InvalidMessage(INVALID_CALLBACK, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidMessage(INVALID_CALLBACK, "the body is not a JSON object")
    if set(payload) - _TOP_LEVEL:
        # Not named: a field name is the sender's text, and it would reach the log.
        raise InvalidMessage(INVALID_CALLBACK, "an undocumented top-level field is present")
    execution = _object(payload, "workflowExecution")
    account = _object(payload, "account")
    status_text = _string(execution, "workflowExecution.status", "status")
    try:
        status = WorkflowStatus(status_text)
    except ValueError:
        status = None
    if status not in CALLBACK_STATUSES:
        raise InvalidMessage(
            INVALID_CALLBACK,
            "status must be PROCESSED, SESSION_EXPIRED or TOKEN_EXPIRED",
            field="workflowExecution.status",
        )
    sent_at = _string(payload, "callbackSentAt", "callbackSentAt")
    try:
        datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidMessage(
            INVALID_CALLBACK, "callbackSentAt is not a timestamp", field="callbackSentAt"
        ) from None
    for where, holder in (("workflowExecution", execution), ("account", account)):
        _string(holder, f"{where}.href", "href")
    if payload.get("userReference") is not None and not isinstance(payload["userReference"], str):
        raise InvalidMessage(
            INVALID_CALLBACK, "userReference is not a string", field="userReference"
        )
    return JumioCallback(
        workflow_execution_id=_uuid(execution, "workflowExecution.id"),
        account_id=_uuid(account, "account.id"),
        status=status,
        sent_at=sent_at,
    )


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise InvalidMessage(INVALID_CALLBACK, f"{name} is missing or not an object", field=name)
    return value


def _string(holder: dict[str, Any], where: str, name: str) -> str:
    value = holder.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidMessage(INVALID_CALLBACK, f"{where} is missing or empty", field=where)
    return value


def _uuid(holder: dict[str, Any], where: str) -> str:
    try:
        return str(UUID(_string(holder, where, "id")))
    except ValueError:
        raise InvalidMessage(INVALID_CALLBACK, f"{where} is not a UUID", field=where) from None
