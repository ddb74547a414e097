"""The soak's figures and verdict, computed from what was observed (no I/O here).

Why apart: the definitions are the point of the instrument — what counts as finalized exactly
once, stuck, lost or a duplicate — so they are plain functions over plain data, unit-tested in
tests/soak/test_figures.py and read in one place.

Definitions:
- finalized exactly once: the ledger says FINALIZED and the simulator counted one finalize;
- ended: the ledger says EXPIRED or FAILED, or FINALIZED with a decision kept; stuck: not
  ended at the deadline, including a session that was never registered;
- end state: the Succeed or Fail state the session's execution ended in (Passed, Rejected,
  Warning, Expired, Failed), read from its Step Functions history;
- decided exactly once: the ledger holds a decision (written once, by a conditional write) and
  the soak's subscriber received exactly one "Verification Completed" event for the session,
  with the same decision and the verdict its reference asked the simulator for, and the
  execution ended in that verdict's end state. The contract is "at least once"; with no
  EventBridge failure injected, a second event would mean a step published again;
- part lost: a part the soak sent that has no outcome in the ledger (UPLOADED or REJECTED) and
  no message in any DLQ, or a required part absent at Jumio for a FINALIZED session;
- duplicate part: an image part that Jumio accepted by POST more than once (a PUT after a lost
  POST replaces the part and is fine), or a DOCUMENT page beyond those sent;
- latency: the ledger's registeredAt → outcomeAt of a finalized session, and registeredAt →
  decidedAt of a decided one (whole seconds); throughput: decided sessions per minute from the
  first registration to the last decision.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from local_cloud.demo_verdicts import END_STATE_OF_VERDICT, expected_verdict
from local_cloud.report import format_table

END_STATES = frozenset({"FINALIZED", "EXPIRED", "FAILED"})
ENDED_WITHOUT_DECISION = frozenset({"EXPIRED", "FAILED"})
FLOW_END_STATES = ("Passed", "Rejected", "Warning", "Expired", "Failed")
IMAGE_CLASSIFIERS = frozenset({"FRONT", "BACK", "FACE"})
NO_REASON = "(none: redriven after maxReceiveCount)"


@dataclass(frozen=True)
class JumioPart:
    """The simulator's counters of one part."""

    count: int = 0
    adds: int = 0
    updates: int = 0


@dataclass(frozen=True)
class EventSeen:
    """One "Verification Completed" event the soak's subscriber received for a session."""

    verdict: str
    decision: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class SessionView:
    """One session as the ledger and the simulator saw it at the end."""

    label: str
    workflow_execution_id: str
    parts_sent: tuple[str, ...]
    ledger_status: str | None = None  # None: never registered
    registered_at: int | None = None
    ended_at: int | None = None
    ledger_parts: dict[str, str] = field(default_factory=dict)  # classifier → UPLOADED | REJECTED
    rejections: dict[str, str] = field(default_factory=dict)  # classifier → reason
    finalize_count: int = 0
    jumio_parts: dict[str, JumioPart] = field(default_factory=dict)
    document_pages: int = 0
    pages_sent: int = 0
    sent_before_registration: tuple[str, ...] = ()
    reference: str = ""  # chooses the simulator's decision
    decision: str | None = None  # the ledger's decision.type
    verdict_source: str | None = None  # the ledger's verdictSource: callback | polling
    decided_at: int | None = None
    end_state: str | None = None  # Step Functions: Passed, ..., Failed; None while running
    events: tuple[EventSeen, ...] = ()
    callback: str = ""  # what the simulator did with Jumio's callback(s)
    outcome_error: str | None = None  # the ledger's outcomeError: why it expired or failed

    @property
    def short_id(self) -> str:
        """The first block of the workflow execution id."""
        return self.workflow_execution_id.split("-", 1)[0]

    @property
    def finalized_once(self) -> bool:
        return self.ledger_status == "FINALIZED" and self.finalize_count == 1

    @property
    def ended(self) -> bool:
        if self.ledger_status == "FINALIZED":
            return self.decision is not None
        return self.ledger_status in ENDED_WITHOUT_DECISION

    @property
    def expected_verdict(self) -> str:
        return expected_verdict(self.reference)

    def verdict_problems(self) -> list[str]:
        """Why this session was not decided exactly once as asked (empty when it was)."""
        found = []
        if self.decision is None:
            found.append("no decision in the ledger")
        if len(self.events) != 1:
            found.append(f"{len(self.events)} events")
        for event in self.events[:1]:
            if self.decision is not None and event.decision != self.decision:
                found.append(f"event says {event.decision}")
            if event.verdict != self.expected_verdict:
                found.append(f"verdict {event.verdict}, asked {self.expected_verdict}")
            if event.source != self.verdict_source:
                found.append(f"event via {event.source}, ledger via {self.verdict_source}")
            wanted = END_STATE_OF_VERDICT.get(event.verdict)
            if self.end_state != wanted:
                found.append(f"ended in {self.end_state or 'no end state'}, not {wanted}")
        return found

    @property
    def decided_once(self) -> bool:
        return not self.verdict_problems()

    def missing_at_jumio(self) -> list[str]:
        """Parts the soak sent that the simulator does not hold."""
        return [p for p in self.parts_sent if self.jumio_parts.get(p, JumioPart()).count < 1]


@dataclass(frozen=True)
class DeadLetter:
    """One message in a DLQ: which queue, its `reason` attribute, and what it was about."""

    queue: str
    reason: str
    workflow_execution_id: str | None = None
    part: str | None = None  # FRONT, ..., PREPARED_DATA, or "registration"


@dataclass(frozen=True)
class JumioRequest:
    """One entry of the simulator's request log (no bodies, no tokens)."""

    route: str | None
    method: str
    path: str
    status: int | None
    fault: str | None


@dataclass
class Figures:
    """Everything the report prints; `problems` says why the goal does not hold."""

    sessions: int
    finalized_once: int
    end_states: Counter[str]  # Step Functions end states
    stuck: list[SessionView]
    lost: list[tuple[SessionView, str, str]]  # session, part, why
    duplicates: list[tuple[SessionView, str, str]]
    dead_letters: Counter[tuple[str, str]]
    finalized_per_minute: float | None
    latency_median: float | None
    latency_p90: float | None
    span_seconds: int | None
    decided_once: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # ledger decision types
    arrivals: Counter[str] = field(default_factory=Counter)  # callback | polling
    events: Counter[int] = field(default_factory=Counter)  # events per session → sessions
    decided_per_minute: float | None = None
    verdict_latency_median: float | None = None
    verdict_latency_p90: float | None = None
    verdict_span_seconds: int | None = None

    @property
    def problems(self) -> list[str]:
        found = []
        if self.finalized_once != self.sessions:
            found.append(f"{self.sessions - self.finalized_once} session(s) not finalized once")
        if self.decided_once != self.sessions:
            found.append(
                f"{self.sessions - self.decided_once} session(s) not decided exactly once as asked"
            )
        if self.stuck:
            found.append(f"{len(self.stuck)} session(s) stuck")
        if self.lost:
            found.append(f"{len(self.lost)} part(s) lost")
        if self.duplicates:
            found.append(f"{len(self.duplicates)} duplicate part(s) at Jumio")
        total = sum(self.dead_letters.values())
        if total:
            found.append(f"{total} message(s) in DLQs")
        return found


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (`fraction` 0.5 is the median of an odd count); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def lost_parts(
    views: Iterable[SessionView], dead_letters: Iterable[DeadLetter]
) -> list[tuple[SessionView, str, str]]:
    """Parts with no outcome and no DLQ message, and parts missing under a FINALIZED session."""
    parked = {(d.workflow_execution_id, d.part) for d in dead_letters}
    lost = []
    for view in views:
        for part in view.parts_sent:
            if view.ledger_status == "FINALIZED" and part in view.missing_at_jumio():
                lost.append((view, part, "not at Jumio, yet the session was finalized"))
            elif part not in view.ledger_parts and (view.workflow_execution_id, part) not in parked:
                lost.append((view, part, "neither landed nor rejected, and in no DLQ"))
    return lost


def duplicate_parts(views: Iterable[SessionView]) -> list[tuple[SessionView, str, str]]:
    """Image parts added by POST more than once; document pages beyond those sent."""
    duplicates = []
    for view in views:
        for classifier, part in sorted(view.jumio_parts.items()):
            if classifier in IMAGE_CLASSIFIERS and part.adds > 1:
                duplicates.append((view, classifier, f"added {part.adds} times"))
        if view.document_pages > view.pages_sent:
            duplicates.append(
                (view, "DOCUMENT", f"{view.document_pages} pages, {view.pages_sent} sent")
            )
    return duplicates


def compute(views: Sequence[SessionView], dead_letters: Sequence[DeadLetter]) -> Figures:
    """The figures of one run."""
    finalized = [v for v in views if v.finalized_once]
    latencies = [
        float(v.ended_at - v.registered_at)
        for v in finalized
        if v.ended_at is not None and v.registered_at is not None
    ]
    starts = [v.registered_at for v in views if v.registered_at is not None]
    ends = [v.ended_at for v in views if v.ended and v.ended_at is not None]
    span = max(ends) - min(starts) if starts and ends else None
    decided = [v for v in views if v.decided_once]
    verdict_latencies = [
        float(v.decided_at - v.registered_at)
        for v in decided
        if v.decided_at is not None and v.registered_at is not None
    ]
    decided_ends = [v.decided_at for v in views if v.decided_at is not None]
    verdict_span = max(decided_ends) - min(starts) if starts and decided_ends else None
    return Figures(
        sessions=len(views),
        finalized_once=len(finalized),
        end_states=Counter(v.end_state or "(none)" for v in views),
        stuck=[v for v in views if not v.ended],
        lost=lost_parts(views, dead_letters),
        duplicates=duplicate_parts(views),
        dead_letters=Counter((d.queue, d.reason) for d in dead_letters),
        finalized_per_minute=len(finalized) * 60 / span if span else None,
        latency_median=percentile(latencies, 0.5),
        latency_p90=percentile(latencies, 0.9),
        span_seconds=span,
        decided_once=len(decided),
        decisions=Counter(v.decision for v in views if v.decision is not None),
        arrivals=Counter(v.verdict_source for v in views if v.verdict_source is not None),
        events=Counter(len(v.events) for v in views),
        decided_per_minute=len(decided) * 60 / verdict_span if verdict_span else None,
        verdict_latency_median=percentile(verdict_latencies, 0.5),
        verdict_latency_p90=percentile(verdict_latencies, 0.9),
        verdict_span_seconds=verdict_span,
    )


# --- rendering ------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _counts(counter: Counter[str], order: Sequence[str] = ()) -> str:
    """`Passed 14, Rejected 2` in `order` first, then the rest sorted; `-` when empty."""
    names = [name for name in order if counter.get(name)]
    names += sorted(name for name in counter if name not in names)
    return ", ".join(f"{name} {counter[name]}" for name in names) or "-"


def _throughput(per_minute: float | None, span: int | None) -> str:
    return "-" if per_minute is None else f"{per_minute:.1f} over {span} s"


def figures_table(figures: Figures) -> str:
    """The one table of a run: the goal's figures first."""
    events = ", ".join(f"{count} event(s): {n}" for count, n in sorted(figures.events.items()))
    rows = [
        ("sessions", figures.sessions),
        ("finalized exactly once", figures.finalized_once),
        ("decided exactly once, as asked", figures.decided_once),
        ("stuck (not ended when the wait ended)", len(figures.stuck)),
        ("parts lost", len(figures.lost)),
        ("duplicate parts at Jumio", len(figures.duplicates)),
        ("DLQ messages", sum(figures.dead_letters.values())),
        ("end states (Step Functions)", _counts(figures.end_states, FLOW_END_STATES)),
        ("decisions in the ledger", _counts(figures.decisions)),
        ("verdict arrived by (ledger verdictSource)", _counts(figures.arrivals)),
        ("Verification Completed events per session", events or "-"),
        (
            "throughput, decided sessions/min",
            _throughput(figures.decided_per_minute, figures.verdict_span_seconds),
        ),
        (
            "throughput, finalized sessions/min",
            _throughput(figures.finalized_per_minute, figures.span_seconds),
        ),
        ("latency registration -> verdict, median", _seconds(figures.verdict_latency_median)),
        ("latency registration -> verdict, p90", _seconds(figures.verdict_latency_p90)),
        ("latency registration -> finalized, median", _seconds(figures.latency_median)),
        ("latency registration -> finalized, p90", _seconds(figures.latency_p90)),
    ]
    return "\n".join(
        [
            format_table(["figure", "value"], rows),
            "(finalized exactly once: ledger FINALIZED and one finalize counted by the simulator;",
            " decided exactly once: a ledger decision, one event agreeing with it, the verdict the",
            " reference asked for, the matching end state; latency and throughput: the ledger's",
            " registeredAt, outcomeAt and decidedAt, whole seconds)",
        ]
    )


def dead_letter_table(figures: Figures) -> str:
    """Messages per DLQ and `reason` attribute."""
    rows = [(q, r, n) for (q, r), n in sorted(figures.dead_letters.items())]
    return format_table(["DLQ", "reason", "messages"], rows) if rows else "(no DLQ message)"


def part_outcome_table(views: Sequence[SessionView], dead_letters: Sequence[DeadLetter]) -> str:
    """Per part: landed, rejected (by reason), parked in a DLQ (by reason), present at Jumio."""
    outcomes: Counter[tuple[str, str]] = Counter()
    for view in views:
        for part in view.parts_sent:
            status = view.ledger_parts.get(part)
            if status == "REJECTED":
                status = f"REJECTED {view.rejections.get(part, '?')}"
            outcomes[(part, status or "no ledger outcome")] += 1
            at_jumio = view.jumio_parts.get(part, JumioPart()).count > 0
            outcomes[(part, "present at Jumio" if at_jumio else "absent at Jumio")] += 1
    for letter in dead_letters:
        if letter.part:
            outcomes[(letter.part, f"DLQ message, {letter.reason}")] += 1
    rows = [(part, what, n) for (part, what), n in sorted(outcomes.items())]
    return format_table(["part", "outcome", "count"], rows)


def resend_table(views: Sequence[SessionView]) -> str:
    """What Jumio received beyond one write per part: information, not counted as duplicates."""
    adds: Counter[str] = Counter()
    updates: Counter[str] = Counter()
    for view in views:
        for classifier, part in view.jumio_parts.items():
            adds[classifier] += part.adds
            updates[classifier] += part.updates
    rows = [(c, adds[c], updates[c]) for c in sorted(adds)]
    return format_table(["part", "accepted adds (POST)", "accepted updates (PUT/repeat)"], rows)


def jumio_traffic_table(requests: Sequence[JumioRequest]) -> str:
    """Per route: requests, answers by status (2xx together), and the faults injected."""
    table: dict[str, Counter[str]] = {}
    for request in requests:
        counts = table.setdefault(request.route or "(unknown)", Counter())
        counts["requests"] += 1
        if request.fault:
            counts[f"fault {request.fault}"] += 1
        elif request.status is not None:
            counts["2xx" if 200 <= request.status < 300 else str(request.status)] += 1
    seen = {name for counts in table.values() for name in counts} - {"requests"}
    statuses = sorted(name for name in seen if not name.startswith("fault"))
    faults = [f"fault {kind}" for kind in ("500", "503", "429", "drop")]
    faults += sorted(name for name in seen if name.startswith("fault") and name not in faults)
    columns = ["2xx", *(s for s in statuses if s != "2xx"), *faults]
    rows = [
        [route, counts["requests"], *(counts.get(column, 0) for column in columns)]
        for route, counts in sorted(table.items())
    ]
    return format_table(["route", "requests", *columns], rows) if rows else "(no request)"


def failing_sessions_table(views: Sequence[SessionView], dead_letters: Sequence[DeadLetter]) -> str:
    """One row per session not finalized exactly once or not decided exactly once as asked:
    where it stands and why."""
    parked: dict[str, list[str]] = {}
    for letter in dead_letters:
        if letter.workflow_execution_id:
            parked.setdefault(letter.workflow_execution_id, []).append(
                f"{letter.part or '?'}:{letter.reason}"
            )
    rows = []
    for view in views:
        if view.finalized_once and view.decided_once:
            continue
        not_landed = [p for p in view.parts_sent if view.ledger_parts.get(p) != "UPLOADED"]
        rows.append(
            [
                view.label,
                view.short_id,
                view.ledger_status or "NOT REGISTERED",
                view.outcome_error or "-",
                view.finalize_count,
                view.end_state or "-",
                "; ".join(view.verdict_problems()) or "-",
                ",".join(view.sent_before_registration) or "-",
                ",".join(not_landed) or "-",
                ",".join(view.missing_at_jumio()) or "-",
                " ".join(sorted(parked.get(view.workflow_execution_id, []))) or "-",
            ]
        )
    headers = [
        "session",
        "workflow execution",
        "ledger status",
        "outcome error",
        "finalize calls",
        "end state",
        "verdict",
        "sent before registration",
        "not landed (ledger)",
        "absent at Jumio",
        "DLQ messages",
    ]
    return (
        format_table(headers, rows)
        if rows
        else "(every session was finalized and decided exactly once)"
    )


def verdict_table(views: Sequence[SessionView]) -> str:
    """Per verdict asked: how many sessions got it, by which path, with what callback fate."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for view in views:
        got = view.events[0].verdict if view.events else "(no event)"
        counts[(view.expected_verdict, got, view.verdict_source or "-", view.callback or "-")] += 1
    rows = [(*key, n) for key, n in sorted(counts.items())]
    headers = ["verdict asked", "verdict published", "arrived by", "callback", "sessions"]
    return format_table(headers, rows) if rows else "(no session)"
