"""`make soak N=50` / `python -m tests.soak`: N sessions racing through the pipeline, with faults.

What it does, on the local cloud started the way `make demo` starts it (moto server, Lambda
worker processes, SQS pollers, Jumio simulator):
1. subscribes to the stack's verdict bus (a rule and an SQS queue created at run time, as a
   subscribing service would) and builds Jumio's callback URL from the stack's outputs and the
   CallbackSecret value;
2. creates N accounts at the simulator (workflow 10013: ID front/back, SELFIE face, DATA
   prepared data; that callback URL; a reference whose marker chooses the decision, see
   tests/soak/workload.py; a short token lifetime, so that a session that cannot finish
   expires and is counted) while faults are still off;
3. switches faults on for the routes the pipeline calls and for the callbacks
   (tests/soak/fault_plan.py);
4. delivers, in one seeded race from a thread pool, every registration (sessions queue), every
   capture (S3 PutObject, and the same S3 notification a second time) and every prepared-data
   message (prepared-data queue);
5. waits until every session has ended in the ledger (decided, expired or failed) and its
   execution has stopped, or the deadline;
6. reads the outcome from the outside (ledger, Step Functions histories, simulator, the events
   received, every DLQ) and prints the figures (tests/soak/figures.py). Exit 0 only if the goal
   holds: N sessions finalized exactly once and decided exactly once as asked (one event each),
   none stuck, no part lost, no duplicate part at Jumio, no message in any DLQ.

The functions poll for the verdict on Jumio's schedule at a tenth (first poll 4 s after
finalize instead of 40 s; local_cloud.demo_verdicts), so that a dropped callback costs seconds.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from local_cloud import demo_verdicts
from local_cloud.cli import sigterm_as_interrupt
from local_cloud.demo_verdicts import VerdictSubscriber
from local_cloud.report import ProgressLine, format_table
from local_cloud.runtime import LocalRuntime, running
from tests.soak import fault_plan, figures, observe
from tests.soak.notification_tap import NotificationTap
from tests.soak.workload import (
    CAPTURES,
    ORDERS,
    PARTS,
    Deliverer,
    SoakSession,
    capture_image,
    create_sessions,
    race,
    sent_before_registration,
)

SOURCE_QUEUES = ("SessionsQueue", "CaptureEventsQueue", "PreparedDataQueue")
POLL_SECONDS = 2.0
SUBSCRIBER_NAME = "soak-verdict-subscriber"  # the run-time rule and queue on the verdict bus
PROGRESS_EVERY_SECONDS = 30.0
DEADLINE_MARGIN_SECONDS = 180  # past the token lifetime: time for expiry to be recorded
# moto's ASL interpreter logs every failed state at ERROR, retried and caught ones included;
# the soak judges outcomes from the ledger, so these lines are only noise on its console.
MOTO_STATE_ERRORS_LOGGER = "moto.stepfunctions.parser"


def lifetime_seconds(text: str) -> int:
    """Jumio's tokenLifetime syntax (`10m`, `300s`, `1h`) in seconds; ValueError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600}
    if len(text) < 2 or not text[:-1].isdigit() or text[-1] not in units:
        raise ValueError(f"{text!r}: expected e.g. 10m, 300s, 1h")
    return int(text[:-1]) * units[text[-1]]


def _lifetime(text: str) -> str:
    try:
        seconds = lifetime_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not 300 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("between 5m (Jumio's minimum) and 1h")
    return text


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _rates(text: str) -> dict[str, float]:
    try:
        return fault_plan.parse_rates(text)
    except fault_plan.FaultRatesError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.soak",
        description="Soak the pipeline on the local cloud: N racing sessions, faults, "
        "every S3 notification twice, callbacks dropped and sent twice. Exit 0 only if every "
        "session is finalized exactly once and decided exactly once as asked.",
    )
    parser.add_argument("--sessions", type=_positive_int, default=50, help="N (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="race order and faults (default 1)")
    parser.add_argument(
        "--token-lifetime",
        type=_lifetime,
        default="10m",
        help="Jumio tokenLifetime of each account (default 10m): a stuck session expires then",
    )
    parser.add_argument(
        "--deadline",
        type=_positive_int,
        default=None,
        help="seconds from the start of the race (default: token lifetime + 180)",
    )
    parser.add_argument(
        "--fault-rates",
        type=_rates,
        default=dict(fault_plan.DEFAULT_RATES),
        metavar="KEY=VALUE,...",
        help="override the defaults p500=0.1,p503=0.1,p429=0.1,retryAfter=1,pDrop=0.05 "
        "(also pReset, latencyMs)",
    )
    parser.add_argument("--no-faults", action="store_true", help="no fault injection at all")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="shuffled",
        help="shuffled (default); data-first: every capture and data message before any "
        "registration; registration-first",
    )
    parser.add_argument("--verbose", action="store_true", help="echo the function logs")
    return parser


class Soak:
    """One soak run against a running local cloud."""

    def __init__(self, runtime: LocalRuntime, args: argparse.Namespace, out: TextIO) -> None:
        self.runtime = runtime
        self.args = args
        self.out = out
        self.progress = ProgressLine(out)
        self.sqs = runtime.client("sqs")
        self.sfn = runtime.client("stepfunctions")
        self.ledger = runtime.resource("dynamodb").Table(runtime.stack.physical("LedgerTable"))
        self.subscriber = VerdictSubscriber(
            runtime.client("events"),
            self.sqs,
            str(runtime.stack.outputs["VerdictBusName"]),
            name=SUBSCRIBER_NAME,
        )

    def say(self, text: str) -> None:
        self.progress.say(text)

    def prepare(self) -> tuple[list[SoakSession], dict[tuple[int, str], bytes]]:
        """The verdict subscription, accounts at the simulator with the callback URL (faults
        still off) and one distinct JPEG per capture."""
        self.subscriber.subscribe()
        callback_url = demo_verdicts.operator_callback_url(
            self.runtime.stack.outputs, self.runtime.client("secretsmanager")
        )
        lifetime = self.args.token_lifetime
        self.say(
            f"subscribed to {self.subscriber.bus_name} (rule + queue "
            f"{self.subscriber.name}); creating {self.args.sessions} account(s) at the "
            f"simulator, tokenLifetime {lifetime}, callbackUrl {demo_verdicts.masked(callback_url)}"
        )
        sessions = create_sessions(
            self.runtime.simulator.create_account, self.args.sessions, lifetime, callback_url
        )
        images = {
            (s.index, classifier): capture_image(s.index, classifier)
            for s in sessions
            for _, classifier in CAPTURES
        }
        return sessions, images

    def switch_faults_on(self) -> str:
        """Faults on the Credentials routes; the request log then only shows the pipeline."""
        admin = self.runtime.simulator.admin
        if self.args.no_faults:
            description = "none (--no-faults)"
        else:
            admin.set_faults(fault_plan.fault_config(self.args.fault_rates, self.args.seed))
            description = (
                f"{fault_plan.describe(self.args.fault_rates)} on "
                f"{', '.join(fault_plan.PIPELINE_ROUTES)}; {fault_plan.describe_callbacks()}"
            )
        admin.clear_requests()
        return description

    def deliver(
        self,
        sessions: list[SoakSession],
        images: dict[tuple[int, str], bytes],
        tap: NotificationTap,
    ) -> Deliverer:
        """The race: every delivery from a thread pool, in the seeded order."""
        stack = self.runtime.stack
        deliverer = Deliverer(
            sqs=self.sqs,
            s3=self.runtime.client("s3"),
            bucket=stack.physical("CapturesBucket"),
            sessions_queue_url=stack.physical("SessionsQueue"),
            prepared_data_queue_url=stack.physical("PreparedDataQueue"),
            capture_events_queue_url=stack.physical("CaptureEventsQueue"),
            tap=tap,
            images=images,
        )
        deliveries = race(sessions, random.Random(self.args.seed), self.args.order)
        deliverer.deliver_all(deliveries)
        return deliverer

    def wait(self, sessions: list[SoakSession], deadline: float) -> bool:
        """Poll the ledger until every session has ended and its execution stopped (True), or
        the deadline (False).

        A progress line is printed when the counts change, and every half minute regardless.
        """
        last_counts, last_shown = "", 0.0
        while True:
            statuses, landed, ended, arns = [], 0, 0, []
            for session in sessions:
                items = observe.ledger_items(self.ledger, session.workflow_execution_id)
                statuses.append(observe.session_status(items))
                ended += observe.session_ended(items)
                arns.append(observe.execution_arn(items))
                landed += sum(
                    1
                    for i in items
                    if i["sk"].startswith("PART#") and i.get("status") == "UPLOADED"
                )
            self.subscriber.receive(time.monotonic())
            total = len(sessions)
            counts = (
                f"registered {sum(s is not None for s in statuses)}/{total}  "
                f"parts landed {landed}/{total * len(PARTS)}  "
                f"finalized {statuses.count('FINALIZED')}  ended {ended}/{total}  "
                f"events {len(self.subscriber.received)}"
            )
            now = time.monotonic()
            if counts != last_counts or now - last_shown >= PROGRESS_EVERY_SECONDS:
                self.progress.update(f"{counts}  {max(0.0, deadline - now):.0f} s left")
                last_counts, last_shown = counts, now
            if ended == total and not any(observe.running(self.sfn, arn) for arn in arns):
                return True
            if now >= deadline:
                return False
            time.sleep(POLL_SECONDS)

    def report(
        self, sessions: list[SoakSession], faults: str, deliverer: Deliverer, finished: bool
    ) -> int:
        """Read the outcome, print everything, return the exit code."""
        stack = self.runtime.stack
        admin = self.runtime.simulator.admin
        early = sent_before_registration(deliverer.finished)
        admin.flush_callbacks()  # late duplicates go out now: they must change nothing
        self.subscriber.receive(time.monotonic())
        events = observe.events_seen(event for event, _ in self.subscriber.received)
        callbacks = demo_verdicts.callback_fates(admin.callbacks())
        views = observe.session_views(
            self.ledger, self.sfn, admin.state(), sessions, early, events, callbacks
        )
        queues = {
            logical_id: stack.physical(logical_id)
            for logical_id, resource in stack.resources.items()
            if resource.type == "AWS::SQS::Queue"
        }
        dlqs = observe.dead_letter_queues(self.sqs, queues)
        letters = observe.read_dead_letters(self.sqs, dlqs, sessions)
        result = figures.compute(views, letters)
        depths = observe.queue_depths(
            self.sqs, {q: queues[q] for q in SOURCE_QUEUES if q in queues}
        )
        print_ = self.progress.say
        self.progress.close()
        blocks = [
            "",
            f"SOAK RESULT: {len(sessions)} sessions, seed {self.args.seed}, order {self.args.order}, "
            f"tokenLifetime {self.args.token_lifetime}; faults: {faults}",
            "sent: " + ", ".join(f"{what} {n}" for what, n in sorted(deliverer.sent.items())),
            *([] if finished else ["NOT EVERY SESSION HAD AN END STATE when the wait ended"]),
            "",
            figures.figures_table(result),
            "",
            "Verdicts (asked by the reference; published: the event the soak's subscriber got;",
            " arrived by: the ledger's verdictSource; callback: what the simulator did with it):",
            figures.verdict_table(views),
            "",
            "Dead letters (every DLQ of the stack, by its `reason` message attribute):",
            figures.dead_letter_table(result),
            "",
            "Parts (ledger outcome, presence at Jumio, DLQ messages naming the part):",
            figures.part_outcome_table(views, letters),
            "",
            "Writes Jumio accepted per part (no retakes are sent: beyond one per part is a re-send):",
            figures.resend_table(views),
            "",
            "Jumio requests of the pipeline (simulator request log):",
            figures.jumio_traffic_table(observe.jumio_requests(admin.requests())),
            "",
            "Still in the source queues at the end (visible / in flight):",
            format_table(
                ["queue", "visible", "in flight"], [(q, v, f) for q, (v, f) in depths.items()]
            ),
            "(not judged: a message in flight waits out its queue's visibility timeout)",
            "",
            "Sessions not finalized or not decided exactly once:",
            figures.failing_sessions_table(views, letters),
            "",
        ]
        for block in blocks:
            print_(block, stamp=False)
        problems = result.problems
        if problems:
            print_("SOAK GOAL NOT MET: " + "; ".join(problems), stamp=False)
            return 1
        print_(
            f"SOAK GOAL MET: {len(sessions)} session(s) finalized and decided exactly once",
            stamp=False,
        )
        return 0

    def run(self, tap: NotificationTap) -> int:
        sessions, images = self.prepare()
        faults = self.switch_faults_on()
        lifetime = lifetime_seconds(self.args.token_lifetime)
        budget = self.args.deadline or lifetime + DEADLINE_MARGIN_SECONDS
        self.say(f"faults: {faults}")
        self.say(
            f"racing {len(sessions)} registrations, {len(sessions) * len(CAPTURES)} captures "
            f"(each S3 notification twice) and {len(sessions)} prepared-data messages; "
            f"order {self.args.order}, seed {self.args.seed}, deadline {budget} s"
        )
        deadline = time.monotonic() + budget
        deliverer = self.deliver(sessions, images, tap)
        self.say("everything sent; waiting for every session to end (verdict, expired or failed)")
        try:
            finished = self.wait(sessions, deadline)
        except KeyboardInterrupt:  # Ctrl-C ends the wait early; the figures are still printed
            self.say("interrupted: the figures below are those of the moment")
            self.report(sessions, faults, deliverer, finished=False)
            return 130
        return self.report(sessions, faults, deliverer, finished)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Start the local cloud, run the soak, stop everything; the exit code is the verdict."""
    args = build_parser().parse_args(argv)
    logging.getLogger(MOTO_STATE_ERRORS_LOGGER).setLevel(logging.CRITICAL)
    print(
        f"Starting the local cloud for a soak of {args.sessions} session(s) ...",
        file=out,
        flush=True,
    )
    try:
        with (
            sigterm_as_interrupt(),
            NotificationTap() as tap,
            running(echo_logs=args.verbose, function_env=demo_verdicts.FUNCTION_ENV) as runtime,
        ):
            print(
                f"  endpoint {runtime.endpoint_url}, Jumio simulator {runtime.simulator.base_url}",
                file=out,
                flush=True,
            )
            code = Soak(runtime, args, out).run(tap)
    except KeyboardInterrupt:
        print("\nSoak interrupted; stopped.", file=out, flush=True)
        return 130
    print("Local cloud stopped.", file=out, flush=True)
    return code
