"""Erasure requests and what they cover: the pure domain of deletion (no boto3, no HTTP).

A request names a scope (one part, a document's pages, a session, an account) and the ids that
pin it down. Planning turns it, together with the ledger's view of a session, into the exact
things to erase: the Jumio call, the S3 prefix of the captures, the ledger part items and
whether the session itself is closed and scrubbed. Keeping this apart from the adapters makes
the "what" testable without AWS and the "how" (services/erasure.py) a plain sequence of steps.

Decisions (documented in the README's deletion section):
- PART / DOCUMENT_PAGES are "redo" deletions, possible at Jumio only before finalize: the
  session keeps its tokens (a retake is expected), the part item is removed and the part goes
  back to ``pendingParts`` if it was required, so the session cannot finalize without it.
  On a session that is closed (finalizing, finalized, expired, failed) they are refused with
  ``SESSION_NOT_ACTIVE``: only SESSION scope can erase such a part at Jumio.
- SESSION / ACCOUNT close the session (status DELETED) first, and scrub tokens and hrefs last,
  so that a failure half-way leaves everything a retry needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session import PartId

RETENTION_SOURCE = "retention-schedule"
PART_CLASSIFIERS = frozenset({"FRONT", "BACK", "FACE"})
DOCUMENT = "DOCUMENT"
CAPTURES_PREFIX = "captures"
SECONDS_PER_DAY = 86400
# Request ids and requestedBy end up in the audit trail: plain identifiers, nothing personal.
_PLAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")
# ...and never a way to reach a person: an e-mail address or a phone number is personal data.
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ./()-]{5,}[0-9]")
_MIN_PHONE_DIGITS = 7


class DeletionScope(StrEnum):
    """How much a request erases; each scope maps to one Jumio deletion call."""

    PART = "PART"
    DOCUMENT_PAGES = "DOCUMENT_PAGES"
    SESSION = "SESSION"
    ACCOUNT = "ACCOUNT"


class JumioOperation(StrEnum):
    """The Jumio deletion a plan calls for (names as the Jumio client and simulator use them)."""

    DELETE_PART = "delete_part"
    DELETE_ALL_PAGES = "delete_all_pages"
    DELETE_WORKFLOW = "delete_workflow"
    DELETE_ACCOUNT = "delete_account"


class DeletionRequest(BaseModel):
    """A retention or erasure request as it arrives on the retention-requests queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requestId: str
    scope: DeletionScope
    workflowExecutionId: UUID | None = None
    accountId: UUID | None = None
    credentialId: UUID | None = None
    classifier: str | None = None
    requestedBy: str | None = Field(default=None, description="who asked; an id, never a name")

    @field_validator("requestId", "requestedBy")
    @classmethod
    def _plain_identifier(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if looks_like_contact_data(value):
            raise ValueError(
                "must not be an e-mail address or a phone number: the audit trail keeps no "
                "personal data (use an employee or system id)"
            )
        if not _PLAIN_ID.match(value):
            raise ValueError(
                "must be 1-128 characters: letters, digits and ._:@/+=- (an id, not free text)"
            )
        return value

    @model_validator(mode="after")
    def _ids_fit_the_scope(self) -> Self:
        needed = {
            DeletionScope.PART: ("workflowExecutionId", "credentialId", "classifier"),
            DeletionScope.DOCUMENT_PAGES: ("workflowExecutionId", "credentialId"),
            DeletionScope.SESSION: ("workflowExecutionId",),
            DeletionScope.ACCOUNT: ("accountId",),
        }[self.scope]
        for name in needed:
            if getattr(self, name) is None:
                raise _ScopeError(name, f"is required for scope {self.scope.value}")
        if self.scope is DeletionScope.PART and self.classifier not in PART_CLASSIFIERS:
            raise _ScopeError("classifier", "must be FRONT, BACK or FACE for scope PART")
        if self.scope is DeletionScope.DOCUMENT_PAGES and self.classifier not in (None, DOCUMENT):
            raise _ScopeError("classifier", "must be DOCUMENT (or absent) for DOCUMENT_PAGES")
        if self.scope is DeletionScope.ACCOUNT and self.workflowExecutionId is not None:
            raise _ScopeError("workflowExecutionId", "must be absent for scope ACCOUNT")
        return self

    @staticmethod
    def is_plain_id(value: object) -> bool:
        """Whether a value may stand in the audit trail as a request id."""
        return isinstance(value, str) and bool(_PLAIN_ID.match(value))

    @property
    def workflow_execution_id(self) -> str | None:
        """Jumio's lower-case form of the id (UUID parsing accepts any case)."""
        return str(self.workflowExecutionId) if self.workflowExecutionId else None

    @property
    def account_id(self) -> str | None:
        return str(self.accountId) if self.accountId else None

    @property
    def credential_id(self) -> str | None:
        return str(self.credentialId) if self.credentialId else None


class _ScopeError(ValueError):
    """A cross-field rule broke; carries the field name so the error can name it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field


def looks_like_contact_data(value: str) -> bool:
    """An e-mail address, or a run of 7+ digits written like a phone number."""
    if _EMAIL_LIKE.search(value):
        return True
    phone = _PHONE_LIKE.fullmatch(value)
    return phone is not None and sum(ch.isdigit() for ch in value) >= _MIN_PHONE_DIGITS


def parse_request(body: Any) -> DeletionRequest:
    """Validate a request body, or raise InvalidMessage naming the wrong field (never its value)."""
    if not isinstance(body, dict):
        raise InvalidMessage("INVALID_REQUEST", "the request is not a JSON object")
    try:
        return DeletionRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, _ScopeError):
            raise InvalidMessage("INVALID_REQUEST", str(cause), field=cause.field) from None
        field = ".".join(str(p) for p in first["loc"]) or "request"
        raise InvalidMessage("INVALID_REQUEST", f"{field}: {first['msg']}", field=field) from None


def retention_request(workflow_execution_id: str, day: str) -> DeletionRequest:
    """The SESSION request the daily schedule files for a session past the retention period.

    The request id is derived from the day and the session, so a schedule that runs twice on
    the same day (or a redelivered message) files the same request, not a new one.
    """
    return DeletionRequest(
        requestId=f"retention:{day}:{workflow_execution_id}",
        scope=DeletionScope.SESSION,
        workflowExecutionId=UUID(workflow_execution_id),
        requestedBy=RETENTION_SOURCE,
    )


def retention_cutoff(now: float, retention_days: int) -> int:
    """Epoch seconds before which a session was registered too long ago to keep."""
    if retention_days < 1:
        raise ValueError("RETENTION_DAYS must be at least 1")
    return int(now) - retention_days * SECONDS_PER_DAY


# --- Planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JumioCall:
    """One Jumio deletion: which operation, and for part calls which credential and href."""

    operation: JumioOperation
    account_id: str
    workflow_execution_id: str | None = None
    credential_id: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class SessionErasure:
    """Everything to erase for one session under one request, in AWS (and the Jumio call).

    ``part`` is the part a PART / DOCUMENT_PAGES request covers (its ledger record, and every
    page's for a document, is replaced by a tombstone); None when the whole session goes.
    """

    workflow_execution_id: str
    object_prefix: str
    part: PartId | None = None


def session_erasure(request: DeletionRequest, workflow_execution_id: str) -> SessionErasure:
    """Which objects and ledger records of one session the request covers."""
    wf = workflow_execution_id
    if request.scope in (DeletionScope.PART, DeletionScope.DOCUMENT_PAGES):
        cred = request.credential_id or ""
        if request.scope is DeletionScope.PART:
            cls = request.classifier or ""
            # FRONT.jpg, FRONT.png, ...: the dot keeps FRONT from matching a longer name.
            object_prefix = f"{CAPTURES_PREFIX}/{wf}/{cred}/{cls}."
        else:
            cls = DOCUMENT
            object_prefix = f"{CAPTURES_PREFIX}/{wf}/{cred}/{DOCUMENT}/"
        return SessionErasure(
            workflow_execution_id=wf,
            object_prefix=object_prefix,
            part=PartId(cred, cls),
        )
    return SessionErasure(
        workflow_execution_id=wf,
        object_prefix=f"{CAPTURES_PREFIX}/{wf}/",
    )


def part_jumio_call(
    request: DeletionRequest, account_id: str, part_hrefs: dict[str, str]
) -> JumioCall:
    """The Credentials-API call of a PART / DOCUMENT_PAGES request, from the ledger's hrefs.

    Raises InvalidMessage when the credential has no such part: Jumio gave no href for it, so
    nothing of it can exist at Jumio (or in this pipeline).
    """
    classifier = DOCUMENT if request.scope is DeletionScope.DOCUMENT_PAGES else request.classifier
    href = part_hrefs.get(classifier or "")
    if not href:
        raise InvalidMessage(
            "UNKNOWN_PART",
            f"credentialId has no {classifier} part in this workflow execution",
            field="classifier" if request.scope is DeletionScope.PART else "credentialId",
        )
    operation = (
        JumioOperation.DELETE_ALL_PAGES
        if request.scope is DeletionScope.DOCUMENT_PAGES
        else JumioOperation.DELETE_PART
    )
    return JumioCall(
        operation=operation,
        account_id=account_id,
        workflow_execution_id=request.workflow_execution_id,
        credential_id=request.credential_id,
        href=href,
    )


def tenant_jumio_call(request: DeletionRequest, account_id: str) -> JumioCall:
    """The tenant (OAuth) call of a SESSION or ACCOUNT request."""
    if request.scope is DeletionScope.ACCOUNT:
        return JumioCall(JumioOperation.DELETE_ACCOUNT, account_id)
    return JumioCall(JumioOperation.DELETE_WORKFLOW, account_id, request.workflow_execution_id)
