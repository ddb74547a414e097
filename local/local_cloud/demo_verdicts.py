"""The demo's view of Jumio's verdict: the callback URL, a subscriber, and what it received.

Why a module of its own: the demo should learn each verdict the way another service of the
company would — from the "Verification Completed" events on the stack's bus, through a rule and
a queue it creates itself at run time — and build the callback URL the way an operator does,
from the stack's outputs and the CallbackSecret value. Reading events and judging them are
plain functions here, so they are tested without starting anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jumio_pipeline.domain.verdict_event import DETAIL_TYPE, EVENT_SOURCE
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS

# Jumio asks clients to poll 40 s, 60 s, 100 s, ... 940 s after finalize. The demo's functions
# run that schedule at a tenth (first poll 4 s after finalize): a dropped callback then costs
# the demo seconds instead of minutes, and 4 s still leaves a delivered callback time to win
# the race against the first poll on a loaded machine.
DEMO_POLL_SCHEDULE = tuple(max(1, seconds // 10) for seconds in POLL_SCHEDULE_SECONDS)
FUNCTION_ENV = {"VERDICT_POLL_SCHEDULE_SECONDS": ",".join(str(s) for s in DEMO_POLL_SCHEDULE)}

SUBSCRIBER_NAME = "demo-verdict-subscriber"  # the queue's and the rule's name
VERIFICATION_COMPLETED = {"source": [EVENT_SOURCE], "detail-type": [DETAIL_TYPE]}
_RECEIVE_HIDE_SECONDS = 600  # each message is read once; the demo ends long before it returns

# The simulator's decision markers (docs/simulator.md), first match wins, and the end state
# each leads to: NOT_EXECUTED ends in Warning (a person has to look).
_MARKERS = (("notexec", "WARNING"), ("reject", "REJECTED"), ("warn", "WARNING"))
END_STATE_OF_VERDICT = {
    "PASSED": "Passed",
    "REJECTED": "Rejected",
    "WARNING": "Warning",
    "EXPIRED": "Expired",
}
# How the simulator treats each session's callback, in the order callbacks go out: every
# third one dropped (Jumio does not redeliver, so polling must find the verdict), every third
# one sent twice, a little later the second time (Jumio documents no redelivery either way).
CALLBACK_PATTERN = ("ok", "drop", "duplicate")
DUPLICATE_DELAY_MS = (300, 1500)


def expected_verdict(reference: str) -> str:
    """The verdict the simulator gives a session whose customerInternalReference is this."""
    lowered = reference.lower()
    return next((verdict for marker, verdict in _MARKERS if marker in lowered), "PASSED")


def callback_faults(count: int) -> dict[str, Any]:
    """The simulator's fault config for `count` callbacks: the pattern above, in turn."""
    script = [CALLBACK_PATTERN[i % len(CALLBACK_PATTERN)] for i in range(count)]
    return {"callbacks": {"script": script, "duplicateDelayMs": list(DUPLICATE_DELAY_MS)}}


def callback_url(function_url: str, path_secret: str) -> str:
    """The callbackUrl to give Jumio: the function URL followed by the secret, no slash between
    (the CallbackFunctionUrl output ends in '/')."""
    if not function_url.endswith("/"):
        function_url += "/"
    return function_url + path_secret


def operator_callback_url(outputs: Mapping[str, Any], secrets: Any) -> str:
    """What an operator does after deploying: CallbackFunctionUrl + the CallbackSecret value."""
    secret = secrets.get_secret_value(SecretId=outputs["CallbackSecretArn"])["SecretString"]
    return callback_url(str(outputs["CallbackFunctionUrl"]), secret)


def masked(url: str) -> str:
    """The callback URL fit to print: its last path segment is a secret."""
    base, _, secret = url.rpartition("/")
    return f"{base}/<CallbackSecret, {len(secret)} characters>"


@dataclass(frozen=True)
class VerdictEvent:
    """The parts of one "Verification Completed" event the demo shows (no personal data is in
    it anyway: ids, the caller's reference, decision types and labels)."""

    workflow_execution_id: str
    verdict: str
    decision: str | None
    label: str | None
    source: str | None
    reference: str | None
    event_id: str

    @classmethod
    def from_body(cls, body: str) -> VerdictEvent:
        """An SQS body as EventBridge delivers it: the whole event, `detail` inside."""
        event = json.loads(body)
        detail = event["detail"]
        decision = detail.get("decision") or {}
        return cls(
            workflow_execution_id=detail["workflowExecutionId"],
            verdict=detail["verdict"],
            decision=decision.get("type"),
            label=decision.get("label"),
            source=detail.get("source"),
            reference=detail.get("reference"),
            event_id=event.get("id", ""),
        )


class VerdictSubscriber:
    """A queue and a rule on the verdict bus, created at run time as a subscribing service
    would create them (in AWS: its own stack; the queue policy lets EventBridge send)."""

    def __init__(self, events: Any, sqs: Any, bus_name: str, name: str = SUBSCRIBER_NAME) -> None:
        self._events = events
        self._sqs = sqs
        self.bus_name = bus_name
        self.name = name
        self.queue_url = ""
        self.received: list[tuple[VerdictEvent, float]] = []

    def subscribe(self) -> None:
        """Create the queue, allow the bus's rule to send to it, and create the rule."""
        self.queue_url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        rule_arn = self._events.put_rule(
            Name=self.name,
            EventBusName=self.bus_name,
            EventPattern=json.dumps(VERIFICATION_COMPLETED),
            State="ENABLED",
        )["RuleArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        self._sqs.set_queue_attributes(
            QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)}
        )
        self._events.put_targets(
            Rule=self.name,
            EventBusName=self.bus_name,
            Targets=[{"Id": "demo-verdict-queue", "Arn": queue_arn}],
        )

    def receive(self, now: float) -> list[VerdictEvent]:
        """Read what has arrived (each message once; it is deleted after reading)."""
        new: list[VerdictEvent] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=_RECEIVE_HIDE_SECONDS,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                new.append(VerdictEvent.from_body(message["Body"]))
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.received.extend((event, now) for event in new)
        return new


@dataclass(frozen=True)
class CallbackFate:
    """What the simulator did with one session's callback(s), from its callback log."""

    copies: int = 0  # copies that went out (or were due to)
    dropped: bool = False
    refused: tuple[int, ...] = ()  # HTTP statuses other than 200 that came back

    @property
    def description(self) -> str:
        if self.dropped:
            return "dropped"
        if self.copies == 0:
            return "none"
        return "sent" if self.copies == 1 else f"sent-{self.copies}x"


def callback_fates(log: Iterable[Mapping[str, Any]]) -> dict[str, CallbackFate]:
    """Workflow execution id → what became of its callbacks (the simulator's callback log)."""
    copies: Counter[str] = Counter()
    dropped: set[str] = set()
    refused: dict[str, list[int]] = {}
    for entry in log:
        workflow_id = str(entry["workflowExecutionId"])
        if entry.get("outcome") == "dropped":
            dropped.add(workflow_id)
            continue
        copies[workflow_id] += 1
        status = entry.get("httpStatus")
        if status is not None and status != 200:
            refused.setdefault(workflow_id, []).append(int(status))
    ids = set(copies) | dropped
    return {wf: CallbackFate(copies[wf], wf in dropped, tuple(refused.get(wf, ()))) for wf in ids}


@dataclass(frozen=True)
class SessionVerdict:
    """Everything the demo knows about one session's verdict, from the outside."""

    short_id: str
    reference: str
    events: tuple[VerdictEvent, ...]
    ledger_decision: str | None  # the ledger session item's decision.type
    ledger_source: str | None  # verdictSource
    end_state: str | None  # the execution's end state (Step Functions history)
    callback: CallbackFate

    @property
    def event(self) -> VerdictEvent | None:
        return self.events[0] if self.events else None


def verdict_problems(sessions: Sequence[SessionVerdict]) -> list[str]:
    """Every reason the verdicts are not what the demo asked the simulator for."""
    found: list[str] = []
    for s in sessions:
        name = f"session {s.short_id} ({s.reference})"
        expected = expected_verdict(s.reference)
        event = s.event
        if event is None:
            found.append(f"{name}: no 'Verification Completed' event reached the subscriber")
            continue
        if len(s.events) != 1:
            found.append(f"{name}: {len(s.events)} 'Verification Completed' events, not one")
        if event.verdict != expected:
            found.append(f"{name}: verdict {event.verdict}, the reference asked for {expected}")
        if s.ledger_decision is None:
            found.append(f"{name}: the ledger holds no decision")
        elif s.ledger_decision != event.decision:
            found.append(f"{name}: the ledger says {s.ledger_decision}, the event {event.decision}")
        if s.ledger_source != event.source:
            found.append(f"{name}: the ledger says via {s.ledger_source}, the event {event.source}")
        if s.callback.dropped and event.source != "polling":
            found.append(
                f"{name}: its callback was dropped, yet the verdict came via {event.source}"
            )
        if s.callback.refused:
            statuses = ", ".join(str(status) for status in s.callback.refused)
            found.append(f"{name}: the callback endpoint answered {statuses}")
        wanted_end = END_STATE_OF_VERDICT.get(event.verdict)
        if s.end_state != wanted_end:
            found.append(f"{name}: the execution ended in {s.end_state}, not {wanted_end}")
    return found


def arrival_counts(sessions: Iterable[SessionVerdict]) -> Counter[str]:
    """How many verdicts arrived by each path (callback, polling)."""
    return Counter(s.event.source or "?" for s in sessions if s.event is not None)
