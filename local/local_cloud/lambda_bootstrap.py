"""Run Lambda handlers the way the Lambda runtime does; the child side of every local runner.

Why: the in-process runner imports this for the fake context and error payload; the
subprocess runners execute this file as the child's main program. It imports nothing from
moto (or this package) so a child starts as fast as the handler's own imports allow.

Cold protocol (one process per invocation): argv = [code_dir, handler ("module.function"),
result_fd]; the event JSON on stdin; one JSON document written to result_fd:
{"ok": true, "payload": ...} or {"ok": false, "payload": <Lambda error payload>}.

Warm protocol (a long-lived worker, like a Lambda execution environment): argv =
["--serve", code_dir, handler, response_fd]. Frames are a 4-byte big-endian length + UTF-8
JSON. Requests arrive on stdin ({"requestId", "event"}); the worker answers on response_fd:
first {"ready": true} or {"ready": false, "payload": <init error>} after importing the
handler, then {"ok": ..., "payload": ...} per request. It exits when stdin closes or its
parent dies. In both modes fd 1/2 are the function's logs, never the protocol; after each
warm invocation the worker writes END_MARKER + requestId + newline so the parent can tell
which log lines belong to which invocation (text before the marker is the handler's last,
unterminated line).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any


class LambdaContext:
    """The subset of the Lambda context object handlers and Powertools read."""

    def __init__(
        self,
        function_name: str,
        function_arn: str,
        memory_limit_in_mb: int,
        timeout_seconds: int,
        request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's configured timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """The payload Lambda returns for an unhandled exception; errorType is the class name,
    which is what Step Functions matches in Retry/Catch ErrorEquals."""
    payload: dict[str, Any] = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
    if request_id:
        payload["requestId"] = request_id
    return payload


def load_handler_module(code_dir: Path, handler: str, module_name: str) -> ModuleType:
    """Import the handler's file under a unique module name (every function's file is app.py)."""
    module_file = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    path = Path(code_dir) / module_file
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"handler file {path} not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    added = str(code_dir) not in sys.path
    if added:
        sys.path.insert(0, str(code_dir))  # sibling modules of app.py import as in Lambda
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        # A handler pauses the garbage collector for its import (handlers/cold_start.py) and
        # resumes it at the end; Lambda discards an environment whose import failed, this
        # process lives on.
        gc.enable()
        raise
    finally:
        if added:
            sys.path.remove(str(code_dir))
    return module


def handler_function(module: ModuleType, handler: str) -> Any:
    """The callable named by the handler string's last part."""
    name = handler.rsplit(".", 1)[-1]
    function = getattr(module, name, None)
    if not callable(function):
        raise AttributeError(f"handler {handler}: module has no callable {name}")
    return function


END_MARKER = "\x1elocal-cloud-end "  # starts with a record separator: not real log text
_FRAME_HEADER = struct.Struct(">I")
_HANDLER_MODULE = "lambda_function_module"


def encode_frame(document: Any) -> bytes:
    """One protocol frame: length prefix + JSON."""
    body = json.dumps(document).encode("utf-8")
    return _FRAME_HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (os.write may stop short on a pipe)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from a blocking fd, or None at end of file."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any | None:
    """The next frame's JSON document from a blocking fd, or None at end of file."""
    header = read_exactly(fd, _FRAME_HEADER.size)
    if header is None:
        return None
    body = read_exactly(fd, _FRAME_HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def run_handler(handler: Any, event: Any, context: LambdaContext) -> dict[str, Any]:
    """Call the handler; {"ok", "payload"} with the result or the Lambda error payload.

    The result is serialised here so a non-JSON result is reported like any other error."""
    try:
        result = handler(event, context)
        json.dumps(result)
        return {"ok": True, "payload": result}
    except Exception as exc:
        traceback.print_exc()
        return {"ok": False, "payload": error_payload(exc, context.aws_request_id)}


def _context_from_environment(request_id: str | None) -> LambdaContext:
    return LambdaContext(
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        function_arn=os.environ.get("LOCAL_CLOUD_FUNCTION_ARN", ""),
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        timeout_seconds=int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")),
        request_id=request_id,
    )


def _exit_when_orphaned(parent_pid: int) -> None:
    """A handler stuck in a call never reads stdin's EOF; the parent's death still ends us."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def _serve(argv: list[str]) -> int:
    """Warm worker: import the handler once, then answer requests until stdin closes."""
    code_dir, handler_name, response_fd = Path(argv[0]), argv[1], int(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    request_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a handler reading stdin must not eat the protocol
    os.close(devnull)
    try:
        handler = handler_function(
            load_handler_module(code_dir, handler_name, _HANDLER_MODULE), handler_name
        )
        ready: dict[str, Any] = {"ready": True}
    except Exception as exc:
        traceback.print_exc()
        ready = {"ready": False, "payload": error_payload(exc)}
    sys.stdout.flush()
    sys.stderr.flush()
    write_all(response_fd, encode_frame(ready))
    if not ready["ready"]:
        return 1
    while (request := read_frame(request_fd)) is not None:
        context = _context_from_environment(request["requestId"])
        response = run_handler(handler, request.get("event"), context)
        sys.stdout.flush()
        sys.stderr.flush()
        write_all(1, f"{END_MARKER}{request['requestId']}\n".encode())
        write_all(response_fd, encode_frame(response))
    return 0


def _child_main(argv: list[str]) -> int:
    """Cold child: one invocation, then exit."""
    code_dir, handler_name, result_fd = Path(argv[0]), argv[1], int(argv[2])
    context = _context_from_environment(os.environ.get("LOCAL_CLOUD_REQUEST_ID"))
    try:
        event = json.loads(sys.stdin.read() or "{}")
        module = load_handler_module(code_dir, handler_name, _HANDLER_MODULE)
        handler = handler_function(module, handler_name)
    except Exception as exc:
        traceback.print_exc()
        response = {"ok": False, "payload": error_payload(exc, context.aws_request_id)}
    else:
        response = run_handler(handler, event, context)
    document = json.dumps(response)
    sys.stdout.flush()
    sys.stderr.flush()
    with os.fdopen(result_fd, "w", encoding="utf-8") as channel:
        channel.write(document)
    return 0


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # this package's modules must not shadow the handler's imports
    arguments = sys.argv[1:]
    sys.exit(_serve(arguments[1:]) if arguments[:1] == ["--serve"] else _child_main(arguments))
