"""start_session: start a Jumio session in one call, from a function URL or a queue.

Backend services call the function URL (AuthType AWS_IAM: SigV4-signed with their own role) or
put the same request on the start-sessions queue. Either way services/start_session.py creates
or updates the Jumio account (tenant token, the stack's callback URL), registers the session
through the same code as the sessions queue, and answers with the workflow execution id, the
token's expiry and a presigned S3 POST per capture. The function URL answers the caller; a
queued request's answer goes to the session-started queue, and a request that cannot succeed is
parked in its DLQ with the reason. Logs hold ids and reasons, never a token, a URL or a body.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

import json
import math
from typing import Any

# Imported before anything imports pydantic: Powertools' batch module then skips loading its
# parser models, which this handler never uses (tens of ms of every cold start).
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.urls import is_api_href
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue, MessageQueue
from jumio_pipeline.adapters.secrets import TenantClientProvider, cached_secret
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.adapters.upload_posts import S3UploadPosts
from jumio_pipeline.domain.errors import (
    InvalidMessage,
    JumioAuthError,
    JumioNotFound,
    JumioRejected,
    JumioThrottled,
    JumioUnavailable,
    StartNotPossibleNow,
    TenantCredentialsInvalid,
)
from jumio_pipeline.domain.start_request import parse_start_request
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import StartSessionSettings
from jumio_pipeline.handlers.sqs_batch import (
    failure_handling,
    json_object,
    park_invalid,
    process_batch,
)
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.registration import RegistrationService
from jumio_pipeline.services.start_session import SessionStarts, StartedSession

settings = StartSessionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
executions = StepFunctions(state_machine_arn=settings.state_machine_arn)
jumio_settings = JumioSettings.from_env()
http = JumioHttp(jumio_settings)
tenant = TenantClientProvider(cached_secret(settings.tenant_secret_arn, json_value=True), http)
read_callback_secret = cached_secret(settings.callback_secret_arn)


class _TenantAccounts:
    """The tenant client of the credentials in the secret now (rotations show up)."""

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        return tenant().create_account(body)

    def update_account(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return tenant().update_account(account_id, body)


starts = SessionStarts(
    ledger=ledger,
    accounts=_TenantAccounts(),
    registrations=RegistrationService(
        ledger=ledger,
        executions=executions,
        signal_completion=CompletionSignal(ledger=ledger, executions=executions),
        href_allowed=lambda href: is_api_href(jumio_settings, href),
    ),
    uploads=S3UploadPosts(settings.captures_bucket),
    callback_url=lambda: settings.callback_function_url + read_callback_secret(),
    lease_seconds=settings.start_lease_seconds,
    max_pacing_wait_seconds=settings.max_pacing_wait_seconds,
)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url)
failures = failure_handling(settings, observed, dead_letters)
started_queue = MessageQueue(settings.started_queue_url)
app = LambdaFunctionUrlResolver()


def _started(started: StartedSession, via: str) -> dict[str, Any]:
    session = started.session
    logger.set_correlation_id(session.workflow_execution_id)
    metrics.count("SessionStartAnswered", created=str(started.created).lower(), via=via)
    logger.info(
        "session started" if started.created else "session for this reference already started",
        extra={
            "workflowExecutionId": session.workflow_execution_id,
            "accountId": session.account_id,
            "sessionCreated": started.created,
            "status": started.status.value,
            "uploads": len(started.uploads),
        },
    )
    return started.to_answer()


# --- function URL ---------------------------------------------------------------------------


def _error(status: int, reason: str, message: str, **extra: Any) -> Response:
    metrics.count("SessionStartRefused", reason=reason)
    logger.warning("session start refused", extra={"reason": reason, "status": status, **extra})
    headers = {}
    if "retryAfter" in extra:
        headers["Retry-After"] = str(extra["retryAfter"])
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": reason, "message": message, **extra},
        headers=headers,
    )


@app.post("/")
def start_from_url() -> Response:
    try:
        body = json_object(
            app.current_event.decoded_body or "", not_an_object="INVALID_START_REQUEST"
        )
        started = starts.start(parse_start_request(body))
    except InvalidMessage as exc:
        return _error(400, exc.reason, str(exc), **({"field": exc.field} if exc.field else {}))
    except StartNotPossibleNow as exc:
        return _error(409, exc.reason, str(exc), retryAfter=exc.retry_after)
    except JumioThrottled as exc:
        wait = math.ceil(exc.retry_after or 1)
        return _error(
            503, "JUMIO_THROTTLED", "Jumio's account rate limit: try later", retryAfter=wait
        )
    except JumioUnavailable:
        return _error(
            503, "JUMIO_UNAVAILABLE", "Jumio did not answer; nothing was created", retryAfter=5
        )
    except (TenantCredentialsInvalid, JumioAuthError) as exc:
        status = getattr(exc, "status", None)
        return _error(
            502,
            "TENANT_CREDENTIALS_REFUSED",
            "the tenant's Jumio credentials were refused: an operator must fix the secret",
            **({"jumioStatus": status} if status else {}),
        )
    except JumioNotFound:
        return _error(
            404,
            "JUMIO_NOT_FOUND",
            "Jumio does not know this accountId",
            jumioStatus=404,
            field="accountId",
        )
    except JumioRejected as exc:
        # Jumio's own detail may quote the request: only its status and title are passed on.
        return _error(
            exc.status if exc.status and 400 <= exc.status < 500 else 502,
            "JUMIO_REJECTED",
            f"Jumio refused the account request: {exc.title}",
            jumioStatus=exc.status,
        )
    answer = _started(started, "url")
    return Response(
        status_code=201 if started.created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(answer),
    )


@app.not_found
def not_found(_: Exception) -> Response:
    return _error(404, "NOT_FOUND", "POST a start request to /")


# --- queue ----------------------------------------------------------------------------------


@observed.traced
def record_handler(record: SQSRecord) -> None:
    logger.set_correlation_id(None)
    try:
        request = parse_start_request(
            json_object(record.body, not_an_object="INVALID_START_REQUEST")
        )
    except InvalidMessage as exc:
        park_invalid(
            record, exc, dead_letters=dead_letters, observed=observed, metric="SessionStartRefused"
        )
        return
    answer = _started(starts.start(request), "queue")
    started_queue.send_all([json.dumps(answer)])


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    """SQS batches go to the queue path, function URL requests to the resolver."""
    if "Records" in event:
        return process_batch(event, context, record_handler, failures)
    return app.resolve(event, context)


cold_start_finished()  # last: the imported objects frozen, collection resumed
