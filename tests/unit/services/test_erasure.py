"""Eraser: each scope erases what it covers at Jumio, in S3, in idempotency and in the ledger.

Sessions are populated through the real services (RegistrationService, CaptureService behind
the add_part run-once guard, PreparedDataService), so the records an erasure must find are
the ones the pipeline really writes, including the idempotency records keyed as Powertools
keys them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest

from jumio_pipeline.adapters.idempotency import CAPTURE_KEY_PREFIX, PREPARED_DATA_KEY_PREFIX
from jumio_pipeline.domain.capture_identity import CaptureIdentity
from jumio_pipeline.domain.erasure_report import JumioOutcome
from jumio_pipeline.domain.erasure_request import parse_request
from jumio_pipeline.domain.errors import (
    ErasureIncomplete,
    ErasureRefused,
    InvalidMessage,
    JumioRejected,
    JumioUnavailable,
    SessionDeleted,
)
from jumio_pipeline.domain.session_state import PartStatus, SessionStatus
from jumio_pipeline.services.capture import CaptureService
from jumio_pipeline.services.erasure import Eraser
from jumio_pipeline.services.prepared_data import PreparedDataService
from jumio_pipeline.services.registration import RegistrationService
from tests.support import images
from tests.support.fakes import (
    InMemoryIdempotencyRecords,
    InMemoryRunOnce,
    jumio_auth_error,
    jumio_refusal,
    jumio_unavailable,
)
from tests.support.prepared_data import FULL_DATA
from tests.unit.services.conftest import (
    BUCKET,
    Ids,
    World,
    href_base,
    put_capture,
    registration,
    token_of,
)

CATEGORIES = ("ID", "SELFIE", "DATA", "DOCUMENT")
JPEG = images.make_jpeg(640, 480)


@dataclass
class Pipeline:
    """The services that fill a session, wired as the handlers wire them."""

    world: World
    registrations: RegistrationService
    captures: CaptureService
    prepared_data: PreparedDataService
    capture_once: InMemoryRunOnce

    def register(self, ids: Ids, categories=CATEGORIES, **options) -> None:
        self.registrations.register(registration(ids, categories, **options))

    def capture(self, ids: Ids, category: str, name: str) -> CaptureIdentity:
        """A capture written and delivered once, as add_part delivers it."""
        identity = put_capture(self.world, ids.key(category, name), JPEG)
        deliver = self.capture_once.guard(
            lambda capture, identity: self.captures.process(identity).to_record()
        )
        deliver(capture=identity.idempotency_payload(), identity=identity)
        return identity

    def data(self, ids: Ids) -> None:
        body = json.dumps({"workflowExecutionId": ids.workflow, "data": FULL_DATA})
        self.prepared_data.process(body, "m-data")

    def fill(self, ids: Ids) -> None:
        """Every part of the default session, a second document page and a retaken FRONT."""
        self.register(ids)
        for category, name in [
            ("ID", "FRONT.jpg"),
            ("ID", "BACK.jpg"),
            ("SELFIE", "FACE.jpg"),
            ("DOCUMENT", "DOCUMENT/1.jpg"),
            ("DOCUMENT", "DOCUMENT/2.jpg"),
            ("ID", "FRONT.jpg"),
        ]:
            self.capture(ids, category, name)
        self.data(ids)


@pytest.fixture
def pipeline(world: World) -> Pipeline:
    signal = world.signal
    return Pipeline(
        world=world,
        registrations=RegistrationService(
            ledger=world.ledger,
            executions=world.executions,
            signal_completion=signal,
            clock=world.clock,
        ),
        captures=CaptureService(
            ledger=world.ledger,
            objects=world.objects,
            jumio=world.jumio,
            documents=world.documents,
            refusals=world.refusals,
            signal_completion=signal,
            metrics=world.metrics,
            clock=world.clock,
        ),
        prepared_data=PreparedDataService(
            ledger=world.ledger,
            jumio=world.jumio,
            dead_letters=world.dead_letters,
            signal_completion=signal,
            once=InMemoryRunOnce(
                world.idempotency, key_prefix=PREPARED_DATA_KEY_PREFIX, data_keyword="upload"
            ),
            fingerprint_key=world.secret_key,
            refusals=world.refusals,
            clock=world.clock,
        ),
        capture_once=InMemoryRunOnce(
            world.idempotency,
            key_prefix=CAPTURE_KEY_PREFIX,
            data_keyword="capture",
            event_key_jmespath="[bucket, key, versionId]",
        ),
    )


@pytest.fixture
def eraser(world: World) -> Eraser:
    return world.eraser


def request(**fields):
    return parse_request({"requestId": "req-1", "requestedBy": "dpo-7", **fields})


def objects_under(world: World, prefix: str) -> list[str]:
    return [v.key for v in world.objects.versions(BUCKET, prefix)]


def jumio_operations(world: World) -> list[str]:
    return [c.operation for c in world.jumio.calls if c.operation.startswith("delete")]


# --- SESSION ------------------------------------------------------------------------------------


def test_a_session_erasure_leaves_no_trace_and_keeps_a_tombstone(world, pipeline, eraser):
    ids, other = world.ids, Ids()
    pipeline.fill(ids)
    pipeline.fill(other)
    world.objects.delete(BUCKET, ids.key("ID", "BACK.jpg"))  # a delete marker
    records_before = world.idempotency.ids()

    report = eraser.erase(request(scope="SESSION", workflowExecutionId=ids.workflow))

    assert objects_under(world, f"captures/{ids.workflow}/") == []
    assert world.ledger.parts(ids.workflow) == []
    record = world.ledger.get(ids.workflow)
    assert (record.status, record.erased, record.has_task_token) == (
        SessionStatus.DELETED,
        True,
        False,
    )
    assert all(c.token is None and c.parts == {} for c in record.session.credentials.values())
    assert world.tenant.calls[0].operation == "delete_workflow"
    assert (world.tenant.calls[0].account_id, world.tenant.calls[0].workflow_execution_id) == (
        ids.account,
        ids.workflow,
    )
    assert world.executions.executions[ids.workflow].status == "ABORTED"
    assert report.jumio == [JumioOutcome("delete_workflow", "CONFIRMED", ids.workflow)]
    assert report.accountId == ids.account
    counts = report.counts
    assert (counts.objectVersions, counts.deleteMarkers, counts.executionsStopped) == (6, 1, 1)
    assert counts.idempotencyRecords == 7  # six captures and the prepared data
    assert counts.ledgerItems == 7  # six part records (FRONT twice is one) and the session
    # Only this session's records went; the other session is untouched.
    assert len(records_before) - len(world.idempotency.ids()) == 7
    assert len(objects_under(world, f"captures/{other.workflow}/")) == 6
    assert world.ledger.get(other.workflow).status is SessionStatus.REGISTERED
    assert world.executions.executions[other.workflow].status == "RUNNING"


def test_a_repeated_session_erasure_finds_nothing_left_and_skips_jumio(world, pipeline, eraser):
    pipeline.fill(world.ids)
    erase_session = request(scope="SESSION", workflowExecutionId=world.ids.workflow)
    eraser.erase(erase_session)

    again = eraser.erase(erase_session)

    assert again.jumio == [
        JumioOutcome("delete_workflow", "SKIPPED_ALREADY_ERASED", world.ids.workflow)
    ]
    assert again.counts.total == 0
    assert again.did_anything is False
    assert len(world.tenant.calls) == 1


def test_an_erasure_stopped_half_way_is_closed_to_new_parts_and_finished_by_the_retry(
    world, pipeline, eraser
):
    pipeline.fill(world.ids)
    world.tenant.fail("delete_workflow", jumio_unavailable(operation="delete_workflow"))
    erase_session = request(scope="SESSION", workflowExecutionId=world.ids.workflow)

    with pytest.raises(JumioUnavailable):
        eraser.erase(erase_session)

    half = world.ledger.get(world.ids.workflow)
    assert (half.status, half.erased) == (SessionStatus.DELETED, False)
    assert half.session.credential(world.ids.id_credential).token == token_of(world.ids, "ID")
    assert len(objects_under(world, f"captures/{world.ids.workflow}/")) == 6
    late = put_capture(world, world.ids.key("SELFIE", "FACE.jpg"), JPEG)
    with pytest.raises(SessionDeleted):
        pipeline.captures.process(late)

    report = eraser.erase(erase_session)

    assert report.jumio[0].outcome == "CONFIRMED"
    assert world.ledger.get(world.ids.workflow).erased
    assert objects_under(world, f"captures/{world.ids.workflow}/") == []
    assert world.idempotency.ids() == set()


def test_s3_keeping_versions_fails_the_erasure_before_the_ledger_is_scrubbed(
    world, pipeline, eraser
):
    pipeline.fill(world.ids)
    world.objects.refuse_deletion(BUCKET, world.ids.key("SELFIE", "FACE.jpg"))

    with pytest.raises(ErasureIncomplete):
        eraser.erase(request(scope="SESSION", workflowExecutionId=world.ids.workflow))

    record = world.ledger.get(world.ids.workflow)
    assert (record.status, record.erased) == (SessionStatus.DELETED, False)
    assert world.ledger.parts(world.ids.workflow) != []
    assert world.ledger.sessions_registered_before(int(world.clock()) + 1) == [world.ids.workflow]


def test_a_session_never_registered_here_skips_jumio_but_erases_its_captures(world, eraser):
    early = put_capture(world, world.ids.key("ID", "FRONT.jpg"), JPEG)

    report = eraser.erase(request(scope="SESSION", workflowExecutionId=world.ids.workflow))

    assert report.jumio == [
        JumioOutcome("delete_workflow", "SKIPPED_NOT_REGISTERED", world.ids.workflow)
    ]
    assert world.tenant.calls == []
    assert objects_under(world, early.key) == []
    assert report.counts.objectVersions == 1


# --- PART and DOCUMENT_PAGES ----------------------------------------------------------------------


def test_a_part_erasure_deletes_the_part_everywhere_and_the_session_waits_for_it_again(
    world, pipeline, eraser
):
    ids = world.ids
    pipeline.fill(ids)
    assert world.ledger.get(ids.workflow).pending_parts == frozenset()

    report = eraser.erase(
        request(
            scope="PART",
            workflowExecutionId=ids.workflow,
            credentialId=ids.id_credential,
            classifier="FRONT",
        )
    )

    [call] = [c for c in world.jumio.calls if c.operation == "delete_part"]
    assert call.href == f"{href_base(ids)}/credentials/{ids.id_credential}/parts/FRONT"
    assert call.token == token_of(ids, "ID")
    assert objects_under(world, ids.key("ID", "FRONT.")) == []
    assert len(objects_under(world, ids.key("ID", "BACK."))) == 1
    front = world.ledger.get_part(ids.workflow, ids.part("ID", "FRONT"))
    assert (front.status, front.is_tombstone) == (PartStatus.DELETED, True)
    record = world.ledger.get(ids.workflow)
    assert (record.status, record.pending_parts) == (
        SessionStatus.REGISTERED,
        frozenset({ids.ref("ID", "FRONT")}),
    )
    assert record.session.credential(ids.id_credential).token == token_of(ids, "ID")
    assert (report.counts.objectVersions, report.counts.idempotencyRecords) == (2, 2)
    assert report.counts.ledgerItems == 1
    assert report.jumio == [
        JumioOutcome("delete_part", "CONFIRMED", ids.workflow, ids.id_credential)
    ]


def test_a_capture_after_a_part_erasure_is_added_anew_and_completes_the_session(
    world, pipeline, eraser
):
    ids = world.ids
    pipeline.fill(ids)
    world.ledger.store_task_token(ids.workflow, "task-token-1")
    scope = {"workflowExecutionId": ids.workflow, "credentialId": ids.id_credential}
    eraser.erase(request(scope="PART", classifier="FRONT", **scope))

    pipeline.capture(ids, "ID", "FRONT.jpg")

    assert [c.operation for c in world.jumio.calls][-1] == "add_part"  # not an update
    assert world.ledger.get_part(ids.workflow, ids.part("ID", "FRONT")).landed
    assert world.ledger.get(ids.workflow).pending_parts == frozenset()
    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


@pytest.mark.parametrize(
    ("scope", "classifier", "operation"),
    [("PART", "FRONT", "delete_part"), ("DOCUMENT_PAGES", None, "delete_all_pages")],
)
@pytest.mark.parametrize("refusal", [jumio_refusal(409), jumio_refusal(400), jumio_auth_error(403)])
def test_a_part_deletion_refused_without_explanation_is_settled_by_the_details(
    world, pipeline, eraser, scope, classifier, operation, refusal
):
    """A repeat after a lost answer may meet any status: gone by the details is done."""
    ids = world.ids
    pipeline.fill(ids)
    credential = ids.document_credential if scope == "DOCUMENT_PAGES" else ids.id_credential
    world.jumio.fail(operation, refusal)
    world.status.parts[ids.workflow] = {credential: frozenset({"BACK"})}  # not this part
    fields = {"classifier": classifier} if classifier else {}

    report = eraser.erase(
        request(scope=scope, workflowExecutionId=ids.workflow, credentialId=credential, **fields)
    )

    assert [(j.operation, j.outcome) for j in report.jumio] == [(operation, "CONFIRMED")]
    assert [call.operation for call in world.status.calls] == ["details"]


def test_a_part_deletion_refused_while_jumio_still_holds_the_part_is_not_confirmed(
    world, pipeline, eraser
):
    ids = world.ids
    pipeline.fill(ids)
    world.jumio.fail("delete_part", jumio_refusal(409))
    world.status.parts[ids.workflow] = {ids.id_credential: frozenset({"FRONT", "BACK"})}
    erase_front = request(
        scope="PART",
        workflowExecutionId=ids.workflow,
        credentialId=ids.id_credential,
        classifier="FRONT",
    )

    with pytest.raises(JumioRejected):
        eraser.erase(erase_front)

    # Nothing in AWS was forgotten yet: the retry finds the part's records and deletes it.
    assert world.ledger.get_part(ids.workflow, ids.part("ID", "FRONT")).landed
    assert eraser.erase(erase_front).jumio[0].outcome == "CONFIRMED"


def test_a_repeated_part_erasure_is_a_no_op_without_calling_jumio(world, pipeline, eraser):
    pipeline.fill(world.ids)
    erase_front = request(
        scope="PART",
        workflowExecutionId=world.ids.workflow,
        credentialId=world.ids.id_credential,
        classifier="FRONT",
    )
    eraser.erase(erase_front)

    again = eraser.erase(erase_front)

    assert [j.outcome for j in again.jumio] == ["SKIPPED_ALREADY_ERASED"]
    assert again.did_anything is False
    assert jumio_operations(world) == ["delete_part"]
    assert world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT")).is_tombstone


def test_a_part_that_is_not_required_is_not_made_pending_again(world, pipeline, eraser):
    ids = world.ids
    pipeline.register(ids, ("ID",), required=[ids.ref("ID", "FRONT")])
    pipeline.capture(ids, "ID", "FRONT.jpg")
    pipeline.capture(ids, "ID", "BACK.jpg")

    eraser.erase(
        request(
            scope="PART",
            workflowExecutionId=ids.workflow,
            credentialId=ids.id_credential,
            classifier="BACK",
        )
    )

    assert world.ledger.get(ids.workflow).pending_parts == frozenset()
    assert world.ledger.get_part(ids.workflow, ids.part("ID", "BACK")).is_tombstone


def test_document_pages_are_erased_together_and_the_document_is_pending_again(
    world, pipeline, eraser
):
    ids = world.ids
    pipeline.fill(ids)
    erase_pages = request(
        scope="DOCUMENT_PAGES",
        workflowExecutionId=ids.workflow,
        credentialId=ids.document_credential,
    )

    report = eraser.erase(erase_pages)
    again = eraser.erase(erase_pages)

    [call] = [c for c in world.jumio.calls if c.operation == "delete_all_pages"]
    assert call.href.endswith(f"/credentials/{ids.document_credential}/parts/DOCUMENT")
    assert objects_under(world, ids.key("DOCUMENT", "DOCUMENT/")) == []
    pages = world.ledger.parts(ids.workflow, ids.part("DOCUMENT", "DOCUMENT"))
    assert [(p.part, p.status) for p in pages] == [
        (ids.part("DOCUMENT", "DOCUMENT"), PartStatus.DELETED)
    ]
    assert world.ledger.get(ids.workflow).pending_parts == frozenset(
        {ids.ref("DOCUMENT", "DOCUMENT")}
    )
    assert (report.counts.objectVersions, report.counts.ledgerItems) == (2, 2)
    assert [j.outcome for j in again.jumio] == ["SKIPPED_ALREADY_ERASED"]
    assert jumio_operations(world) == ["delete_all_pages"]


@pytest.mark.parametrize(
    "status", [SessionStatus.FINALIZING, SessionStatus.FINALIZED, SessionStatus.EXPIRED]
)
def test_a_part_of_a_closed_session_is_refused_and_nothing_is_deleted(
    world, pipeline, eraser, status
):
    pipeline.fill(world.ids)
    world.end(status)

    with pytest.raises(ErasureRefused) as refused:
        eraser.erase(
            request(
                scope="PART",
                workflowExecutionId=world.ids.workflow,
                credentialId=world.ids.id_credential,
                classifier="FRONT",
            )
        )

    assert refused.value.reason == "SESSION_NOT_ACTIVE"
    assert jumio_operations(world) == []
    assert len(objects_under(world, world.ids.key("ID", "FRONT."))) == 2
    assert world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT")).landed


def test_a_part_of_an_erased_session_skips_jumio(world, pipeline, eraser):
    pipeline.fill(world.ids)
    eraser.erase(request(scope="SESSION", workflowExecutionId=world.ids.workflow))

    report = eraser.erase(
        request(
            scope="PART",
            workflowExecutionId=world.ids.workflow,
            credentialId=world.ids.id_credential,
            classifier="FRONT",
        )
    )

    assert [j.outcome for j in report.jumio] == ["SKIPPED_SESSION_DELETED"]
    assert jumio_operations(world) == []
    assert world.ledger.parts(world.ids.workflow) == []


@pytest.mark.parametrize(
    ("credential", "classifier", "reason"),
    [
        ("unknown", "FRONT", "UNKNOWN_CREDENTIAL"),
        ("selfie", "BACK", "UNKNOWN_PART"),
    ],
)
def test_a_part_the_session_does_not_have_is_an_invalid_request(
    world, pipeline, eraser, credential, classifier, reason
):
    pipeline.fill(world.ids)
    credential_id = str(uuid.uuid4()) if credential == "unknown" else world.ids.selfie_credential

    with pytest.raises(InvalidMessage) as invalid:
        eraser.erase(
            request(
                scope="PART",
                workflowExecutionId=world.ids.workflow,
                credentialId=credential_id,
                classifier=classifier,
            )
        )

    assert invalid.value.reason == reason
    assert jumio_operations(world) == []


# --- ACCOUNT --------------------------------------------------------------------------------------


def test_an_account_erasure_covers_every_session_of_the_account_and_only_those(
    world, pipeline, eraser
):
    first, second = world.ids, Ids(account=world.ids.account)
    stranger = Ids()
    for ids in (first, second, stranger):
        pipeline.fill(ids)
    erase_account = request(scope="ACCOUNT", accountId=first.account)

    report = eraser.erase(erase_account)
    again = eraser.erase(erase_account)

    assert [(c.operation, c.account_id) for c in world.tenant.calls] == [
        ("delete_account", first.account)
    ]
    assert sorted(report.workflowExecutionIds) == sorted([first.workflow, second.workflow])
    assert report.counts.executionsStopped == 2
    for ids in (first, second):
        assert world.ledger.get(ids.workflow).erased
        assert objects_under(world, f"captures/{ids.workflow}/") == []
    assert world.ledger.get(stranger.workflow).status is SessionStatus.REGISTERED
    assert len(objects_under(world, f"captures/{stranger.workflow}/")) == 6
    assert [j.outcome for j in again.jumio] == ["SKIPPED_ALREADY_ERASED"]
    assert again.did_anything is False


def test_an_account_unknown_to_the_ledger_is_still_deleted_at_jumio(world, eraser):
    report = eraser.erase(request(scope="ACCOUNT", accountId=world.ids.account))

    assert [c.operation for c in world.tenant.calls] == ["delete_account"]
    assert report.jumio == [JumioOutcome("delete_account", "CONFIRMED")]
    assert report.workflowExecutionIds == []


# --- retention ----------------------------------------------------------------------------------


def test_sessions_past_retention_are_the_old_ones_not_yet_fully_erased(world, pipeline, eraser):
    old, half_erased, erased, young = Ids(), Ids(), Ids(), Ids()
    for ids in (old, half_erased, erased, young):
        pipeline.register(ids)
    for ids in (old, half_erased, erased):
        world.ledger.backdate_registration(ids.workflow, int(world.clock()) - 31 * 86400)
    world.ledger.close_for_erasure(half_erased.workflow, "req-0")
    eraser.erase(request(scope="SESSION", workflowExecutionId=erased.workflow))

    selected = eraser.sessions_past_retention(30, world.clock())

    assert selected == sorted([old.workflow, half_erased.workflow])


# --- nothing outlives an erasure ------------------------------------------------------------


def test_keys_spelling_the_ids_in_another_case_are_erased_with_their_session(
    world, pipeline, eraser
):
    pipeline.register(world.ids)
    canonical = world.ids.key("ID", "FRONT.jpg")
    upper = canonical.replace(world.ids.workflow, world.ids.workflow.upper())
    pipeline.capture_once.guard(
        lambda capture, identity: pipeline.captures.process(identity).to_record()
    )(
        capture=(identity := put_capture(world, upper, JPEG)).idempotency_payload(),
        identity=identity,
    )

    report = eraser.erase(request(scope="SESSION", workflowExecutionId=world.ids.workflow))

    assert [v.key for v in world.objects.versions(BUCKET, "captures/")] == []
    assert report.counts.objectVersions == 1
    assert world.idempotency.ids() == set()


def test_a_session_erasure_sweeps_its_subject_from_the_dead_letter_queues(world, eraser):
    world.register()
    other = Ids()
    world.dead_letter_sweep.bodies = [
        json.dumps({"workflowExecutionId": world.ids.workflow, "data": {"sex": "Q"}}),
        json.dumps(
            {"Records": [{"s3": {"object": {"key": world.ids.key("ID", "F.jpg").upper()}}}]}
        ),
        json.dumps({"workflowExecutionId": other.workflow, "data": {}}),
    ]

    report = eraser.erase(request(scope="SESSION", workflowExecutionId=world.ids.workflow))

    assert report.counts.deadLetters == 2
    assert world.dead_letter_sweep.bodies == [
        json.dumps({"workflowExecutionId": other.workflow, "data": {}})
    ]


def test_a_late_capture_of_an_erased_session_is_deleted_every_version_and_audited(world):
    from jumio_pipeline.services.erasure import LateCaptures

    late = LateCaptures(
        objects=world.objects,
        idempotency=InMemoryIdempotencyRecords(world.idempotency),
        audit=world.audit,
        clock=world.clock,
    )
    key = world.ids.key("ID", "FRONT.jpg")
    put_capture(world, key, JPEG)
    identity = put_capture(world, key, JPEG)  # a second version of the same key

    report = late.erase(identity, world.ids.workflow)
    again = late.erase(identity, world.ids.workflow)  # the same notification once more

    assert [v.key for v in world.objects.versions(BUCKET, key)] == []
    assert report.counts.objectVersions == 2
    assert again is None
    [record] = world.audit.records
    assert (record["outcome"], record["scope"]) == ("COMPLETED", "CAPTURE")
    assert record["workflowExecutionIds"] == [world.ids.workflow]
