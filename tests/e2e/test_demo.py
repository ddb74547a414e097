"""End to end: `demo` and `up` run as real processes, the way an engineer runs them.

Why subprocesses: the point of the local cloud is the commands themselves — their start-up,
their output, their exit codes and their clean stop (no Lambda child process left behind).
The `up` test drives the running cloud only through what `up` printed: the capture goes in
with the AWS CLI example command itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.images import make_jpeg

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "local_cloud"]
AWS_CLI = ROOT / ".venv" / "aws" / "bin" / "aws"
DEMO_TIMEOUT_SECONDS = 600  # generous: a slow CI machine with 2 cores
READY_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30
READY_MARKER = "LOCAL_CLOUD_READY "

pytestmark = pytest.mark.e2e


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(PYTHONUNBUFFERED="1", AWS_DEFAULT_REGION="us-east-1")
    return env


def _session_members(session_id: int) -> list[int]:
    """Every live process whose session id is `session_id` (Linux /proc)."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # After ')': state, ppid, pgrp, session, ...; zombies are already gone for our purpose.
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def test_demo_with_three_sessions_finalizes_all_shows_the_rejection_and_each_verdict() -> None:
    process = subprocess.Popen(
        [*CLI, "demo", "--sessions", "3"],
        cwd=ROOT,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=DEMO_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    assert _session_members(process.pid) == []  # no Lambda worker outlived the demo
    rows = [line.split() for line in completed.stdout.splitlines() if line.startswith("demo-")]
    assert len(rows) == 3, completed.stdout[-3000:]
    # session, workflow execution, parts landed, finalize calls, verdict, label, arrived by,
    # callback, end state, s to finalize, s to verdict, erased
    assert all(row[2] == "4/4" and row[3] == "1" for row in rows), rows
    verdicts = {row[0]: (row[4], row[5], row[8]) for row in rows}
    assert verdicts == {
        "demo-1": ("PASSED", "PASSED", "Passed"),
        "demo-2-reject": ("REJECTED", "MANIPULATED_DOCUMENT", "Rejected"),
        "demo-3-warn": ("WARNING", "ALERT", "Warning"),
    }, rows
    # The second callback to go out is dropped: that session's verdict can only come by polling.
    assert [row[6] for row in rows if row[7] == "dropped"] == ["polling"], rows
    assert all(row[6] in ("callback", "polling") for row in rows), rows
    assert sum(1 for row in rows if row[-1] == "yes") == 1, rows
    assert "Callback URL for Jumio" in completed.stdout
    assert "<CallbackSecret, 48 characters>" in completed.stdout
    assert re.search(r"REJECTED captures/\S+/FRONT\.jpg$", completed.stdout, re.M)
    assert "reason TOO_SMALL:" in completed.stdout
    assert "object tag: rejection-reason=TOO_SMALL" in completed.stdout
    assert "(retake)" in completed.stdout
    assert "DEMO OK: 3 session(s)" in completed.stdout


def _ignore_sigint() -> None:
    """As a non-interactive shell does for `make up &`: the child starts with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class RunningUp:
    """`up` as a child process in its own session, its output collected by a thread.

    It starts with SIGINT ignored, the worst case it can inherit (CI, a background job):
    Ctrl-C must stop it all the same.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [*CLI, "up"],
            cwd=ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_ignore_sigint,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.info: dict[str, Any] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(READY_MARKER):
                self.info = json.loads(line[len(READY_MARKER) :])
                self.ready.set()

    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.ready.wait(0.5):
            assert self.process.poll() is None, f"up exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"up printed no endpoint:\n{self.output()}"
        return self.info

    def interrupt(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C does: the whole group
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"up did not stop after Ctrl-C:\n{self.output()}") from None
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def up() -> Iterator[RunningUp]:
    running = RunningUp()
    try:
        yield running
    finally:
        running.kill()


def _client(service: str, info: dict[str, Any]) -> Any:
    return boto3.client(
        service,
        endpoint_url=info["endpoint"],
        region_name=info["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_up_takes_a_capture_dropped_with_the_printed_names_and_stops_cleanly(up, tmp_path) -> None:
    info = up.wait_ready()
    names = info["resources"]
    assert f"aws --endpoint-url {info['endpoint']} s3 cp ./front.jpg s3://" in up.output()

    helper = subprocess.run(
        [
            *CLI,
            "session",
            "--endpoint-url",
            info["endpoint"],
            "--jumio-url",
            info["jumio"],
            "--sessions-queue-url",
            names["SessionsQueue"],
            "--prepared-data-queue-url",
            names["PreparedDataQueue"],
            "--bucket",
            names["CapturesBucket"],
        ],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    session = json.loads(helper.stdout)
    workflow_id = session["workflowExecutionId"]
    front_key = session["keys"]["FRONT"]
    assert front_key == (f"captures/{workflow_id}/{session['credentials']['ID']}/FRONT.jpg")

    # The example command `up` printed, run with the real AWS CLI (make test installs it).
    front = tmp_path / "front.jpg"
    front.write_bytes(make_jpeg(1000, 700))
    assert AWS_CLI.exists(), (
        f"{AWS_CLI} is missing: `make test` installs it (requirements/awscli.txt)"
    )
    subprocess.run(
        [
            str(AWS_CLI),
            "--endpoint-url",
            info["endpoint"],
            "--region",
            info["region"],
            "s3",
            "cp",
            str(front),
            f"s3://{names['CapturesBucket']}/{front_key}",
        ],
        cwd=ROOT,
        env={**_environment(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ledger = _client("dynamodb", info)
    part_key = {"pk": {"S": workflow_id}, "sk": {"S": f"PART#{session['credentials']['ID']}#FRONT"}}
    status = None
    deadline = time.monotonic() + 90
    while status != "UPLOADED" and time.monotonic() < deadline:
        item = ledger.get_item(
            TableName=names["LedgerTable"], Key=part_key, ConsistentRead=True
        ).get("Item")
        status = item["status"]["S"] if item else None
        time.sleep(0.3)
    assert status == "UPLOADED", up.output()

    session_id = up.process.pid  # start_new_session: the child leads its own session
    assert up.interrupt() == 0, up.output()
    assert "Stopped cleanly." in up.output()
    assert _session_members(session_id) == []
