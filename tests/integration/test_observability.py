"""What a handler's Powertools stack writes: the layer's log lines, and what X-Ray records.

The layer's modules log through stdlib ``logging``; inside a handler their lines must come out
as the function's JSON with its correlation id, once (never again as plain text through the
root logger, as Lambda's own handler would print them). And a Jumio refusal's free text (its
``detail``, any other field, an odd title or reason phrase) must reach no log line, no
exception text and no X-Ray subsegment, for every status Jumio may answer with.

X-Ray is observed with the SDK's real recorder and a capturing emitter instead of the UDP
daemon: what it serializes is what would be sent.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import AWSXRayRecorder

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.metrics import EmfMetrics
from jumio_pipeline.domain.errors import JumioError
from jumio_pipeline.handlers.observability import Observability, observability
from jumio_pipeline.handlers.settings import FunctionSettings
from jumio_simulator.testing import SimulatorHandle
from tests.support.jumio_settings import fast_settings

MARKER = "Zelda-Quux-98765"  # stands for personal data Jumio might quote back
TOKEN = "api-token-" + "4c1d"  # built, so that no traceback's source line shows the value
WORKFLOW_ID = "7d3c0a52-1b5e-4f4a-9a61-2c8e0f6b9d10"


def settings_for(base_url: str) -> JumioSettings:
    return fast_settings(base_url, max_attempts=2, backoff_cap=0.02)


def function(service: str | None = None) -> Observability:
    """A function's stack, under a fresh service name: its Logger writes to this test's stdout."""
    name = service or f"obs-{uuid.uuid4().hex[:8]}"
    return observability(FunctionSettings(service=name, ledger_table="unused"))


def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="test-function",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:test-function",
        aws_request_id=str(uuid.uuid4()),
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "level" in value:
            lines.append(value)
    return lines


def finalize_target(jumio_sim: SimulatorHandle) -> tuple[str, str]:
    account = jumio_sim.create_account(10013)
    [api] = [c["api"] for c in account["workflowExecution"]["credentials"] if c["category"] == "ID"]
    return api["workflowExecution"], api["token"]


# --- the layer's lines --------------------------------------------------------------------------


def test_a_layer_info_line_is_the_functions_json_with_its_correlation_id(
    jumio_sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    href, token = finalize_target(jumio_sim)
    observed = function()

    @observed.entrypoint(correlation_id_path="workflowExecutionId")
    def handler(event: dict, context: Any) -> None:
        with JumioHttp(settings_for(jumio_sim.base_url), metrics=EmfMetrics("T", "t")) as http:
            CredentialsClient(http).finalize(href, token)
        observed.logger.info("handler done")

    context = lambda_context()
    capsys.readouterr()
    handler({"workflowExecutionId": WORKFLOW_ID}, context)

    lines = json_lines(capsys.readouterr().out)
    [layer] = [line for line in lines if line["message"].startswith("jumio finalize PUT -> HTTP")]
    assert layer["level"] == "INFO"  # the root logger's WARNING no longer drops it
    assert layer["name"] == "jumio_pipeline.adapters.jumio.http"
    assert layer["service"] == observed.logger.service
    assert layer["correlation_id"] == WORKFLOW_ID
    assert layer["function_request_id"] == context.aws_request_id
    [own] = [line for line in lines if line["message"] == "handler done"]
    assert (own["correlation_id"], own["name"]) == (WORKFLOW_ID, observed.logger.service)


def test_a_layer_warning_is_written_once_as_json_not_again_by_the_roots_handler(
    jumio_sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda's runtime puts a plain-text handler on the root logger before the import."""
    lambda_root_handler = logging.StreamHandler(sys.stdout)
    lambda_root_handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logging.getLogger().addHandler(lambda_root_handler)
    try:
        href, _ = finalize_target(jumio_sim)
        observed = function()

        @observed.entrypoint(correlation_id_path="workflowExecutionId")
        def handler(event: dict, context: Any) -> None:
            with JumioHttp(settings_for(jumio_sim.base_url), metrics=EmfMetrics("T", "t")) as http:
                CredentialsClient(http).finalize(href, "not-the-token")

        capsys.readouterr()
        with pytest.raises(JumioError):
            handler({"workflowExecutionId": WORKFLOW_ID}, lambda_context())
        out = capsys.readouterr().out
    finally:
        logging.getLogger().removeHandler(lambda_root_handler)

    assert [line for line in out.splitlines() if line.startswith("[")] == []  # no plain text
    written = [line for line in out.splitlines() if "jumio finalize PUT -> HTTP 401" in line]
    assert len(written) == 1
    [line] = json_lines(written[0])
    assert (line["level"], line["correlation_id"]) == ("WARNING", WORKFLOW_ID)
    # Powertools' Tracer logs the exception that left the handler: as the function's JSON too.
    [raised] = [line for line in json_lines(out) if line["message"].startswith("Exception rec")]
    assert (raised["level"], raised["correlation_id"]) == ("ERROR", WORKFLOW_ID)
    assert raised["exception_name"] == "JumioAuthError"


def test_each_function_in_one_process_writes_the_layer_lines_of_its_own_invocations(
    jumio_sim: SimulatorHandle,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The local cloud runs several functions in one process, one after the other."""
    targets = [finalize_target(jumio_sim) for _ in range(3)]
    first, second = function(), function()
    http = JumioHttp(settings_for(jumio_sim.base_url), metrics=EmfMetrics("T", "t"))

    def calling_jumio(observed: Observability) -> Callable[[dict, Any], None]:
        @observed.entrypoint(correlation_id_path="workflowExecutionId")
        def handler(event: dict, context: Any) -> None:
            CredentialsClient(http).finalize(*targets[event["target"]])

        return handler

    capsys.readouterr()
    with http, caplog.at_level(logging.INFO, logger="jumio_pipeline"):
        calling_jumio(second)({"workflowExecutionId": "wf-second", "target": 0}, lambda_context())
        calling_jumio(first)({"workflowExecutionId": "wf-first", "target": 1}, lambda_context())
        CredentialsClient(http).finalize(*targets[2])  # outside any invocation

    layer_lines = [
        (line["service"], line["correlation_id"])
        for line in json_lines(capsys.readouterr().out)
        if line["message"].startswith("jumio finalize PUT")
    ]
    assert layer_lines == [
        (second.logger.service, "wf-second"),
        (first.logger.service, "wf-first"),
    ]
    # Every record, the one written outside an invocation too, still reaches stdlib handlers.
    records = [r for r in caplog.records if r.getMessage().startswith("jumio finalize PUT")]
    assert len(records) == 3


# --- Jumio's text in logs, exceptions and traces -------------------------------------------------


class _RefusingJumio(BaseHTTPRequestHandler):
    """Answers every request with one status and a body (and reason phrase) quoting MARKER."""

    status = 400

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status = type(self).status
        body = json.dumps(
            {
                "title": f"{HTTPStatus(status).phrase} for {MARKER}",
                "status": status,
                "detail": f"firstName '{MARKER}' does not match the document",
                "field": MARKER,
            }
        ).encode()
        self.send_response(status, f"Refused {MARKER}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads stderr."""


@pytest.fixture
def refusing_jumio() -> Iterator[Callable[[int], str]]:
    """A loopback server; the returned function sets its status and gives its base URL."""
    handler_class = type("RefusingJumio", (_RefusingJumio,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answering(status: int) -> str:
        handler_class.status = status
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield answering
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _CapturingEmitter:
    """Stands in for the X-Ray daemon: keeps what would be sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        """No daemon."""


@pytest.fixture
def xray(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AWSXRayRecorder, _CapturingEmitter]]:
    """A real X-Ray recorder; the SDK's global switch is restored afterwards."""
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    was_enabled = global_sdk_config.sdk_enabled()
    emitter = _CapturingEmitter()
    recorder = AWSXRayRecorder()
    recorder.configure(
        sampling=False, context_missing="LOG_ERROR", emitter=emitter, plugins=(), service="t"
    )
    try:
        yield recorder, emitter
    finally:
        global_sdk_config.set_sdk_enabled(was_enabled)


def entities(entity: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A segment and all its subsegments, depth first."""
    yield entity
    for child in entity.get("subsegments", []):
        yield from entities(child)


def traced_run(
    observed: Observability,
    recorder: AWSXRayRecorder,
    emitter: _CapturingEmitter,
    monkeypatch: pytest.MonkeyPatch,
    work: Callable[[], Any],
) -> tuple[BaseException, str]:
    """Run ``work`` in a record handler (``.traced``) in a handler (``.entrypoint``) inside a
    segment; the exception that left the handler and the segment as X-Ray would receive it."""
    monkeypatch.setattr(observed.tracer, "provider", recorder)
    global_sdk_config.set_sdk_enabled(True)  # the Tracer turned it off outside Lambda

    @observed.traced
    def record_handler() -> Any:
        return work()

    @observed.entrypoint(correlation_id_path="workflowExecutionId")
    def handler(event: dict, context: Any) -> Any:
        return record_handler()

    recorder.begin_segment("function")
    try:
        with pytest.raises((JumioError, RuntimeError)) as raised:
            handler({"workflowExecutionId": WORKFLOW_ID}, lambda_context())
    finally:
        recorder.end_segment()
    [segment] = emitter.sent
    return raised.value, segment


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429, 500, 503])
def test_jumios_text_reaches_no_log_exception_or_trace(
    status: int,
    refusing_jumio: Callable[[int], str],
    xray: tuple[AWSXRayRecorder, _CapturingEmitter],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    base_url = refusing_jumio(status)
    recorder, emitter = xray
    observed = function()
    http = JumioHttp(settings_for(base_url), metrics=EmfMetrics("T", "t"))
    href = f"{base_url}/api/v1/accounts/a-1/workflow-executions/{WORKFLOW_ID}"

    caplog.set_level(logging.DEBUG)
    with http:
        error, segment = traced_run(
            observed,
            recorder,
            emitter,
            monkeypatch,
            lambda: CredentialsClient(http).finalize(href, TOKEN),
        )
    out, err = capsys.readouterr()

    assert isinstance(error, JumioError)
    assert error.status == status
    phrase = HTTPStatus(status).phrase
    assert str(error) == f"finalize: HTTP {status} {phrase}"
    # X-Ray did record the exception (type and message): so only safe text may be in it.
    assert f"finalize: HTTP {status} {phrase}" in segment
    assert type(error).__name__ in segment
    # ... and no exception object as metadata (its attributes are whatever its raiser kept).
    subsegments = list(entities(json.loads(segment)))
    names = [entity["name"] for entity in subsegments]
    assert "## handler" in names
    assert any(name.endswith("record_handler") for name in names)
    assert [entity["metadata"] for entity in subsegments if "metadata" in entity] == []
    exception_text = (
        str(error) + repr(error) + repr(vars(error)) + "".join(traceback.format_exception(error))
    )
    records = "".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert f"jumio finalize PUT -> HTTP {status}" in out  # the layer's line is there...
    for seen in (out, err, records, exception_text, segment):
        assert MARKER not in seen  # ... but none of Jumio's text
        assert TOKEN not in seen


def test_the_trace_would_show_an_exception_that_carried_such_text(
    xray: tuple[AWSXRayRecorder, _CapturingEmitter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the recorder above does see exception messages."""
    recorder, emitter = xray

    def failing() -> None:
        raise RuntimeError(MARKER)

    error, segment = traced_run(function(), recorder, emitter, monkeypatch, failing)

    assert isinstance(error, RuntimeError)
    assert MARKER in segment


@pytest.mark.parametrize(
    ("body", "correlation_id"),
    [
        (json.dumps({"workflowExecutionId": WORKFLOW_ID.upper()}), WORKFLOW_ID),
        (json.dumps({"workflowExecutionId": "jane.doe@example.com"}), None),
        (json.dumps({"workflowExecutionId": 7}), None),
        (json.dumps([WORKFLOW_ID]), None),
        ("not json", None),
        ("[" * 100_000, None),
    ],
    ids=["uuid", "not-a-uuid", "not-a-string", "not-an-object", "not-json", "too-deep"],
)
def test_a_message_correlates_only_by_a_uuid_it_names(
    body: str, correlation_id: str | None
) -> None:
    observed = function()
    observed.logger.set_correlation_id("left-over")
    observed.correlate_with_message(body)
    assert observed.logger.get_correlation_id() == correlation_id
