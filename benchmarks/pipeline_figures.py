"""The pipeline benchmark's figures, computed from what was observed (no I/O here).

Why apart: what "where the time goes" means is the point of the benchmark, so the definitions
are plain functions over plain data, tested in tests/unit/test_bench_pipeline_figures.py.

Definitions (all times in seconds):
- registration: the session's Step Functions execution was started (register_session starts
  it right after writing the ledger); finalize: `WaitForVerdict` first entered (Finalize, or
  ReconcileFinalize after a timeout, has recorded FINALIZED in the ledger by then); verdict: `RecordDecision` exited (decision kept, event published);
- sessions per minute: decided sessions x 60 / (last verdict - first registration);
- state machine path (adds up to registration -> verdict): the time in each Task state, by
  name (`WaitForAllParts` waits for the parts, `WaitForVerdict` for Jumio's callback or the poll
  timer), `(start)` from StartExecution to the interpreter's first event, and `(transitions)`:
  the rest (Choice and Pass states, the interpreter between states);
- work per session (overlaps, so it need not add up to the latency): queue waits (SQS
  SentTimestamp -> the Lambda runner asked to invoke; `first` the first delivery, `retry` a
  delivery after a failed attempt and its backoff), Lambda work per function (the runner's
  duration less the wait for a worker; a batch's time is shared equally by its records),
  the wait for a free warm worker (or a new worker's init), and Jumio calls (the simulator's
  time per request, by the workflow execution in its path).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any
from urllib.parse import unquote_plus

from local_cloud.report import format_table
from tests.soak.figures import percentile

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DECIDED_STATE = "RecordDecision"
VERDICT_WAIT_STATE = "WaitForVerdict"
START = "(start)"
TRANSITIONS = "(transitions)"
FLAT_WITHIN = 0.20  # the goal: time per session within 20% from the smallest N up


def short_function_name(name: str) -> str:
    """`jumio-local-AddPartFunction` → `AddPart`."""
    logical = name.rsplit("-", 1)[-1]
    return logical.removesuffix("Function") or logical


def find_session(text: str, sessions: Iterable[str]) -> str | None:
    """The first known workflow execution id in `text` (URL-encoded or not, any case)."""
    known = {s.lower() for s in sessions}
    for match in UUID.finditer(unquote_plus(text)):
        if match.group(0).lower() in known:
            return match.group(0).lower()
    return None


# --- Lambda invocations ----------------------------------------------------------------------


FIRST, RETRY, REQUEUED = "first", "retry", "requeued"
WAIT_ATTEMPT_ATTRIBUTE = "waitAttempt"  # a copy put back to wait for its session's registration


@dataclass(frozen=True)
class QueueWait:
    """One SQS record: how long it waited from SendMessage until the runner was asked.

    `kind`: FIRST delivery; RETRY, delivered again after a failed attempt and its backoff;
    REQUEUED, a copy the pipeline put back with a delay to wait for its session's
    registration (message attribute waitAttempt)."""

    session: str | None
    seconds: float
    kind: str


@dataclass(frozen=True)
class InvocationFacts:
    """One invocation, reduced to what the figures need (never a body or token)."""

    function: str
    started_at: float
    duration: float
    worker_wait: float
    cold_start: bool
    errored: bool
    sessions: tuple[str | None, ...]  # one entry per SQS record, else one for the event
    queue_waits: tuple[QueueWait, ...] = ()

    @property
    def run(self) -> float:
        """Time the function ran (or failed to start), without the wait for a worker."""
        return max(0.0, self.duration - self.worker_wait)


def invocation_facts(
    function_name: str,
    started_at: float,
    duration_ms: float,
    worker_wait_ms: float,
    cold_start: bool,
    errored: bool,
    event: Any,
    sessions: Iterable[str],
) -> InvocationFacts:
    """Reduce one invocation record: its SQS records' waits and sessions, or the session the
    event names (Step Functions tasks, function URL requests)."""
    known = set(sessions)
    records = event.get("Records") if isinstance(event, Mapping) else None
    sqs = [r for r in records or [] if isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs"]
    waits: list[QueueWait] = []
    owners: list[str | None] = []
    for record in sqs:
        attributes = record.get("attributes") or {}
        owner = find_session(str(record.get("body", "")), known)
        owners.append(owner)
        sent = attributes.get("SentTimestamp")
        if sent is None:
            continue
        if int(attributes.get("ApproximateReceiveCount", 1)) > 1:
            kind = RETRY
        elif WAIT_ATTEMPT_ATTRIBUTE in (record.get("messageAttributes") or {}):
            kind = REQUEUED
        else:
            kind = FIRST
        waits.append(QueueWait(owner, max(0.0, started_at - int(sent) / 1000), kind))
    if not sqs:
        owners = [find_session(json.dumps(event, default=str), known)]
    return InvocationFacts(
        function=short_function_name(function_name),
        started_at=started_at,
        duration=duration_ms / 1000,
        worker_wait=worker_wait_ms / 1000,
        cold_start=cold_start,
        errored=errored,
        sessions=tuple(owners),
        queue_waits=tuple(waits),
    )


@dataclass(frozen=True)
class JumioCall:
    """One request the simulator served: its route, outcome and how long it took."""

    session: str | None
    route: str | None
    status: int | None
    fault: str | None
    started_at: float
    seconds: float


_EXECUTION_IN_PATH = re.compile(r"/workflow-executions/([0-9a-fA-F-]{36})")


def session_of_path(path: str) -> str | None:
    """The workflow execution id in a Jumio path, lower-cased."""
    match = _EXECUTION_IN_PATH.search(path)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class AwsCall:
    """One request the local cloud's moto server handled: its action and how long it took."""

    action: str
    seconds: float


# Requests whose time is not moto's work: an invocation runs a whole Lambda function, and a
# receive long-polls an empty queue.
WAITING_ACTIONS = frozenset({"lambda.Invoke", "sqs.ReceiveMessage"})
_TARGET_SERVICES = {
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
    "AWSStepFunctions": "stepfunctions",
    "AWSEvents": "events",
    "secretsmanager": "secretsmanager",
    "TrentService": "kms",
    "Logs_20140328": "logs",
}


def aws_action(method: str, path: str, target: str | None, query: str = "") -> str:
    """`dynamodb.PutItem`, `lambda.Invoke`, `s3.PUT`: what a request to the local cloud asked."""
    if target:
        prefix, _, operation = target.partition(".")
        return f"{_TARGET_SERVICES.get(prefix, prefix)}.{operation}"
    if "/functions/" in path and path.rstrip("/").endswith("/invocations"):
        return "lambda.Invoke"
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "Action" and value:
            return f"query.{value}"
    if path.startswith("/moto-api"):
        return "moto-api"
    return f"s3.{method}"


@dataclass(frozen=True)
class AwsLoad:
    """Requests per action: how many, in all and per session, and their median time."""

    action: str
    count: int
    per_session: float
    total: float
    p50: float | None


def aws_loads(calls: Sequence[AwsCall], sessions: int) -> list[AwsLoad]:
    """Per action, the most time-consuming first."""
    by_action: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        by_action[call.action].append(call.seconds)
    loads = [
        AwsLoad(action, len(times), len(times) / max(1, sessions), sum(times), median(times))
        for action, times in by_action.items()
    ]
    return sorted(loads, key=lambda load: -load.total)


# --- Step Functions --------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEvent:
    """One history event: its type, time (epoch seconds) and state name, if any."""

    type: str
    at: float
    state: str | None = None


@dataclass(frozen=True)
class SessionPath:
    """One session's way through the state machine."""

    session: str
    registered_at: float
    finalized_at: float | None
    decided_at: float | None
    states: dict[str, float]  # path segment → seconds (Task states by name, START, TRANSITIONS)
    verdict_by_timer: bool  # WaitForVerdict ended by its timeout: the poll, not the callback


def session_path(session: str, started_at: float, events: Sequence[HistoryEvent]) -> SessionPath:
    """Where an execution spent its time, from StartExecution to the verdict (or its end)."""
    ordered = sorted(events, key=lambda e: e.at)
    finalized = next(
        (e.at for e in ordered if e.type == "TaskStateEntered" and e.state == VERDICT_WAIT_STATE),
        None,
    )
    decided = next(
        (e.at for e in ordered if e.type == "TaskStateExited" and e.state == DECIDED_STATE),
        None,
    )
    end = decided if decided is not None else (ordered[-1].at if ordered else started_at)
    states: dict[str, float] = defaultdict(float)
    entered: dict[str, float] = {}
    timed_out = False
    current: str | None = None
    for event in ordered:
        if event.at > end:
            break
        if event.type == "TaskStateEntered" and event.state:
            entered[event.state] = event.at
            current = event.state
        elif event.type == "TaskStateExited" and event.state in entered:
            states[event.state] += event.at - entered.pop(event.state)
        elif event.type == "TaskTimedOut" and current == VERDICT_WAIT_STATE:
            timed_out = True
    for state, since in entered.items():  # still in it when the path ended
        states[state] += max(0.0, end - since)
    first = ordered[0].at if ordered else started_at
    states[START] = max(0.0, first - started_at)
    states[TRANSITIONS] = max(0.0, (end - started_at) - sum(states.values()))
    return SessionPath(session, started_at, finalized, decided, dict(states), timed_out)


# --- one run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionLoad:
    """How busy one function was during a run."""

    function: str
    invocations: int
    errored: int
    cold_starts: int
    peak: int  # most invocations in flight at once (those waiting for a worker included)
    mean: float  # busy seconds / run span: the average number running
    worker_wait_total: float
    run_median: float | None


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals (start, end) open at once; an end at a start does not overlap it."""
    points = []
    for start, end in intervals:
        points.append((start, 1))
        points.append((max(start, end), -1))
    running = peak = 0
    for _, step in sorted(points, key=lambda p: (p[0], p[1])):
        running += step
        peak = max(peak, running)
    return peak


def function_loads(invocations: Sequence[InvocationFacts], span: float) -> list[FunctionLoad]:
    """Per function: invocations, errors, cold starts, peak and mean concurrency, worker waits."""
    by_function: dict[str, list[InvocationFacts]] = defaultdict(list)
    for facts in invocations:
        by_function[facts.function].append(facts)
    loads = []
    for function, calls in sorted(by_function.items()):
        busy = sum(c.duration for c in calls)
        loads.append(
            FunctionLoad(
                function=function,
                invocations=len(calls),
                errored=sum(c.errored for c in calls),
                cold_starts=sum(c.cold_start for c in calls),
                peak=peak_concurrency((c.started_at, c.started_at + c.duration) for c in calls),
                mean=busy / span if span > 0 else 0.0,
                worker_wait_total=sum(c.worker_wait for c in calls),
                run_median=median(c.run for c in calls) if calls else None,
            )
        )
    return loads


@dataclass(frozen=True)
class SessionWork:
    """One session's share of the work (sums over its messages, invocations and Jumio calls)."""

    queue: dict[str, float] = field(default_factory=dict)  # kind → seconds
    messages: dict[str, int] = field(default_factory=dict)  # kind → count
    lambda_run: dict[str, float] = field(default_factory=dict)  # function → seconds
    worker_wait: float = 0.0
    jumio: float = 0.0
    jumio_calls: int = 0


def session_work(
    sessions: Iterable[str],
    invocations: Iterable[InvocationFacts],
    calls: Iterable[JumioCall],
) -> dict[str, SessionWork]:
    """Each session's queue waits, Lambda work, worker waits and Jumio time."""
    queue: dict[str, Counter[str]] = defaultdict(Counter)
    messages: dict[str, Counter[str]] = defaultdict(Counter)
    run: dict[str, Counter[str]] = defaultdict(Counter)
    waited: Counter[str] = Counter()
    jumio: Counter[str] = Counter()
    jumio_count: Counter[str] = Counter()
    for facts in invocations:
        for wait in facts.queue_waits:
            if wait.session is not None:
                queue[wait.session][wait.kind] += wait.seconds
                messages[wait.session][wait.kind] += 1
        share = 1 / len(facts.sessions) if facts.sessions else 0.0
        for owner in facts.sessions:
            if owner is not None:
                run[owner][facts.function] += facts.run * share
                waited[owner] += facts.worker_wait * share
    for call in calls:
        if call.session is not None:
            jumio[call.session] += call.seconds
            jumio_count[call.session] += 1
    return {
        s: SessionWork(
            queue=dict(queue[s]),
            messages=dict(messages[s]),
            lambda_run=dict(run[s]),
            worker_wait=waited[s],
            jumio=jumio[s],
            jumio_calls=jumio_count[s],
        )
        for s in sessions
    }


@dataclass(frozen=True)
class Latencies:
    """p50/p90/p99 (nearest rank) of a list of seconds, and how many there were."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Latencies:
        return cls(
            len(values), percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.99)
        )


@dataclass(frozen=True)
class RunFigures:
    """Everything the benchmark prints for one run (one N, faults on or off)."""

    sessions: int
    faults: bool
    decided: int
    span: float | None  # first registration → last verdict
    per_minute: float | None
    to_finalize: Latencies
    to_verdict: Latencies
    path: dict[str, float]  # median seconds per path segment (sessions that have it)
    verdict_by_timer: int
    work: dict[str, float]  # median per session of each work figure
    loads: list[FunctionLoad]
    rate: float = 0.0  # sessions a minute sent one after another; 0: all at once


def _median_or_zero(values: Sequence[float]) -> float:
    return median(values) if values else 0.0


def run_figures(
    sessions: int,
    faults: bool,
    paths: Sequence[SessionPath],
    invocations: Sequence[InvocationFacts],
    calls: Sequence[JumioCall],
    rate: float = 0.0,
) -> RunFigures:
    """The figures of one run."""
    decided = [p for p in paths if p.decided_at is not None]
    to_finalize = [p.finalized_at - p.registered_at for p in paths if p.finalized_at is not None]
    to_verdict = [p.decided_at - p.registered_at for p in decided if p.decided_at is not None]
    span = None
    if decided:
        span = max(p.decided_at for p in decided if p.decided_at is not None) - min(
            p.registered_at for p in paths
        )
    segments = sorted({name for p in decided for name in p.states})
    path = {name: _median_or_zero([p.states.get(name, 0.0) for p in decided]) for name in segments}
    work_by_session = session_work((p.session for p in paths), invocations, calls)
    works = list(work_by_session.values())
    functions = sorted({f for w in works for f in w.lambda_run})
    kinds = (
        (FIRST, "first delivery"),
        (RETRY, "after a failure"),
        (REQUEUED, "waiting for registration"),
    )
    work = {
        **{
            f"queue wait, {text}": _median_or_zero([w.queue.get(kind, 0.0) for w in works])
            for kind, text in kinds
        },
        **{
            f"messages, {text}": _median_or_zero([w.messages.get(kind, 0) for w in works])
            for kind, text in kinds
        },
        **{
            f"Lambda {f}": _median_or_zero([w.lambda_run.get(f, 0.0) for w in works])
            for f in functions
        },
        "one message's queue wait, first delivery (median of all)": _median_or_zero(
            [w.seconds for f in invocations for w in f.queue_waits if w.kind == FIRST]
        ),
        "Lambda, all functions": _median_or_zero([sum(w.lambda_run.values()) for w in works]),
        "waiting for a free worker": _median_or_zero([w.worker_wait for w in works]),
        "Jumio calls (simulator time)": _median_or_zero([w.jumio for w in works]),
        "Jumio requests": _median_or_zero([w.jumio_calls for w in works]),
    }
    return RunFigures(
        sessions=sessions,
        faults=faults,
        decided=len(decided),
        span=span,
        per_minute=len(decided) * 60 / span if span else None,
        to_finalize=Latencies.of(to_finalize),
        to_verdict=Latencies.of(to_verdict),
        path=path,
        verdict_by_timer=sum(p.verdict_by_timer for p in decided),
        work=work,
        loads=function_loads(invocations, span or 0.0),
        rate=rate,
    )


@dataclass(frozen=True)
class Bottleneck:
    """The stage nearest its concurrency cap, and the rate that cap allows at this run's cost.

    A stage with `cap` invocations at once, each session needing `work` seconds of it, can
    finish at most cap x 60 / work sessions a minute."""

    function: str
    mean: float
    cap: int
    work_per_session: float

    @property
    def utilisation(self) -> float:
        return self.mean / self.cap

    @property
    def ceiling_per_minute(self) -> float | None:
        return self.cap * 60 / self.work_per_session if self.work_per_session > 0 else None


def bottleneck(run: RunFigures, caps: Mapping[str, int]) -> Bottleneck | None:
    """The function whose mean concurrency came nearest its cap (None without any)."""
    candidates = [
        Bottleneck(
            load.function,
            load.mean,
            caps[load.function],
            run.work.get(f"Lambda {load.function}", 0.0) + 0.0,
        )
        for load in run.loads
        if caps.get(load.function)
    ]
    return max(candidates, key=lambda b: b.utilisation, default=None)


def bottleneck_line(found: Bottleneck | None, run: RunFigures) -> str:
    """The stage that limits the rate, and what its cap allows against what was measured."""
    if found is None:
        return "bottleneck: - (no function with a known cap ran)"
    ceiling = found.ceiling_per_minute
    allowed = "-" if ceiling is None else f"{ceiling:.0f}"
    measured = "-" if run.per_minute is None else f"{run.per_minute:.1f}"
    return (
        f"bottleneck: {found.function}, {found.mean:.2f} running on average of its cap "
        f"{found.cap} ({found.utilisation:.0%}); at {found.work_per_session:.2f} s of its work "
        f"per session the cap allows {allowed} sessions/min, measured {measured}"
    )


# --- across runs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flatness:
    """Time per session at each N against the smallest N of the same fault setting, read two
    ways: a session's own latency (median registration→verdict: a burst of N queues in front
    of the configured concurrency, so this grows with N by design), and the run's wall time
    per decided session (span / decided, the inverse of sessions per minute: flat when the
    pipeline keeps its throughput as N grows)."""

    faults: bool
    base_sessions: int
    ratios: dict[int, float]  # N → median registration→verdict at N / at the base N
    wall_ratios: dict[int, float] = field(default_factory=dict)  # N → span/decided ratio

    @property
    def flat(self) -> bool:
        return all(abs(r - 1) <= FLAT_WITHIN for r in self.ratios.values())

    @property
    def flat_per_session(self) -> bool:
        return all(abs(r - 1) <= FLAT_WITHIN for r in self.wall_ratios.values())


def flatness(runs: Sequence[RunFigures]) -> list[Flatness]:
    """Per fault setting with two runs or more: is the median to verdict flat across N?"""
    found = []
    for faults in (False, True):
        rows = sorted((r for r in runs if r.faults == faults), key=lambda r: r.sessions)
        rows = [r for r in rows if r.to_verdict.p50]
        if len(rows) < 2:
            continue
        base = rows[0]
        ratios = {r.sessions: r.to_verdict.p50 / base.to_verdict.p50 for r in rows[1:]}  # type: ignore[operator]
        wall_ratios = {
            r.sessions: _wall_per_session(r) / _wall_per_session(base)
            for r in rows[1:]
            if _wall_per_session(r) and _wall_per_session(base)
        }
        found.append(Flatness(faults, base.sessions, ratios, wall_ratios))
    return found


def _wall_per_session(run: RunFigures) -> float:
    """Seconds of the run's span per decided session; 0 when nothing was decided."""
    return (run.span or 0.0) / run.decided if run.decided else 0.0


# --- rendering -------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def headline(run: RunFigures) -> str:
    """One row's worth: sessions/min and the percentiles."""
    rate = "-" if run.per_minute is None else f"{run.per_minute:.1f}"
    return (
        f"N={run.sessions} faults {'on' if run.faults else 'off'}"
        f"{f' paced {run.rate:g}/min' if run.rate else ''}: {run.decided}/{run.sessions} "
        f"decided, {rate} sessions/min over {_s(run.span)}; registration->finalize p50/p90/p99 "
        f"{_s(run.to_finalize.p50)} / {_s(run.to_finalize.p90)} / {_s(run.to_finalize.p99)}; "
        f"registration->verdict {_s(run.to_verdict.p50)} / {_s(run.to_verdict.p90)} / "
        f"{_s(run.to_verdict.p99)}"
    )


def path_table(run: RunFigures) -> str:
    """The state machine path, median seconds per segment."""
    rows = sorted(run.path.items(), key=lambda item: -item[1])
    return format_table(
        ["state machine path (median per session)", "seconds"],
        [(name, f"{seconds:.2f}") for name, seconds in rows],
    )


def work_table(run: RunFigures) -> str:
    """The work per session, median across sessions."""
    rows = []
    for name, value in run.work.items():
        shown = (
            f"{value:.0f}" if name.startswith(("messages", "Jumio requests")) else f"{value:.2f}"
        )
        rows.append((name, shown))
    return format_table(["work per session (median; overlaps, so no sum)", "seconds / count"], rows)


def load_table(run: RunFigures, caps: Mapping[str, str]) -> str:
    """Per function: invocations, concurrency reached against its caps, waits, cold starts."""
    rows = [
        (
            load.function,
            load.invocations,
            load.errored,
            load.cold_starts,
            load.peak,
            f"{load.mean:.2f}",
            caps.get(load.function, "-"),
            f"{load.worker_wait_total:.1f}",
            _s(load.run_median),
        )
        for load in run.loads
    ]
    return format_table(
        [
            "function",
            "calls",
            "errors",
            "cold",
            "in flight max",
            "mean",
            "caps",
            "worker wait",
            "run p50",
        ],
        rows,
    )


def aws_table(loads: Sequence[AwsLoad], wall: float, top: int = 12) -> str:
    """The local cloud's AWS requests: work (not invocations or long polls) first."""
    work = [load for load in loads if load.action not in WAITING_ACTIONS]
    busy = sum(load.total for load in work)
    rows = [
        (load.action, load.count, f"{load.per_session:.1f}", f"{load.total:.1f}", _ms(load.p50))
        for load in work[:top]
    ]
    rows += [
        (f"{load.action} (waits, not work)", load.count, f"{load.per_session:.1f}", "-", "-")
        for load in loads
        if load.action in WAITING_ACTIONS
    ]
    table = format_table(
        ["local AWS (moto) requests", "count", "per session", "seconds", "p50"], rows
    )
    share = busy / wall if wall > 0 else 0.0
    return f"{table}\nmoto request time, all actions but waits: {busy:.1f} s over {wall:.0f} s wall ({share:.2f} requests at once on average)"


def flatness_lines(found: Sequence[Flatness]) -> list[str]:
    """One line per fault setting: the ratios and whether the goal holds."""
    lines = []
    for item in found:
        ratios = ", ".join(f"N={n}: x{r:.2f}" for n, r in sorted(item.ratios.items()))
        verdict = "flat (within 20%)" if item.flat else "NOT flat (beyond 20%)"
        lines.append(
            f"faults {'on' if item.faults else 'off'}: median registration->verdict against "
            f"N={item.base_sessions}: {ratios} -> {verdict}"
        )
        if item.wall_ratios:
            walls = ", ".join(f"N={n}: x{r:.2f}" for n, r in sorted(item.wall_ratios.items()))
            flat = "flat (within 20%)" if item.flat_per_session else "NOT flat (beyond 20%)"
            lines.append(
                f"faults {'on' if item.faults else 'off'}: wall time per decided session "
                f"against N={item.base_sessions}: {walls} -> {flat}"
            )
    return lines
