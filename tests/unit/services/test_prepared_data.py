"""PreparedDataService: data lands once, a duplicate is recognised, anything else is parked."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from jumio_pipeline.adapters.idempotency import PREPARED_DATA_KEY_PREFIX
from jumio_pipeline.domain.errors import (
    FingerprintKeyUnavailable,
    JumioThrottled,
    JumioUnavailable,
    SessionNotRegistered,
)
from jumio_pipeline.domain.prepared_data import keyed_fingerprint, validate_prepared_data
from jumio_pipeline.domain.session_state import PartStatus, SessionStatus
from jumio_pipeline.services.prepared_data import OutcomeStatus, PreparedDataService
from tests.support.fakes import (
    FakeCredentialsApi,
    InMemoryRunOnce,
    jumio_auth_error,
    jumio_not_found,
    jumio_refusal,
    jumio_rejected,
    jumio_throttled,
    jumio_unavailable,
)
from tests.support.prepared_data import FULL_DATA
from tests.unit.services.conftest import (
    ENDED_EXECUTION_REASONS,
    UNEXPLAINED_REFUSALS,
    World,
    href_base,
    required_parts,
    token_of,
)

CORRECTED = {**FULL_DATA, "lastName": "Okonkwo-Corrected"}
# Values of FULL_DATA that must never leave the message (ledger, DLQ attributes, outcome).
PERSONAL_VALUES = ("Zebulon-Qx7", "Okonkwo-Wd9", "52998224725", "987-65-4329")


@pytest.fixture
def once(world: World) -> InMemoryRunOnce:
    return InMemoryRunOnce(
        world.idempotency, key_prefix=PREPARED_DATA_KEY_PREFIX, data_keyword="upload"
    )


def make_service(world: World, once: InMemoryRunOnce, jumio: Any = None) -> PreparedDataService:
    return PreparedDataService(
        ledger=world.ledger,
        jumio=jumio or world.jumio,
        dead_letters=world.dead_letters,
        signal_completion=world.signal,
        once=once,
        fingerprint_key=world.secret_key,
        refusals=world.refusals,
        clock=world.clock,
    )


@pytest.fixture
def service(world: World, once: InMemoryRunOnce) -> PreparedDataService:
    return make_service(world, once)


def message(world: World, data: Any = FULL_DATA, **ids: str) -> str:
    return json.dumps({"workflowExecutionId": world.ids.workflow, **ids, "data": data})


def fingerprint(world: World, data: dict[str, Any]) -> str:
    body = validate_prepared_data({"workflowExecutionId": world.ids.workflow, "data": data}).body
    return keyed_fingerprint(body, world.secret_key.value)


def data_part(world: World):
    return world.ledger.get_part(world.ids.workflow, world.ids.part("DATA", "PREPARED_DATA"))


def assert_no_personal_value(*texts: object) -> None:
    dumped = json.dumps(texts, default=str)
    for value in PERSONAL_VALUES:
        assert value not in dumped


# --- uploaded ----------------------------------------------------------------------------------


def test_data_goes_to_the_data_credential_once_and_is_recorded_by_its_fingerprint(
    world, service, once
):
    world.register()

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.recorded_in_ledger) == (OutcomeStatus.UPLOADED, True)
    assert outcome.credential_id == world.ids.data_credential
    [call] = world.jumio.calls
    credential = world.ids.data_credential
    assert call.href == f"{href_base(world.ids)}/credentials/{credential}/parts/PREPARED_DATA"
    assert call.token == token_of(world.ids, "DATA")
    assert call.data["personalNumber"] == FULL_DATA["personalNumber"]
    part = data_part(world)
    upload_ids = {
        "workflowExecutionId": world.ids.workflow,
        "credentialId": credential,
        "fingerprint": fingerprint(world, FULL_DATA),
    }
    assert (part.status, part.fingerprint, part.idempotency_key) == (
        PartStatus.UPLOADED,
        fingerprint(world, FULL_DATA),
        once.record_id(upload_ids),
    )
    assert world.idempotency.ids() == {once.record_id(upload_ids)}
    assert_no_personal_value(world.ledger.part_item(world.ids.workflow, part.part), outcome)
    assert world.dead_letters.parked == []


def test_an_explicit_credential_id_is_honoured(world, service):
    world.register(("DATA",))

    outcome = service.process(message(world, credentialId=world.ids.data_credential), "m-1")

    assert outcome.status is OutcomeStatus.UPLOADED
    assert world.jumio.calls[0].href.endswith(f"{world.ids.data_credential}/parts/PREPARED_DATA")


def test_data_that_completes_the_parts_sends_the_completion_signal(world, service):
    session = world.register(("ID", "DATA"))
    world.land(*[p for p in required_parts(session) if p.classifier != "PREPARED_DATA"])
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")

    outcome = service.process(message(world), "m-1")

    assert outcome.completion_signalled is True
    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


# --- duplicates and corrections ----------------------------------------------------------------


def test_the_same_data_again_is_a_duplicate_and_is_not_sent_again(world, service):
    world.register()
    service.process(message(world), "m-1")

    again = service.process(message(world), "m-2")

    assert (again.status, again.recorded_in_ledger) == (OutcomeStatus.DUPLICATE, False)
    assert len(world.jumio.calls) == 1
    assert world.dead_letters.parked == []


def test_the_ledger_still_recognises_a_duplicate_after_the_idempotency_record_expired(
    world, service
):
    world.register()
    service.process(message(world), "m-1")
    world.idempotency.records.clear()

    again = service.process(message(world), "m-2")

    assert again.status is OutcomeStatus.DUPLICATE
    assert len(world.jumio.calls) == 1


def test_corrected_data_is_sent_again_and_recorded_as_what_jumio_holds(world, service):
    world.register()
    service.process(message(world), "m-1")

    corrected = service.process(message(world, CORRECTED), "m-2")

    assert corrected.status is OutcomeStatus.UPLOADED
    assert [c.operation for c in world.jumio.calls] == ["upload_prepared_data"] * 2
    assert world.jumio.calls[1].data["lastName"] == "Okonkwo-Corrected"
    assert data_part(world).fingerprint == fingerprint(world, CORRECTED)


def test_a_stale_redelivery_does_not_undo_a_correction(world, service):
    world.register()
    service.process(message(world), "m-1")
    service.process(message(world, CORRECTED), "m-2")

    stale = service.process(message(world), "m-1")

    assert stale.status is OutcomeStatus.DUPLICATE
    assert len(world.jumio.calls) == 2
    assert data_part(world).fingerprint == fingerprint(world, CORRECTED)


def test_a_copy_arriving_while_the_first_upload_is_in_flight_is_held_back(world, once):
    # The first upload is still at Jumio when the same data arrives again: the idempotency
    # guard's in-progress record holds the copy back (raised: SQS delivers it later).
    world.register()
    copies: list[BaseException] = []

    class SlowJumio(FakeCredentialsApi):
        def upload_prepared_data(self, href, token, data):
            try:
                service.process(message(world), "m-2")
            except IdempotencyAlreadyInProgressError as exc:
                copies.append(exc)
            return super().upload_prepared_data(href, token, data)

    jumio = SlowJumio()
    service = make_service(world, once, jumio)

    first = service.process(message(world), "m-1")

    assert first.status is OutcomeStatus.UPLOADED
    assert len(copies) == 1
    assert len(jumio.calls) == 1


def test_a_duplicate_sends_a_completion_signal_that_failed_before(world, service):
    session = world.register(("ID", "DATA"))
    world.land(*[p for p in required_parts(session) if p.classifier != "PREPARED_DATA"])
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    world.executions.fail_signals_with = ConnectionError("step functions throttled")
    with pytest.raises(ConnectionError):
        service.process(message(world), "m-1")
    world.executions.fail_signals_with = None

    redelivered = service.process(message(world), "m-1")

    assert (redelivered.status, redelivered.completion_signalled) == (
        OutcomeStatus.DUPLICATE,
        True,
    )
    assert len(world.jumio.calls) == 1
    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


# --- parked -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ("{not json", "INVALID_MESSAGE", ""),
        (json.dumps({"data": FULL_DATA}), "INVALID_MESSAGE", "workflowExecutionId"),
    ],
)
def test_a_message_without_a_usable_session_id_is_parked_at_once(
    world, service, body, reason, field
):
    outcome = service.process(body, "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, reason)
    [parked] = world.dead_letters.parked
    assert (parked.body, parked.reason, parked.field, parked.source_message_id) == (
        body,
        reason,
        field,
        "m-1",
    )


def test_data_for_a_session_not_registered_yet_is_handed_back_to_wait_for_it(world, service):
    with pytest.raises(SessionNotRegistered):
        service.process(message(world), "m-1")

    assert world.dead_letters.parked == []
    assert world.jumio.calls == []
    assert world.ledger.parts(world.ids.workflow) == []


def test_invalid_data_for_a_session_not_registered_yet_is_parked_at_once(world, service):
    outcome = service.process(message(world, {**FULL_DATA, "sex": "X"}), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, "INVALID_PREPARED_DATA")
    assert world.dead_letters.reasons == ["INVALID_PREPARED_DATA"]


def test_data_racing_an_erasure_is_discarded_not_kept_in_a_dead_letter_queue(world, service):
    world.register()
    erase_in_flight = world.jumio.upload_prepared_data

    def upload_then_erased(href, token, data):
        result = erase_in_flight(href, token, data)
        world.ledger.close_for_erasure(world.ids.workflow, "req-1")
        return result

    world.jumio.upload_prepared_data = upload_then_erased
    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.DISCARDED, "SESSION_DELETED")
    assert world.dead_letters.parked == []
    assert world.ledger.parts(world.ids.workflow) == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**FULL_DATA, "sex": "X"}, "data.sex"),
        ({**FULL_DATA, "nationality": "XYZ"}, "data.nationality"),
        ({**FULL_DATA, "favouriteColour": "teal"}, "data.favouriteColour"),
        ({**FULL_DATA, "dateOfBirth": "01/01/1985"}, "data.dateOfBirth"),
    ],
)
def test_invalid_data_is_parked_with_its_field_and_recorded_without_any_value(
    world, service, data, field
):
    world.register()

    outcome = service.process(message(world, data), "m-1")

    assert (outcome.status, outcome.reason, outcome.field) == (
        OutcomeStatus.PARKED,
        "INVALID_PREPARED_DATA",
        field,
    )
    assert world.jumio.calls == []
    part = data_part(world)
    assert (part.status, part.reason) == (PartStatus.REJECTED, "INVALID_PREPARED_DATA")
    item = world.ledger.part_item(world.ids.workflow, part.part)
    assert item["field"] == field
    [parked] = world.dead_letters.parked
    assert (parked.reason, parked.field) == ("INVALID_PREPARED_DATA", field)
    assert_no_personal_value(item, parked.message, parked.field, outcome.log_fields())


def test_invalid_data_is_parked_even_while_the_fingerprint_key_is_unreadable(world, service):
    world.register()
    world.secret_key.unreadable = True

    outcome = service.process(message(world, {**FULL_DATA, "sex": "X"}), "m-1")

    assert outcome.reason == "INVALID_PREPARED_DATA"
    assert world.dead_letters.reasons == ["INVALID_PREPARED_DATA"]


def test_valid_data_waits_for_an_unreadable_fingerprint_key(world, service):
    world.register()
    world.secret_key.unreadable = True

    with pytest.raises(FingerprintKeyUnavailable):
        service.process(message(world), "m-1")

    assert world.jumio.calls == []
    assert world.dead_letters.parked == []
    assert data_part(world) is None
    world.secret_key.unreadable = False
    assert service.process(message(world), "m-1").status is OutcomeStatus.UPLOADED


def test_a_credential_id_the_session_does_not_have_is_parked_and_noted_under_it(world, service):
    world.register()
    stranger = str(uuid.uuid4())

    outcome = service.process(message(world, credentialId=stranger), "m-1")

    assert (outcome.reason, outcome.field) == ("UNKNOWN_CREDENTIAL", "credentialId")
    rejected = world.ledger.get_part(world.ids.workflow, world.ids.part("DATA", "PREPARED_DATA"))
    assert rejected is None
    parts = world.ledger.parts(world.ids.workflow)
    assert [(p.part.credential_id, p.reason) for p in parts] == [(stranger, "UNKNOWN_CREDENTIAL")]
    assert world.jumio.calls == []


def test_a_credential_without_a_prepared_data_part_is_unknown(world, service):
    world.register()

    outcome = service.process(message(world, credentialId=world.ids.id_credential), "m-1")

    assert outcome.reason == "UNKNOWN_CREDENTIAL"
    assert world.jumio.calls == []


def test_a_session_without_a_data_credential_is_parked_without_a_ledger_record(world, service):
    world.register(("ID", "SELFIE"))

    outcome = service.process(message(world), "m-1")

    assert (outcome.reason, outcome.recorded_in_ledger) == ("NO_DATA_CREDENTIAL", False)
    assert world.ledger.parts(world.ids.workflow) == []
    assert world.dead_letters.reasons == ["NO_DATA_CREDENTIAL"]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (SessionStatus.FINALIZING, "SESSION_FINALIZED"),
        (SessionStatus.FINALIZED, "SESSION_FINALIZED"),
        (SessionStatus.FAILED, "SESSION_FAILED"),
        (SessionStatus.EXPIRED, "TOKEN_EXPIRED"),
    ],
)
def test_data_for_an_ended_session_is_parked_without_calling_jumio(world, service, status, reason):
    world.register()
    world.end(status)

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason, outcome.recorded_in_ledger) == (
        OutcomeStatus.PARKED,
        reason,
        True,
    )
    assert world.jumio.calls == []
    assert data_part(world).reason == reason
    assert world.dead_letters.reasons == [reason]


def test_data_after_the_token_expired_is_parked_without_calling_jumio(world, service):
    session = world.register()
    world.clock.now = session.token_expires_at

    outcome = service.process(message(world), "m-1")

    assert outcome.reason == "TOKEN_EXPIRED"
    assert world.jumio.calls == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (jumio_auth_error(401), "TOKEN_EXPIRED"),
        (jumio_auth_error(403), "TOKEN_EXPIRED"),
        # Jumio documents no error codes (and its detail is never kept): a refusal is its status.
        (jumio_refusal(409), "JUMIO_REJECTED"),
        (jumio_refusal(400), "JUMIO_REJECTED"),
        (jumio_not_found(), "JUMIO_NOT_FOUND"),
        (jumio_rejected(422, title="Unprocessable Entity"), "JUMIO_REJECTED"),
    ],
)
def test_a_jumio_refusal_is_parked_with_its_reason_and_leaves_no_run_once_record(
    world, service, error, reason
):
    world.register()
    world.jumio.fail("upload_prepared_data", error)

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, reason)
    assert data_part(world).reason == reason
    [parked] = world.dead_letters.parked
    assert parked.reason == reason
    assert_no_personal_value(parked.message, outcome.detail)
    # No record is left behind: a redrive after the cause is fixed uploads.
    assert world.idempotency.ids() == set()
    assert service.process(message(world), "m-1").status is OutcomeStatus.UPLOADED


@pytest.mark.parametrize(("status", "reason"), ENDED_EXECUTION_REASONS)
@pytest.mark.parametrize("error", UNEXPLAINED_REFUSALS)
def test_a_refusal_is_named_by_the_workflow_status_when_it_shows_the_execution_ended(
    world, service, error, status, reason
):
    """Jumio may answer an ended execution with any of these statuses: its status says why."""
    world.register()
    world.status.statuses[world.ids.workflow] = status
    world.jumio.fail("upload_prepared_data", error)

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, reason)
    assert data_part(world).reason == reason
    assert str(status) in outcome.detail
    [parked] = world.dead_letters.parked
    assert parked.reason == reason


def test_a_refusal_keeps_its_http_name_when_the_status_cannot_be_read(world, service):
    world.register()
    world.status.fail("status", jumio_unavailable())
    world.jumio.fail("upload_prepared_data", jumio_refusal(409))

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, "JUMIO_REJECTED")
    assert [call.operation for call in world.status.calls] == ["status"]


@pytest.mark.parametrize("error", [jumio_unavailable(), jumio_throttled(retry_after=20)])
def test_a_transient_jumio_failure_is_raised_for_sqs_and_the_retry_uploads(world, service, error):
    world.register()
    world.jumio.fail("upload_prepared_data", error)

    with pytest.raises((JumioUnavailable, JumioThrottled)):
        service.process(message(world), "m-1")

    assert world.dead_letters.parked == []
    assert data_part(world) is None
    assert service.process(message(world), "m-1").status is OutcomeStatus.UPLOADED
    assert len(world.jumio.succeeded()) == 1


# --- erased sessions and landed parts ------------------------------------------------------------


def test_data_for_an_erased_session_is_discarded_not_kept_in_the_dlq(world, service):
    world.register()
    world.end(SessionStatus.DELETED)

    outcome = service.process(message(world), "m-1")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.DISCARDED, "SESSION_DELETED")
    assert world.dead_letters.parked == []
    assert world.ledger.parts(world.ids.workflow) == []
    assert world.jumio.calls == []


def test_invalid_data_beside_landed_data_is_noted_and_the_landed_record_stays(world, service):
    world.register()
    service.process(message(world), "m-1")

    outcome = service.process(message(world, {**CORRECTED, "sex": "X"}), "m-2")

    assert (outcome.status, outcome.reason) == (OutcomeStatus.PARKED, "INVALID_PREPARED_DATA")
    part = data_part(world)
    assert (part.status, part.fingerprint) == (PartStatus.UPLOADED, fingerprint(world, FULL_DATA))
    rejection = world.ledger.part_item(world.ids.workflow, part.part)["lastRejection"]
    assert (rejection["reason"], rejection["field"]) == ("INVALID_PREPARED_DATA", "data.sex")
    assert world.dead_letters.reasons == ["INVALID_PREPARED_DATA"]


def test_after_finalize_a_duplicate_is_no_rejection_and_a_correction_keeps_the_landed_data(
    world, service
):
    world.register()
    service.process(message(world), "m-1")
    world.end(SessionStatus.FINALIZED)

    duplicate = service.process(message(world), "m-2")
    correction = service.process(message(world, CORRECTED), "m-3")

    assert duplicate.status is OutcomeStatus.DUPLICATE
    assert (correction.status, correction.reason) == (OutcomeStatus.PARKED, "SESSION_FINALIZED")
    part = data_part(world)
    assert (part.status, part.fingerprint) == (PartStatus.UPLOADED, fingerprint(world, FULL_DATA))
    rejection = world.ledger.part_item(world.ids.workflow, part.part)["lastRejection"]
    assert rejection["reason"] == "SESSION_FINALIZED"
    assert len(world.jumio.calls) == 1
