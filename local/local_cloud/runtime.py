"""Start the whole local cloud in one process, and stop it with nothing left behind.

Why one place: `up`, `demo` and the end-to-end tests need exactly the same start order
(simulator → moto server with Step Functions execution and the subprocess invoker → template
provisioned with JumioBaseUrl = the simulator → tenant secret → SQS pollers) and the reverse
stop order, including the Lambda child processes that may still be running.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from jumio_simulator.testing import SimulatorHandle, run_simulator
from local_cloud import credentials, server
from local_cloud.poller import EventSourcePoller
from local_cloud.provisioner import provision
from local_cloud.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FAKE_CREDENTIALS = {
    "aws_access_key_id": credentials.ACCESS_KEY_ID,
    "aws_secret_access_key": credentials.SECRET_ACCESS_KEY,  # moto's fake credentials
}
# Logical ids whose physical names an operator needs to drive the pipeline by hand.
NAMED_RESOURCES = (
    "CapturesBucket",
    "SessionsQueue",
    "PreparedDataQueue",
    "RetentionRequestsQueue",
    "CaptureEventsDLQ",
    "SessionsDLQ",
    "PreparedDataDLQ",
    "RetentionRequestsDLQ",
    "SessionStateMachine",
    "LedgerTable",
    "IdempotencyTable",
    "AuditTable",
    "JumioTenantCredentials",
)


@dataclass
class LocalRuntime:
    """Everything `running()` started: where it is, and boto3 clients pointed at it."""

    endpoint_url: str
    simulator: SimulatorHandle
    stack: Stack
    poller: EventSourcePoller

    def client(self, service: str) -> Any:
        """A boto3 client for the local endpoint (never a real AWS account)."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.stack.region,
            **FAKE_CREDENTIALS,
        )

    def resource(self, service: str) -> Any:
        """A boto3 resource for the local endpoint (DynamoDB tables)."""
        return boto3.resource(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.stack.region,
            **FAKE_CREDENTIALS,
        )

    def function_url(self, name: str) -> str:
        """A function URL (`http://127.0.0.1:<port>/`) by function logical id or name."""
        return self.stack.function_url(name)

    def function_urls(self) -> dict[str, dict[str, str]]:
        """Function logical id → {"url", "authType"} of every function URL of the stack."""
        return {
            logical_id: {"url": entry.url, "authType": entry.auth_type}
            for logical_id, entry in sorted(self.stack.function_urls.items())
        }

    def resource_names(self) -> dict[str, str]:
        """Logical id → physical name/URL/ARN of the resources an operator uses."""
        return {
            logical_id: str(self.stack.physical(logical_id))
            for logical_id in NAMED_RESOURCES
            if logical_id in self.stack.resources
        }


def store_tenant_credentials(runtime: LocalRuntime) -> None:
    """Put the simulator's OAuth client into the secret the deletion function reads."""
    secret = json.dumps(
        {"clientId": runtime.simulator.client_id, "clientSecret": runtime.simulator.client_secret}
    )
    runtime.client("secretsmanager").put_secret_value(
        SecretId=runtime.stack.physical("JumioTenantCredentials"), SecretString=secret
    )


def stop_running_executions(runtime: LocalRuntime) -> int:
    """Stop executions still waiting (e.g. for parts), so no task starts a Lambda during stop."""
    sfn = runtime.client("stepfunctions")
    arn = runtime.stack.physical("SessionStateMachine")
    stopped = 0
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, statusFilter="RUNNING"
    )
    for page in pages:
        for execution in page["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"], cause="local cloud stopped")
            stopped += 1
    return stopped


def child_pids(parent: int | None = None) -> list[int]:
    """Direct children of a process, from /proc (Linux); empty where /proc is absent."""
    parent = os.getpid() if parent is None else parent
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def reap_children(grace_seconds: float = 5.0) -> list[int]:
    """Wait briefly for Lambda children still running, then terminate them by pid."""
    deadline = time.monotonic() + grace_seconds
    remaining = child_pids()
    while remaining and time.monotonic() < deadline:
        time.sleep(0.1)
        remaining = child_pids()
    for pid in remaining:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in remaining:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            continue
    return remaining


@contextmanager
def running(
    *,
    port: int = 0,
    echo_logs: bool = True,
    processing_delay: float = 0.2,
    parameters: dict[str, Any] | None = None,
    template: Path = TEMPLATE,
    function_url_ports: dict[str, int] | None = None,
    function_env: dict[str, str] | None = None,
) -> Iterator[LocalRuntime]:
    """Start simulator, moto server, stack (with its function URLs) and pollers; on exit stop
    them in reverse order. `function_env` is added to every function's environment."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per moto request
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    with ExitStack() as cleanup:
        cleanup.callback(reap_children)  # last: any Lambda child still alive is ended by pid
        simulator = cleanup.enter_context(run_simulator(processing_delay=processing_delay))
        cloud = server.start(port, echo_logs=echo_logs, function_env=function_env)
        cleanup.callback(cloud.stop)  # also stops the invoker's warm Lambda workers
        stack = provision(
            template,
            parameters={"JumioBaseUrl": simulator.base_url, **(parameters or {})},
            endpoint_url=cloud.endpoint_url,
            function_url_ports=function_url_ports,
        )
        cleanup.callback(stack.close)  # function URLs stop before the Lambda runner they call
        poller = EventSourcePoller(stack)
        runtime = LocalRuntime(cloud.endpoint_url, simulator, stack, poller)
        store_tenant_credentials(runtime)
        cleanup.callback(stop_running_executions, runtime)
        poller.start()
        cleanup.callback(poller.stop)
        yield runtime
