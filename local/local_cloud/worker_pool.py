"""Warm Lambda workers: long-lived child processes per function, reused across invocations.

Why: a cold child pays ~1 s of imports (boto3, Powertools, pydantic, Pillow) on every call,
which makes the local pipeline crawl. Lambda keeps execution environments warm; so does this:
a worker imports the handler once and serves one invocation at a time over length-prefixed
JSON frames (stdin → worker, a dedicated pipe ← worker; see lambda_bootstrap). The worker's
fd 1/2 are a third pipe read here line by line, so a handler's logs never touch the protocol.

This module knows nothing of moto: the invoker turns an `Invocation` into moto's answer and
CloudWatch Logs. A worker that crashes or outlives the function's timeout is killed and
replaced on the next call; `stop()` ends every worker and reaps it.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_cloud.lambda_bootstrap import END_MARKER, encode_frame, read_frame, write_all

DEFAULT_MAX_WORKERS = 4  # per function, unless ScalingConfig/reserved concurrency says fewer
INIT_TIMEOUT_SECONDS = 30.0  # Lambda allows 10 s; a busy 2-core machine importing boto3 needs slack
STOP_GRACE_SECONDS = 3.0  # idle workers exit at once on stdin EOF; busy ones get this long
LOG_SETTLE_SECONDS = 2.0  # how long to wait for an invocation's last log lines after its answer


@dataclass
class Invocation:
    """What one invocation produced: the Lambda payload, whether it is an error, its logs."""

    payload: Any
    errored: bool
    log_lines: list[str]
    log_stream: str
    duration_ms: float = 0.0  # from the call to the answer, worker_wait_ms included
    worker_wait_ms: float = 0.0  # waiting for a free worker, or for a new one's init
    cold_start: bool = False  # a new worker was started (and initialised) for this call


def lambda_error(error_type: str, message: str) -> dict[str, str]:
    """A Lambda runtime error payload (the shape Step Functions reads errorType from)."""
    return {"errorType": error_type, "errorMessage": message}


class _WorkerGone(Exception):
    """The worker's response pipe closed: it exited or was killed."""


class _WorkerTimedOut(Exception):
    """No answer before the deadline."""


class WarmWorker:
    """One child process serving one function's invocations, one at a time."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        echo: Callable[[str], None] | None,
    ) -> None:
        response_read, response_write = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter and bootstrap file
                [*command, str(response_write)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                pass_fds=(response_write,),
            )
        except BaseException:
            os.close(response_read)
            raise
        finally:
            os.close(response_write)
        self._response_fd = response_read
        self._echo = echo
        self.served = 0  # invocations answered; 0 until the first (its init was a cold start)
        today = datetime.now(UTC)
        self.log_stream = f"{today:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._logs = threading.Condition()
        self._pending: list[str] = []
        self._finished: dict[str, list[str]] = {}
        self._log_eof = False
        self._reader = threading.Thread(target=self._read_logs, daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self.process.poll() is None

    def _read_logs(self) -> None:
        """Collect log lines; an END marker closes one invocation's share of them."""
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            marker = line.find(END_MARKER)
            if marker >= 0:  # after the marker; a handler's unterminated last line before it
                with self._logs:
                    if line[:marker]:
                        self._pending.append(line[:marker])
                    self._finished[line[marker + len(END_MARKER) :]] = self._pending
                    self._pending = []
                    self._logs.notify_all()
                continue
            with self._logs:
                self._pending.append(line)
            if self._echo is not None:
                self._echo(line)
        with self._logs:
            self._log_eof = True
            self._logs.notify_all()

    def read_response(self, timeout: float) -> Any:
        """The next frame from the worker, within `timeout` seconds."""
        readable, _, _ = select.select([self._response_fd], [], [], max(0.0, timeout))
        if not readable:
            raise _WorkerTimedOut
        document = read_frame(self._response_fd)
        if document is None:
            raise _WorkerGone
        return document

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """The init answer: {"ready": true} or {"ready": false, "payload": error}."""
        return self.read_response(timeout)

    def send(self, request_id: str, event: Any) -> None:
        """Hand the worker one request; BrokenPipeError if it has died."""
        assert self.process.stdin is not None
        frame = encode_frame({"requestId": request_id, "event": event})
        write_all(self.process.stdin.fileno(), frame)

    def take_logs(self, request_id: str | None, timeout: float) -> list[str]:
        """The log lines of `request_id` (or all that are left once the worker has ended)."""
        deadline = time.monotonic() + timeout
        with self._logs:
            while request_id not in self._finished and not self._log_eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._logs.wait(remaining)
            if request_id in self._finished:
                return self._finished.pop(request_id)
            lines, self._pending = self._pending, []
            return lines

    def stop(self, grace: float) -> None:
        """Close stdin (the worker exits when idle), kill after `grace`, reap it.

        The response pipe stays open: a thread may still be waiting on it (it then sees EOF);
        `close()` is for whoever owns the worker at that moment."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=LOG_SETTLE_SECONDS)
        if not self._reader.is_alive() and self.process.stdout is not None:
            self.process.stdout.close()  # a grandchild may still hold the log pipe otherwise

    def kill(self) -> None:
        """End the worker now (timeout, crash) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.stop(grace=0)

    def close(self) -> None:
        """Release the response pipe once nobody waits on it any more."""
        if self._response_fd >= 0:
            os.close(self._response_fd)
            self._response_fd = -1


@dataclass
class WorkerPool:
    """One function's warm workers: reused when idle, started on demand up to max_workers."""

    function_name: str
    command: Sequence[str]
    env: Mapping[str, str]
    timeout_seconds: float
    max_workers: int = DEFAULT_MAX_WORKERS
    echo: Callable[[str], None] | None = None
    spawned: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)  # all ever
    _workers: list[WarmWorker] = field(default_factory=list, init=False, repr=False)
    _idle: list[WarmWorker] = field(default_factory=list, init=False, repr=False)
    _condition: threading.Condition = field(
        default_factory=threading.Condition, init=False, repr=False
    )
    _stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.max_workers < 1:
            raise ValueError(f"{self.function_name}: max_workers must be >= 1")

    def invoke(self, event: Any, request_id: str) -> Invocation:
        """Run one invocation on an idle (or new) worker; errors come back as Lambda errors."""
        started = time.monotonic()
        for attempt in (1, 2):
            acquired = self._acquire()
            if isinstance(acquired, Invocation):
                return acquired
            worker = acquired
            waited = (time.monotonic() - started) * 1000
            try:
                worker.send(request_id, event)
            except OSError:
                self._discard(worker)  # died while idle; nothing ran, so a retry is safe
                if attempt == 1:
                    continue
                return self._finish(
                    worker, request_id, started, lambda_error("Runtime.ExitError", "worker died")
                )
            try:
                response = worker.read_response(self.timeout_seconds)
            except _WorkerTimedOut:
                self._discard(worker)
                message = f"Task timed out after {self.timeout_seconds:.2f} seconds"
                error = lambda_error("Sandbox.Timedout", f"RequestId: {request_id} {message}")
                return self._finish(worker, request_id, started, error)
            except _WorkerGone:
                self._discard(worker)
                code = worker.process.returncode
                message = f"RequestId: {request_id} Error: Runtime exited with {code}"
                error = lambda_error("Runtime.ExitError", message)
                return self._finish(worker, request_id, started, error)
            invocation = self._finish(
                worker, request_id, started, response["payload"], errored=not response["ok"]
            )
            invocation.worker_wait_ms, invocation.cold_start = waited, worker.served == 0
            worker.served += 1
            self._release(worker)
            return invocation
        raise AssertionError("unreachable")  # pragma: no cover

    def _finish(
        self,
        worker: WarmWorker,
        request_id: str,
        started: float,
        payload: Any,
        *,
        errored: bool = True,
    ) -> Invocation:
        """The invocation's outcome with its share of the worker's log lines."""
        lines = worker.take_logs(request_id, LOG_SETTLE_SECONDS)
        duration = (time.monotonic() - started) * 1000
        return Invocation(payload, errored, lines, worker.log_stream, duration)

    def _acquire(self) -> WarmWorker | Invocation:
        """An idle live worker, or a freshly initialised one; an Invocation when none can be."""
        deadline = time.monotonic() + self.timeout_seconds + INIT_TIMEOUT_SECONDS
        with self._condition:
            while True:
                if self._stopped:
                    return Invocation(
                        lambda_error("Sandbox.Stopped", f"{self.function_name} is stopping"),
                        True,
                        [],
                        "",
                    )
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._forget(worker)
                if len(self._workers) < self.max_workers:
                    worker = WarmWorker([*self.command], self.env, echo=self.echo)
                    self._workers.append(worker)
                    self.spawned.append(worker.process)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    message = f"all {self.max_workers} workers of {self.function_name} stayed busy"
                    error = lambda_error("TooManyRequestsException", message)
                    return Invocation(error, True, [], "")
                self._condition.wait(remaining)
        return self._initialise(worker)

    def _initialise(self, worker: WarmWorker) -> WarmWorker | Invocation:
        """Wait for the worker's init phase; a failed init is the invocation's error."""
        try:
            ready = worker.wait_ready(INIT_TIMEOUT_SECONDS)
        except _WorkerTimedOut:
            ready = {
                "ready": False,
                "payload": lambda_error(
                    "Sandbox.Timedout", f"Init phase timed out after {INIT_TIMEOUT_SECONDS} s"
                ),
            }
        except _WorkerGone:
            message = f"Runtime exited with {worker.process.poll()} during init"
            ready = {"ready": False, "payload": lambda_error("Runtime.ExitError", message)}
        if ready["ready"]:
            return worker
        self._discard(worker)
        lines = worker.take_logs(None, LOG_SETTLE_SECONDS)
        return Invocation(ready["payload"], True, lines, worker.log_stream)

    def _release(self, worker: WarmWorker) -> None:
        """Back to the idle list (or stopped, if the pool is stopping)."""
        with self._condition:
            if not self._stopped and worker.alive:
                self._idle.append(worker)
                self._condition.notify()
                return
        self._discard(worker)

    def _forget(self, worker: WarmWorker) -> None:
        """Drop a worker from the pool's books (caller holds the condition)."""
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        self._condition.notify()

    def _discard(self, worker: WarmWorker) -> None:
        """Kill a worker that timed out, crashed or failed init, and free its slot.

        Called only by the thread that holds the worker, so closing its pipe is safe."""
        worker.kill()
        worker.close()
        with self._condition:
            self._forget(worker)

    def live_workers(self) -> list[WarmWorker]:
        """The workers currently started (idle or busy)."""
        with self._condition:
            return list(self._workers)

    def stop(self) -> None:
        """Stop every worker: idle ones exit on stdin EOF, busy ones are killed after a grace."""
        with self._condition:
            self._stopped = True
            workers, idle = list(self._workers), list(self._idle)
            self._workers, self._idle = [], []
            self._condition.notify_all()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            if worker.process.stdin is not None:
                with contextlib.suppress(OSError):
                    worker.process.stdin.close()
        for worker in workers:
            worker.stop(grace=max(0.0, deadline - time.monotonic()))
        for worker in idle:
            worker.close()  # busy workers' threads see EOF and close their own
