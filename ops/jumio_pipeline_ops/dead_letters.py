"""`dlq list` and `dlq redrive`: what is parked, why, and putting it back where it came from.

SQS cannot be read without receiving, so counting by the ``reason`` attribute receives every
message with a visibility timeout (``hold``) and makes each visible again at the end, also when
the command fails half-way. Bodies are never printed or parsed: they hold tokens, captures'
keys and prepared data. A redriven message goes back to the queue whose RedrivePolicy names the
DLQ, as its body alone (the DLQ's diagnosis attributes stay behind; a fresh message starts its
waits afresh), and it leaves the DLQ only after it was sent. If the delete fails after the send,
the message exists twice: every consumer is idempotent on what the message names.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.output import emit, table

DLQ_SUFFIX = "DLQ"
NO_REASON = "(no reason attribute)"  # SQS's own redrive after maxReceiveCount
HOLD_SECONDS = 60
MAX_MESSAGES = 10_000
_ATTRIBUTES = ["reason", "sourceMessageId"]


def dead_letter_queues(ctx: Context) -> dict[str, str]:
    """The stack's DLQs (logical ids ending in ``DLQ``) → queue URL."""
    return {
        logical_id: url
        for logical_id, url in sorted(ctx.resources.queue_urls().items())
        if logical_id.endswith(DLQ_SUFFIX)
    }


# --- list ------------------------------------------------------------------------------------


def run_list(ctx: Context, *, hold: int = HOLD_SECONDS) -> int:
    sqs = ctx.cloud.client("sqs")
    report = []
    for logical_id, url in dead_letter_queues(ctx).items():
        counts = _approximate_counts(sqs, url)
        reasons: Counter[str] = Counter()
        if counts["visible"]:
            reasons = _count_reasons(sqs, url, hold=hold)
        report.append(
            {
                "queue": logical_id,
                "counted": sum(reasons.values()),
                "byReason": dict(sorted(reasons.items())),
                "inFlight": counts["inFlight"],
                "delayed": counts["delayed"],
            }
        )
    emit(ctx, {"deadLetterQueues": report}, list_text(report))
    return 0


def list_text(report: list[dict[str, Any]]) -> str:
    """One line per DLQ: its name, how many were counted, and the count per reason."""
    rows = []
    for entry in report:
        notes = ", ".join(f"{reason} {count}" for reason, count in entry["byReason"].items())
        if entry["inFlight"]:
            notes += f"{'; ' if notes else ''}{entry['inFlight']} in flight, not counted"
        if entry["delayed"]:
            notes += f"{'; ' if notes else ''}{entry['delayed']} delayed, not counted"
        rows.append([entry["queue"], str(entry["counted"]), notes])
    return table(rows, indent=0)


def _approximate_counts(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def _count_reasons(sqs: Any, url: str, *, hold: int) -> Counter[str]:
    reasons: Counter[str] = Counter()
    held: list[str] = []
    try:
        for message in _receive_all(sqs, url, hold=hold, held=held):
            held.append(message["ReceiptHandle"])
            reasons[_attribute(message, "reason") or NO_REASON] += 1
    finally:
        _release(sqs, url, held)
    return reasons


# --- redrive ---------------------------------------------------------------------------------


@dataclass
class RedriveReport:
    """What a redrive did, by reason."""

    queue: str
    source: str
    reason: str | None
    dry_run: bool
    moved: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    send_failed: int = 0
    delete_failed: int = 0
    parked_again: int = 0

    def as_report(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "source": self.source,
            "reason": self.reason,
            "dryRun": self.dry_run,
            "moved" if not self.dry_run else "wouldMove": dict(sorted(self.moved.items())),
            "left": dict(sorted(self.left.items())),
            "sendFailed": self.send_failed,
            "deleteFailed": self.delete_failed,
            "parkedAgain": self.parked_again,
        }


def run_redrive(
    ctx: Context, queue: str, *, reason: str | None, dry_run: bool, hold: int = HOLD_SECONDS
) -> int:
    dlqs = dead_letter_queues(ctx)
    if queue not in dlqs:
        raise OpsError(f"{queue} is not a DLQ of stack {ctx.resources.name} ({', '.join(dlqs)})")
    sqs = ctx.cloud.client("sqs")
    source_id, source_url = source_queue(ctx, sqs, dlqs[queue])
    report = RedriveReport(queue=queue, source=source_id, reason=reason, dry_run=dry_run)
    _redrive(sqs, dlqs[queue], source_url, report, hold=hold)
    emit(ctx, report.as_report(), redrive_text(report))
    return 1 if report.send_failed or report.delete_failed else 0


def source_queue(ctx: Context, sqs: Any, dlq_url: str) -> tuple[str, str]:
    """The queue whose RedrivePolicy names the DLQ: (logical id, URL)."""
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sources = []
    for logical_id, url in sorted(ctx.resources.queue_urls().items()):
        answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = answer.get("Attributes", {}).get("RedrivePolicy")  # absent: no attributes
        if policy and json.loads(policy).get("deadLetterTargetArn") == dlq_arn:
            sources.append((logical_id, url))
    if not sources:
        raise OpsError(
            "no queue sends to this DLQ: it holds failed scheduled or asynchronous runs (the "
            "daily retention run); read them with `dlq list` and run the work again instead"
        )
    if len(sources) != 1:
        names = ", ".join(name for name, _ in sources)
        raise OpsError(f"the DLQ must have exactly one source queue; found {names}")
    return sources[0]


def _redrive(sqs: Any, dlq_url: str, source_url: str, report: RedriveReport, *, hold: int) -> None:
    sent: set[str] = set()
    held: list[str] = []
    try:
        for message in _receive_all(sqs, dlq_url, hold=hold, held=held):
            why = _attribute(message, "reason") or NO_REASON
            if message["MessageId"] in sent or _attribute(message, "sourceMessageId") in sent:
                report.parked_again += 1  # one we sent back, failed again: not sent twice
                held.append(message["ReceiptHandle"])
                continue
            if report.reason is not None and why != report.reason:
                report.left[why] += 1
                held.append(message["ReceiptHandle"])
                continue
            if report.dry_run:
                report.moved[why] += 1
                held.append(message["ReceiptHandle"])
                continue
            try:
                sent.add(
                    sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"])["MessageId"]
                )
            except ClientError:
                report.send_failed += 1
                held.append(message["ReceiptHandle"])
                continue
            report.moved[why] += 1
            try:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            except ClientError:
                report.delete_failed += 1
    finally:
        _release(sqs, dlq_url, held)


def redrive_text(report: RedriveReport) -> str:
    """What moved where, by reason, and what stayed (and why)."""
    verb = "would move" if report.dry_run else "moved"
    only = f" (reason {report.reason} only)" if report.reason else ""
    moved = sum(report.moved.values())
    lines = [f"{report.queue} -> {report.source}{only}: {verb} {moved}"]
    lines += [f"  {reason} {count}" for reason, count in sorted(report.moved.items())]
    if report.left:
        left = ", ".join(f"{reason} {count}" for reason, count in sorted(report.left.items()))
        lines.append(f"left in the DLQ: {left}")
    if report.parked_again:
        lines.append(f"parked again while redriving (left in the DLQ): {report.parked_again}")
    if report.send_failed:
        lines.append(f"could not be sent (left in the DLQ): {report.send_failed}")
    if report.delete_failed:
        lines.append(f"sent but not deleted from the DLQ (now twice): {report.delete_failed}")
    return "\n".join(lines)


# --- receiving without losing anything -------------------------------------------------------


def _receive_all(sqs: Any, url: str, *, hold: int, held: list[str]) -> Iterator[dict[str, Any]]:
    """Every visible message once (each hidden for ``hold`` s), until a long poll finds none.

    A message seen again (its hold ran out: a very long DLQ) is not yielded twice; its new
    receipt is added to ``held`` so that it is made visible again too.
    """
    seen: set[str] = set()
    while len(seen) < MAX_MESSAGES:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold,
            WaitTimeSeconds=1,  # a long poll asks every SQS server: no false "empty"
            MessageAttributeNames=_ATTRIBUTES,
        ).get("Messages", [])
        fresh = [message for message in batch if message["MessageId"] not in seen]
        held.extend(m["ReceiptHandle"] for m in batch if m["MessageId"] in seen)
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _release(sqs: Any, url: str, receipts: list[str]) -> None:
    """Make held messages visible again at once."""
    for start in range(0, len(receipts), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for index, receipt in enumerate(receipts[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    return value.get("StringValue")
