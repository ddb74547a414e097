"""Run one Lambda handler the way the Lambda runtime does; shared by both local runners.

Why: the in-process runner imports this for the fake context and error payload; the
subprocess runner executes this file as the child's main program. It imports nothing from
moto so a child process starts as fast as the handler's own imports allow.

Child protocol: argv = [code_dir, handler ("module.function"), result_fd]; the event JSON on
stdin; one JSON document written to result_fd: {"ok": true, "payload": ...} or
{"ok": false, "payload": <Lambda error payload>}. stdout/stderr are the function's logs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
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


def _child_main(argv: list[str]) -> int:
    code_dir, handler, result_fd = Path(argv[0]), argv[1], int(argv[2])
    context = LambdaContext(
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        function_arn=os.environ.get("LOCAL_CLOUD_FUNCTION_ARN", ""),
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        timeout_seconds=int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")),
        request_id=os.environ.get("LOCAL_CLOUD_REQUEST_ID"),
    )
    try:
        event = json.loads(sys.stdin.read() or "{}")
        module = load_handler_module(code_dir, handler, "lambda_function_module")
        result = {"ok": True, "payload": handler_function(module, handler)(event, context)}
        document = json.dumps(result)
    except Exception as exc:
        traceback.print_exc()
        document = json.dumps({"ok": False, "payload": error_payload(exc, context.aws_request_id)})
    sys.stdout.flush()
    sys.stderr.flush()
    with os.fdopen(result_fd, "w", encoding="utf-8") as channel:
        channel.write(document)
    return 0


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # this package's modules must not shadow the handler's imports
    sys.exit(_child_main(sys.argv[1:]))
