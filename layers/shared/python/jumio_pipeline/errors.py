"""Errors named after what they mean.

The state machine's Retry/Catch and the SQS batch-failure path route on these class names, so
renaming one is a breaking change (see statemachine/session.asl.json). Messages never carry a
token, a request body or personal data: only ids, status codes and Jumio's own ``detail``.
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
    """5xx, connection error or timeout after the client's own retries ran out."""


# --- Jumio, permanent: do not retry the same request --------------------------------------


class JumioPermanentError(JumioError):
    """Retrying the same request cannot succeed."""


class JumioRejected(JumioPermanentError):
    """Jumio refused the request (400, 409, 413, 415, 422, ...), with its own title and detail."""

    def __init__(self, message: str, *, title: str = "", detail: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.title = title
        self.detail = detail


class JumioConflict(JumioRejected):
    """409: the part exists already, or the workflow execution is finalized or gone."""


class JumioAuthError(JumioPermanentError):
    """401/403: the token is unknown, expired or not bound to this workflow execution."""


class JumioNotFound(JumioPermanentError):
    """404: the account, workflow execution, credential or part is unknown to Jumio."""


# --- The pipeline's own outcomes -----------------------------------------------------------


class InvalidMessage(PipelineError):
    """A message or event that can never be processed; says which field is wrong, never its value."""

    def __init__(self, reason: str, message: str, *, field: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.field = field


class SessionNotRegistered(PipelineError):
    """A capture or data message arrived before its session: retried until it is registered."""


class SessionFinalized(PipelineError):
    """The session was finalized (or is finalizing): nothing may be added any more."""


class SessionTokenExpired(PipelineError):
    """The Jumio token of the session has expired: only a new account update can help."""


class SessionDeleted(PipelineError):
    """The session was erased on request or by retention."""
