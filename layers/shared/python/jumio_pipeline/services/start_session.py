"""Starting a session in one call: Jumio account, registration, upload URLs for the app.

Every team integrating Jumio writes the same first steps: the tenant's OAuth token, an account
create (or update: a new workflow execution on an existing account) carrying the callback URL,
the registration, and a way for an app without AWS credentials to upload its captures. This
service does all of it, once per ``reference``:

- the ledger's claim on the reference makes a repeat (a retried request, a duplicate message)
  answer the same session while its token lives, with fresh upload URLs;
- an account request is never sent blindly twice: each success starts a billable execution. A
  create whose answer is lost leaves the reference UNCERTAIN until anything it created has
  expired unused (Jumio documents no lookup by reference), and the caller is told so;
- Jumio's limit of one account request per second per tenant is kept across every Lambda
  instance by a pacer in the ledger, and a 429 is retried with backoff by the client;
- the session is registered by the same code as a message on the sessions queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jumio_pipeline.domain.errors import (
    JumioThrottled,
    JumioUnavailable,
    StartInProgress,
    StartOutcomeUnknown,
)
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import SessionStatus, StartClaim, StartState
from jumio_pipeline.domain.start_request import StartSessionRequest
from jumio_pipeline.domain.upload_targets import (
    MAX_UPLOAD_BYTES,
    MIN_UPLOAD_BYTES,
    UploadTarget,
    upload_targets,
)
from jumio_pipeline.services.ports import Clock, SessionReader
from jumio_pipeline.services.registration import RegistrationService

ACCOUNT_REQUEST_INTERVAL_SECONDS = 1.0  # Jumio: one account request per second per tenant
THROTTLED_ACCOUNT_ROUNDS = 3  # account requests Jumio answered 429, before "try later"
UPLOAD_URL_MAX_SECONDS = 3600  # fresh upload URLs come from asking again (same reference)
# The tenant client fetches its OAuth token before the account request: when the token call is
# what failed, the account request was never sent, whatever the token call may have done.
TOKEN_OPERATION = "token"  # noqa: S105 (an operation name, not a secret)


class StartLedger(SessionReader, Protocol):
    """The ledger's reference claims and the pacer of account requests."""

    def claim_start(
        self, reference: str, *, now: float, lease_seconds: int, uncertain_for: int
    ) -> StartClaim: ...

    def complete_start(self, reference: str, session: Session) -> None: ...

    def mark_start_uncertain(self, reference: str) -> None: ...

    def release_start(self, reference: str) -> None: ...

    def take_account_slot(self, *, now: float, interval: float) -> float: ...


class AccountRequests(Protocol):
    """Jumio's account create/update with the tenant token (``TenantClient``)."""

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def update_account(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]: ...


class UploadPosts(Protocol):
    """Presigned S3 POSTs (``S3UploadPosts``)."""

    def presigned_post(
        self, key: str, content_type: str, *, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StartedSession:
    """What the caller gets: ids, expiries, and where to upload each capture."""

    session: Session
    status: SessionStatus
    created: bool  # False: the session already existed for this reference
    uploads: list[tuple[UploadTarget, dict[str, Any]]] = field(default_factory=list)
    data_parts: list[str] = field(default_factory=list)
    uploads_expire_at: int | None = None

    def to_answer(self) -> dict[str, Any]:
        """The JSON answer: no Jumio token, no Jumio href; the POSTs are the app's to use."""
        captures: dict[str, dict[str, Any]] = {}
        for target, post in self.uploads:
            credential_id, _, classifier = target.part.partition("/")
            entry = captures.setdefault(
                target.part,
                {
                    "part": target.part,
                    "credentialId": credential_id,
                    "classifier": classifier,
                    "uploads": [],
                },
            )
            upload = {"key": target.key, "contentType": target.content_type, **post}
            if target.page is not None:
                upload["page"] = target.page
            entry["uploads"].append(upload)
        return {
            "workflowExecutionId": self.session.workflow_execution_id,
            "accountId": self.session.account_id,
            "reference": self.session.reference,
            "status": self.status.value,
            "created": self.created,
            "tokenExpiresAt": _iso(self.session.token_expires_at),
            "uploadsExpireAt": _iso(self.uploads_expire_at),
            "maxUploadBytes": MAX_UPLOAD_BYTES,
            "captures": list(captures.values()),
            "preparedData": [
                {"part": part, "credentialId": part.partition("/")[0]} for part in self.data_parts
            ],
        }


class SessionStarts:
    """``start(request)``: the session for the request's reference, created at most once."""

    def __init__(
        self,
        *,
        ledger: StartLedger,
        accounts: AccountRequests,
        registrations: RegistrationService,
        uploads: UploadPosts,
        callback_url: Callable[[], str],
        lease_seconds: int,
        max_pacing_wait_seconds: float,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ledger = ledger
        self._accounts = accounts
        self._registrations = registrations
        self._uploads = uploads
        self._callback_url = callback_url
        self._lease_seconds = lease_seconds
        self._max_pacing_wait = max_pacing_wait_seconds
        self._clock = clock
        self._sleep = sleep

    def start(self, request: StartSessionRequest) -> StartedSession:
        claim = self._ledger.claim_start(
            request.reference,
            now=self._clock(),
            lease_seconds=self._lease_seconds,
            uncertain_for=request.token_lifetime_seconds,
        )
        if claim.state is StartState.STARTED:
            return self._existing(claim, request)
        if claim.state is StartState.STARTING:
            raise StartInProgress(
                "a session for this reference is being started by another request",
                retry_after=claim.retry_after_seconds or 1,
            )
        if claim.state is StartState.UNCERTAIN:
            raise StartOutcomeUnknown(
                "an account request for this reference may have reached Jumio without an "
                "answer; no second one is sent until what it created has expired",
                retry_after=claim.retry_after_seconds or 1,
            )
        response = self._request_account(request)
        registration = self._registrations.register(
            {
                "account": response,
                "reference": request.reference,
                "tokenLifetime": request.tokenLifetime,
            }
        )
        self._ledger.complete_start(request.reference, registration.session)
        return self._answer(registration.session, SessionStatus.REGISTERED, request, created=True)

    # --- steps ------------------------------------------------------------------------

    def _request_account(self, request: StartSessionRequest) -> dict[str, Any]:
        """One account request, paced; the claim follows what Jumio may have done."""
        try:
            return self._send_paced(request)
        except JumioUnavailable as unavailable:
            if unavailable.maybe_applied and unavailable.operation != TOKEN_OPERATION:
                self._ledger.mark_start_uncertain(request.reference)
                raise StartOutcomeUnknown(
                    "the account request may have reached Jumio without an answer; no second "
                    "one is sent until what it created has expired",
                    retry_after=request.token_lifetime_seconds + self._lease_seconds,
                ) from None
            self._ledger.release_start(request.reference)
            raise
        except BaseException:
            # Throttled (nothing done), refused, or failed before sending: nothing was created.
            self._ledger.release_start(request.reference)
            raise

    def _send_paced(self, request: StartSessionRequest) -> dict[str, Any]:
        """Send in a paced slot; a 429 (documented: nothing done) waits for a later slot.

        The pacer keeps this tenant's requests a second apart as they leave, but requests can
        still reach Jumio closer together (one delayed in flight, another on time), and the
        client's own quick retries would meet the same limit: a throttled request takes a new
        slot at least a second later, a few times, before the caller is told to try later.
        """
        body = request.account_body(self._callback_url())
        for round_number in range(1, THROTTLED_ACCOUNT_ROUNDS + 1):
            self._wait_for_slot()
            try:
                if request.accountId is None:
                    return self._accounts.create_account(body)
                return self._accounts.update_account(str(request.accountId), body)
            except JumioThrottled as throttled:
                pause = max(ACCOUNT_REQUEST_INTERVAL_SECONDS, throttled.retry_after or 0.0)
                if round_number == THROTTLED_ACCOUNT_ROUNDS or pause > self._max_pacing_wait:
                    raise
                self._sleep(pause)
        raise AssertionError("unreachable: the last round returns or raises")

    def _wait_for_slot(self) -> None:
        now = self._clock()
        slot = self._ledger.take_account_slot(now=now, interval=ACCOUNT_REQUEST_INTERVAL_SECONDS)
        wait = slot - now
        if wait > self._max_pacing_wait:
            raise JumioThrottled(
                "account requests are paced at one per second: too many are waiting",
                retry_after=wait,
                operation="account_create",
            )
        if wait > 0:
            self._sleep(wait)

    def _existing(self, claim: StartClaim, request: StartSessionRequest) -> StartedSession:
        record = self._ledger.get(claim.workflow_execution_id or "")
        if record is None:
            raise StartInProgress(
                "the session for this reference is being registered", retry_after=1
            )
        return self._answer(record.session, record.status, request, created=False)

    def _answer(
        self,
        session: Session,
        status: SessionStatus,
        request: StartSessionRequest,
        *,
        created: bool,
    ) -> StartedSession:
        """Upload POSTs only while the session accepts parts; they expire with the token."""
        if status is not SessionStatus.REGISTERED:
            return StartedSession(session, status, created)
        now = int(self._clock())
        expires_in = min(UPLOAD_URL_MAX_SECONDS, session.token_expires_at - now)
        if expires_in <= 0:
            return StartedSession(session, status, created)
        targets, data_parts = upload_targets(session, request.documentPages)
        uploads = [
            (
                target,
                self._uploads.presigned_post(
                    target.key,
                    target.content_type,
                    min_bytes=MIN_UPLOAD_BYTES,
                    max_bytes=MAX_UPLOAD_BYTES,
                    expires_in=expires_in,
                ),
            )
            for target in targets
        ]
        return StartedSession(
            session, status, created, uploads, data_parts, uploads_expire_at=now + expires_in
        )


def _iso(epoch: int | None) -> str | None:
    from datetime import UTC, datetime

    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")
