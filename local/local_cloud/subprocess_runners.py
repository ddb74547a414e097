"""Run Lambda handlers in child processes, cold (one per call) or warm (a pool per function).

Why child processes: each function gets exactly its own environment (template variables, the
moto endpoint, fake credentials, the AWS_LAMBDA_* variables) and imports, as in Lambda, and a
crash or hang cannot take the local cloud down. Output goes to moto's CloudWatch Logs
(/aws/lambda/<name>) and to the console, each line prefixed by the function name.

Both runners answer moto's `_invoke_lambda` contract: (payload JSON, errored, log text).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_cloud import credentials, invocation_timing
from local_cloud.stack import FunctionSpec
from local_cloud.worker_pool import Invocation, WorkerPool

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": credentials.ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": credentials.SECRET_ACCESS_KEY,  # moto's fake credentials
    "AWS_SESSION_TOKEN": "testing",
}
_INHERITED = ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")


def child_environment(
    endpoint_url: str, spec: FunctionSpec, lambda_env: Mapping[str, str]
) -> dict[str, str]:
    """A child's whole environment: nothing of ours leaks in beyond PATH/HOME/locale."""
    python_path = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs)]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    return {
        **{key: os.environ[key] for key in _INHERITED if key in os.environ},
        "AWS_ENDPOINT_URL": endpoint_url,
        **FAKE_CREDENTIALS,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",
        "LOCAL_CLOUD_FUNCTION_ARN": spec.arn,
        **lambda_env,
    }


class _Console:
    """Echo of function output, one whole line at a time, prefixed by the function name."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()

    def line(self, function_name: str, line: str) -> None:
        """Print one line (lines of concurrent functions never interleave mid-line)."""
        if self.enabled:
            with self._lock:
                print(f"[{function_name}] {line}", flush=True)

    def for_function(self, function_name: str) -> Callable[[str], None] | None:
        """A per-line echo callback, or None when echo is off."""
        if not self.enabled:
            return None
        return lambda line: self.line(function_name, line)


class ColdSubprocessRunner:
    """One child Python per invocation: slow (imports every time) but fully isolated."""

    def __init__(self, endpoint_url: str, *, echo: bool) -> None:
        self._endpoint_url = endpoint_url
        self._console = _Console(echo)

    def invoke(
        self, function: Any, spec: FunctionSpec, lambda_env: Mapping[str, str], event: Any
    ) -> tuple[str, bool, str]:
        """Run the handler in a fresh child; moto's (payload JSON, errored, logs)."""
        request_id = str(uuid.uuid4())
        env = {
            **child_environment(self._endpoint_url, spec, lambda_env),
            "LOCAL_CLOUD_REQUEST_ID": request_id,
        }
        read_fd, write_fd = os.pipe()
        try:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap file
                [sys.executable, str(BOOTSTRAP), str(spec.code_dir), spec.handler, str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "r", encoding="utf-8") as channel:
            result_box: list[str] = []
            reader = threading.Thread(target=lambda: result_box.append(channel.read()))
            reader.start()
            try:
                output, _ = child.communicate(json.dumps(event).encode(), timeout=spec.timeout + 5)
                timed_out = False
            except subprocess.TimeoutExpired:
                child.kill()
                output, _ = child.communicate()
                timed_out = True
            reader.join()
        logs = output.decode("utf-8", errors="replace")
        self._record_logs(function, spec, logs)
        if timed_out:
            payload = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {spec.timeout} seconds",
            }
            return json.dumps(payload), True, logs
        if not result_box or not result_box[0]:
            payload = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: exited with {child.returncode}",
            }
            return json.dumps(payload), True, logs
        document = json.loads(result_box[0])
        return json.dumps(document["payload"]), not document["ok"], logs

    def _record_logs(self, function: Any, spec: FunctionSpec, logs: str) -> None:
        """CloudWatch Logs /aws/lambda/<name> via moto's own save_logs, and the console."""
        function.logs_backend.ensure_log_group(function.logs_group_name)
        function.save_logs(logs or "(no output)")
        for line in logs.splitlines():
            self._console.line(spec.name, line)


class WarmSubprocessRunner:
    """A pool of warm workers per function (local_cloud.worker_pool), like Lambda's warm
    execution environments; each worker writes to its own CloudWatch log stream."""

    def __init__(self, endpoint_url: str, *, echo: bool, max_workers: Callable[[str], int]) -> None:
        self._endpoint_url = endpoint_url
        self._console = _Console(echo)
        self._max_workers = max_workers
        self._pools: dict[str, WorkerPool] = {}
        self._lock = threading.Lock()
        self._streams: set[str] = set()
        self._stopped = False

    def pools(self) -> dict[str, WorkerPool]:
        """The pools started so far, by function name."""
        with self._lock:
            return dict(self._pools)

    def _pool(self, spec: FunctionSpec, env: dict[str, str]) -> WorkerPool | None:
        """The function's pool; a changed spec or environment replaces it (re-provisioning)."""
        command = [sys.executable, str(BOOTSTRAP), "--serve", str(spec.code_dir), spec.handler]
        with self._lock:
            if self._stopped:
                return None
            pool = self._pools.get(spec.name)
            if pool is not None and (pool.command, pool.env, pool.timeout_seconds) == (
                command,
                env,
                spec.timeout,
            ):
                return pool
            self._pools[spec.name] = WorkerPool(
                function_name=spec.name,
                command=command,
                env=env,
                timeout_seconds=spec.timeout,
                max_workers=self._max_workers(spec.name),
                echo=self._console.for_function(spec.name),
            )
            replaced, pool = pool, self._pools[spec.name]
        if replaced is not None:
            replaced.stop()
        return pool

    def invoke(
        self, function: Any, spec: FunctionSpec, lambda_env: Mapping[str, str], event: Any
    ) -> tuple[str, bool, str]:
        """Run the handler on a warm worker; moto's (payload JSON, errored, logs)."""
        request_id = str(uuid.uuid4())
        pool = self._pool(spec, child_environment(self._endpoint_url, spec, lambda_env))
        if pool is None:
            error = {"errorType": "Sandbox.Stopped", "errorMessage": "the local cloud is stopping"}
            return json.dumps(error), True, ""
        started_at = time.time()
        invocation = pool.invoke(event, request_id)
        self._record_logs(function, request_id, invocation)
        if invocation_timing.active():
            invocation_timing.publish(
                invocation_timing.InvocationTiming(
                    function_name=spec.name,
                    started_at=started_at,
                    duration_ms=invocation.duration_ms,
                    worker_wait_ms=invocation.worker_wait_ms,
                    cold_start=invocation.cold_start,
                    errored=invocation.errored,
                    event=event,
                    log_lines=tuple(invocation.log_lines),
                )
            )
        return json.dumps(invocation.payload), invocation.errored, "\n".join(invocation.log_lines)

    def _record_logs(self, function: Any, request_id: str, invocation: Invocation) -> None:
        """START/…/END/REPORT lines in the worker's stream of /aws/lambda/<name>."""
        if not invocation.log_stream:
            return  # never reached a worker (stopping, throttled): nothing ran
        group = function.logs_group_name
        backend = function.logs_backend
        key = f"{group}\n{invocation.log_stream}"
        with self._lock:
            backend.ensure_log_group(group)
            if key not in self._streams:
                backend.create_log_stream(group, invocation.log_stream)
                self._streams.add(key)
        lines = [
            f"START RequestId: {request_id} Version: $LATEST",
            *invocation.log_lines,
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {invocation.duration_ms:.2f} ms",
        ]
        now = int(time.time() * 1000)
        backend.put_log_events(
            group, invocation.log_stream, [{"timestamp": now, "message": m} for m in lines]
        )

    def stop(self) -> None:
        """Stop every pool; later invocations get a Sandbox.Stopped error."""
        with self._lock:
            self._stopped = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.stop()
