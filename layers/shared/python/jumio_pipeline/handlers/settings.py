"""Configuration of the functions, read from the environment and validated once per cold start.

One model per function, on a common base, so every default lives in one place and a missing or
malformed variable fails the cold start with its name instead of failing each record later in
a way that looks like an outage. The Jumio client keeps its own settings
(:class:`~jumio_pipeline.adapters.jumio.JumioSettings`), built from ``JUMIO_*``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network
from itertools import pairwise
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jumio_pipeline.adapters.metrics import DEFAULT_NAMESPACE
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS


class SettingsError(ValueError):
    """A variable is missing or malformed; names the variable, never its value."""


class FunctionSettings(BaseModel):
    """What every function reads: its service name, the metrics namespace, the ledger table."""

    # defer_build: a function validates only its own model; the other dozen are never built in
    # its cold start (pydantic builds a model's validator on its first use instead of at import).
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    service: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1)
    metrics_namespace: str = Field(
        default=DEFAULT_NAMESPACE, alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1
    )
    ledger_table: str = Field(alias="LEDGER_TABLE", min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read and check the variables; empty values count as unset (defaults apply)."""
        env = os.environ if environ is None else environ
        values = {name: value for name, value in env.items() if value.strip()}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_input=False, include_url=False):
                name = ".".join(str(part) for part in error["loc"])
                problems.append(f"{name}: {error['msg']}")
            raise SettingsError(f"{cls.__name__}: " + "; ".join(problems)) from None


class QueueConsumerSettings(FunctionSettings):
    """A function fed by an SQS queue: the queue, its DLQ and its maxReceiveCount.

    MAX_RECEIVE_COUNT must be the queue's own (template.yaml sets both from one place): on the
    last receive a failure is parked with its reason instead of left to SQS's reasonless redrive.
    """

    source_queue_url: str = Field(alias="SOURCE_QUEUE_URL", min_length=1)
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", min_length=1)
    max_receive_count: int = Field(alias="MAX_RECEIVE_COUNT", ge=1)
    retry_backoff_base_seconds: float = Field(default=10, alias="RETRY_BACKOFF_BASE_SECONDS", ge=0)
    retry_backoff_cap_seconds: float = Field(default=900, alias="RETRY_BACKOFF_CAP_SECONDS", ge=0)


class SessionWaitSettings(QueueConsumerSettings):
    """A consumer whose messages may arrive before their session (captures, prepared data)."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    session_wait_max_seconds: float = Field(default=3600, alias="SESSION_WAIT_MAX_SECONDS", gt=0)
    session_wait_base_seconds: float = Field(default=5, alias="SESSION_WAIT_BASE_SECONDS", gt=0)


class AddPartSettings(SessionWaitSettings):
    """add_part: also the retention of captures that name no session, and the audit trail
    where the deletion of a capture that came after its session's erasure is recorded."""

    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=1)
    audit_table: str = Field(alias="AUDIT_TABLE", min_length=1)
    # To read Jumio's details when an uncertain document change must be settled.
    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)


class RegisterSessionSettings(QueueConsumerSettings):
    """register_session: the state machine to start."""

    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", min_length=1)


class PreparedDataSettings(SessionWaitSettings):
    """upload_prepared_data: the fingerprint key's secret, and the tenant's credentials to
    read the workflow status that names a final refusal."""

    hash_key_arn: str = Field(alias="PREPARED_DATA_HASH_KEY_ARN", min_length=1)
    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)


class PollScheduleSettings(FunctionSettings):
    """The tenant's credentials (Jumio's workflow status) and Jumio's poll schedule (seconds
    after finalize, comma-separated; Jumio's own by default, shorter only in tests and demos)."""

    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)
    poll_schedule: str = Field(
        default=",".join(str(s) for s in POLL_SCHEDULE_SECONDS),
        alias="VERDICT_POLL_SCHEDULE_SECONDS",
        pattern=r"^\s*\d+(\s*,\s*\d+)*\s*$",
    )

    @field_validator("poll_schedule")
    @classmethod
    def _increasing(cls, value: str) -> str:
        times = [int(part) for part in value.split(",")]
        if times[0] < 1 or any(later <= earlier for earlier, later in pairwise(times)):
            raise ValueError("the poll times must increase from at least 1 s")
        if len(times) > len(POLL_SCHEDULE_SECONDS):
            raise ValueError(f"Jumio asks for at most {len(POLL_SCHEDULE_SECONDS)} polls")
        return value

    @property
    def schedule(self) -> tuple[int, ...]:
        """The poll times after finalize, in seconds."""
        return tuple(int(part) for part in self.poll_schedule.split(","))


class FinalizeSettings(PollScheduleSettings):
    """finalize: the status after an uncertain answer, and the first wait for the verdict."""


class VerdictPollSettings(PollScheduleSettings):
    """poll_verdict: the status on Jumio's schedule, and the next wait."""


class VerdictEventSettings(FunctionSettings):
    """A function that publishes the verdict: the event bus."""

    verdict_bus_name: str = Field(alias="VERDICT_BUS_NAME", min_length=1)


class DecisionSettings(VerdictEventSettings):
    """record_decision: the tenant's credentials (details) and the event bus."""

    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)


class CallbackSettings(FunctionSettings):
    """callback: the secret path segment and the optional source-IP allowlist."""

    callback_secret_arn: str = Field(alias="CALLBACK_SECRET_ARN", min_length=1)
    allowed_source_ips: str = Field(default="", alias="CALLBACK_SOURCE_IPS")

    @field_validator("allowed_source_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for part in value.split(","):
            try:
                if part.strip():
                    ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                # Pydantic names the variable; the value stays out of the message.
                raise ValueError("each entry must be an IP address or a CIDR block") from None
        return value

    @property
    def source_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """CALLBACK_SOURCE_IPS as networks (an address is a /32 or /128); empty: any source."""
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.allowed_source_ips.split(",")
            if part.strip()
        )


class StartSessionSettings(QueueConsumerSettings):
    """start_session: the tenant, the callback URL's parts, the bucket, the reply queue."""

    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", min_length=1)
    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)
    callback_function_url: str = Field(alias="CALLBACK_FUNCTION_URL", min_length=1)
    callback_secret_arn: str = Field(alias="CALLBACK_SECRET_ARN", min_length=1)
    captures_bucket: str = Field(alias="CAPTURES_BUCKET", min_length=1)
    started_queue_url: str = Field(alias="SESSION_STARTED_QUEUE_URL", min_length=1)
    # A claim on a reference outlives one invocation (the function's timeout).
    start_lease_seconds: int = Field(default=60, alias="START_LEASE_SECONDS", ge=1)
    max_pacing_wait_seconds: float = Field(default=10, alias="MAX_PACING_WAIT_SECONDS", ge=0)


class DeletionSettings(QueueConsumerSettings):
    """deletion: everything an erasure touches, and the retention period.

    The daily run files its requests on the function's own queue (SOURCE_QUEUE_URL).
    """

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    audit_table: str = Field(alias="AUDIT_TABLE", min_length=1)
    captures_bucket: str = Field(alias="CAPTURES_BUCKET", min_length=1)
    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=1)
    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)
    # Every DLQ of the stack, comma-separated: an erasure removes its subject's messages.
    all_dead_letter_queue_urls: str = Field(alias="ALL_DEAD_LETTER_QUEUE_URLS", min_length=1)

    @property
    def dead_letter_queues(self) -> list[str]:
        """ALL_DEAD_LETTER_QUEUE_URLS as a list."""
        return [url.strip() for url in self.all_dead_letter_queue_urls.split(",") if url.strip()]
