"""The deletion audit trail: one append-only, PII-free record per request attempt.

A company must be able to show a regulator what was erased, where, when and on whose request,
long after the data itself is gone, so the records live in their own table (DeletionPolicy
Retain, no TTL) and are only ever added: a conditional put refuses to overwrite, and a repeat
of a request adds a new record (``NO_OP``) instead of changing the first one. Records hold ids,
counts, outcome names and reasons written by this project, never a token, a body or a value.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.adapters.aws_errors import is_conditional_check_failure
from jumio_pipeline.adapters.dynamodb_pages import all_items
from jumio_pipeline.domain.erasure_report import AuditOutcome, ErasureReport

FINAL_OUTCOMES = frozenset(
    {AuditOutcome.COMPLETED.value, AuditOutcome.NO_OP.value, AuditOutcome.FAILED.value}
)


class AuditTrail:
    """Writes audit records to the AuditTable (``requestId`` pk, ``at`` sk)."""

    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = aws_clients.dynamodb_table(table_name, resource)

    def record(
        self,
        report: ErasureReport,
        outcome: AuditOutcome,
        *,
        started_at: float,
        reason: str | None = None,
        detail: str | None = None,
        source_message_id: str | None = None,
    ) -> dict[str, Any]:
        """Append one record; a clash on the timestamp moves it by a microsecond, never overwrites."""
        item: dict[str, Any] = {
            "requestId": report.requestId,
            "scope": report.scope,
            "outcome": outcome.value,
            "startedAt": _iso(started_at),
            "workflowExecutionIds": list(report.workflowExecutionIds),
            "deleted": dict(vars(report.counts)),
            "jumio": [_without_none(vars(call)) for call in report.jumio],
        }
        optional = {
            "accountId": report.accountId,
            "credentialId": report.credentialId,
            "classifier": report.classifier,
            "requestedBy": report.requestedBy,
            "reason": reason,
            "detail": detail[:500] if detail else None,
            "sourceMessageId": source_message_id,
        }
        item.update(_without_none(optional))
        now = time.time()
        for attempt in range(5):
            item["at"] = _iso(now + attempt / 1_000_000)
            try:
                self._table.put_item(
                    Item=item, ConditionExpression="attribute_not_exists(requestId)"
                )
                return item
            except ClientError as exc:
                if not is_conditional_check_failure(exc):
                    raise
        raise RuntimeError("audit record could not be appended: timestamps kept clashing")

    def final_record(self, request_id: str) -> dict[str, Any] | None:
        """The first record that ended the request (COMPLETED, NO_OP or FAILED), if any."""
        return next(
            (r for r in self.history(request_id) if r.get("outcome") in FINAL_OUTCOMES), None
        )

    def history(self, request_id: str) -> list[dict[str, Any]]:
        """Every record of a request, oldest first (for operators and tests)."""
        return list(
            all_items(
                self._table.query,
                KeyConditionExpression="requestId = :r",
                ExpressionAttributeValues={":r": request_id},
                ConsistentRead=True,
            )
        )

    def records_naming(self, workflow_execution_id: str) -> list[dict[str, Any]]:
        """Every record whose request covered the session, oldest first: a paginated Scan,
        for an operator asking what was erased of one session (the table is keyed by request)."""
        items = all_items(
            self._table.scan,
            FilterExpression="contains(workflowExecutionIds, :wf)",
            ExpressionAttributeValues={":wf": workflow_execution_id},
            ConsistentRead=True,
        )
        return sorted(items, key=lambda item: (item["at"], item["requestId"]))


def _iso(epoch: float) -> str:
    """Sortable UTC timestamp with microseconds: the sort key orders a request's history."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
