"""register_session: a Jumio account response on the `sessions` queue becomes a ledger session
and one state machine execution, named by its workflowExecutionId (services/registration.py).

An invalid message is parked in the DLQ at once with its reason.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

# Imported before anything imports pydantic: Powertools' batch module then skips loading its
# parser models, which this handler never uses (tens of ms of every cold start).
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.jumio import JumioSettings
from jumio_pipeline.adapters.jumio.urls import is_api_href
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import RegisterSessionSettings
from jumio_pipeline.handlers.sqs_batch import (
    failure_handling,
    json_object,
    park_invalid,
    process_batch,
)
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.registration import RegistrationService

settings = RegisterSessionSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
executions = StepFunctions(state_machine_arn=settings.state_machine_arn)
dead_letters = DeadLetterQueue(settings.dead_letter_queue_url)
failures = failure_handling(settings, observed, dead_letters)
jumio_settings = JumioSettings.from_env()
registrations = RegistrationService(
    ledger=ledger,
    executions=executions,
    signal_completion=CompletionSignal(ledger=ledger, executions=executions),
    # A token is only ever sent to the configured Jumio API host: refuse other hrefs at once.
    href_allowed=lambda href: is_api_href(jumio_settings, href),
)


@observed.traced
def record_handler(record: SQSRecord) -> None:
    logger.set_correlation_id(None)  # never carry the previous record's id into this one
    try:
        registration = registrations.register(
            json_object(record.body, not_an_object="INVALID_REGISTRATION")
        )
    except InvalidMessage as exc:
        park_invalid(
            record, exc, dead_letters=dead_letters, observed=observed, metric="RegistrationRejected"
        )
        return
    session = registration.session
    logger.set_correlation_id(session.workflow_execution_id)
    # One metric per outcome (SessionNew, SessionDuplicate, ...), so duplicates are visible too.
    metrics.count(f"Session{registration.outcome.value.title().replace('_', '')}")
    logger.info(
        "session registered",
        extra={
            "outcome": registration.outcome.value,
            "executionStarted": registration.execution_started,
            "accountId": session.account_id,
            "requiredParts": len(session.required_parts),
        },
    )


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    return process_batch(event, context, record_handler, failures)


cold_start_finished()  # last: the imported objects frozen, collection resumed
