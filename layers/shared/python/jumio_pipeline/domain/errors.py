"""Every error the pipeline raises on purpose, named after what it means: the one list.

The state machine's Retry/Catch (statemachine/session.asl.json), the SQS batch-failure path
and the DLQ ``reason`` of an unclassified failure route on these class names, so renaming one
is a breaking change. Messages never carry a token, a request body or personal data: only ids,
status codes, field paths and reason codes written by this project.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error this project raises on purpose."""


# --- Jumio, transient: retry with backoff -------------------------------------------------


class JumioError(PipelineError):
    """Any failure talking to Jumio."""

    def __init__(self, message: str, *, status: int | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.operation = operation


class JumioTransientError(JumioError):
    """Worth retrying later: the same request may succeed."""


class JumioThrottled(JumioTransientError):
    """429 from Jumio after the client's own retries ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class JumioUnavailable(JumioTransientError):
    """5xx, connection error or timeout after the client's own retries ran out.

    ``maybe_applied`` is False only when no connection was ever made (nothing reached Jumio);
    a timeout, a reset or a 5xx may have followed a request Jumio carried out.
    """

    def __init__(self, message: str, *, maybe_applied: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.maybe_applied = maybe_applied


# --- Jumio, permanent: do not retry the same request --------------------------------------


class JumioPermanentError(JumioError):
    """Retrying the same request cannot succeed."""


class JumioRejected(JumioPermanentError):
    """Jumio refused the request (400, 409, 413, 415, 422, ...), with the status's title.

    Jumio documents no error codes, and no meaning for a 409: nothing may branch on ``title``
    (kept for people to read). Jumio's ``detail`` is not kept at all: it is free text that may
    quote the request. What an uncertain refusal meant is found out by documented means: an
    update of the same part, or the workflow status.
    """

    def __init__(self, message: str, *, title: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.title = title


class JumioAuthError(JumioPermanentError):
    """401/403: the token is unknown, expired or not bound to this workflow execution."""


class JumioNotFound(JumioPermanentError):
    """404: the account, workflow execution, credential or part is unknown to Jumio."""


# --- What arrived cannot be processed -------------------------------------------------------


class InvalidMessage(PipelineError):
    """A message or event that can never be processed; says which field is wrong, never its value."""

    def __init__(self, reason: str, message: str, *, field: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.field = field

    @property
    def plain_message(self) -> str:
        """The message without its ``REASON:`` prefix."""
        text = str(self)
        prefix = f"{self.reason}: "
        return text[len(prefix) :] if text.startswith(prefix) else text


class CaptureRejected(PipelineError):
    """A capture Jumio would refuse (or that is unsafe to open): never retried, recorded as is."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


# --- Where a session stands -----------------------------------------------------------------


class SessionNotRegistered(PipelineError):
    """A capture or data message arrived before its session: retried until it is registered."""


class SessionTokenExpired(PipelineError):
    """The Jumio token of the session has expired: only a new account update can help."""


class SessionDeleted(PipelineError):
    """The session was erased on request or by retention."""


class SessionNotFinalizable(PipelineError):
    """The session ended without finalize (failed) or has no credential able to finalize it."""


class PartBusy(PipelineError):
    """Another invocation is changing the same document at Jumio right now: try again soon."""


class FinalizedNotRecorded(PipelineError):
    """Jumio has the finalize but the ledger write failed: the state machine retries Finalize,
    which finds the session FINALIZING, confirms by Jumio's status and records again."""


class SessionNotWaiting(PipelineError):
    """The wait state started for a session that has ended or is unknown: nothing to wait for."""


# --- Erasure --------------------------------------------------------------------------------


class ErasureRefused(PipelineError):
    """The request can never be carried out as asked (permanent: parked with the reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class ErasureIncomplete(PipelineError):
    """S3 refused some deletions; transient: the retry lists what is left and finishes."""


# --- Configuration and secrets ---------------------------------------------------------------


class TenantCredentialsInvalid(PipelineError):
    """The tenant's OAuth client credentials in Secrets Manager are not usable (an operator
    must fix the secret); permanent. Names what is wrong, never a value."""

    reason = "TENANT_CREDENTIALS_INVALID"


class FingerprintKeyUnavailable(PipelineError):
    """The prepared-data fingerprint key could not be read or is unusable; transient.

    The message names what is wrong and never carries the key or any part of it.
    """


class VerdictPublishFailed(PipelineError):
    """EventBridge refused the verdict event (its error code only); the step is retried."""


# --- Starting sessions ---------------------------------------------------------------------


class StartNotPossibleNow(PipelineError):
    """A session for this reference cannot be started now; ``retry_after`` says when to ask."""

    reason = "START_IN_PROGRESS"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StartInProgress(StartNotPossibleNow):
    """Another request is creating the session for this reference right now."""

    reason = "START_IN_PROGRESS"


class StartOutcomeUnknown(StartNotPossibleNow):
    """An account create for this reference may have reached Jumio without an answer.

    Jumio documents no way to find an account by reference, and each create starts a billable
    workflow execution, so no second create is sent until whatever the first one created has
    expired unused (the token's life).
    """

    reason = "START_OUTCOME_UNKNOWN"
