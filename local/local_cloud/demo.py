"""`make demo`: drive N sessions through the whole pipeline on the local cloud and prove it.

Why this shape: a platform engineer should see every edge of the pipeline used the way
production uses it — the sessions queue, S3 PutObject, the prepared-data queue, the
retention-requests queue — and the demo should check the outcome from the outside (ledger,
S3, DLQs, the simulator's own state) instead of trusting the functions' word for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from boto3.dynamodb.conditions import Key

from local_cloud import demo_data
from local_cloud.demo_data import DemoSession
from local_cloud.report import ProgressLine, format_table
from local_cloud.runtime import LocalRuntime

WORKFLOW_KEY = 10013  # ID + SELFIE + DATA (+ FACEMAP, web/SDK only)
PARTS_PER_SESSION = 4  # FRONT, BACK, FACE, PREPARED_DATA
TERMINAL = frozenset({"FINALIZED", "EXPIRED", "FAILED", "DELETED"})
DLQS = ("CaptureEventsDLQ", "SessionsDLQ", "PreparedDataDLQ", "RetentionRequestsDLQ")
POLL_SECONDS = 0.2
UPLOAD_THREADS = 8


class DemoFailed(RuntimeError):
    """The demo saw something the pipeline must not do; the message says what and where."""


@dataclass
class Tracked:
    """What the demo observed of one session."""

    session: DemoSession
    sent_at: float
    status: str = "SENT"
    parts_landed: int = 0
    finalized_after: float | None = None
    outcome: str = ""
    erased: bool = False


@dataclass
class Rejection:
    """The deliberately invalid capture and what became of it."""

    key: str
    reason: str = ""
    message: str = ""
    tag: str = ""
    retake_landed: bool = False


@dataclass
class DemoResult:
    """Everything the final table and the exit code are made of."""

    tracked: list[Tracked]
    rejection: Rejection
    erasure_checks: dict[str, bool] = field(default_factory=dict)
    finalize_counts: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        """Every reason the run is not a success (empty when it is)."""
        found = [
            f"session {t.session.short_id} ended {t.outcome or t.status}, not FINALIZED"
            for t in self.tracked
            if t.outcome != "FINALIZED"
        ]
        found += [
            f"session {t.session.short_id}: finalize called "
            f"{self.finalize_counts.get(t.session.workflow_execution_id, 0)} times, not once"
            for t in self.tracked
            if self.finalize_counts.get(t.session.workflow_execution_id) != 1
        ]
        if not self.rejection.reason:
            found.append(f"the invalid capture {self.rejection.key} was not rejected")
        if not self.rejection.retake_landed:
            found.append(f"the retake of {self.rejection.key} did not land")
        found += [
            f"erasure check failed: {name}" for name, ok in self.erasure_checks.items() if not ok
        ]
        found += [
            f"{count} message(s) in {name}" for name, count in self.dead_letters.items() if count
        ]
        return found


class Demo:
    """One run of the demo against a running local cloud."""

    def __init__(self, runtime: LocalRuntime, out: TextIO, *, timeout: float) -> None:
        self.runtime = runtime
        self.progress = ProgressLine(out)
        self.timeout = timeout
        self.sqs = runtime.client("sqs")
        self.s3 = runtime.client("s3")
        self.bucket = runtime.stack.physical("CapturesBucket")
        self.ledger = runtime.resource("dynamodb").Table(runtime.stack.physical("LedgerTable"))
        self.tracked: list[Tracked] = []

    # ----------------------------------------------------------------------- helpers

    def _send(self, queue_logical_id: str, bodies: list[dict[str, Any]]) -> None:
        url = self.runtime.stack.physical(queue_logical_id)
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(b)} for i, b in enumerate(chunk)]
            failed = self.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
            if failed:
                raise DemoFailed(f"SendMessageBatch to {queue_logical_id} refused {len(failed)}")

    def _wait(self, what: str, done: Callable[[], bool]) -> None:
        """Poll `done` (which also refreshes the progress line) until true or the deadline."""
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > deadline:
                self.progress.close()
                raise DemoFailed(f"timed out after {self.timeout:.0f} s waiting for {what}")
            time.sleep(POLL_SECONDS)

    def _session_items(self, session: DemoSession) -> list[dict[str, Any]]:
        response = self.ledger.query(
            KeyConditionExpression=Key("pk").eq(session.workflow_execution_id), ConsistentRead=True
        )
        return response["Items"]

    def refresh(self) -> None:
        """Read each session's ledger items; update status, parts landed, time to finalize."""
        for tracked in self.tracked:
            items = self._session_items(tracked.session)
            head = next((item for item in items if item["sk"] == "SESSION"), None)
            if head is None:
                continue
            tracked.status = str(head["status"])
            if tracked.outcome:
                continue  # ended: keep what it had (an erasure later removes the part items)
            tracked.parts_landed = sum(
                1
                for item in items
                if item["sk"].startswith("PART#") and item["status"] == "UPLOADED"
            )
            if tracked.status in TERMINAL and tracked.finalized_after is None:
                tracked.finalized_after = time.monotonic() - tracked.sent_at
                tracked.outcome = tracked.status
        registered = sum(1 for t in self.tracked if t.status != "SENT")
        landed = sum(t.parts_landed for t in self.tracked)
        finished = sum(1 for t in self.tracked if t.status in TERMINAL)
        total = len(self.tracked)
        self.progress.update(
            f"registered {registered}/{total}  parts landed {landed}/{total * PARTS_PER_SESSION}"
            f"  finalized {finished}/{total}"
        )

    def _stuck(self) -> str:
        return ", ".join(
            f"{t.session.short_id}={t.status}({t.parts_landed}/{PARTS_PER_SESSION} parts)"
            for t in self.tracked
            if t.status not in TERMINAL
        )

    # ----------------------------------------------------------------------- steps

    def register(self, count: int) -> None:
        """Create `count` accounts at the simulator and send them to the sessions queue."""
        self.progress.say(
            f"Creating {count} session(s) at the Jumio simulator (workflow {WORKFLOW_KEY}: "
            "ID + SELFIE + DATA) and registering them through the sessions queue"
        )
        responses = [
            self.runtime.simulator.create_account(workflow_key=WORKFLOW_KEY) for _ in range(count)
        ]
        now = time.monotonic()
        for index, response in enumerate(responses):
            session = DemoSession.from_account_response(index + 1, response)
            self.tracked.append(Tracked(session, sent_at=now))
        self._send(
            "SessionsQueue",
            [demo_data.registration_message(r, i + 1) for i, r in enumerate(responses)],
        )

        def all_registered() -> bool:
            self.refresh()
            return all(t.status != "SENT" for t in self.tracked)

        self._wait("every session to be registered in the ledger", all_registered)

    def _put(self, key: str, body: bytes) -> str | None:
        response = self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="image/jpeg"
        )
        return response.get("VersionId")

    def upload(self) -> Rejection:
        """PutObject every capture (one FRONT deliberately invalid) and send prepared data."""
        first = self.tracked[0].session
        rejection = Rejection(key=first.capture_key("ID", "FRONT"))
        self.progress.say(
            f"Uploading {len(self.tracked) * 3} capture(s) to s3://{self.bucket}/captures/... "
            f"(one deliberately invalid: a 300 x 300 FRONT) and {len(self.tracked)} "
            "prepared-data message(s)"
        )
        self._put(rejection.key, demo_data.too_small_front())
        front, back, face = demo_data.id_front(), demo_data.id_back(), demo_data.selfie()
        uploads: list[tuple[str, bytes]] = []
        for tracked in self.tracked:
            session = tracked.session
            if session is not first:
                uploads.append((session.capture_key("ID", "FRONT"), front))
            uploads.append((session.capture_key("ID", "BACK"), back))
            uploads.append((session.capture_key("SELFIE", "FACE"), face))
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            list(pool.map(lambda upload: self._put(*upload), uploads))
        self._send(
            "PreparedDataQueue",
            [demo_data.prepared_data_message(t.session) for t in self.tracked],
        )
        return rejection

    def show_rejection_and_retake(self, rejection: Rejection) -> None:
        """Wait for the invalid FRONT to be REJECTED, show why, then upload a valid retake."""
        session = self.tracked[0].session
        sort_key = session.part_sort_key("ID", "FRONT")

        def rejected() -> bool:
            self.refresh()
            item = self.ledger.get_item(
                Key={"pk": session.workflow_execution_id, "sk": sort_key}, ConsistentRead=True
            ).get("Item")
            if item and item.get("status") == "REJECTED":
                rejection.reason = str(item.get("reason", ""))
                rejection.message = str(item.get("message", ""))
                return True
            return False

        self._wait(f"the invalid capture {rejection.key} to be rejected", rejected)
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=rejection.key)["TagSet"]
        rejection.tag = ", ".join(f"{tag['Key']}={tag['Value']}" for tag in tags)
        self.progress.say(
            f"REJECTED {rejection.key}\n"
            f"  reason {rejection.reason}: {rejection.message}\n"
            f"  object tag: {rejection.tag or '(none)'}\n"
            "  retaking it with a valid 1012 x 638 JPEG (a new version of the same key)"
        )
        self._put(rejection.key, demo_data.id_front())

        def retake_landed() -> bool:
            self.refresh()
            item = self.ledger.get_item(
                Key={"pk": session.workflow_execution_id, "sk": sort_key}, ConsistentRead=True
            ).get("Item")
            return bool(item) and item.get("status") == "UPLOADED"

        self._wait(f"the retake of {rejection.key} to land", retake_landed)
        rejection.retake_landed = True
        self.progress.say(f"UPLOADED {rejection.key} (retake)")

    def wait_until_finalized(self) -> None:
        """Every execution reaches an end state, or a timeout names the sessions still open."""

        def all_done() -> bool:
            self.refresh()
            return all(t.status in TERMINAL for t in self.tracked)

        try:
            self._wait("every execution to finalize", all_done)
        except DemoFailed as error:
            raise DemoFailed(f"{error}; still open: {self._stuck()}") from None
        self.progress.close()

    def erase_one(self) -> dict[str, bool]:
        """Send a SESSION-scope retention request and check it was honoured everywhere."""
        tracked = self.tracked[-1]
        session = tracked.session
        self.progress.say(
            f"Sending a SESSION retention request for {session.short_id} "
            "through the retention-requests queue"
        )
        versions_before = self.s3.list_object_versions(
            Bucket=self.bucket, Prefix=f"captures/{session.workflow_execution_id}/"
        ).get("Versions", [])
        idempotency_before = self._idempotency_records()
        request = demo_data.retention_request(session)
        self._send("RetentionRequestsQueue", [request])
        audit = self.runtime.resource("dynamodb").Table(self.runtime.stack.physical("AuditTable"))
        final: dict[str, Any] = {}

        def audited() -> bool:
            self.refresh()
            records = audit.query(
                KeyConditionExpression=Key("requestId").eq(request["requestId"]),
                ConsistentRead=True,
            )["Items"]
            done = [r for r in records if r.get("outcome") in ("COMPLETED", "NO_OP", "FAILED")]
            if done:
                final.update(done[-1])
            return bool(done)

        self._wait(f"the audit record of erasure request {request['requestId']}", audited)
        deleted = final.get("deleted") or {}
        self.progress.say(
            f"  audit record: outcome {final.get('outcome')}, "
            + ", ".join(f"{name} {int(count)}" for name, count in deleted.items())
        )
        prefix = f"captures/{session.workflow_execution_id}/"
        listing = self.s3.list_object_versions(Bucket=self.bucket, Prefix=prefix)
        head = next(i for i in self._session_items(session) if i["sk"] == "SESSION")
        credentials = head.get("credentials") or {}
        jumio = self.runtime.simulator.admin.state()["workflowExecutions"].get(
            session.workflow_execution_id, {}
        )
        checks = {
            "no object version or delete marker left under the prefix": not listing.get("Versions")
            and not listing.get("DeleteMarkers"),
            "audit record says COMPLETED": final.get("outcome") == "COMPLETED",
            "ledger status DELETED": head.get("status") == "DELETED",
            "no token or task token left in the ledger": "taskToken" not in head
            and not any("token" in c for c in credentials.values() if isinstance(c, dict)),
            "the simulator says the workflow execution is deleted": bool(jumio.get("deleted")),
            "the idempotency records of its captures are gone": idempotency_before
            - self._idempotency_records()
            >= len(versions_before),
        }
        tracked.erased = all(checks.values())
        for name, ok in checks.items():
            self.progress.say(f"  [{'ok' if ok else 'FAILED'}] {name}")
        return checks

    def _idempotency_records(self) -> int:
        """How many idempotency records exist (their ids are hashes: only counts can be compared)."""
        table = self.runtime.stack.physical("IdempotencyTable")
        dynamodb = self.runtime.client("dynamodb")
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def dead_letters(self) -> dict[str, int]:
        """Messages parked in each DLQ (a successful run parks none)."""
        counts: dict[str, int] = {}
        for logical_id in DLQS:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.runtime.stack.physical(logical_id),
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
            counts[logical_id] = int(attributes["ApproximateNumberOfMessages"])
        return counts

    def run(self, count: int) -> DemoResult:
        """The whole story; raises DemoFailed on a timeout, returns the observations otherwise."""
        started = time.monotonic()
        self.register(count)
        rejection = self.upload()
        self.show_rejection_and_retake(rejection)
        self.wait_until_finalized()
        finalize_counts = {
            wf_id: int(state.get("finalizeCount", 0))
            for wf_id, state in self.runtime.simulator.admin.state()["workflowExecutions"].items()
        }
        erasure = self.erase_one()
        return DemoResult(
            tracked=self.tracked,
            rejection=rejection,
            erasure_checks=erasure,
            finalize_counts=finalize_counts,
            dead_letters=self.dead_letters(),
            seconds=time.monotonic() - started,
        )


def session_table(result: DemoResult) -> str:
    """One row per session: ids, parts, outcome, finalize calls, time to finalize, erased."""
    headers = [
        "session",
        "workflow execution",
        "parts landed",
        "outcome",
        "finalize calls",
        "s to finalize",
        "erased",
    ]
    rows = [
        [
            f"demo-{t.session.index}",
            t.session.short_id,
            f"{t.parts_landed}/{PARTS_PER_SESSION}",
            t.outcome or t.status,
            result.finalize_counts.get(t.session.workflow_execution_id, 0),
            "-" if t.finalized_after is None else f"{t.finalized_after:.1f}",
            "yes" if t.erased else "-",
        ]
        for t in result.tracked
    ]
    return format_table(headers, rows)


def run(runtime: LocalRuntime, sessions: int, out: TextIO, *, timeout: float) -> int:
    """Run the demo, print the table and the verdict; 0 only if everything succeeded."""
    demo = Demo(runtime, out, timeout=timeout)
    try:
        result = demo.run(sessions)
    except DemoFailed as error:
        demo.progress.say(f"DEMO FAILED: {error}")
        return 1
    demo.progress.say("", stamp=False)
    demo.progress.say(session_table(result), stamp=False)
    demo.progress.say(
        "(s to finalize: from the registration message to the end state in the ledger; "
        "finalize calls: as counted by the Jumio simulator)",
        stamp=False,
    )
    problems = result.problems
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        demo.progress.say(f"\nDEMO FAILED:\n{lines}", stamp=False)
        return 1
    demo.progress.say(
        f"\nDEMO OK: {len(result.tracked)} session(s) finalized exactly once, one capture "
        f"rejected ({result.rejection.reason}) and retaken, one session erased; "
        f"{result.seconds:.1f} s",
        stamp=False,
    )
    return 0
