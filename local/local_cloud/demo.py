"""`make demo`: drive N sessions through the whole pipeline on the local cloud and prove it.

Why this shape: a platform engineer should see every edge of the pipeline used the way
production uses it — the sessions queue, S3 PutObject, the prepared-data queue, the
retention-requests queue, Jumio's callback URL, the verdict events on the bus — and the demo
should check the outcome from the outside (ledger, S3, DLQs, Step Functions, the simulator's
own state, the events a subscriber received) instead of trusting the functions' word for it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from boto3.dynamodb.conditions import Key

from local_cloud import demo_data, demo_verdicts
from local_cloud.demo_data import DemoSession
from local_cloud.demo_verdicts import SessionVerdict, VerdictEvent, VerdictSubscriber
from local_cloud.report import ProgressLine, format_table
from local_cloud.runtime import LocalRuntime

WORKFLOW_KEY = 10013  # ID + SELFIE + DATA (+ FACEMAP, web/SDK only)
PARTS_PER_SESSION = 4  # FRONT, BACK, FACE, PREPARED_DATA
TERMINAL = frozenset({"FINALIZED", "EXPIRED", "FAILED", "DELETED"})
# Ledger statuses after which no verdict event will come (FINALIZED waits for the decision).
NO_VERDICT_COMING = frozenset({"FAILED", "DELETED"})
END_STATE_EVENTS = frozenset({"SucceedStateEntered", "FailStateEntered"})
DLQS = ("CaptureEventsDLQ", "SessionsDLQ", "PreparedDataDLQ", "RetentionRequestsDLQ")
POLL_SECONDS = 0.2
# Added to every function's environment for the demo (local_cloud.demo_verdicts says why).
FUNCTION_ENV = demo_verdicts.FUNCTION_ENV
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
    events: list[VerdictEvent] = field(default_factory=list)
    verdict_after: float | None = None
    verdict: SessionVerdict | None = None

    @property
    def has_verdict(self) -> bool:
        """A verdict event arrived, or the ledger says none will."""
        return bool(self.events) or self.status in NO_VERDICT_COMING


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
    def verdicts(self) -> list[SessionVerdict]:
        return [t.verdict for t in self.tracked if t.verdict is not None]

    @property
    def problems(self) -> list[str]:
        """Every reason the run is not a success (empty when it is)."""
        found = [
            f"session {t.session.short_id} ended {t.outcome or t.status}, not FINALIZED"
            for t in self.tracked
            if t.outcome != "FINALIZED"
        ]
        found += demo_verdicts.verdict_problems(self.verdicts)
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
        self.subscriber = VerdictSubscriber(
            runtime.client("events"), self.sqs, str(runtime.stack.outputs["VerdictBusName"])
        )
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
        """Read each session's ledger items and the verdict events that arrived; update status,
        parts landed, time to finalize, time to verdict."""
        self._take_verdict_events()
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
        verdicts = sum(1 for t in self.tracked if t.events)
        total = len(self.tracked)
        self.progress.update(
            f"registered {registered}/{total}  parts landed {landed}/{total * PARTS_PER_SESSION}"
            f"  finalized {finished}/{total}  verdicts {verdicts}/{total}"
        )

    def _take_verdict_events(self) -> None:
        """Events the subscriber's queue received since the last look, given to their session."""
        by_id = {t.session.workflow_execution_id: t for t in self.tracked}
        now = time.monotonic()
        for event in self.subscriber.receive(now):
            tracked = by_id.get(event.workflow_execution_id)
            if tracked is None:
                continue
            tracked.events.append(event)
            if tracked.verdict_after is None:
                tracked.verdict_after = now - tracked.sent_at

    def _stuck(self) -> str:
        return ", ".join(
            f"{t.session.short_id}={t.status}({t.parts_landed}/{PARTS_PER_SESSION} parts)"
            for t in self.tracked
            if t.status not in TERMINAL
        )

    def _without_verdict(self) -> str:
        return ", ".join(
            f"{t.session.short_id}={t.status}" for t in self.tracked if not t.has_verdict
        )

    # ----------------------------------------------------------------------- steps

    def subscribe_and_plan_callbacks(self, count: int) -> str:
        """Subscribe to the verdict bus, build the callback URL, plan the callbacks' faults."""
        self.subscriber.subscribe()
        self.progress.say(
            f"Subscribed to the verdict bus {self.subscriber.bus_name} as another service would: "
            f"rule {self.subscriber.name} (source {demo_verdicts.EVENT_SOURCE}, "
            f"detail-type {demo_verdicts.DETAIL_TYPE}) -> SQS queue "
            f"{self.subscriber.name}, both created now"
        )
        url = demo_verdicts.operator_callback_url(
            self.runtime.stack.outputs, self.runtime.client("secretsmanager")
        )
        self.runtime.simulator.admin.set_faults(demo_verdicts.callback_faults(count))
        self.progress.say(
            f"Callback URL for Jumio (output CallbackFunctionUrl + the CallbackSecret value): "
            f"{demo_verdicts.masked(url)}\n"
            f"  the simulator's callbacks, in the order they go out: "
            f"{' / '.join(demo_verdicts.CALLBACK_PATTERN)} (repeated), so some verdicts arrive "
            f"by callback and some by polling (poll schedule "
            f"{demo_verdicts.FUNCTION_ENV['VERDICT_POLL_SCHEDULE_SECONDS']} s after finalize: "
            "Jumio's, at a tenth)"
        )
        return url

    def register(self, count: int, callback_url: str) -> None:
        """Create `count` accounts at the simulator and send them to the sessions queue."""
        self.progress.say(
            f"Creating {count} session(s) at the Jumio simulator (workflow {WORKFLOW_KEY}: "
            "ID + SELFIE + DATA; references "
            + ", ".join(demo_data.reference(i + 1) for i in range(min(count, 3)))
            + (", ..." if count > 3 else "")
            + ") and registering them through the sessions "
            "queue"
        )
        responses = [
            self.runtime.simulator.create_account(
                workflow_key=WORKFLOW_KEY,
                callback_url=callback_url,
                customer_internal_reference=demo_data.reference(index + 1),
            )
            for index in range(count)
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
        """Every session is finalized (or ended), or a timeout names the sessions still open."""

        def all_done() -> bool:
            self.refresh()
            return all(t.status in TERMINAL for t in self.tracked)

        try:
            self._wait("every execution to finalize", all_done)
        except DemoFailed as error:
            raise DemoFailed(f"{error}; still open: {self._stuck()}") from None

    def wait_for_verdicts(self) -> None:
        """Every session's verdict event reaches the subscriber (or the ledger says none will),
        and every execution has ended; a timeout names the sessions without a verdict."""

        def all_decided() -> bool:
            self.refresh()
            return all(t.has_verdict for t in self.tracked)

        try:
            self._wait("every session's verdict", all_decided)
        except DemoFailed as error:
            raise DemoFailed(f"{error}; no verdict yet: {self._without_verdict()}") from None
        self._wait("every execution to reach its end state", self._executions_ended)
        self.progress.close()

    def _execution_arn(self, tracked: Tracked) -> str | None:
        head = next((i for i in self._session_items(tracked.session) if i["sk"] == "SESSION"), {})
        arn = head.get("executionArn")
        return None if arn is None else str(arn)

    def _executions_ended(self) -> bool:
        sfn = self.runtime.client("stepfunctions")
        for tracked in self.tracked:
            arn = self._execution_arn(tracked)
            if arn and sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                return False
        return True

    def _end_state(self, execution_arn: str | None) -> str | None:
        """The name of the Succeed or Fail state the execution ended in (its history)."""
        if execution_arn is None:
            return None
        sfn = self.runtime.client("stepfunctions")
        history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)
        names = [
            event["stateEnteredEventDetails"]["name"]
            for event in history["events"]
            if event["type"] in END_STATE_EVENTS
        ]
        return names[-1] if names else None

    def collect_verdicts(self) -> None:
        """Put together, per session, the events received, the ledger's decision, the end state
        in Step Functions and what the simulator did with the callback."""
        self.runtime.simulator.admin.flush_callbacks()  # a late duplicate goes out now
        self.refresh()
        fates = demo_verdicts.callback_fates(self.runtime.simulator.admin.callbacks())
        for tracked in self.tracked:
            session = tracked.session
            head = next((i for i in self._session_items(session) if i["sk"] == "SESSION"), {})
            decision = head.get("decision") or {}
            tracked.verdict = SessionVerdict(
                short_id=session.short_id,
                reference=demo_data.reference(session.index),
                events=tuple(tracked.events),
                ledger_decision=decision.get("type"),
                ledger_source=head.get("verdictSource"),
                end_state=self._end_state(head.get("executionArn")),
                callback=fates.get(session.workflow_execution_id, demo_verdicts.CallbackFate()),
            )

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
            and "verdictTaskToken" not in head
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
        callback_url = self.subscribe_and_plan_callbacks(count)
        self.register(count, callback_url)
        rejection = self.upload()
        self.show_rejection_and_retake(rejection)
        self.wait_until_finalized()
        self.wait_for_verdicts()
        self.collect_verdicts()
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


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def session_table(result: DemoResult) -> str:
    """One row per session: ids, parts, finalize calls, the verdict and how it arrived, the end
    state, times to finalize and to verdict, erased."""
    headers = [
        "session",
        "workflow execution",
        "parts landed",
        "finalize calls",
        "verdict",
        "label",
        "arrived by",
        "callback",
        "end state",
        "s to finalize",
        "s to verdict",
        "erased",
    ]
    rows = []
    for t in result.tracked:
        verdict = t.verdict
        event = None if verdict is None else verdict.event
        rows.append(
            [
                demo_data.reference(t.session.index),
                t.session.short_id,
                f"{t.parts_landed}/{PARTS_PER_SESSION}",
                result.finalize_counts.get(t.session.workflow_execution_id, 0),
                "-" if event is None else event.verdict,
                "-" if event is None or not event.label else event.label,
                "-" if event is None else event.source or "-",
                "-" if verdict is None else verdict.callback.description,
                "-" if verdict is None or verdict.end_state is None else verdict.end_state,
                _seconds(t.finalized_after),
                _seconds(t.verdict_after),
                "yes" if t.erased else "-",
            ]
        )
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
        "(verdict, label, arrived by: from the 'Verification Completed' event the demo's own "
        "subscriber queue received; callback: what the simulator did with Jumio's callback; "
        "end state: the execution's last state in Step Functions; s to finalize / to verdict: "
        "from the registration message to FINALIZED in the ledger / to the event's arrival; "
        "finalize calls: as counted by the Jumio simulator)",
        stamp=False,
    )
    problems = result.problems
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        demo.progress.say(f"\nDEMO FAILED:\n{lines}", stamp=False)
        return 1
    verdicts = Counter(v.event.verdict for v in result.verdicts if v.event is not None)
    arrivals = demo_verdicts.arrival_counts(result.verdicts)
    demo.progress.say(
        f"\nDEMO OK: {len(result.tracked)} session(s) finalized exactly once and decided ("
        + ", ".join(f"{verdict} {n}" for verdict, n in sorted(verdicts.items()))
        + "; by "
        + ", ".join(f"{source} {n}" for source, n in sorted(arrivals.items()))
        + f"), one capture rejected ({result.rejection.reason}) and retaken, one session "
        f"erased; {result.seconds:.1f} s",
        stamp=False,
    )
    return 0
