"""The operator's one entry point: `python -m jumio_pipeline_ops --stack NAME <command>`.

A deployed stack is named with ``--stack`` (its resources come from CloudFormation); the local
cloud of ``make up`` with ``--endpoint`` (and ``--stack`` if it is not ``jumio-local``). Tests
hand in a provisioned local stack through ``main(argv, stack=...)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from jumio_pipeline_ops import dead_letters, erase, status, stuck
from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.durations import parse_duration
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.stack import (
    LOCAL_STACK_NAME,
    Cloud,
    CloudFormationStack,
    InjectedStack,
    LocalEndpointStack,
    Resources,
    cloud_for,
)

EXIT_ERROR = 2
JSON_HELP = "print JSON instead of text"
SCOPES = ("SESSION", "ACCOUNT", "PART", "DOCUMENT_PAGES")


def main(
    argv: Sequence[str] | None = None,
    *,
    stack: Any = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run one command; the exit code (0 fine, 1 a failed outcome, 2 an error, 3 still running).

    ``stack`` is a local ``Stack`` from the provisioner (tests); ``now`` and ``sleep`` replace
    the clock.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        cloud, resources = _target(args, stack)
        ctx = Context(cloud, resources, out, args.as_json, now, sleep)
        return _dispatch(ctx, args)
    except OpsError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR
    except ClientError as exc:
        error = exc.response.get("Error", {})
        err.write(f"error: AWS refused {exc.operation_name}: {error.get('Code')}\n")
        return EXIT_ERROR
    except BotoCoreError as exc:
        err.write(f"error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m jumio_pipeline_ops",
        description="Operate the Jumio capture pipeline: sessions, stuck work, DLQs, erasure.",
    )
    root.add_argument("--json", dest="as_json", action="store_true", help=JSON_HELP)
    # `--json` is also taken after the command; there it must not reset the root's value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", dest="as_json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP
    )
    root.add_argument("--stack", help="the stack name (deployed; or the local one)")
    root.add_argument("--endpoint", help="the local cloud's endpoint (make up prints it)")
    root.add_argument("--region", help="AWS region (default: your AWS configuration)")
    root.add_argument("--profile", help="AWS profile")
    commands = root.add_subparsers(dest="command", required=True, metavar="command")

    show = commands.add_parser(
        "status", parents=[common], help="one session: ledger, execution, erasures"
    )
    show.add_argument("session", help="workflowExecutionId or reference")
    show.add_argument(
        "--scan",
        action="store_true",
        help="a reference without a start claim: search the ledger's sessions for it (a Scan)",
    )

    hanging = commands.add_parser("stuck", parents=[common], help="sessions that stopped moving")
    hanging.add_argument("--older-than", default="30m", type=_duration, help="e.g. 30m, 2h")

    dlq = commands.add_parser("dlq", help="dead-letter queues")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="command")
    dlq_commands.add_parser("list", parents=[common], help="messages per DLQ, by reason")
    redrive = dlq_commands.add_parser(
        "redrive", parents=[common], help="move messages back to the DLQ's source queue"
    )
    redrive.add_argument("queue", help="the DLQ's logical name, e.g. PreparedDataDLQ")
    redrive.add_argument("--reason", help="only messages parked with this reason")
    redrive.add_argument("--dry-run", action="store_true", help="count, move nothing")

    eraser = commands.add_parser("erase", parents=[common], help="file a retention request")
    eraser.add_argument("--scope", required=True, choices=SCOPES)
    eraser.add_argument("--workflow-execution-id")
    eraser.add_argument("--account-id")
    eraser.add_argument("--credential-id")
    eraser.add_argument("--classifier", help="FRONT, BACK or FACE (scope PART)")
    eraser.add_argument("--requested-by", required=True, help="an employee or ticket id")
    eraser.add_argument("--request-id", help="default: a new ops-<uuid>")
    eraser.add_argument("--timeout", type=float, default=120, help="seconds to wait (120)")
    return root


def _dispatch(ctx: Context, args: argparse.Namespace) -> int:
    if args.command == "status":
        return status.run(ctx, args.session, scan=args.scan)
    if args.command == "stuck":
        return stuck.run(ctx, args.older_than)
    if args.command == "dlq" and args.dlq_command == "list":
        return dead_letters.run_list(ctx)
    if args.command == "dlq":
        return dead_letters.run_redrive(ctx, args.queue, reason=args.reason, dry_run=args.dry_run)
    body = erase.request_body(
        scope=args.scope,
        requested_by=args.requested_by,
        request_id=args.request_id,
        workflow_execution_id=args.workflow_execution_id,
        account_id=args.account_id,
        credential_id=args.credential_id,
        classifier=args.classifier,
    )
    return erase.run(ctx, body, timeout=args.timeout)


def _target(args: argparse.Namespace, stack: Any) -> tuple[Cloud, Resources]:
    """The AWS session and the stack's resources the options (or a test) name."""
    if stack is not None:
        cloud = Cloud(boto3.Session(), region=stack.region, endpoint_url=stack.endpoint_url)
        return cloud, InjectedStack(stack)
    if args.endpoint:
        cloud = cloud_for(region=args.region, profile=args.profile, endpoint_url=args.endpoint)
        return cloud, LocalEndpointStack(cloud, args.stack or LOCAL_STACK_NAME)
    if not args.stack:
        raise OpsError("name the stack: --stack NAME (deployed) or --endpoint URL (local cloud)")
    cloud = cloud_for(region=args.region, profile=args.profile, endpoint_url=None)
    return cloud, CloudFormationStack(cloud, args.stack)


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
