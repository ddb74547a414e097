"""One contract, two ledgers: InMemoryLedger (the service tests' fake) and the DynamoDB Ledger.

Each scenario runs against both (the ``ledger`` and ``probe`` fixtures of conftest.py): the
real adapter on moto, on a table built from template.yaml's LedgerTable definition, and the
fake. A fake that drifts from the adapter fails here first, instead of letting a service test
pass for a behaviour Lambda does not have. Races are not run on moto (its DynamoDB is not
atomic across threads); the fake's atomicity is tested in test_completion.py.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from jumio_pipeline.domain.errors import SessionDeleted
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import (
    PartEvidence,
    PartStatus,
    RegisterOutcome,
    SessionStatus,
)
from tests.unit.services.conftest import Ids
from tests.unit.services.contracts.conftest import NOW, land_all, session_of


def renewed(session: Session, minutes: int = 5, token: str = "renewed-token") -> Session:
    credential_id, credential = next(iter(session.credentials.items()))
    return replace(
        session,
        issued_at=session.issued_at + timedelta(minutes=minutes),
        token_expires_at=session.token_expires_at + minutes * 60,
        credentials={**session.credentials, credential_id: replace(credential, token=token)},
    )


# --- registration --------------------------------------------------------------------------


def test_a_session_reads_back_as_registered_with_every_required_part_pending(ledger, ids):
    session = session_of(ids, ("ID", "SELFIE", "FACEMAP"))

    assert ledger.register(session, now=NOW) is RegisterOutcome.NEW

    record = ledger.get(ids.workflow)
    assert record.session == session
    assert record.status is SessionStatus.REGISTERED
    assert record.pending_parts == session.required_parts
    assert (record.has_task_token, record.completion_signalled, record.erased) == (
        False,
        False,
        False,
    )
    assert record.execution_arn is None
    assert record.session.credential(ids.facemap_credential).token is None
    assert ledger.get(str(uuid.uuid4())) is None


def test_empty_tokens_hrefs_and_references_read_back_as_absent(ledger, ids):
    session = session_of(ids, ("SELFIE",), execution_href=False)
    selfie = session.credential(ids.selfie_credential)
    session = replace(
        session,
        reference="",
        credentials={ids.selfie_credential: replace(selfie, workflow_execution_href="")},
    )
    ledger.register(session, now=NOW)

    stored = ledger.get(ids.workflow).session

    assert stored.reference is None
    assert stored.credential(ids.selfie_credential).workflow_execution_href is None


def test_registering_again_is_a_duplicate_and_older_responses_never_roll_tokens_back(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    newer = renewed(session)

    assert ledger.register(session, now=NOW) is RegisterOutcome.DUPLICATE
    assert ledger.register(newer, now=NOW) is RegisterOutcome.TOKENS_REPLACED
    assert ledger.register(newer, now=NOW) is RegisterOutcome.DUPLICATE
    assert ledger.register(session, now=NOW) is RegisterOutcome.DUPLICATE

    stored = ledger.get(ids.workflow).session
    assert stored.credentials == newer.credentials
    assert (stored.token_expires_at, stored.issued_at) == (
        newer.token_expires_at,
        newer.issued_at,
    )
    assert stored.required_parts == session.required_parts


@pytest.mark.parametrize("ended", ["outcome", "erasure"])
def test_an_ended_session_ignores_a_newer_response(ledger, ids, ended):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    if ended == "outcome":
        ledger.record_outcome(ids.workflow, SessionStatus.EXPIRED, now=NOW)
    else:
        ledger.close_for_erasure(ids.workflow, "req-1")

    assert ledger.register(renewed(session), now=NOW) is RegisterOutcome.IGNORED_ENDED
    assert ledger.get(ids.workflow).session.credentials == session.credentials


def test_the_execution_is_remembered(ledger, ids):
    ledger.register(session_of(ids), now=NOW)

    ledger.record_execution(ids.workflow, "arn:aws:states:us-east-1:1:execution:m:x")

    assert ledger.get(ids.workflow).execution_arn == "arn:aws:states:us-east-1:1:execution:m:x"


# --- parts -----------------------------------------------------------------------------------


def test_parts_land_one_by_one_and_the_last_one_is_told_so(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    refs = sorted(session.required_parts)

    answers = []
    for ref in refs:
        credential_id, _, classifier = ref.partition("/")
        answers.append(
            ledger.record_part_uploaded(
                ids.workflow, PartId(credential_id, classifier), PartEvidence()
            )
        )

    assert [a.all_landed for a in answers] == [False] * (len(refs) - 1) + [True]
    assert answers[0].pending_parts == frozenset(refs[1:])
    again = ledger.record_part_uploaded(ids.workflow, ids.part("ID", "FRONT"), PartEvidence())
    assert (again.all_landed, again.pending_parts) == (True, frozenset())


def test_a_landed_part_reads_back_with_its_evidence(ledger, probe, ids):
    ledger.register(session_of(ids), now=NOW)
    evidence = PartEvidence(
        bucket="b",
        key="captures/x/FRONT.jpg",
        version_id="v1",
        etag="e1",
        sequencer="00A1",
        size_bytes=1234,
        format="JPEG",
        width=640,
        height=480,
        operation="add",
    )

    ledger.record_part_uploaded(ids.workflow, ids.part("ID", "FRONT"), evidence, now=NOW)

    part = ledger.get_part(ids.workflow, ids.part("ID", "FRONT"))
    assert (part.status, part.key, part.version_id, part.etag, part.sequencer) == (
        PartStatus.UPLOADED,
        "captures/x/FRONT.jpg",
        "v1",
        "e1",
        "00A1",
    )
    assert part.landed
    assert not part.is_tombstone
    assert probe.part_item(ids.workflow, ids.part("ID", "FRONT")) == {
        "status": "UPLOADED",
        "credentialId": ids.id_credential,
        "updatedAt": NOW,
        "bucket": "b",
        "key": "captures/x/FRONT.jpg",
        "versionId": "v1",
        "eTag": "e1",
        "sequencer": "00A1",
        "bytes": 1234,
        "format": "JPEG",
        "width": 640,
        "height": 480,
        "operation": "add",
    }


@pytest.mark.parametrize("erased", [False, True], ids=["unregistered", "erased"])
def test_a_part_cannot_land_on_a_session_that_is_unknown_or_erased(ledger, ids, erased):
    if erased:
        ledger.register(session_of(ids), now=NOW)
        ledger.close_for_erasure(ids.workflow, "req-1")
    with pytest.raises(SessionDeleted):
        ledger.record_part_uploaded(ids.workflow, ids.part("ID", "FRONT"), PartEvidence())

    assert ledger.get_part(ids.workflow, ids.part("ID", "FRONT")) is None


def test_a_rejection_takes_the_place_of_a_rejection_and_a_landing_replaces_it(ledger, probe, ids):
    ledger.register(session_of(ids), now=NOW)
    front = ids.part("ID", "FRONT")
    first = ledger.record_part_rejected(
        ids.workflow,
        front,
        reason="TOO_SMALL",
        message="too small",
        evidence=PartEvidence(version_id="v1"),
        now=NOW,
    )
    second = ledger.record_part_rejected(
        ids.workflow,
        front,
        reason="NOT_AN_IMAGE",
        message="not an image",
        evidence=PartEvidence(version_id="v2"),
        now=NOW,
    )
    rejected = ledger.get_part(ids.workflow, front)
    ledger.record_part_uploaded(ids.workflow, front, PartEvidence(version_id="v3"), now=NOW)

    assert (first, second) == (True, True)
    assert (rejected.status, rejected.reason, rejected.version_id) == (
        PartStatus.REJECTED,
        "NOT_AN_IMAGE",
        "v2",
    )
    assert probe.part_item(ids.workflow, front) == {
        "status": "UPLOADED",
        "updatedAt": NOW,
        "versionId": "v3",
        "credentialId": ids.id_credential,
    }


def test_a_rejection_of_a_landed_part_is_kept_beside_it_never_in_its_place(ledger, probe, ids):
    ledger.register(session_of(ids), now=NOW)
    data = ids.part("DATA", "PREPARED_DATA")
    ledger.record_part_uploaded(ids.workflow, data, PartEvidence(fingerprint="f1"), now=NOW)

    became_status = ledger.record_part_rejected(
        ids.workflow,
        data,
        reason="INVALID_PREPARED_DATA",
        message="bad",
        evidence=PartEvidence(field="data.sex"),
        now=NOW,
    )

    assert became_status is False
    part = ledger.get_part(ids.workflow, data)
    assert (part.status, part.fingerprint, part.reason) == (PartStatus.UPLOADED, "f1", None)
    assert probe.part_item(ids.workflow, data)["lastRejection"] == {
        "reason": "INVALID_PREPARED_DATA",
        "message": "bad",
        "at": NOW,
        "field": "data.sex",
    }


def test_an_unmatched_capture_is_kept_apart_under_its_name(ledger, probe):
    ledger.record_unmatched(
        "abc#v1",
        reason="KEY_OUTSIDE_LAYOUT",
        message="outside",
        evidence=PartEvidence(bucket="b", key="uploads/x.jpg", version_id="v1"),
        expires_at=NOW + 86400,
        now=NOW,
    )

    assert probe.unmatched("abc#v1") == {
        "status": "REJECTED",
        "reason": "KEY_OUTSIDE_LAYOUT",
        "message": "outside",
        "updatedAt": NOW,
        "expiresAt": NOW + 86400,
        "bucket": "b",
        "key": "uploads/x.jpg",
        "versionId": "v1",
    }


def test_parts_are_listed_in_key_order_and_by_part_with_every_page(ledger, ids):
    ledger.register(session_of(ids, ("ID", "DOCUMENT")), now=NOW)
    written = [
        ids.part("DOCUMENT", "DOCUMENT", 2),
        ids.part("ID", "FRONT"),
        ids.part("DOCUMENT", "DOCUMENT", 1),
        ids.part("ID", "BACK"),
    ]
    for part in written:
        ledger.record_part_uploaded(ids.workflow, part, PartEvidence())
    ledger.leave_part_tombstone(
        ids.workflow, ids.part("DOCUMENT", "DOCUMENT"), "req-1", pending_again=False
    )

    every = [record.part for record in ledger.parts(ids.workflow)]
    pages = [record.part for record in ledger.parts(ids.workflow, ids.part("DOCUMENT", "DOCUMENT"))]
    front = ledger.parts(ids.workflow, ids.part("ID", "FRONT"))

    assert len(every) == 5
    assert every == sorted(
        every, key=lambda p: (p.credential_id, p.classifier, "" if p.page is None else f"#{p.page}")
    )
    assert pages == [
        ids.part("DOCUMENT", "DOCUMENT"),
        ids.part("DOCUMENT", "DOCUMENT", 1),
        ids.part("DOCUMENT", "DOCUMENT", 2),
    ]
    assert [record.part for record in front] == [ids.part("ID", "FRONT")]
    assert ledger.parts(str(uuid.uuid4())) == []


def test_deleting_a_part_removes_that_record_only(ledger, ids):
    ledger.register(session_of(ids), now=NOW)
    ledger.record_part_uploaded(ids.workflow, ids.part("ID", "FRONT"), PartEvidence())
    ledger.record_part_uploaded(ids.workflow, ids.part("ID", "BACK"), PartEvidence())

    ledger.delete_part(ids.workflow, ids.part("ID", "FRONT"))
    ledger.delete_part(ids.workflow, ids.part("ID", "FRONT"))

    assert [r.part for r in ledger.parts(ids.workflow)] == [ids.part("ID", "BACK")]


# --- the completion signal ---------------------------------------------------------------------


def test_the_claim_needs_every_part_a_task_token_and_no_earlier_claim(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)

    assert ledger.claim_completion_signal(ids.workflow) is None  # parts pending, no token
    assert ledger.store_task_token(ids.workflow, "task-1")
    assert ledger.claim_completion_signal(ids.workflow) is None  # parts pending
    land_all(ledger, session)
    assert ledger.claim_completion_signal(ids.workflow, now=NOW) == "task-1"
    assert ledger.get(ids.workflow).completion_signalled
    assert ledger.claim_completion_signal(ids.workflow) is None  # claimed before
    ledger.release_completion_claim(ids.workflow)
    assert not ledger.get(ids.workflow).completion_signalled
    assert ledger.claim_completion_signal(ids.workflow) == "task-1"
    assert ledger.claim_completion_signal(str(uuid.uuid4())) is None


def test_a_new_task_token_drops_the_claim_made_for_the_old_one(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    land_all(ledger, session)
    ledger.store_task_token(ids.workflow, "task-1")
    assert ledger.claim_completion_signal(ids.workflow) == "task-1"

    assert ledger.store_task_token(ids.workflow, "task-2")

    assert ledger.get(ids.workflow).has_task_token
    assert ledger.claim_completion_signal(ids.workflow) == "task-2"


@pytest.mark.parametrize(
    "status", [SessionStatus.FINALIZING, SessionStatus.FINALIZED, SessionStatus.DELETED]
)
def test_a_task_token_is_stored_only_while_the_session_is_registered(ledger, ids, status):
    ledger.register(session_of(ids), now=NOW)
    if status is SessionStatus.FINALIZING:
        ledger.mark_finalizing(ids.workflow)
    elif status is SessionStatus.DELETED:
        ledger.close_for_erasure(ids.workflow, "req-1")
    else:
        ledger.record_outcome(ids.workflow, status)

    assert ledger.store_task_token(ids.workflow, "task-1") is False
    assert ledger.store_task_token(str(uuid.uuid4()), "task-1") is False
    assert not ledger.get(ids.workflow).has_task_token


# --- outcomes -----------------------------------------------------------------------------------


def test_finalizing_closes_the_session_and_reports_the_status_it_finds(ledger, ids):
    ledger.register(session_of(ids), now=NOW)

    assert ledger.mark_finalizing(ids.workflow) is SessionStatus.FINALIZING
    assert ledger.mark_finalizing(ids.workflow) is SessionStatus.FINALIZING
    ledger.record_outcome(ids.workflow, SessionStatus.FINALIZED)
    assert ledger.mark_finalizing(ids.workflow) is SessionStatus.FINALIZED
    assert ledger.get(ids.workflow).status is SessionStatus.FINALIZED
    assert ledger.mark_finalizing(str(uuid.uuid4())) is None


def test_an_outcome_drops_the_task_token_and_is_refused_over_an_erasure(ledger, ids):
    ledger.register(session_of(ids), now=NOW)
    ledger.store_task_token(ids.workflow, "task-1")

    assert ledger.record_outcome(ids.workflow, SessionStatus.FAILED, error="JumioRejected")
    assert not ledger.get(ids.workflow).has_task_token
    ledger.close_for_erasure(ids.workflow, "req-1")
    assert ledger.record_outcome(ids.workflow, SessionStatus.FINALIZED) is False
    assert ledger.get(ids.workflow).status is SessionStatus.DELETED
    assert ledger.record_outcome(str(uuid.uuid4()), SessionStatus.FINALIZED) is False


# --- erasure ------------------------------------------------------------------------------------


def test_closing_for_erasure_keeps_what_the_erasure_still_needs(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    ledger.store_task_token(ids.workflow, "task-1")

    ledger.close_for_erasure(ids.workflow, "req-1")
    ledger.close_for_erasure(ids.workflow, "req-2")
    ledger.close_for_erasure(str(uuid.uuid4()), "req-3")

    record = ledger.get(ids.workflow)
    assert record.status is SessionStatus.DELETED
    assert record.session.credentials == session.credentials
    assert record.has_task_token
    assert not record.erased


def test_scrubbing_leaves_a_tombstone_without_tokens_or_hrefs_once(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    ledger.store_task_token(ids.workflow, "task-1")
    ledger.close_for_erasure(ids.workflow, "req-1")

    assert ledger.scrub_erased_session(ids.workflow, "req-1", now=NOW) is True
    assert ledger.scrub_erased_session(ids.workflow, "req-1", now=NOW) is False
    assert ledger.scrub_erased_session(str(uuid.uuid4()), "req-1") is False

    record = ledger.get(ids.workflow)
    assert (record.status, record.erased, record.has_task_token) == (
        SessionStatus.DELETED,
        True,
        False,
    )
    assert record.pending_parts == frozenset()
    assert record.session.required_parts == session.required_parts
    for credential_id, credential in record.session.credentials.items():
        assert credential.category == session.credential(credential_id).category
        assert (credential.token, credential.parts, credential.workflow_execution_href) == (
            None,
            {},
            None,
        )


def test_a_part_tombstone_makes_a_required_part_pending_again_only_while_registered(ledger, ids):
    session = session_of(ids)
    ledger.register(session, now=NOW)
    land_all(ledger, session)
    front, back = ids.part("ID", "FRONT"), ids.part("ID", "BACK")

    ledger.leave_part_tombstone(ids.workflow, front, "req-1", pending_again=True, now=NOW)
    ledger.leave_part_tombstone(
        ids.workflow, ids.part("SELFIE", "FACE"), "req-2", pending_again=False
    )
    ledger.mark_finalizing(ids.workflow)
    ledger.leave_part_tombstone(ids.workflow, back, "req-3", pending_again=True)

    assert ledger.get(ids.workflow).pending_parts == frozenset({ids.ref("ID", "FRONT")})
    tombstone = ledger.get_part(ids.workflow, front)
    assert (tombstone.status, tombstone.is_tombstone, tombstone.landed) == (
        PartStatus.DELETED,
        True,
        False,
    )
    assert ledger.get_part(ids.workflow, back).is_tombstone


def test_sessions_are_found_by_account_erased_or_not(ledger):
    account = str(uuid.uuid4())
    first, second, other = Ids(account=account), Ids(account=account), Ids()
    for ids in (first, second, other):
        ledger.register(session_of(ids), now=NOW)
    ledger.close_for_erasure(second.workflow, "req-1")
    ledger.scrub_erased_session(second.workflow, "req-1")

    assert ledger.sessions_of_account(account) == sorted([first.workflow, second.workflow])
    assert ledger.sessions_of_account(str(uuid.uuid4())) == []


def test_sessions_past_a_cutoff_are_those_not_fully_erased(ledger):
    old, half_erased, erased, young = Ids(), Ids(), Ids(), Ids()
    for ids in (old, half_erased, erased):
        ledger.register(session_of(ids), now=NOW - 100)
    ledger.register(session_of(young), now=NOW)
    for ids in (half_erased, erased):
        ledger.close_for_erasure(ids.workflow, "req-1")
    ledger.scrub_erased_session(erased.workflow, "req-1")

    assert ledger.sessions_registered_before(NOW) == sorted([old.workflow, half_erased.workflow])
    assert ledger.sessions_registered_before(NOW - 100) == []
