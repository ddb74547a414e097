"""Throughput of the whole pipeline on the local cloud: sessions per minute, latency
percentiles and where each session's time goes, for N racing sessions with and without faults.

`make bench-pipeline N="10 50 100" FAULTS=both` (or
``.venv/bin/python benchmarks/bench_pipeline.py --sessions "10 50" --faults off``).

Each run is the soak's workload (tests/soak: N accounts at the simulator, every registration,
capture (each S3 notification twice) and prepared-data message raced from a thread pool; with
faults, the soak's Jumio faults and callback faults), on one local cloud started once for the
whole command and warmed up first with a few sessions that are not measured. The functions poll
for the verdict on Jumio's schedule at a tenth (first poll 4 s after finalize, as the demo and
the soak do; `--poll-schedule`), so a dropped callback costs seconds, not 40 s.

What is measured, from the outside or from the local cloud's own bookkeeping:
- latency and the state machine path: each session's Step Functions history;
- queue waits, Lambda work, waits for a worker: the warm runner's timing record
  (local_cloud.invocation_timing), reduced at once to ids and times (events carry tokens);
- Jumio calls: the simulator's time per request (it runs in this process; the benchmark wraps
  its request handler for the duration of a run);
- CPU: this process (moto, the Step Functions interpreter, the pollers, the simulator: one
  Python process) and the Lambda worker processes, against the wall time.
Definitions: benchmarks/pipeline_figures.py. It prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

from benchmarks import pipeline_figures as pf  # noqa: E402
from jumio_simulator.server import SimulatorRequestHandler  # noqa: E402
from local_cloud import demo_verdicts, dynamodb_writes, invocation_timing, invoker  # noqa: E402
from local_cloud.demo_verdicts import VerdictSubscriber  # noqa: E402
from local_cloud.runtime import LocalRuntime, running  # noqa: E402
from tests.soak import fault_plan, observe  # noqa: E402
from tests.soak.notification_tap import NotificationTap  # noqa: E402
from tests.soak.run import MOTO_STATE_ERRORS_LOGGER, lifetime_seconds  # noqa: E402
from tests.soak.workload import (  # noqa: E402
    CAPTURES,
    DELIVERY_THREADS,
    Deliverer,
    Delivery,
    SoakSession,
    capture_image,
    create_sessions,
    race,
)

DEFAULT_SESSIONS = "10 50 100"
WARMUP_SESSIONS = 10  # enough overlap to start most warm workers before measuring
POLL_SECONDS = 2.0
LEDGER_CHECK_SECONDS = 10.0  # sessions without a verdict event: ask the ledger this often
DEADLINE_MARGIN_SECONDS = 180


# --- instruments -----------------------------------------------------------------------------


class InvocationLog:
    """The warm runner's timing records of one run, reduced to ids and times at once."""

    def __init__(self, sessions: Sequence[str]) -> None:
        self._sessions = {s.lower() for s in sessions}
        self._lock = threading.Lock()
        self.facts: list[pf.InvocationFacts] = []

    def __call__(self, timing: invocation_timing.InvocationTiming) -> None:
        facts = pf.invocation_facts(
            timing.function_name,
            timing.started_at,
            timing.duration_ms,
            timing.worker_wait_ms,
            timing.cold_start,
            timing.errored,
            timing.event,
            self._sessions,
        )
        if any(s is not None for s in facts.sessions):
            with self._lock:
                self.facts.append(facts)


@contextmanager
def jumio_timer(runtime: LocalRuntime, sessions: Sequence[str]) -> Iterator[list[pf.JumioCall]]:
    """The simulator's time per request (read body → log entry written), for `sessions` only.

    The simulator runs in this process: its request handler is wrapped to note when a request
    began, and its request log to note when it ended. Both are put back on exit."""
    if not callable(getattr(SimulatorRequestHandler, "_handle", None)):
        raise RuntimeError("jumio_simulator.server.SimulatorRequestHandler._handle is gone")
    log = runtime.simulator.simulator.log
    original_handle = SimulatorRequestHandler._handle
    original_record = log.record
    began = threading.local()
    calls: list[pf.JumioCall] = []
    lock = threading.Lock()
    known = {s.lower() for s in sessions}

    def timed_handle(handler: Any) -> None:
        began.at = (time.time(), time.monotonic())
        try:
            original_handle(handler)
        finally:
            began.at = None

    def timed_record(**entry: Any) -> None:
        original_record(**entry)
        at = getattr(began, "at", None)
        session = pf.session_of_path(str(entry.get("path", "")))
        if at is None or session not in known:
            return
        call = pf.JumioCall(
            session,
            entry.get("route"),
            entry.get("status"),
            entry.get("fault"),
            at[0],
            time.monotonic() - at[1],
        )
        with lock:
            calls.append(call)

    SimulatorRequestHandler._handle = timed_handle  # type: ignore[method-assign]
    log.record = timed_record  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        SimulatorRequestHandler._handle = original_handle  # type: ignore[method-assign]
        del log.record


@contextmanager
def aws_timer() -> Iterator[list[pf.AwsCall]]:
    """The moto server's time per request, by action (it runs in this process; its WSGI
    application is wrapped for the duration of a run and put back on exit)."""
    app_class = DomainDispatcherApplication
    original = app_class.__call__
    calls: list[pf.AwsCall] = []
    lock = threading.Lock()

    def timed(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        began = time.monotonic()
        try:
            return original(app, environ, start_response)
        finally:
            action = pf.aws_action(
                environ.get("REQUEST_METHOD", ""),
                environ.get("PATH_INFO", ""),
                environ.get("HTTP_X_AMZ_TARGET"),
                environ.get("QUERY_STRING", ""),
            )
            with lock:
                calls.append(pf.AwsCall(action, time.monotonic() - began))

    app_class.__call__ = timed  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        app_class.__call__ = original  # type: ignore[method-assign]


class TimedLock:
    """The local cloud's DynamoDB write lock, timed: how long writes waited for it and held it.

    It wraps the very lock it replaces, so a writer that took the old object and one that
    takes this one still exclude each other."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.waited = 0.0
        self.held = 0.0
        self.writes = 0
        self._local = threading.local()

    def __enter__(self) -> TimedLock:
        began = time.monotonic()
        self.lock.acquire()
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0:
            self._local.since = time.monotonic()
            self.waited += self._local.since - began
            self.writes += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            self.held += time.monotonic() - self._local.since
        self.lock.release()


@contextmanager
def write_lock_meter() -> Iterator[TimedLock]:
    """Time local_cloud.dynamodb_writes' lock (every DynamoDB item write of the local cloud
    goes through it, one at a time) for the duration of a run."""
    original = dynamodb_writes._LOCK
    timed = TimedLock(original)
    dynamodb_writes._LOCK = timed  # type: ignore[assignment]
    try:
        yield timed
    finally:
        dynamodb_writes._LOCK = original


def _process_cpu(pid: int) -> float | None:
    """user + system CPU seconds of a live process, from /proc (None if gone or not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker_pids() -> list[int]:
    return [p.pid for pool in invoker.warm_pools().values() for p in pool.spawned]


class CpuMeter:
    """CPU seconds of this process and of the Lambda workers between start() and stop()."""

    def start(self) -> None:
        times = os.times()
        self._own = times.user + times.system
        self._workers = {pid: _process_cpu(pid) or 0.0 for pid in _worker_pids()}
        self._wall = time.monotonic()

    def stop(self) -> tuple[float, float, float]:
        """(wall seconds, this process's CPU seconds, the workers' CPU seconds)."""
        times = os.times()
        workers = 0.0
        for pid in _worker_pids():
            now = _process_cpu(pid)
            if now is not None:
                workers += now - self._workers.get(pid, 0.0)
        return time.monotonic() - self._wall, times.user + times.system - self._own, workers


# --- one run ---------------------------------------------------------------------------------


class Run:
    """N sessions through the pipeline, measured."""

    def __init__(
        self, runtime: LocalRuntime, tap: NotificationTap, args: argparse.Namespace, out: TextIO
    ) -> None:
        self.runtime = runtime
        self.tap = tap
        self.args = args
        self.out = out
        self.sqs = runtime.client("sqs")
        self.sfn = runtime.client("stepfunctions")
        self.ledger = runtime.resource("dynamodb").Table(runtime.stack.physical("LedgerTable"))

    def say(self, text: str) -> None:
        print(f"  {text}", file=self.out, flush=True)

    def prepare(self, count: int, label: str) -> tuple[list[SoakSession], Any, VerdictSubscriber]:
        subscriber = VerdictSubscriber(
            self.runtime.client("events"),
            self.sqs,
            str(self.runtime.stack.outputs["VerdictBusName"]),
            name=f"bench-verdicts-{label}",
        )
        subscriber.subscribe()
        callback_url = demo_verdicts.operator_callback_url(
            self.runtime.stack.outputs, self.runtime.client("secretsmanager")
        )
        self.runtime.simulator.admin.set_faults({})  # the soak's set-up runs without faults
        sessions = create_sessions(
            self.runtime.simulator.create_account, count, self.args.token_lifetime, callback_url
        )
        images = {
            (s.index, classifier): capture_image(s.index, classifier)
            for s in sessions
            for _, classifier in CAPTURES
        }
        return sessions, images, subscriber

    def deliver(
        self, sessions: list[SoakSession], images: Any, seed: int, rate: float = 0.0
    ) -> None:
        """The soak's race: every piece of every session at once (rate 0), or session after
        session at `rate` a minute, each session's pieces still racing one another."""
        stack = self.runtime.stack
        deliverer = Deliverer(
            sqs=self.sqs,
            s3=self.runtime.client("s3"),
            bucket=stack.physical("CapturesBucket"),
            sessions_queue_url=stack.physical("SessionsQueue"),
            prepared_data_queue_url=stack.physical("PreparedDataQueue"),
            capture_events_queue_url=stack.physical("CaptureEventsQueue"),
            tap=self.tap,
            images=images,
        )
        deliveries = race(sessions, random.Random(seed), "shuffled")
        if not rate:
            deliverer.deliver_all(deliveries)
            return
        pieces: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            pieces[delivery.session.index].append(delivery)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
            futures = []
            for position, session in enumerate(sessions):
                time.sleep(max(0.0, started + position * 60 / rate - time.monotonic()))
                futures += [pool.submit(deliverer.deliver, d) for d in pieces[session.index]]
            for future in futures:
                future.result()

    def wait(
        self, sessions: list[SoakSession], subscriber: VerdictSubscriber, deadline: float
    ) -> bool:
        """Until every session has a verdict event or has ended in the ledger (True), or the
        deadline. Light on the local cloud: one queue read per round, the ledger only for the
        sessions still open, every LEDGER_CHECK_SECONDS."""
        open_ids = {s.workflow_execution_id for s in sessions}
        last_check = time.monotonic()
        shown = ""
        while open_ids:
            for event in subscriber.receive(time.monotonic()):
                open_ids.discard(event.workflow_execution_id)
            now = time.monotonic()
            if now - last_check >= LEDGER_CHECK_SECONDS:
                last_check = now
                for workflow_id in list(open_ids):
                    if observe.session_ended(observe.ledger_items(self.ledger, workflow_id)):
                        open_ids.discard(workflow_id)
            text = f"{len(sessions) - len(open_ids)}/{len(sessions)} ended"
            if text != shown:
                shown = text
                self.say(f"{text} ({max(0.0, deadline - now):.0f} s left)")
            if not open_ids:
                break
            if now >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def paths(self, sessions: list[SoakSession]) -> list[pf.SessionPath]:
        """Each registered session's way through the state machine, from its history."""
        found = []
        for session in sessions:
            arn = observe.execution_arn(
                observe.ledger_items(self.ledger, session.workflow_execution_id)
            )
            if arn is None:
                continue
            started = self.sfn.describe_execution(executionArn=arn)["startDate"].timestamp()
            history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            events = [
                pf.HistoryEvent(
                    e["type"],
                    e["timestamp"].timestamp(),
                    (
                        e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails") or {}
                    ).get("name"),
                )
                for e in history
            ]
            found.append(pf.session_path(session.workflow_execution_id.lower(), started, events))
        return found

    def measure(self, count: int, faults: bool, seed: int) -> pf.RunFigures:
        label = f"{count}-{'faults' if faults else 'clean'}-{seed}"
        self.say(f"creating {count} accounts at the simulator (not measured)")
        sessions, images, subscriber = self.prepare(count, label)
        admin = self.runtime.simulator.admin
        if faults:
            admin.set_faults(fault_plan.fault_config(fault_plan.DEFAULT_RATES, seed))
        admin.clear_requests()
        ids = [s.workflow_execution_id for s in sessions]
        record = InvocationLog(ids)
        budget = self.args.deadline or lifetime_seconds(self.args.token_lifetime) + (
            DEADLINE_MARGIN_SECONDS
        )
        cpu = CpuMeter()
        self.say(f"racing {count} sessions, faults {'on' if faults else 'off'}")
        with (
            invocation_timing.recording(record),
            jumio_timer(self.runtime, ids) as calls,
            aws_timer() as aws_calls,
            write_lock_meter() as write_lock,
        ):
            cpu.start()
            deadline = time.monotonic() + budget
            self.deliver(sessions, images, seed, self.args.rate)
            finished = self.wait(sessions, subscriber, deadline)
            wall, own_cpu, worker_cpu = cpu.stop()
        admin.set_faults({})
        if not finished:
            self.say("NOT EVERY SESSION ENDED before the deadline: figures of the moment")
        figures = pf.run_figures(
            count, faults, self.paths(sessions), record.facts, list(calls), self.args.rate
        )
        self.report(figures, wall, own_cpu, worker_cpu)
        faulted = sum(1 for c in calls if c.fault is not None)
        print(
            f"Jumio requests of these sessions: {len(calls)}, {faulted} with a fault", file=self.out
        )
        print(pf.aws_table(pf.aws_loads(list(aws_calls), count), wall), file=self.out)
        print(
            f"local cloud DynamoDB write lock (one item write at a time): {write_lock.writes} "
            f"writes held it {write_lock.held:.1f} s of {wall:.0f} s wall "
            f"({write_lock.held / wall:.0%} busy), waited {write_lock.waited:.1f} s for it in all",
            file=self.out,
        )
        print("", file=self.out, flush=True)
        return figures

    def report(self, run: pf.RunFigures, wall: float, own: float, workers: float) -> None:
        print("", file=self.out)
        print(pf.headline(run), file=self.out)
        print(
            f"verdicts by the poll timer (callback dropped or late): {run.verdict_by_timer}; "
            f"CPU over {wall:.0f} s wall: local cloud process {own / wall:.2f} cores, Lambda "
            f"workers {workers / wall:.2f} cores (machine: {os.cpu_count()} cores, load "
            f"average {os.getloadavg()[0]:.1f})",
            file=self.out,
        )
        print(pf.path_table(run), file=self.out)
        print(pf.work_table(run), file=self.out)
        caps, lowest = concurrency_caps(self.runtime)
        print(pf.load_table(run, caps), file=self.out)
        print(pf.bottleneck_line(pf.bottleneck(run, lowest), run), file=self.out)
        print("", file=self.out, flush=True)


def concurrency_caps(runtime: LocalRuntime) -> tuple[dict[str, str], dict[str, int]]:
    """Per function: its caps as text (the warm pool's; for SQS sources, the poller's workers
    and where their number comes from), and the lowest of them."""
    text: dict[str, str] = {}
    lowest: dict[str, int] = {}
    for spec_name in {f.name for f in runtime.stack.functions.values()}:
        name = pf.short_function_name(spec_name)
        lowest[name] = invoker.concurrency_limit(spec_name)
        text[name] = f"pool {lowest[name]}"
    for source in runtime.stack.event_sources:
        name = pf.short_function_name(source.function_name)
        pollers = source.maximum_concurrency or runtime.poller.default_concurrency
        origin = "MaximumConcurrency" if source.maximum_concurrency else "poller default"
        text[name] = (
            f"{text.get(name, 'pool ?')}, {pollers} pollers ({origin}), batch {source.batch_size}"
        )
        lowest[name] = min(lowest.get(name, pollers), pollers)
    return text, lowest


# --- the command -----------------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    values = text.replace(",", " ").split()
    if not values or not all(v.isdigit() and int(v) > 0 for v in values):
        raise argparse.ArgumentTypeError(f'{text!r}: expected whole numbers, e.g. "10 50 100"')
    return [int(v) for v in values]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/bench_pipeline.py",
        description="Throughput and latency of the pipeline on the local cloud.",
    )
    parser.add_argument(
        "--sessions",
        type=_counts,
        default=_counts(DEFAULT_SESSIONS),
        help=f'N per run, a list (default "{DEFAULT_SESSIONS}")',
    )
    parser.add_argument(
        "--faults",
        choices=("on", "off", "both"),
        default="both",
        help="the soak's Jumio and callback faults (default both: off, then on)",
    )
    parser.add_argument("--seed", type=int, default=1, help="race order and faults (default 1)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP_SESSIONS,
        help=f"sessions run first, not measured (default {WARMUP_SESSIONS})",
    )
    parser.add_argument(
        "--token-lifetime",
        default="10m",
        help="Jumio tokenLifetime (default 10m): a stuck session expires then",
    )
    parser.add_argument(
        "--deadline", type=int, default=None, help="seconds per run (default: token lifetime + 180)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="sessions a minute, one after another (default 0: all N at once, as the soak)",
    )
    parser.add_argument(
        "--poll-schedule",
        default=demo_verdicts.FUNCTION_ENV["VERDICT_POLL_SCHEDULE_SECONDS"],
        help="VERDICT_POLL_SCHEDULE_SECONDS of the functions (default: Jumio's at a tenth, "
        "%(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger(MOTO_STATE_ERRORS_LOGGER).setLevel(logging.CRITICAL)
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.faults]
    print(
        f"bench-pipeline: N = {' '.join(map(str, args.sessions))}, faults "
        f"{args.faults}, seed {args.seed}, "
        f"{f'paced at {args.rate:g} sessions/min' if args.rate else 'all N at once'}; verdict poll schedule {args.poll_schedule} s "
        f"(Jumio's: 40,60,100,... s); faults when on: "
        f"{fault_plan.describe(fault_plan.DEFAULT_RATES)} on the pipeline's Jumio routes, "
        f"{fault_plan.describe_callbacks()}",
        file=out,
        flush=True,
    )
    env = {"VERDICT_POLL_SCHEDULE_SECONDS": args.poll_schedule}
    results: list[pf.RunFigures] = []
    with NotificationTap() as tap, running(echo_logs=False, function_env=env) as runtime:
        bench = Run(runtime, tap, args, out)
        if args.warmup:
            print(f"warm-up: {args.warmup} sessions, no faults (not measured)", file=out)
            started = time.monotonic()
            sessions, images, subscriber = bench.prepare(args.warmup, "warmup")
            bench.deliver(sessions, images, args.seed)
            bench.wait(sessions, subscriber, time.monotonic() + 300)
            print(f"  warm-up took {time.monotonic() - started:.0f} s", file=out, flush=True)
        for faults in modes:
            for count in args.sessions:
                print(f"run: N={count}, faults {'on' if faults else 'off'}", file=out, flush=True)
                results.append(bench.measure(count, faults, args.seed))
    print("SUMMARY", file=out)
    for run in results:
        print("  " + pf.headline(run), file=out)
    for line in pf.flatness_lines(pf.flatness(results)):
        print("  " + line, file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
