"""A world of in-memory collaborators for the service tests, and Jumio account responses.

Every service is built from the real classes of ``jumio_pipeline.services`` and the fakes of
``tests/support/fakes.py``; the completion signal is the real ``CompletionSignal`` over the
in-memory ledger, so a test that lands the last part sees the signal that Lambda would send.
The verdict's services (callback, verdict wait, polling, decision) are wired as their functions
wire them (functions/callback, await_verdict, poll_verdict, record_decision, record_outcome), and
so is functions/start_session's ``SessionStarts`` (Jumio's account requests answered by
:class:`FakeAccountRequests` with a fresh execution each time).
Time is a :class:`FakeClock`: no test sleeps, and token expiry is a matter of ``advance``; the
pacer's waits are recorded by a :class:`FakeSleep`, which moves the clock.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest

from jumio_pipeline.adapters.jumio import JumioSettings
from jumio_pipeline.adapters.jumio.urls import is_api_href
from jumio_pipeline.domain.callback import JumioCallback
from jumio_pipeline.domain.capture_identity import CaptureIdentity
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import PartEvidence, SessionStatus
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_pipeline.services.capture import CaptureService
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.document_pages import DocumentPages
from jumio_pipeline.services.erasure import Eraser
from jumio_pipeline.services.refusals import RefusalExplainer
from jumio_pipeline.services.registration import RegistrationService
from jumio_pipeline.services.start_session import SessionStarts
from jumio_pipeline.services.verdict import (
    CallbackReceiver,
    Decisions,
    PartsWaitEnder,
    VerdictPolling,
    VerdictPublisher,
    VerdictSignal,
    VerdictWait,
)
from tests.support.fakes import (
    FakeAccountRequests,
    FakeClock,
    FakeCredentialsApi,
    FakeExecutions,
    FakeMetrics,
    FakeSecretKey,
    FakeSleep,
    FakeTenantApi,
    FakeUploadPosts,
    FakeWorkflowStatus,
    InMemoryAuditLog,
    InMemoryDeadLetters,
    InMemoryDeadLetterSweep,
    InMemoryIdempotencyRecords,
    InMemoryIdempotencyTable,
    InMemoryLedger,
    InMemoryObjectStore,
    InMemoryRequestQueue,
    InMemoryRequeue,
    InMemoryVerdictEvents,
    jumio_auth_error,
    jumio_not_found,
    jumio_refusal,
    jumio_rejected,
)

# A refusal whose meaning Jumio does not document, and what the workflow status then says of it
# (shared by the capture and prepared-data tests: one RefusalExplainer serves both).
UNEXPLAINED_REFUSALS = [
    jumio_auth_error(403),
    jumio_refusal(409),
    jumio_not_found(),
    jumio_rejected(400),
]
ENDED_EXECUTION_REASONS = [
    (WorkflowStatus.ACQUIRED, "SESSION_FINALIZED"),
    (WorkflowStatus.PROCESSED, "SESSION_FINALIZED"),
    (WorkflowStatus.TOKEN_EXPIRED, "TOKEN_EXPIRED"),
    (WorkflowStatus.SESSION_EXPIRED, "SESSION_EXPIRED"),
]

BUCKET = "captures-bucket"
CALLBACK_URL = "https://abc123.lambda-url.us-east-1.on.aws/jumio/"
CALLBACK_SECRET = "callback-path-secret"
# StartSessionSettings' defaults (START_LEASE_SECONDS, MAX_PACING_WAIT_SECONDS).
START_LEASE_SECONDS = 60
MAX_PACING_WAIT_SECONDS = 10.0
ISSUED_AT = "2024-05-01T10:00:00.000Z"
ISSUED_EPOCH = int(datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp())
_SEQUENCERS = itertools.count(0x10)  # S3 sequencers grow with every write

# Credential category -> the api.parts keys Jumio gives it.
PARTS_OF_CATEGORY = {
    "ID": ("front", "back"),
    "SELFIE": ("face",),
    "DATA": ("prepared_data",),
    "DOCUMENT": ("document",),
}


@dataclass(frozen=True)
class Ids:
    """The ids of one workflow execution and its credentials (fresh per test)."""

    account: str = field(default_factory=lambda: str(uuid.uuid4()))
    workflow: str = field(default_factory=lambda: str(uuid.uuid4()))
    id_credential: str = field(default_factory=lambda: str(uuid.uuid4()))
    selfie_credential: str = field(default_factory=lambda: str(uuid.uuid4()))
    data_credential: str = field(default_factory=lambda: str(uuid.uuid4()))
    document_credential: str = field(default_factory=lambda: str(uuid.uuid4()))
    facemap_credential: str = field(default_factory=lambda: str(uuid.uuid4()))

    def credential(self, category: str) -> str:
        return {
            "ID": self.id_credential,
            "SELFIE": self.selfie_credential,
            "DATA": self.data_credential,
            "DOCUMENT": self.document_credential,
            "FACEMAP": self.facemap_credential,
        }[category]

    def part(self, category: str, classifier: str, page: int | None = None) -> PartId:
        return PartId(self.credential(category), classifier, page)

    def ref(self, category: str, classifier: str) -> str:
        return self.part(category, classifier).ref

    def key(self, category: str, name: str) -> str:
        """The capture key of ``name`` (``FRONT.jpg``, ``DOCUMENT/1.pdf``) for a credential."""
        return f"captures/{self.workflow}/{self.credential(category)}/{name}"


def href_base(ids: Ids) -> str:
    return f"https://api.amer-1.jumio.ai/api/v1/accounts/{ids.account}/workflow-executions/{ids.workflow}"


def token_of(ids: Ids, category: str, generation: int = 1) -> str:
    """A recognisable api.token per credential (and per renewal)."""
    return f"token-{category.lower()}-{generation}-{ids.credential(category)[:8]}"


def account_response(
    ids: Ids,
    categories: tuple[str, ...] = ("ID", "SELFIE", "DATA"),
    *,
    timestamp: str = ISSUED_AT,
    generation: int = 1,
    execution_href: bool = True,
) -> dict[str, Any]:
    """Jumio's account create/update response, as documented, for the given credentials.

    FACEMAP is a web/SDK-only credential (no ``api``); the others allow the API channel.
    """
    base = href_base(ids)
    credentials: list[dict[str, Any]] = []
    for category in categories:
        credential_id = ids.credential(category)
        credential: dict[str, Any] = {
            "id": credential_id,
            "category": category,
            "allowedChannels": ["WEB", "SDK"] if category == "FACEMAP" else ["WEB", "API", "SDK"],
        }
        if category != "FACEMAP":
            api: dict[str, Any] = {
                "token": token_of(ids, category, generation),
                "parts": {
                    part: f"{base}/credentials/{credential_id}/parts/{part.upper()}"
                    for part in PARTS_OF_CATEGORY[category]
                },
            }
            if execution_href:
                api["workflowExecution"] = base
            credential["api"] = api
        credentials.append(credential)
    return {
        "timestamp": timestamp,
        "account": {"id": ids.account},
        "workflowExecution": {"id": ids.workflow, "credentials": credentials},
    }


def registration(
    ids: Ids,
    categories: tuple[str, ...] = ("ID", "SELFIE", "DATA"),
    *,
    required: list[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The ``sessions`` message: the response wrapped with the required parts and a lifetime."""
    body: dict[str, Any] = {
        "account": account_response(ids, categories, **options),
        "tokenLifetime": "30m",
        "reference": "onboarding-42",
    }
    if required is not None:
        body["requiredParts"] = required
    return body


def capture_identity(
    world: World, key: str, version_id: str | None, *, sequencer: str | None = None
) -> CaptureIdentity:
    """The identity an S3 notification gives a version (its key URL-encoded, as S3 sends it)."""
    etag = world.objects.etag(BUCKET, key, version_id) if version_id else None
    return CaptureIdentity(
        bucket=BUCKET,
        key=key,
        encoded_key=quote_plus(key, safe="/"),
        version_id=version_id,
        etag=etag,
        size=None,
        sequencer=sequencer or f"{next(_SEQUENCERS):016X}",
        event_time=datetime.fromtimestamp(world.clock(), UTC),
    )


def put_capture(world: World, key: str, body: bytes, *, sequencer: str | None = None):
    """Write a version as the app would; the identity its notification names."""
    version_id = world.objects.put(BUCKET, key, body)
    return capture_identity(world, key, version_id, sequencer=sequencer)


def required_parts(session: Session) -> list[PartId]:
    """The session's required parts, in a stable order."""
    return [PartId(*ref.split("/")) for ref in sorted(session.required_parts)]


@dataclass
class World:
    """The collaborators every service takes, in memory, sharing one clock."""

    clock: FakeClock
    ledger: InMemoryLedger
    objects: InMemoryObjectStore
    jumio: FakeCredentialsApi
    tenant: FakeTenantApi
    executions: FakeExecutions
    metrics: FakeMetrics
    dead_letters: InMemoryDeadLetters
    dead_letter_sweep: InMemoryDeadLetterSweep
    requeue: InMemoryRequeue
    request_queue: InMemoryRequestQueue
    audit: InMemoryAuditLog
    idempotency: InMemoryIdempotencyTable
    secret_key: FakeSecretKey
    ids: Ids
    status: FakeWorkflowStatus = field(default_factory=FakeWorkflowStatus)
    verdict_events: InMemoryVerdictEvents = field(default_factory=InMemoryVerdictEvents)
    upload_posts: FakeUploadPosts = field(default_factory=lambda: FakeUploadPosts(BUCKET))
    # What Jumio's account create/update gives: these categories, a fresh execution each time.
    start_categories: tuple[str, ...] = ("ID", "SELFIE", "DATA")
    started: list[Ids] = field(default_factory=list)  # the ids of each account answer, in order
    accounts: FakeAccountRequests = field(init=False)
    sleep: FakeSleep = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = FakeAccountRequests(self._account_answer)
        self.sleep = FakeSleep(self.clock)

    def _account_answer(self, account_id: str | None) -> dict[str, Any]:
        """Jumio's answer now: the account (new, or the one updated) and a new execution."""
        ids = Ids(account=account_id) if account_id is not None else Ids()
        self.started.append(ids)
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds")
        return account_response(ids, self.start_categories, timestamp=stamp.replace("+00:00", "Z"))

    def session_starts(
        self,
        *,
        lease_seconds: int = START_LEASE_SECONDS,
        max_pacing_wait_seconds: float = MAX_PACING_WAIT_SECONDS,
    ) -> SessionStarts:
        """functions/start_session's ``SessionStarts``, on this world's fakes and clock."""
        jumio_settings = JumioSettings()
        return SessionStarts(
            ledger=self.ledger,
            accounts=self.accounts,
            registrations=RegistrationService(
                ledger=self.ledger,
                executions=self.executions,
                signal_completion=self.signal,
                href_allowed=lambda href: is_api_href(jumio_settings, href),
                clock=self.clock,
            ),
            uploads=self.upload_posts,
            callback_url=lambda: CALLBACK_URL + CALLBACK_SECRET,
            lease_seconds=lease_seconds,
            max_pacing_wait_seconds=max_pacing_wait_seconds,
            clock=self.clock,
            sleep=self.sleep,
        )

    @property
    def documents(self) -> DocumentPages:
        """Document pages as add_part wires them, on this world's fakes."""
        return DocumentPages(
            ledger=self.ledger,
            objects=self.objects,
            jumio=self.jumio,
            status=self.status,
            clock=self.clock,
        )

    @property
    def captures(self) -> CaptureService:
        """The capture service as add_part wires it, on this world's fakes."""
        return CaptureService(
            ledger=self.ledger,
            objects=self.objects,
            jumio=self.jumio,
            documents=self.documents,
            refusals=self.refusals,
            signal_completion=self.signal,
            metrics=self.metrics,
            clock=self.clock,
        )

    @property
    def eraser(self) -> Eraser:
        """The eraser as the deletion function wires it, on this world's fakes."""
        return Eraser(
            ledger=self.ledger,
            objects=self.objects,
            bucket=BUCKET,
            idempotency=InMemoryIdempotencyRecords(self.idempotency),
            executions=self.executions,
            parts_at_jumio=self.jumio,
            tenant=lambda: self.tenant,
            dead_letters=self.dead_letter_sweep,
            status=self.status,
            clock=self.clock,
        )

    @property
    def refusals(self) -> RefusalExplainer:
        """Refusals named by this world's scripted workflow status."""
        return RefusalExplainer(self.status)

    @property
    def signal(self) -> CompletionSignal:
        return CompletionSignal(ledger=self.ledger, executions=self.executions)

    # --- the verdict, as its functions wire it ---------------------------------------------

    @property
    def verdict_signal(self) -> VerdictSignal:
        return VerdictSignal(ledger=self.ledger, executions=self.executions)

    @property
    def callbacks(self) -> CallbackReceiver:
        """functions/callback's receiver."""
        return CallbackReceiver(
            ledger=self.ledger,
            executions=self.executions,
            signal=self.verdict_signal,
            end_parts_wait=PartsWaitEnder(ledger=self.ledger, executions=self.executions),
            clock=self.clock,
        )

    @property
    def verdict_wait(self) -> VerdictWait:
        """functions/await_verdict's WaitForVerdict."""
        return VerdictWait(ledger=self.ledger, signal=self.verdict_signal)

    def polling(self, schedule: tuple[int, ...] | None = None) -> VerdictPolling:
        """functions/poll_verdict's polling, on Jumio's schedule unless another is given."""
        if schedule is None:
            return VerdictPolling(ledger=self.ledger, status=self.status, clock=self.clock)
        return VerdictPolling(
            ledger=self.ledger, status=self.status, schedule=schedule, clock=self.clock
        )

    @property
    def publisher(self) -> VerdictPublisher:
        """The publisher of functions/record_decision and functions/record_outcome."""
        return VerdictPublisher(ledger=self.ledger, events=self.verdict_events, clock=self.clock)

    @property
    def decisions(self) -> Decisions:
        """functions/record_decision's RecordDecision."""
        return Decisions(
            ledger=self.ledger, details=self.status, publisher=self.publisher, clock=self.clock
        )

    def callback(
        self, status: WorkflowStatus = WorkflowStatus.PROCESSED, *, ids: Ids | None = None
    ) -> JumioCallback:
        """Jumio's callback for this world's execution (as parse_callback reads it)."""
        ids = ids or self.ids
        return JumioCallback(
            workflow_execution_id=ids.workflow,
            account_id=ids.account,
            status=status,
            sent_at=datetime.fromtimestamp(self.clock(), UTC).isoformat(),
        )

    def finalized(self, categories: tuple[str, ...] = ("ID", "SELFIE", "DATA")) -> Session:
        """A registered session that Jumio took the finalize of, as Finalize records it."""
        session = self.register(categories)
        self.ledger.mark_finalizing(self.ids.workflow)
        self.ledger.record_outcome(self.ids.workflow, SessionStatus.FINALIZED, now=self.clock())
        return session

    def register(
        self,
        categories: tuple[str, ...] = ("ID", "SELFIE", "DATA"),
        *,
        ids: Ids | None = None,
        **options: Any,
    ) -> Session:
        """Record a session in the ledger (as RegistrationService would) and return it."""
        session = parse_registration(registration(ids or self.ids, categories, **options))
        self.ledger.register(session, now=self.clock())
        return session

    def land(self, *parts: PartId) -> None:
        """Record parts as landed directly in the ledger (no Jumio call, no signal)."""
        for part in parts:
            self.ledger.record_part_uploaded(self.ids.workflow, part, PartEvidence())

    def end(self, status: SessionStatus) -> None:
        """Move the session to ``status`` the way the pipeline does it."""
        wf = self.ids.workflow
        if status is SessionStatus.FINALIZING:
            self.ledger.mark_finalizing(wf)
        elif status is SessionStatus.DELETED:
            self.ledger.close_for_erasure(wf, "erasure-request-1")
        else:
            self.ledger.record_outcome(wf, status)
        assert self.ledger.get(wf).status is status


@pytest.fixture
def world() -> World:
    clock = FakeClock(ISSUED_EPOCH + 60)
    return World(
        clock=clock,
        ledger=InMemoryLedger(clock=clock),
        objects=InMemoryObjectStore(),
        jumio=FakeCredentialsApi(),
        tenant=FakeTenantApi(),
        executions=FakeExecutions(),
        metrics=FakeMetrics(),
        dead_letters=InMemoryDeadLetters(),
        dead_letter_sweep=InMemoryDeadLetterSweep(),
        requeue=InMemoryRequeue(),
        request_queue=InMemoryRequestQueue(),
        audit=InMemoryAuditLog(),
        idempotency=InMemoryIdempotencyTable(clock=clock),
        secret_key=FakeSecretKey(),
        ids=Ids(),
    )
