"""Configuration of the functions, read from the environment and validated once per cold start.

One model per function, on a common base, so every default lives in one place and a missing or
malformed variable fails the cold start with its name instead of failing each record later in
a way that looks like an outage. The Jumio client keeps its own settings
(:class:`~jumio_pipeline.adapters.jumio.JumioSettings`), built from ``JUMIO_*``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jumio_pipeline.adapters.metrics import DEFAULT_NAMESPACE


class SettingsError(ValueError):
    """A variable is missing or malformed; names the variable, never its value."""


class FunctionSettings(BaseModel):
    """What every function reads: its service name, the metrics namespace, the ledger table."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

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


class AddPartSettings(FunctionSettings):
    """add_part: the capture queue and its DLQ, the wait for a late session, retention."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    capture_events_queue_url: str = Field(alias="CAPTURE_EVENTS_QUEUE_URL", min_length=1)
    capture_events_dlq_url: str = Field(alias="CAPTURE_EVENTS_DLQ_URL", min_length=1)
    capture_max_wait_seconds: float = Field(default=3600, alias="CAPTURE_MAX_WAIT_SECONDS", gt=0)
    capture_retry_base_seconds: float = Field(default=5, alias="CAPTURE_RETRY_BASE_SECONDS", gt=0)
    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=1)


class RegisterSessionSettings(FunctionSettings):
    """register_session: the state machine to start and the sessions DLQ."""

    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", min_length=1)
    sessions_dlq_url: str = Field(alias="SESSIONS_DLQ_URL", min_length=1)


class PreparedDataSettings(FunctionSettings):
    """upload_prepared_data: its DLQ, the idempotency table, the fingerprint key's secret."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    prepared_data_dlq_url: str = Field(alias="PREPARED_DATA_DLQ_URL", min_length=1)
    hash_key_arn: str = Field(alias="PREPARED_DATA_HASH_KEY_ARN", min_length=1)


class DeletionSettings(FunctionSettings):
    """deletion: everything an erasure touches, and the retention period."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    audit_table: str = Field(alias="AUDIT_TABLE", min_length=1)
    captures_bucket: str = Field(alias="CAPTURES_BUCKET", min_length=1)
    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=1)
    retention_requests_queue_url: str = Field(alias="RETENTION_REQUESTS_QUEUE_URL", min_length=1)
    retention_requests_dlq_url: str = Field(alias="RETENTION_REQUESTS_DLQ_URL", min_length=1)
    tenant_secret_arn: str = Field(alias="JUMIO_CREDENTIALS_SECRET_ARN", min_length=1)
