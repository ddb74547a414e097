"""Count what N sessions cost AWS, from a real run through the local cloud (no faults).

The sessions go the way production takes them, from the start to erasure: a signed call to the
start-session function URL (account at Jumio, registration, presigned POSTs), three captures by
the app's presigned S3 POSTs, prepared data on its queue,
Jumio's callback (the simulator sends it; none is dropped), the verdict on the bus, then one
SESSION erasure per session on the retention-requests queue (what the daily run files when the
retention period ends). Everything the pipeline asks of AWS is counted on the way into the
moto server (a WSGI wrapper), by who asked:

- the Lambda functions (their boto3 user agent carries ``app/pipeline``, set through the
  functions' environment): every request counts;
- the stand-in for Lambda's SQS event source mappings (the local poller): receives that
  returned messages, deletes and visibility changes on the stack's queues (empty long polls
  are a fixed cost per queue, not per session);
- this driver, as the app and the upstream services: the captures' presigned POSTs (the app's
  upload, unsigned: a form POST to the bucket), any S3 PutObject and the messages it sends to
  the stack's queues; nothing else it reads (its progress checks) counts;
- S3's event notifications are one SQS request per capture (moto sends them inside the
  server, so they are added per upload).

Lambda invocations and durations are timed inside the local runner's warm workers: from
handing the event to the worker to its answer (what Lambda bills; the pipe adds well under a
millisecond); starting a worker (the init phase) is counted apart. DynamoDB read and write units are
computed per request from the sizes of the items involved (moto reports no real consumed
capacity): reads from the items returned, 4 KB per unit, half for eventually consistent
reads; writes from the larger of the item before and after, 1 KB per unit, plus one write per
global secondary index whose key the write adds, changes or removes. State transitions come
from the executions' histories (every state entered). Log bytes are what the functions wrote
to CloudWatch Logs, plus 26 bytes per event (what CloudWatch Logs counts per event) and
Lambda's START/END/REPORT lines per invocation where the local runner writes none.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

PIPELINE_APP_ID = "pipeline"
DRIVER_APP_ID = "cost-driver"
PLATFORM_LINES_BYTES = 95 + 65 + 330  # START, END, REPORT (with X-Ray) as Lambda writes them
CLOUDWATCH_EVENT_OVERHEAD = 26
READ_UNIT = 4096
WRITE_UNIT = 1024
ESM_ACTIONS = frozenset(
    {
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})


@dataclass
class Counts:
    """Everything counted during the run (per run; divide by sessions for per session)."""

    sessions: int = 0
    lambda_invocations: Counter = field(default_factory=Counter)
    lambda_gb_seconds: float = 0.0
    lambda_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lambda_memory_mb: dict[str, int] = field(default_factory=dict)
    lambda_init_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    entry_invocations: int = 0  # invoked by a queue, a URL or a schedule: a trace each
    sqs_requests: Counter = field(default_factory=Counter)
    s3_requests: Counter = field(default_factory=Counter)
    s3_bytes_put: int = 0
    dynamodb_requests: Counter = field(default_factory=Counter)
    read_units: Counter = field(default_factory=Counter)
    write_units: Counter = field(default_factory=Counter)
    eventbridge_events: int = 0
    secrets_requests: int = 0
    kms_requests: int = 0
    other_requests: Counter = field(default_factory=Counter)
    state_transitions: int = 0
    transitions_by_state: Counter = field(default_factory=Counter)
    executions: int = 0
    end_states: Counter = field(default_factory=Counter)
    log_bytes: int = 0
    log_events: int = 0
    verdict_sources: Counter = field(default_factory=Counter)
    load_average: list[float] = field(default_factory=list)  # 1-minute, at start and end

    def as_json(self) -> dict[str, Any]:
        return {
            name: (dict(value) if isinstance(value, Counter | dict) else value)
            for name, value in vars(self).items()
        }


# --------------------------------------------------------------------------- item sizes


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB-JSON attribute value, by DynamoDB's sizing rules (approximately)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return math.ceil(len(str(inner).lstrip("-").replace(".", "")) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(math.ceil(len(str(v)) / 2) + 1 for v in inner)
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    return len(json.dumps(inner))


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


# --------------------------------------------------------------------------- the wrapper


class RequestCounter:
    """Wraps moto's WSGI dispatcher: sees every request, who sent it and what came back."""

    def __init__(self, counts: Counts, queue_names: set[str], bucket: str) -> None:
        self.counts = counts
        self.queue_names = queue_names
        self.bucket = bucket
        self._lock = threading.Lock()
        self._original: Any = None

    def install(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        self._original = DomainDispatcherApplication.__call__
        counter = self

        def counted(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            return counter.handle(app, environ, start_response)

        DomainDispatcherApplication.__call__ = counted

    def uninstall(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        if self._original is not None:
            DomainDispatcherApplication.__call__ = self._original

    def handle(self, app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        service = _service(environ)
        if service is None:
            return self._original(app, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        caller = _caller(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rpartition(".")[2]
        request = _json(body) if target else {}
        before = self._item_before(service, action, request, caller)
        status: list[str] = []

        def remember(status_line: str, headers: Any, *rest: Any) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, *rest)

        chunks = list(self._original(app, environ, remember))
        response = b"".join(chunks)
        try:
            self._count(service, action, request, response, environ, caller, before)
        except Exception as error:  # a counting slip must not break the run
            self.counts.other_requests[f"uncounted {service} {action}: {error!r}"[:120]] += 1
        return chunks

    # --- per service -------------------------------------------------------------------

    def _count(
        self,
        service: str,
        action: str,
        request: dict[str, Any],
        response: bytes,
        environ: dict[str, Any],
        caller: str,
        before: dict[str, Any] | None,
    ) -> None:
        counts = self.counts
        with self._lock:
            if service == "sqs":
                self._count_sqs(action, request, response, caller)
            elif service == "s3":
                self._count_s3(environ, caller)
            elif caller != PIPELINE_APP_ID:
                return
            elif service == "dynamodb":
                self._count_dynamodb(action, request, response, before)
            elif service == "events" and action == "PutEvents":
                counts.eventbridge_events += len(request.get("Entries", []))
            elif service == "secretsmanager":
                counts.secrets_requests += 1
            elif service == "kms":
                counts.kms_requests += 1
            elif service not in ("states", "lambda", "logs"):
                counts.other_requests[f"{service} {action}"] += 1

    def _count_sqs(self, action: str, request: dict[str, Any], response: bytes, caller: str):
        queue = str(request.get("QueueUrl", "")).rstrip("/").rpartition("/")[2]
        if queue not in self.queue_names:
            return  # the verdict subscriber's queue is the subscriber's bill
        if caller == PIPELINE_APP_ID:
            billed = True
        elif caller == DRIVER_APP_ID:
            billed = action in ("SendMessage", "SendMessageBatch")  # the producers
        else:  # the event source mapping stand-in
            billed = action in ESM_ACTIONS and (
                action != "ReceiveMessage" or bool(_json(response).get("Messages"))
            )
        if billed:
            self.counts.sqs_requests[action] += 1

    def _count_s3(self, environ: dict[str, Any], caller: str) -> None:
        path = environ.get("PATH_INFO", "")
        if not path.lstrip("/").startswith(self.bucket):
            return
        method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "")
        # The app's presigned POST: a form upload to the bucket itself, signed by the policy.
        app_upload = method == "POST" and not query and path.strip("/") == self.bucket
        if caller == DRIVER_APP_ID or app_upload:
            if not app_upload and (method != "PUT" or "tagging" in query):
                return  # the driver's own checks are not the pipeline's
            self.counts.sqs_requests["S3 event notification"] += 1
            # The whole form for a POST: the capture plus ~2 KB of policy fields (an upper bound).
            self.counts.s3_bytes_put += int(environ.get("CONTENT_LENGTH") or 0)
        elif caller != PIPELINE_APP_ID:
            return
        self.counts.s3_requests[_s3_tier(method, path, query, self.bucket)] += 1

    def _count_dynamodb(
        self,
        action: str,
        request: dict[str, Any],
        response: bytes,
        before: dict[str, Any] | None,
    ) -> None:
        table = request.get("TableName", "?")
        self.counts.dynamodb_requests[f"{table} {action}"] += 1
        answer = _json(response)
        consistent = bool(request.get("ConsistentRead"))
        factor = 1.0 if consistent else 0.5
        if action == "GetItem":
            size = item_size(answer.get("Item"))
            self.counts.read_units[table] += factor * max(1, math.ceil(size / READ_UNIT))
        elif action in ("Query", "Scan"):
            size = sum(item_size(i) for i in answer.get("Items", []))
            self.counts.read_units[table] += factor * max(1, math.ceil(size / READ_UNIT))
        elif action in DYNAMODB_WRITES:
            after = _stored_item(table, request)
            size = max(item_size(before), item_size(after))
            units = max(1, math.ceil(size / WRITE_UNIT))
            units += _index_writes(table, before, after)
            self.counts.write_units[table] += units
        elif action == "BatchWriteItem":
            for name, writes in request.get("RequestItems", {}).items():
                self.counts.write_units[name] += len(writes)
        elif action == "TransactWriteItems":
            for entry in request.get("TransactItems", []):
                name = next(iter(entry.values())).get("TableName", "?")
                self.counts.write_units[name] += 2

    def _item_before(
        self, service: str, action: str, request: dict[str, Any], caller: str
    ) -> dict[str, Any] | None:
        if service != "dynamodb" or caller != PIPELINE_APP_ID or action not in DYNAMODB_WRITES:
            return None
        return _stored_item(request.get("TableName", ""), request)


# --------------------------------------------------------------------------- helpers


def _service(environ: dict[str, Any]) -> str | None:
    """The service a request is signed for (its SigV4 credential scope); ``s3`` for a browser
    form upload (a presigned POST carries its signature in the form, not in a header)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker not in authorization:
        content_type = environ.get("CONTENT_TYPE", "")
        is_form_upload = environ.get("REQUEST_METHOD") == "POST" and content_type.startswith(
            "multipart/form-data"
        )
        return "s3" if is_form_upload else None
    scope = authorization.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else None


def _caller(environ: dict[str, Any]) -> str:
    agent = environ.get("HTTP_USER_AGENT", "")
    for app_id in (PIPELINE_APP_ID, DRIVER_APP_ID):
        if f"app/{app_id}" in agent:
            return app_id
    return "platform"


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _s3_tier(method: str, path: str, query: str, bucket: str) -> str:
    """S3's price classes: PUT/COPY/POST/LIST, GET and other reads, DELETE (free)."""
    has_key = path.strip("/") != bucket
    if method == "DELETE" or (method == "POST" and "delete" in query):
        return "DELETE (free)"
    if method in ("PUT", "POST") or (method == "GET" and not has_key):
        return "PUT/COPY/POST/LIST"
    return "GET/HEAD"


def _table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    from local_cloud.template import ACCOUNT_ID, DEFAULT_REGION

    return dynamodb_backends[ACCOUNT_ID][DEFAULT_REGION].get_table(name)


def _stored_item(table_name: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """The item a write names, as moto stores it now (DynamoDB JSON), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = _table(table_name)
    except Exception:  # an unknown table: nothing stored
        return None
    key = request.get("Key") or request.get("Item") or {}
    hash_value = key.get(table.hash_key_attr)
    if hash_value is None:
        return None
    range_value = key.get(table.range_key_attr) if table.range_key_attr else None
    try:
        item = table.get_item(
            DynamoType(hash_value), DynamoType(range_value) if range_value else None
        )
    except Exception:
        return None
    return None if item is None else item.to_json()["Attributes"]


def _index_writes(table_name: str, before: dict | None, after: dict | None) -> int:
    """Index writes: 1 to add, 1 to remove, 2 when the index key changes (KEYS_ONLY: small)."""
    writes = 0
    for index in _table(table_name).global_indexes:
        names = [key["AttributeName"] for key in index.schema]

        def keyed(item: dict | None, names: list[str] = names) -> tuple | None:
            if not item or any(name not in item for name in names):
                return None
            return tuple(json.dumps(item[name], sort_keys=True) for name in names)

        old, new = keyed(before), keyed(after)
        if old != new:
            writes += (old is not None) + (new is not None)
    return writes


# --------------------------------------------------------------------------- the run


class DriverRuntime:
    """The runtime as the driver uses it: its clients say who they are in their user agent."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self._config = Config(user_agent_appid=DRIVER_APP_ID)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def client(self, service: str) -> Any:
        import boto3

        from local_cloud.runtime import FAKE_CREDENTIALS

        return boto3.client(
            service,
            endpoint_url=self._runtime.endpoint_url,
            region_name=self._runtime.stack.region,
            config=self._config,
            **FAKE_CREDENTIALS,
        )

    def resource(self, service: str) -> Any:
        import boto3

        from local_cloud.runtime import FAKE_CREDENTIALS

        return boto3.resource(
            service,
            endpoint_url=self._runtime.endpoint_url,
            region_name=self._runtime.stack.region,
            config=self._config,
            **FAKE_CREDENTIALS,
        )


def time_lambda(counts: Counts) -> Any:
    """Time each invocation inside the local runner's warm workers: from handing the event to
    the worker to its answer (what Lambda bills), apart from starting the worker (its init)."""
    from local_cloud.worker_pool import WarmWorker

    originals = (WarmWorker.__init__, WarmWorker.send, WarmWorker.read_response)
    init, send, read_response = originals
    lock = threading.Lock()

    def remembering_init(worker: Any, command: Any, env: Any, **kwargs: Any) -> None:
        worker.cost_env = dict(env)
        worker.cost_sent = None
        worker.cost_born = time.perf_counter()
        init(worker, command, env, **kwargs)

    def timed_send(worker: Any, request_id: str, event: Any) -> None:
        worker.cost_sent = time.perf_counter()
        send(worker, request_id, event)

    def timed_read(worker: Any, timeout: float) -> Any:
        try:
            return read_response(worker, timeout)
        finally:
            now = time.perf_counter()
            env = getattr(worker, "cost_env", {})
            name = env.get("AWS_LAMBDA_FUNCTION_NAME", "?")
            memory = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 128))
            sent = getattr(worker, "cost_sent", None)
            with lock:
                if sent is None:  # the init answer
                    counts.lambda_init_ms[name].append(
                        math.ceil((now - getattr(worker, "cost_born", now)) * 1000)
                    )
                else:
                    milliseconds = max(1, math.ceil((now - sent) * 1000))
                    counts.lambda_invocations[name] += 1
                    counts.lambda_ms[name].append(milliseconds)
                    counts.lambda_memory_mb[name] = memory
                    counts.lambda_gb_seconds += memory / 1024 * milliseconds / 1000
                    worker.cost_sent = None

    WarmWorker.__init__ = remembering_init
    WarmWorker.send = timed_send
    WarmWorker.read_response = timed_read
    return originals


def untime_lambda(originals: Any) -> None:
    from local_cloud.worker_pool import WarmWorker

    WarmWorker.__init__, WarmWorker.send, WarmWorker.read_response = originals


def _logical_name(stack: Any, physical: str) -> str:
    """The function's logical id in the template (DeletionFunction, ...)."""
    try:
        return str(stack.function(physical).logical_id)
    except Exception:  # not a stack function: its own name
        return physical


def run(sessions: int, *, timeout: float = 600.0, out: Any = None) -> Counts:
    """Drive `sessions` sessions from registration to erasure; return what they cost."""
    import sys

    from local_cloud import demo_verdicts, runtime

    out = out or sys.stderr
    counts = Counts(sessions=sessions)
    env = {**demo_verdicts.FUNCTION_ENV, "AWS_SDK_UA_APP_ID": PIPELINE_APP_ID}
    installed = time_lambda(counts)
    counts.load_average.append(os.getloadavg()[0])
    try:
        with runtime.running(echo_logs=False, function_env=env) as local:
            _drive(local, counts, sessions, timeout, out)
    finally:
        untime_lambda(installed)
    counts.load_average.append(os.getloadavg()[0])
    return counts


def _drive(local: Any, counts: Counts, sessions: int, timeout: float, out: Any) -> None:
    from local_cloud import demo, demo_data

    stack = local.stack
    queues = {
        str(stack.physical(logical)).rstrip("/").rpartition("/")[2]
        for logical, resource in stack.resources.items()
        if resource.type == "AWS::SQS::Queue"
    }
    counter = RequestCounter(counts, queues, str(stack.physical("CapturesBucket")))
    driver = DriverRuntime(local)
    the_demo = demo.Demo(driver, out, timeout=timeout)
    the_demo.subscriber.subscribe()
    counter.install()
    try:
        # As an app does it: start_session (account at Jumio with the stack's callback URL,
        # registration, presigned POSTs), then one POST per capture.
        the_demo.start(sessions)
        front, back, face = demo_data.id_front(), demo_data.id_back(), demo_data.selfie()
        for tracked in the_demo.tracked:
            for classifier, body in (("FRONT", front), ("BACK", back), ("FACE", face)):
                the_demo._post(tracked.session, classifier, body)
        the_demo._send(
            "PreparedDataQueue",
            [demo_data.prepared_data_message(t.session) for t in the_demo.tracked],
        )
        the_demo.wait_until_finalized()
        the_demo.wait_for_verdicts()
        _count_executions(the_demo, counts)
        _erase_all(the_demo)
    finally:
        counter.uninstall()
    _by_logical_name(stack, counts)
    _count_logs(local, counts)
    _count_entries(counts)


def _by_logical_name(stack: Any, counts: Counts) -> None:
    """Physical function names → the template's logical ids (DeletionFunction, ...)."""
    for name in ("lambda_invocations", "lambda_ms", "lambda_memory_mb", "lambda_init_ms"):
        table = getattr(counts, name)
        renamed = type(table)() if isinstance(table, Counter) else defaultdict(list)
        if name == "lambda_memory_mb":
            renamed = {}
        for physical, value in table.items():
            renamed[_logical_name(stack, physical)] = value
        setattr(counts, name, renamed)


def _count_executions(the_demo: Any, counts: Counts) -> None:
    sfn = the_demo.runtime.client("stepfunctions")
    for tracked in the_demo.tracked:
        counts.verdict_sources.update(e.source or "?" for e in tracked.events[:1])
        arn = the_demo._execution_arn(tracked)
        if arn is None:
            continue
        counts.executions += 1
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for page in pages:
            for event in page["events"]:
                if event["type"].endswith("StateEntered"):
                    counts.state_transitions += 1
                    name = event["stateEnteredEventDetails"]["name"]
                    counts.transitions_by_state[name] += 1
                if event["type"] in ("SucceedStateEntered", "FailStateEntered"):
                    counts.end_states[event["stateEnteredEventDetails"]["name"]] += 1


def _erase_all(the_demo: Any) -> None:
    """One SESSION erasure per session, as the daily run files them; wait for every audit."""
    from boto3.dynamodb.conditions import Key

    from local_cloud import demo_data

    requests = [demo_data.retention_request(t.session) for t in the_demo.tracked]
    the_demo._send("RetentionRequestsQueue", requests)
    audit = the_demo.runtime.resource("dynamodb").Table(
        the_demo.runtime.stack.physical("AuditTable")
    )
    pending = {request["requestId"] for request in requests}

    def all_audited() -> bool:
        for request_id in sorted(pending):
            records = audit.query(
                KeyConditionExpression=Key("requestId").eq(request_id), ConsistentRead=True
            )["Items"]
            if any(r.get("outcome") in ("COMPLETED", "NO_OP", "FAILED") for r in records):
                pending.discard(request_id)
        return not pending

    the_demo._wait("every erasure's audit record", all_audited)


def _count_logs(local: Any, counts: Counts) -> None:
    logs = local.client("logs")
    has_platform_lines = False
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            streams = logs.describe_log_streams(logGroupName=name).get("logStreams", [])
            for stream in streams:
                token = None
                while True:
                    kwargs = {"logGroupName": name, "logStreamName": stream["logStreamName"]}
                    if token:
                        kwargs["nextToken"] = token
                    answer = logs.get_log_events(startFromHead=True, **kwargs)
                    for event in answer["events"]:
                        message = event["message"]
                        has_platform_lines |= message.startswith("REPORT RequestId")
                        counts.log_bytes += len(message.encode()) + CLOUDWATCH_EVENT_OVERHEAD
                        counts.log_events += 1
                    if answer.get("nextForwardToken") in (None, token) or not answer["events"]:
                        break
                    token = answer["nextForwardToken"]
    if not has_platform_lines:
        invocations = sum(counts.lambda_invocations.values())
        counts.log_bytes += invocations * (PLATFORM_LINES_BYTES + 3 * CLOUDWATCH_EVENT_OVERHEAD)


def _count_entries(counts: Counts) -> None:
    """Invocations that start a trace: by a queue, a function URL or a schedule (not a state
    machine task, whose Lambda joins the execution's trace), plus one trace per execution."""
    sqs_or_url = sum(
        n
        for name, n in counts.lambda_invocations.items()
        if name
        in (
            "RegisterSessionFunction",
            "AddPartFunction",
            "UploadPreparedDataFunction",
            "CallbackFunction",
            "DeletionFunction",
            "StartSessionFunction",
        )
    )
    counts.entry_invocations = sqs_or_url + counts.executions
