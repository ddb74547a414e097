"""SQS → Lambda event source poller with AWS's batch semantics, in place of moto's mapping.

Why: moto's own mapping invokes one record at a time inside SendMessage, ignores
ReportBatchItemFailures and deletes failed messages (local-aws-notes.md). This poller
receives batches, builds the exact Lambda SQS event, invokes through the Lambda API (so the
installed invoker runs the real handler), deletes only what succeeded, and leaves failures
to moto's visibility timeout and maxReceiveCount redrive to the DLQ.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3

from local_cloud import credentials
from local_cloud.stack import EventSource, Stack

LambdaInvoke = Callable[[str, dict[str, Any]], tuple[Any, bool]]
DEFAULT_CONCURRENCY = 2  # AWS scales further; locally a small fixed pool keeps runs readable
_RECEIVE_LIMIT = 10  # SQS returns at most 10 messages per ReceiveMessage
IDLE_POLL_SECONDS = 1  # drain(): one long poll this long per idle round (SQS counts whole seconds)
DEFAULT_MAX_WAIT_SECONDS = 15.0  # drain(): how long to wait in all for in-flight/delayed messages
# The system attributes Lambda puts in an SQS record, in the order AWS's examples show them.
RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass
class DrainReport:
    """What a drain did, for tests and the demo's summary.

    `left_in_flight` and `left_delayed` count the messages still hidden when the drain ended
    (a visibility a handler lengthened, a long DelaySeconds): waiting for them ran out."""

    invocations: int = 0
    deleted: int = 0
    failed_records: int = 0
    failed_invocations: int = 0
    rounds: int = 0
    receives: int = 0
    filtered: int = 0  # messages FilterCriteria dropped (deleted without an invocation)
    left_visible: int = 0
    left_in_flight: int = 0
    left_delayed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_filtered(self, count: int) -> None:
        """Count messages dropped by the mapping's filters (thread-safe)."""
        with self.lock:
            self.filtered += count

    def count_receive(self) -> None:
        """Count one ReceiveMessage call (thread-safe)."""
        with self.lock:
            self.receives += 1

    def add(self, *, deleted: int, failed_records: int, function_error: bool) -> None:
        """Count one invocation's outcome (thread-safe)."""
        with self.lock:
            self.invocations += 1
            self.deleted += deleted
            self.failed_records += failed_records
            self.failed_invocations += int(function_error)


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API message attributes → the camelCase shape Lambda puts in each record."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        out[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [
                base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
            ],
            "dataType": value["DataType"],
        }
    return out


def _record_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """The system attributes Lambda passes (receive count, timestamps, sender, FIFO ids,
    trace header), and no other."""
    return {name: attributes[name] for name in RECORD_ATTRIBUTES if name in attributes}


def sqs_record(message: Mapping[str, Any], source: EventSource, region: str) -> dict[str, Any]:
    """One record of the Lambda SQS event, field for field as AWS builds it."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": _record_attributes(message.get("Attributes", {})),
        "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def matches_filters(record: Mapping[str, Any], patterns: list[str]) -> bool:
    """Whether a record passes a mapping's FilterCriteria (any pattern matches; none: all pass).

    As Lambda does for SQS, a body that is JSON is matched as JSON, any other body as a string.
    The matching itself is moto's EventBridge pattern engine, the syntax Lambda filters use."""
    if not patterns:
        return True
    from moto.events.models import EventPattern

    candidate = dict(record)
    with contextlib.suppress(TypeError, ValueError):  # else a plain-string body
        candidate["body"] = json.loads(record["body"])
    return any(EventPattern.load(pattern).matches_event(candidate) for pattern in patterns)


def failed_message_ids(
    payload: Any, batch_ids: list[str], *, report_batch_item_failures: bool
) -> set[str]:
    """Which records to keep, from the function's response; an invalid report fails all."""
    if not report_batch_item_failures or payload is None:
        return set()
    if not isinstance(payload, dict):
        return set(batch_ids)
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)  # like AWS: a malformed report means the whole batch failed
        ids.add(identifier)
    return ids


class EventSourcePoller:
    """Drives every SQS event source of a Stack: `drain()` for tests, `start()/stop()` to run."""

    def __init__(
        self,
        stack: Stack,
        *,
        lambda_invoke: LambdaInvoke | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.stack = stack
        self.default_concurrency = default_concurrency
        extra = credentials.client_options(stack.endpoint_url)
        self._sqs = boto3.client("sqs", region_name=stack.region, **extra)
        self._lambda = boto3.client("lambda", region_name=stack.region, **extra)
        self._invoke = lambda_invoke or self._invoke_through_lambda_api
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------------- one batch

    def _invoke_through_lambda_api(self, function_name: str, event: dict[str, Any]) -> Any:
        response = self._lambda.invoke(FunctionName=function_name, Payload=json.dumps(event))
        raw = response["Payload"].read()
        payload = json.loads(raw) if raw else None
        return payload, "FunctionError" in response

    def _receive_batch(
        self,
        source: EventSource,
        *,
        wait_for_more: bool,
        first_wait: int = 0,
        report: DrainReport | None = None,
    ) -> list[dict[str, Any]]:
        """Up to BatchSize messages; keeps receiving for at most the batching window.

        `first_wait` long-polls the first receive (drain's idle rounds): it returns as soon as
        a message becomes visible, instead of sleeping and asking again."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + source.maximum_batching_window_seconds
        while len(messages) < source.batch_size:
            wanted = min(_RECEIVE_LIMIT, source.batch_size - len(messages))
            remaining = max(0.0, deadline - time.monotonic())
            wait = int(min(remaining, 20)) if wait_for_more else 0
            if not messages:
                # short long-poll: idle workers stay cheap and stoppable
                wait = max(wait, 1 if wait_for_more else first_wait)
            got = self._sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if report is not None:
                report.count_receive()
            messages.extend(got)
            if not got or time.monotonic() >= deadline:
                break  # the queue ran dry, or the batching window is over
        return messages

    def _process_batch(
        self, source: EventSource, messages: list[dict[str, Any]], report: DrainReport
    ) -> None:
        records = [sqs_record(m, source, self.stack.region) for m in messages]
        if source.filter_patterns:
            kept = [matches_filters(r, source.filter_patterns) for r in records]
            dropped = [m for m, keep in zip(messages, kept, strict=True) if not keep]
            self._delete(source, dropped)  # Lambda consumes what its filters reject
            report.count_filtered(len(dropped))
            messages = [m for m, keep in zip(messages, kept, strict=True) if keep]
            records = [r for r, keep in zip(records, kept, strict=True) if keep]
            if not messages:
                return
        event = {"Records": records}
        payload, function_error = self._invoke(source.function_name, event)
        batch_ids = [m["MessageId"] for m in messages]
        # A failed record is left exactly as it is: hidden for the queue's visibility timeout,
        # or for whatever the handler set with ChangeMessageVisibility on its receipt handle.
        if function_error:
            report.add(deleted=0, failed_records=len(messages), function_error=True)
            return  # nothing deleted: visibility timeout, then redrive after maxReceiveCount
        failed = failed_message_ids(
            payload, batch_ids, report_batch_item_failures=source.report_batch_item_failures
        )
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(source, done)
        report.add(deleted=len(done), failed_records=len(failed), function_error=False)

    def _delete(self, source: EventSource, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _RECEIVE_LIMIT):
            chunk = messages[start : start + _RECEIVE_LIMIT]
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def _worker_round(self, source: EventSource, report: DrainReport, first_wait: int = 0) -> None:
        """One worker: receive and process batches until the queue shows nothing visible."""
        wait = first_wait
        while not self._stop.is_set():
            messages = self._receive_batch(
                source, wait_for_more=False, first_wait=wait, report=report
            )
            wait = 0
            if not messages:
                return
            self._process_batch(source, messages, report)

    # ----------------------------------------------------------------------- drain

    def _sources(self, function: str | None) -> list[EventSource]:
        sources = [s for s in self.stack.event_sources if s.enabled]
        if function is not None:
            sources = [s for s in sources if function in (s.function_logical_id, s.function_name)]
            if not sources:
                raise KeyError(f"no SQS event source for function {function}")
        return sources

    def _concurrency(self, source: EventSource) -> int:
        return source.maximum_concurrency or self.default_concurrency

    def _counts(self, source: EventSource) -> tuple[int, int, int]:
        """(visible, in flight, delayed) messages of the source's queue."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=source.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    def _round(self, sources: list[EventSource], report: DrainReport, first_wait: int) -> None:
        """Every source in turn, its workers receiving until nothing is visible.

        An idle round (first_wait > 0) runs one long-polling worker per source: a message that
        becomes visible during the poll is processed at once, and nothing spins meanwhile."""
        for source in sources:
            workers = 1 if first_wait else self._concurrency(source)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [
                    pool.submit(self._worker_round, source, report, first_wait)
                    for _ in range(workers)
                ]
                for future in futures:
                    future.result()

    def drain(
        self,
        function: str | None = None,
        *,
        max_rounds: int = 50,
        until_empty: bool = True,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    ) -> DrainReport:
        """Process messages synchronously, deterministic for tests.

        A round lets each source's workers receive and process until nothing is visible.
        until_empty=True then keeps going while messages are in flight or delayed: failed
        records come back (after the queue's visibility timeout, or sooner or later if the
        handler changed their visibility), are retried and finally redriven to the DLQ. Rounds
        that find only hidden messages long-poll for IDLE_POLL_SECONDS, and all of that waiting
        stops after `max_wait_seconds`; the report then says what was left hidden.
        until_empty=False stops as soon as nothing is visible. At most `max_rounds` rounds.
        """
        report = DrainReport()
        sources = self._sources(function)
        pending = list(sources)
        wait_until = time.monotonic() + max_wait_seconds
        first_wait = 0
        while pending and report.rounds < max_rounds:
            report.rounds += 1
            self._round(pending, report, first_wait)
            counts = {source.logical_id: self._counts(source) for source in pending}
            pending = [
                source
                for source in pending
                if counts[source.logical_id][0]
                or (until_empty and (counts[source.logical_id][1] or counts[source.logical_id][2]))
            ]
            if any(counts[source.logical_id][0] for source in pending):
                first_wait = 0  # visible work: go again at once
            elif time.monotonic() + IDLE_POLL_SECONDS <= wait_until:
                first_wait = IDLE_POLL_SECONDS  # only hidden messages: long-poll for them
            else:
                break  # waited long enough for messages that stay hidden
        for source in sources:
            visible, in_flight, delayed = self._counts(source)
            report.left_visible += visible
            report.left_in_flight += in_flight
            report.left_delayed += delayed
        return report

    # ----------------------------------------------------------------------- background

    def _run_worker(self, source: EventSource) -> None:
        report = DrainReport()
        while not self._stop.is_set():
            try:
                messages = self._receive_batch(source, wait_for_more=True)
            except Exception as exc:  # endpoint gone while stopping, or a transient error
                if self._stop.is_set():
                    return
                print(f"[poller {source.logical_id}] receive failed: {type(exc).__name__}")
                self._stop.wait(1.0)
                continue
            if messages:
                try:
                    self._process_batch(source, messages, report)
                except Exception as exc:
                    print(f"[poller {source.logical_id}] invoke failed: {type(exc).__name__}")

    def start(self) -> None:
        """Run MaximumConcurrency worker threads per event source until stop()."""
        if self._threads:
            raise RuntimeError("poller already started")
        self._stop.clear()
        for source in self._sources(None):
            for index in range(self._concurrency(source)):
                thread = threading.Thread(
                    target=self._run_worker,
                    args=(source,),
                    name=f"poller-{source.logical_id}-{index}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the workers to finish their current batch and wait for them, `timeout` in all.

        One deadline for every thread (not one each), so that stopping stays prompt with many
        workers; a thread still inside an invocation after it is a daemon and dies with us.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
