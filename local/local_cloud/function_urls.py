"""Lambda function URLs served on loopback: one small HTTP server per AWS::Lambda::Url.

Why: moto records a function URL config but serves nothing behind it. Here each URL gets its
own server on 127.0.0.1 (an ephemeral port unless one is asked for), which turns a request
into the function URL event (local_cloud.function_url_events), checks SigV4 for AuthType
AWS_IAM (local_cloud.sigv4), invokes the function through the Lambda API — so the installed
invoker runs the real handler, in its warm worker or in-process — and maps the result back
to HTTP as Lambda does.

Every server is registered here; `stop_all()` (called by `invoker.uninstall()`, the teardown
of both the local cloud and the in-process test fixtures) stops them, so no thread or port
outlives the cloud that served it. Each connection carries one request (`Connection: close`),
so stopping never waits on an idle keep-alive client.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from local_cloud import credentials, function_url_cors, sigv4
from local_cloud.function_url_events import (
    PAYLOAD_LIMIT_BYTES,
    TOO_LARGE_MESSAGE,
    HttpRequest,
    HttpResponse,
    bad_gateway,
    build_event,
    error_response,
    map_result,
)

AUTH_TYPES = ("NONE", "AWS_IAM")
STOP_GRACE_SECONDS = 5.0  # a request still inside its invocation gets this long when stopping
MAX_FUNCTION_SECONDS = 900  # Lambda's longest timeout: the invoke call waits at most this

# (function name, event JSON) → (result payload, FunctionError or None)
Invoke = Callable[[str, bytes], tuple[bytes, str | None]]


@dataclass(frozen=True)
class FunctionUrlSpec:
    """One function URL as the provisioner configured it."""

    logical_id: str  # the AWS::Lambda::Url resource
    function_logical_id: str
    function_name: str
    auth_type: str
    url_id: str
    region: str
    account_id: str
    cors: Mapping[str, Any] | None = None


def lambda_invoke(region: str, endpoint_url: str | None) -> Invoke:
    """Invoke through the Lambda API (moto), never retried: a retry would run the handler twice."""
    client = boto3.client(
        "lambda",
        region_name=region,
        config=Config(read_timeout=MAX_FUNCTION_SECONDS + 30, retries={"total_max_attempts": 1}),
        **credentials.client_options(endpoint_url),
    )

    def invoke(function_name: str, payload: bytes) -> tuple[bytes, str | None]:
        response = client.invoke(FunctionName=function_name, Payload=payload)
        return response["Payload"].read(), response.get("FunctionError")

    return invoke


class FunctionUrlService:
    """The behaviour of one function URL, without sockets: request in, response out."""

    def __init__(
        self,
        spec: FunctionUrlSpec,
        invoke: Invoke,
        *,
        port: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.port = port
        self._invoke = invoke
        self._clock = clock

    def _authorize(self, request: HttpRequest) -> dict[str, Any] | HttpResponse | None:
        """The IAM authorizer block, a 403 response, or None for AuthType NONE."""
        if self.spec.auth_type != "AWS_IAM":
            return None
        try:
            caller = sigv4.verify(
                method=request.method,
                host=request.header("host") or f"127.0.0.1:{self.port}",
                raw_path=request.raw_path,
                raw_query=request.raw_query,
                headers=request.headers,
                body=request.body,
                region=self.spec.region,
                now=datetime.fromtimestamp(self._clock(), UTC),
            )
        except sigv4.SignatureRejected as rejected:
            return error_response(403, str(rejected))
        return caller.authorizer()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request the way the function URL in AWS would."""
        cors = self.spec.cors
        if function_url_cors.is_preflight(cors, request):
            return function_url_cors.preflight_response(cors or {}, request)
        authorizer = self._authorize(request)
        if isinstance(authorizer, HttpResponse):
            return authorizer
        request_id = str(uuid.uuid4())
        epoch_ms = int(self._clock() * 1000)
        event = build_event(
            request,
            url_id=self.spec.url_id,
            account_id=self.spec.account_id,
            port=self.port,
            request_id=request_id,
            authorizer=authorizer,
            epoch_ms=epoch_ms,
        )
        payload = json.dumps(event).encode("utf-8")
        if len(payload) > PAYLOAD_LIMIT_BYTES:
            return error_response(413, TOO_LARGE_MESSAGE)
        try:
            result, function_error = self._invoke(self.spec.function_name, payload)
        except Exception as exc:  # the invocation itself failed (runner stopping, moto error)
            print(f"[function url {self.spec.logical_id}] invoke failed: {type(exc).__name__}")
            response = bad_gateway()
        else:
            response = map_result(result, function_error)
        response = function_url_cors.apply(cors, request, response)
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.append(("X-Amzn-Trace-Id", event["headers"]["x-amzn-trace-id"]))
        return response


# --------------------------------------------------------------------------- HTTP


class _Server(ThreadingMixIn, HTTPServer):
    """Threaded HTTP server whose request threads are counted, so stop() can wait for them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: FunctionUrlService | None) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.active = 0
        self.idle = threading.Condition()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.idle:
            self.active += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.idle:
                self.active -= 1
                self.idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, lets the FunctionUrlService answer it, writes the answer, closes."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalFunctionUrl"
    sys_version = ""
    server: _Server

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the function's own logs say what happened."""

    def _read_body(self) -> bytes | None:
        """The request body, or None when it exceeds the payload limit."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)  # ValueError: a bad request
        if length > PAYLOAD_LIMIT_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > PAYLOAD_LIMIT_BYTES:
                return None
            body.extend(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _serve(self) -> None:
        self.close_connection = True
        try:
            body = self._read_body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            self._write(error_response(400, "Bad Request"))
            return
        if body is None:
            self._write(error_response(413, TOO_LARGE_MESSAGE))
            return
        target = self.path
        if not target.startswith("/"):  # absolute-form request target
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        raw_path, _, raw_query = target.partition("?")
        request = HttpRequest(
            method=self.command,
            raw_path=raw_path or "/",
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        service = self.server.service
        try:
            response = service.handle(request) if service else bad_gateway()
        except Exception as exc:  # a bug here must still answer, as Lambda's front end would
            print(f"[function url] request failed: {type(exc).__name__}")
            response = bad_gateway()
        # The caller may have given up waiting (a client timeout): the answer has nowhere to go.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(response)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class FunctionUrlServer:
    """A function URL on loopback: `url`, `start()`, `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), None)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>/`, trailing slash included as in AWS's FunctionUrl."""
        return f"http://{self.host}:{self.port}/"

    def start(self, service: FunctionUrlService) -> None:
        """Serve requests with `service` in a background thread."""
        self._server.service = service
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"function-url-{service.spec.logical_id}",
            daemon=True,
        )
        self._thread.start()
        with _REGISTRY_LOCK:
            _RUNNING.add(self)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, give requests in progress `grace` seconds, release the port."""
        with _REGISTRY_LOCK:
            _RUNNING.discard(self)
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        deadline = time.monotonic() + grace
        with self._server.idle:
            while self._server.active and time.monotonic() < deadline:
                self._server.idle.wait(max(0.0, deadline - time.monotonic()))
        self._server.server_close()

    @property
    def serving(self) -> bool:
        """True between start() and stop()."""
        return self._thread is not None and self._thread.is_alive()


_RUNNING: set[FunctionUrlServer] = set()
_REGISTRY_LOCK = threading.Lock()


def running_servers() -> list[FunctionUrlServer]:
    """Every function URL server currently serving (for tests and shutdown)."""
    with _REGISTRY_LOCK:
        return list(_RUNNING)


def stop_all() -> None:
    """Stop every function URL server of this process."""
    for server in running_servers():
        server.stop()
