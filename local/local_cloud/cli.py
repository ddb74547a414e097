"""`python -m local_cloud up | demo | session`: the local cloud's command line.

Why a thin layer: argument parsing and signal handling only; starting things is
`local_cloud.runtime`, the demo's story is `local_cloud.demo`, the hand-driven registration is
`local_cloud.session_helper`. Ctrl-C and SIGTERM both end in the same orderly stop.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_cloud.runtime import TEMPLATE, LocalRuntime, running
from local_cloud.template import TemplateError

READY_MARKER = "LOCAL_CLOUD_READY"  # one JSON line after it, for scripts and tests


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535 (0 picks a free one), got {value}")
    return value


def _function_url_port(text: str) -> tuple[str, int]:
    name, _, port = text.partition("=")
    if not name or not port:
        raise argparse.ArgumentTypeError(f"expected FunctionLogicalId=PORT, got {text!r}")
    return name, _port(port)


def build_parser() -> argparse.ArgumentParser:
    """The three commands and their options."""
    parser = argparse.ArgumentParser(
        prog="python -m local_cloud",
        description="Run the pipeline of template.yaml on this machine (moto + Jumio simulator).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    up = commands.add_parser("up", help="start everything and keep running until Ctrl-C")
    up.add_argument("--port", type=_port, default=0, help="moto server port (0: a free one)")
    up.add_argument("--quiet", action="store_true", help="do not echo function logs")
    up.add_argument(
        "--function-url-port",
        type=_function_url_port,
        action="append",
        default=[],
        metavar="FUNCTION=PORT",
        help="serve a function's URL on this port (default: a free one); repeatable",
    )
    up.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)

    demo = commands.add_parser("demo", help="run N sessions end to end and check the outcome")
    demo.add_argument("--sessions", type=_positive_int, default=5, help="how many (default 5)")
    demo.add_argument(
        "--timeout",
        type=_positive_int,
        default=None,
        help="seconds each step may take (default 60 + 3 N)",
    )
    demo.add_argument("--verbose", action="store_true", help="echo function logs too")
    demo.add_argument("--port", type=_port, default=0, help="moto server port (0: a free one)")
    demo.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)

    session = commands.add_parser("session", help="register one session on a running `up`")
    session.add_argument("--endpoint-url", required=True, help="what `up` printed as endpoint")
    session.add_argument("--jumio-url", required=True, help="the simulator's base URL")
    session.add_argument("--sessions-queue-url", required=True)
    session.add_argument("--prepared-data-queue-url", required=True)
    session.add_argument("--bucket", required=True, help="the captures bucket")
    session.add_argument("--workflow-key", type=int, default=10013)
    return parser


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM both take the clean path (KeyboardInterrupt in the main thread).

    SIGINT gets Python's handler explicitly: a process started in the background by a
    non-interactive shell (CI, `make up &`) inherits SIGINT as ignored, and Python then
    installs no KeyboardInterrupt handler, so Ctrl-C would do nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def function_url_lines(runtime: LocalRuntime) -> list[str]:
    """The banner's function URL section (none when the template has no function URL)."""
    urls = runtime.function_urls()
    if not urls:
        return []
    width = max(len(name) for name in urls)
    lines = ["Function URLs (AWS_IAM ones need SigV4: service lambda, the keys above):"]
    for name, entry in urls.items():
        lines.append(f"  {name.ljust(width)}  {entry['url']}   (AuthType {entry['authType']})")
    return [*lines, ""]


def up_banner(runtime: LocalRuntime) -> str:
    """What an operator needs: endpoint, resource names and commands to try."""
    names = runtime.resource_names()
    endpoint = runtime.endpoint_url
    aws = f"aws --endpoint-url {endpoint}"
    width = max(len(name) for name in names)
    lines = [
        "",
        "Local cloud is up (moto server + Jumio simulator, template.yaml provisioned).",
        f"  endpoint         {endpoint}   (region {runtime.stack.region}; any credentials, "
        "e.g. AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing)",
        f"  Jumio simulator  {runtime.simulator.base_url}   (admin: /__admin/state)",
        "",
        "Resources:",
        *(f"  {name.ljust(width)}  {value}" for name, value in names.items()),
        "",
        *function_url_lines(runtime),
        "Try it (any AWS CLI; `make awscli` puts a pinned one at .venv/aws/bin/aws):",
        "  1. register a session (an account at the simulator, sent to the sessions queue):",
        f"     .venv/bin/python -m local_cloud session --endpoint-url {endpoint} "
        f"--jumio-url {runtime.simulator.base_url} "
        f"--sessions-queue-url {names['SessionsQueue']} "
        f"--prepared-data-queue-url {names['PreparedDataQueue']} --bucket {names['CapturesBucket']}",
        "  2. drop a capture (JPEG or PNG, longest side over 300 px):",
        f"     {aws} s3 cp ./front.jpg "
        f"s3://{names['CapturesBucket']}/captures/<workflowExecutionId>/<credentialId>/FRONT.jpg",
        "  3. send prepared data:",
        f"     {aws} sqs send-message --queue-url {names['PreparedDataQueue']} --message-body "
        '\'{"workflowExecutionId": "<workflowExecutionId>", "data": {"firstName": "Demo"}}\'',
        "  4. watch it:",
        f"     {aws} dynamodb query --table-name {names['LedgerTable']} "
        "--key-condition-expression 'pk = :w' "
        '--expression-attribute-values \'{":w": {"S": "<workflowExecutionId>"}}\'',
        f"     {aws} stepfunctions list-executions --state-machine-arn "
        f"{names['SessionStateMachine']}",
        f"     {aws} logs tail /aws/lambda/{runtime.stack.functions['AddPartFunction'].name}",
        "",
        "Function logs follow, prefixed by the function name. Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def ready_line(runtime: LocalRuntime) -> str:
    """One machine-readable line (for scripts and the e2e test) with endpoint and names."""
    document = {
        "endpoint": runtime.endpoint_url,
        "jumio": runtime.simulator.base_url,
        "region": runtime.stack.region,
        "resources": runtime.resource_names(),
        "functionUrls": {name: entry["url"] for name, entry in runtime.function_urls().items()},
    }
    return f"{READY_MARKER} {json.dumps(document)}"


def command_up(args: argparse.Namespace) -> int:
    """Start everything, print how to use it, run until interrupted."""
    stop = threading.Event()
    print("Starting the Jumio simulator, the moto server and the stack ...", flush=True)
    try:
        with (
            sigterm_as_interrupt(),
            running(
                port=args.port,
                echo_logs=not args.quiet,
                template=args.template,
                function_url_ports=dict(args.function_url_port),
            ) as runtime,
        ):
            print(up_banner(runtime), flush=True)
            print(ready_line(runtime), flush=True)
            try:
                while not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                print("\nStopping ...", flush=True)
    except KeyboardInterrupt:
        print("\nInterrupted while starting; stopped.", flush=True)
        return 130
    print("Stopped cleanly.", flush=True)
    return 0


def command_demo(args: argparse.Namespace) -> int:
    """Start everything, run the demo, stop; the exit code is the demo's verdict."""
    from local_cloud import demo

    timeout = args.timeout or 60 + 3 * args.sessions
    print(f"Starting the local cloud for a demo of {args.sessions} session(s) ...", flush=True)
    try:
        with (
            sigterm_as_interrupt(),
            running(
                port=args.port,
                echo_logs=args.verbose,
                template=args.template,
                function_env=demo.FUNCTION_ENV,
            ) as runtime,
        ):
            print(
                f"  endpoint {runtime.endpoint_url}, Jumio simulator {runtime.simulator.base_url}"
            )
            code = demo.run(runtime, args.sessions, sys.stdout, timeout=timeout)
    except KeyboardInterrupt:
        print("\nDemo interrupted; stopped.", flush=True)
        return 130
    return code


def command_session(args: argparse.Namespace) -> int:
    """Register one session on a running local cloud and print what to upload where."""
    from local_cloud.session_helper import SessionTarget, create_and_register, describe

    target = SessionTarget(
        endpoint_url=args.endpoint_url,
        jumio_url=args.jumio_url,
        sessions_queue_url=args.sessions_queue_url,
        bucket=args.bucket,
        prepared_data_queue_url=args.prepared_data_queue_url,
    )
    session = create_and_register(target, args.workflow_key)
    print(json.dumps(describe(session, target), indent=2))
    return 0


COMMANDS = {"up": command_up, "demo": command_demo, "session": command_session}


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except TemplateError as error:  # names the resource or property the local cloud cannot run
        print(f"local cloud: template.yaml cannot run locally: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
