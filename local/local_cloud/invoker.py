"""Make moto's Lambda run the project's handlers, without Docker.

Why: moto runs Lambda code only in Docker (unavailable here); its Docker-free backend echoes
the input. Replacing `moto.awslambda.models.LambdaFunction._invoke_lambda` makes direct
Invoke, S3 → Lambda notifications and Step Functions Lambda tasks all run the real handler.
It is a private moto method, so `install()` checks its signature first and fails loudly.

Modes:
- "inprocess" (tests under `mock_aws`): import the handler once per function, call it with a
  fake context while the function's Environment.Variables are in os.environ.
- "subprocess" (the local cloud server): child processes with the function's environment +
  the moto endpoint + fake credentials; their output lands in CloudWatch Logs
  (/aws/lambda/<name>) and on the console, prefixed by the function name. Two flavours:
  - workers="warm" (default): a pool of long-lived workers per function, like Lambda's warm
    execution environments (local_cloud.worker_pool); one log stream per worker.
  - workers="cold": one child per invocation (slow, ~1 s of imports each; a fallback).
  The flavour can also be chosen with LOCAL_CLOUD_LAMBDA_WORKERS=warm|cold.
"""

from __future__ import annotations

import atexit
import hashlib
import inspect
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_cloud import function_urls, s3_post_uploads
from local_cloud.lambda_bootstrap import (
    LambdaContext,
    error_payload,
    handler_function,
    load_handler_module,
)
from local_cloud.stack import FunctionSpec
from local_cloud.subprocess_runners import ColdSubprocessRunner, WarmSubprocessRunner
from local_cloud.worker_pool import DEFAULT_MAX_WORKERS, WorkerPool

_EXPECTED_PARAMETERS = ["self", "event"]
_REGISTRY: dict[str, FunctionSpec] = {}  # function name → spec (set by the provisioner)
_CONCURRENCY: dict[str, int] = {}  # function name → most workers at once (provisioner)
_REGISTRY_LOCK = threading.Lock()
_installed: dict[str, Any] = {}
WORKER_FLAVOURS = ("warm", "cold")
WORKERS_ENV = "LOCAL_CLOUD_LAMBDA_WORKERS"

# Environment every local invocation sees unless the function's own variables say otherwise.
_LOCAL_DEFAULTS = {"POWERTOOLS_TRACE_DISABLED": "true"}


class IncompatibleMotoError(RuntimeError):
    """moto changed the private method the local runner replaces."""


def register_function(spec: FunctionSpec) -> None:
    """Tell the runners where a function's code lives and which environment it gets."""
    with _REGISTRY_LOCK:
        _REGISTRY[spec.name] = spec


def limit_concurrency(function_name: str, maximum: int) -> None:
    """Cap a function's warm workers (ScalingConfig MaximumConcurrency, reserved concurrency);
    the lowest cap wins, as in Lambda."""
    if maximum < 1:
        raise ValueError(f"{function_name}: concurrency limit must be >= 1, got {maximum}")
    with _REGISTRY_LOCK:
        _CONCURRENCY[function_name] = min(maximum, _CONCURRENCY.get(function_name, maximum))


def concurrency_limit(function_name: str) -> int:
    """How many warm workers a function may have at once."""
    with _REGISTRY_LOCK:
        return _CONCURRENCY.get(function_name, DEFAULT_MAX_WORKERS)


def check_moto_hook() -> Any:
    """Return LambdaFunction if `_invoke_lambda(self, event)` is as expected; else fail loudly."""
    import moto
    from moto.awslambda import models

    function_class = getattr(models, "LambdaFunction", None)
    method = getattr(function_class, "_invoke_lambda", None)
    if method is None:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: moto.awslambda.models.LambdaFunction._invoke_lambda is "
            "gone; local_cloud.invoker must be adapted (tested with moto 5.2.5)"
        )
    if _installed.get("original") is not None and method is _installed.get("patched"):
        method = _installed["original"]
    parameters = list(inspect.signature(method).parameters)
    if parameters != _EXPECTED_PARAMETERS:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: LambdaFunction._invoke_lambda takes {parameters}, "
            f"expected {_EXPECTED_PARAMETERS}; local_cloud.invoker must be adapted "
            "(tested with moto 5.2.5)"
        )
    return function_class


def install(
    mode: str = "inprocess",
    endpoint_url: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    echo: bool = True,
    workers: str | None = None,
) -> None:
    """Replace moto's Lambda runner; `env` is added to every invocation's environment.

    `workers` ("warm"/"cold", subprocess mode only) defaults to $LOCAL_CLOUD_LAMBDA_WORKERS,
    else "warm". Installing again stops the previous runner's workers first."""
    if mode not in ("inprocess", "subprocess"):
        raise ValueError(f"invoker mode must be 'inprocess' or 'subprocess', got {mode!r}")
    if mode == "subprocess" and not endpoint_url:
        raise ValueError("the subprocess invoker needs the moto server's endpoint_url")
    flavour = workers or os.environ.get(WORKERS_ENV) or "warm"
    if flavour not in WORKER_FLAVOURS:
        raise ValueError(f"invoker workers must be 'warm' or 'cold', got {flavour!r}")
    function_class = check_moto_hook()
    runner: _InProcessRunner | ColdSubprocessRunner | WarmSubprocessRunner
    if mode == "inprocess":
        runner = _InProcessRunner()
    elif flavour == "cold":
        runner = ColdSubprocessRunner(endpoint_url or "", echo=echo)
    else:
        runner = WarmSubprocessRunner(endpoint_url or "", echo=echo, max_workers=concurrency_limit)
    extra_env = dict(env or {})

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        spec = _spec_for(self)
        lambda_env = _lambda_environment(spec, self, extra_env)
        return runner.invoke(self, spec, lambda_env, _event_json(event))

    _stop_runner()
    _snapshot_environ(mode == "inprocess")
    if "original" not in _installed:
        _installed["original"] = function_class._invoke_lambda
    function_class._invoke_lambda = _invoke_lambda
    _installed.update(
        patched=_invoke_lambda,
        mode=mode,
        workers=flavour if mode == "subprocess" else None,
        runner=runner,
    )


def _stop_runner() -> None:
    """Stop the active runner's warm workers, if it has any."""
    runner = _installed.pop("runner", None)
    if isinstance(runner, WarmSubprocessRunner):
        runner.stop()


def uninstall() -> None:
    """Put moto's own runner back and stop every warm worker (server.stop() calls this).

    Function URL servers invoke through this runner, so they stop here too: this is the
    teardown both the local cloud and the in-process test fixtures already call. The POST
    policy check on S3 form uploads is removed here for the same reason."""
    function_urls.stop_all()
    s3_post_uploads.uninstall()
    _stop_runner()
    _snapshot_environ(False)
    if "original" in _installed:
        from moto.awslambda.models import LambdaFunction

        LambdaFunction._invoke_lambda = _installed.pop("original")
        _installed.clear()


atexit.register(_stop_runner)  # workers also exit on stdin EOF; this reaps them tidily


def installed_workers() -> str | None:
    """ "warm" or "cold" for the subprocess mode; None otherwise."""
    return _installed.get("workers")


def warm_pools() -> dict[str, WorkerPool]:
    """The active warm runner's pools by function name (empty in other modes); for tests."""
    runner = _installed.get("runner")
    return runner.pools() if isinstance(runner, WarmSubprocessRunner) else {}


def installed_mode() -> str | None:
    """The active mode, or None when moto's own runner is in place."""
    return _installed.get("mode")


def _spec_for(function: Any) -> FunctionSpec:
    """The registered spec, or one built from moto's own record (code zip extracted once)."""
    with _REGISTRY_LOCK:
        spec = _REGISTRY.get(function.function_name)
    if spec is not None:
        return spec
    digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "local_cloud_code" / digest
    if not folder.is_dir():
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            archive.extractall(folder)
    spec = FunctionSpec(
        logical_id=function.function_name,
        name=function.function_name,
        arn=function.function_arn,
        handler=function.handler,
        code_dir=folder,
        layer_dirs=[],
        environment=dict(function.environment_vars or {}),
        timeout=int(function.timeout or 3),
        memory_size=int(function.memory_size or 128),
    )
    register_function(spec)
    return spec


def _lambda_environment(
    spec: FunctionSpec, function: Any, extra: Mapping[str, str] | None
) -> dict[str, str]:
    """The variables the Lambda runtime sets, then local defaults, template, overrides."""
    region = getattr(function, "region", None) or "us-east-1"
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "_HANDLER": spec.handler,
        **_LOCAL_DEFAULTS,
        **spec.environment,
        **(extra or {}),
    }


def _event_json(event: Any) -> Any:
    """moto hands over the parsed body (or '{}' when there was none)."""
    if event is None or event == "{}":
        return {}
    return json.loads(event) if isinstance(event, str | bytes) else event


# --------------------------------------------------------------------------- in-process


class _SnapshotEnviron(os._Environ):
    """os.environ whose iteration reads a snapshot.

    The in-process runner sets and removes a function's variables from moto's threads (Step
    Functions tasks, function URL requests) while other threads iterate os.environ — boto3 does,
    looking for proxy variables — and a key removed mid-iteration raises KeyError there. A dict
    copy is atomic under the GIL, so iterating a copy is safe; reads and writes are unchanged.
    """

    def __iter__(self) -> Iterator[str]:
        for key in list(self._data):
            yield self.decodekey(key)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(self.decodekey(k), self.decodevalue(v)) for k, v in self._data.copy().items()]

    def copy(self) -> dict[str, str]:
        return dict(self.items())


def _snapshot_environ(enabled: bool) -> None:
    """Switch os.environ's iteration to snapshots (in-process mode) or back."""
    wanted = _SnapshotEnviron if enabled else os._Environ
    if type(os.environ) is not wanted:
        os.environ.__class__ = wanted


class _EnvironmentGate:
    """Serialises os.environ between functions: invocations of the same environment may run
    together (so MaximumConcurrency is real), a different environment waits its turn."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active_key: tuple[tuple[str, str], ...] | None = None
        self._holders = 0
        self._saved: dict[str, str | None] = {}
        self._local = threading.local()

    @staticmethod
    def _apply(env: Mapping[str, str]) -> dict[str, str | None]:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        return saved

    @staticmethod
    def _restore(saved: Mapping[str, str | None]) -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    @contextmanager
    def applied(self, env: Mapping[str, str]) -> Iterator[None]:
        """Hold os.environ = current + env for the duration of the block."""
        if getattr(self._local, "depth", 0) > 0:
            # A handler invoking another function synchronously in the same thread.
            saved = self._apply(env)
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
                self._restore(saved)
            return
        key = tuple(sorted(env.items()))
        with self._condition:
            while self._holders and self._active_key != key:
                self._condition.wait()
            if not self._holders:
                self._saved = self._apply(env)
                self._active_key = key
            self._holders += 1
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            with self._condition:
                self._holders -= 1
                if not self._holders:
                    self._restore(self._saved)
                    self._active_key = None
                    self._condition.notify_all()


def _log_to_current_stdout(service: str | None) -> None:
    """Point the function's Powertools log handler at the stdout of this invocation.

    Powertools names its stdlib logger after the service and reuses it across imports, so its
    handler keeps the stdout of whoever first imported the function (in tests: an earlier
    test's capture, closed since). Lambda's functions log to the stdout of the invocation.
    """
    if not service:
        return
    for handler in logging.getLogger(service).handlers:
        is_stream = isinstance(handler, logging.StreamHandler)
        if is_stream and not isinstance(handler, logging.FileHandler):
            # Not setStream(): it flushes the old stream first, which may be closed.
            handler.acquire()
            try:
                handler.stream = sys.stdout
            finally:
                handler.release()


def _timed_out(spec: FunctionSpec, request_id: str) -> dict[str, str]:
    """Lambda's answer for an invocation that ran past the function's timeout."""
    message = f"RequestId: {request_id} Task timed out after {spec.timeout:.2f} seconds"
    return {"errorType": "Sandbox.Timedout", "errorMessage": message}


class _InProcessRunner:
    """Runs handlers in this process: one module import per function, like a warm container."""

    def __init__(self) -> None:
        self._gate = _EnvironmentGate()
        self._modules: dict[str, Any] = {}
        self._import_lock = threading.Lock()

    def _handler(self, spec: FunctionSpec) -> Any:
        with self._import_lock:
            if spec.name not in self._modules:
                for layer in spec.layer_dirs:
                    if str(layer) not in sys.path:
                        sys.path.append(str(layer))
                module_name = "lambda_" + "".join(ch if ch.isalnum() else "_" for ch in spec.name)
                self._modules[spec.name] = load_handler_module(
                    spec.code_dir, spec.handler, module_name
                )
            return handler_function(self._modules[spec.name], spec.handler)

    def invoke(
        self, function: Any, spec: FunctionSpec, lambda_env: Mapping[str, str], event: Any
    ) -> tuple[str, bool, str]:
        """Call the handler with `lambda_env` in os.environ; moto's (payload, errored, logs)."""
        request_id = str(uuid.uuid4())
        started: float | None = None
        with self._gate.applied(lambda_env):
            try:
                handler = self._handler(spec)
                _log_to_current_stdout(lambda_env.get("POWERTOOLS_SERVICE_NAME"))
                context = LambdaContext(
                    spec.name, spec.arn, spec.memory_size, spec.timeout, request_id
                )
                started = time.monotonic()
                result = handler(event, context)
                if time.monotonic() - started > spec.timeout:
                    # A thread cannot be killed; the caller sees what Lambda would have told it.
                    return json.dumps(_timed_out(spec, request_id)), True, ""
                return json.dumps(result), False, ""
            except Exception as exc:
                if started is not None and time.monotonic() - started > spec.timeout:
                    return json.dumps(_timed_out(spec, request_id)), True, ""
                return json.dumps(error_payload(exc, request_id)), True, ""
