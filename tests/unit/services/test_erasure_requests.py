"""ErasureRequests and RetentionRun: every attempt audited, permanent refusals parked, transient
failures raised for SQS, and the daily run filing one SESSION request per old session."""

from __future__ import annotations

import json

import pytest

from jumio_pipeline.domain.erasure_report import AuditOutcome
from jumio_pipeline.domain.erasure_request import parse_request
from jumio_pipeline.domain.errors import JumioUnavailable
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.services.erasure import Eraser
from jumio_pipeline.services.erasure_requests import ErasureRequests, RetentionRun
from tests.support import images
from tests.support.fakes import (
    InMemoryRunOnce,
    jumio_auth_error,
    jumio_unavailable,
)
from tests.unit.services.conftest import BUCKET, Ids, World, put_capture


@pytest.fixture
def eraser(world: World) -> Eraser:
    return world.eraser


@pytest.fixture
def requests(world: World, eraser: Eraser) -> ErasureRequests:
    return ErasureRequests(
        eraser=eraser,
        audit=world.audit,
        dead_letters=world.dead_letters,
        once=InMemoryRunOnce(
            world.idempotency, key_prefix="deletion.request", data_keyword="request_key"
        ),
        clock=world.clock,
    )


def session_request(world: World, request_id: str = "req-1", **extra: str) -> str:
    return json.dumps(
        {
            "requestId": request_id,
            "scope": "SESSION",
            "workflowExecutionId": world.ids.workflow,
            "requestedBy": "dpo-7",
            **extra,
        }
    )


def with_a_capture(world: World) -> None:
    world.register()
    put_capture(world, world.ids.key("ID", "FRONT.jpg"), images.make_jpeg(640, 480))


# --- carried out ---------------------------------------------------------------------------------


def test_a_request_carried_out_is_audited_once_and_a_replay_answered_from_its_record(
    world, requests
):
    with_a_capture(world)

    first = requests.handle(session_request(world), "m-1")
    replay = requests.handle(session_request(world), "m-2")
    other = requests.handle(session_request(world, "req-2"), "m-3")

    assert (first.outcome, first.replayed) == (AuditOutcome.COMPLETED, False)
    assert (replay.outcome, replay.replayed) == (AuditOutcome.COMPLETED, True)
    assert replay.counts == first.counts
    assert (other.outcome, other.replayed) == (AuditOutcome.NO_OP, False)
    assert first.counts["objectVersions"] == 1
    assert [r["outcome"] for r in world.audit.history("req-2")] == ["NO_OP"]
    history = world.audit.history("req-1")
    assert [(r["outcome"], r["sourceMessageId"]) for r in history] == [("COMPLETED", "m-1")]
    completed = history[0]
    assert (completed["scope"], completed["requestedBy"], completed["accountId"]) == (
        "SESSION",
        "dpo-7",
        world.ids.account,
    )
    assert completed["workflowExecutionIds"] == [world.ids.workflow]
    assert completed["jumio"] == [
        {
            "operation": "delete_workflow",
            "outcome": "CONFIRMED",
            "workflowExecutionId": world.ids.workflow,
        }
    ]
    assert world.dead_letters.parked == []


# --- parked --------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_audited_failed_under_the_message_id_and_parked(world, requests):
    outcome = requests.handle("{not json", "m-9")

    assert (outcome.outcome, outcome.reason, outcome.request_id) == (
        AuditOutcome.FAILED,
        "INVALID_JSON",
        "invalid:m-9",
    )
    [record] = world.audit.records
    assert (record["requestId"], record["scope"], record["outcome"]) == (
        "invalid:m-9",
        "UNKNOWN",
        "FAILED",
    )
    [parked] = world.dead_letters.parked
    assert (parked.body, parked.reason, parked.source_message_id) == (
        "{not json",
        "INVALID_JSON",
        "m-9",
    )


def test_an_invalid_request_is_parked_with_the_field_and_audited_under_its_own_id(world, requests):
    body = json.dumps({"requestId": "req-7", "scope": "PART", "workflowExecutionId": "x"})

    outcome = requests.handle(body, "m-1")

    assert (outcome.outcome, outcome.reason, outcome.request_id) == (
        AuditOutcome.FAILED,
        "INVALID_REQUEST",
        "req-7",
    )
    [parked] = world.dead_letters.parked
    assert (parked.reason, parked.field) == ("INVALID_REQUEST", "workflowExecutionId")
    assert world.audit.history("req-7")[0]["scope"] == "PART"


def test_a_request_id_that_is_free_text_never_reaches_the_audit_trail(world, requests):
    body = json.dumps({"requestId": "Jane Doe <jane@example.com>", "scope": "SESSION"})

    outcome = requests.handle(body, "m-3")

    assert outcome.request_id == "invalid:m-3"
    assert "Jane" not in json.dumps(world.audit.records)


def test_a_permanent_refusal_is_audited_failed_parked_and_deletes_nothing(world, requests):
    with_a_capture(world)
    world.end(SessionStatus.FINALIZED)
    body = json.dumps(
        {
            "requestId": "req-1",
            "scope": "PART",
            "workflowExecutionId": world.ids.workflow,
            "credentialId": world.ids.id_credential,
            "classifier": "FRONT",
        }
    )

    outcome = requests.handle(body, "m-1")

    assert (outcome.outcome, outcome.reason) == (AuditOutcome.FAILED, "SESSION_NOT_ACTIVE")
    assert [r["outcome"] for r in world.audit.history("req-1")] == ["FAILED"]
    assert world.dead_letters.reasons == ["SESSION_NOT_ACTIVE"]
    assert len(list(world.objects.versions(BUCKET, "captures/"))) == 1


def test_jumio_refusing_the_tenant_is_parked_and_nothing_is_deleted_in_aws(world, requests):
    with_a_capture(world)
    world.tenant.fail("delete_workflow", jumio_auth_error(403, operation="delete_workflow"))

    outcome = requests.handle(session_request(world), "m-1")

    assert (outcome.outcome, outcome.reason) == (AuditOutcome.FAILED, "JumioAuthError")
    assert world.dead_letters.reasons == ["JumioAuthError"]
    assert len(list(world.objects.versions(BUCKET, "captures/"))) == 1
    assert world.ledger.get(world.ids.workflow).erased is False


# --- retried -------------------------------------------------------------------------------------


def test_a_transient_jumio_failure_is_audited_retrying_raised_and_finished_by_the_retry(
    world, requests
):
    with_a_capture(world)
    world.tenant.fail("delete_workflow", jumio_unavailable(operation="delete_workflow"))

    with pytest.raises(JumioUnavailable):
        requests.handle(session_request(world), "m-1")
    finished = requests.handle(session_request(world), "m-1")

    assert finished.outcome is AuditOutcome.COMPLETED
    history = world.audit.history("req-1")
    assert [r["outcome"] for r in history] == ["RETRYING", "COMPLETED"]
    assert history[0]["reason"] == "JumioUnavailable"
    assert history[0]["detail"] == "delete_workflow: HTTP 503 Service Unavailable"
    assert world.dead_letters.parked == []
    assert world.ledger.get(world.ids.workflow).erased


def test_a_transient_failure_outside_jumio_is_audited_by_its_class_name_only(world, requests):
    with_a_capture(world)
    world.objects.refuse_deletion(BUCKET, world.ids.key("ID", "FRONT.jpg"))

    with pytest.raises(Exception, match="S3 kept"):
        requests.handle(session_request(world), "m-1")

    [record] = world.audit.history("req-1")
    assert (record["outcome"], record["reason"], record["detail"]) == (
        "RETRYING",
        "ErasureIncomplete",
        "ErasureIncomplete",
    )
    assert world.dead_letters.parked == []


# --- the daily retention run ---------------------------------------------------------------------


@pytest.fixture
def retention(world: World, eraser: Eraser) -> RetentionRun:
    return RetentionRun(
        eraser=eraser, requests=world.request_queue, retention_days=30, clock=world.clock
    )


def test_the_daily_run_files_one_session_request_per_old_session(world, retention):
    old, young = Ids(), Ids()
    world.register(ids=old)
    world.register(ids=young)
    world.ledger.backdate_registration(old.workflow, int(world.clock()) - 31 * 86400)

    result = retention.file()

    assert (result.selected, result.retention_days) == (1, 30)
    [body] = world.request_queue.sent
    filed = parse_request(json.loads(body))
    assert (filed.requestId, filed.scope.value, filed.workflow_execution_id) == (
        f"retention:2024-05-01:{old.workflow}",
        "SESSION",
        old.workflow,
    )
    assert filed.requestedBy == "retention-schedule"


def test_the_run_twice_a_day_files_the_same_request_and_erased_sessions_are_not_filed_again(
    world, retention, requests
):
    world.register()
    world.ledger.backdate_registration(world.ids.workflow, int(world.clock()) - 31 * 86400)
    retention.file()
    retention.file()
    first, second = world.request_queue.sent

    assert first == second
    assert requests.handle(first, "m-1").outcome is AuditOutcome.COMPLETED
    world.request_queue.sent.clear()
    assert retention.file().selected == 0
    assert world.request_queue.sent == []


def test_a_run_that_cannot_queue_its_requests_fails_whole(world, retention):
    world.register()
    world.ledger.backdate_registration(world.ids.workflow, 0)
    world.request_queue.fail_with = RuntimeError("1 messages were not queued")

    with pytest.raises(RuntimeError):
        retention.file()


def test_copies_of_one_request_delivered_at_once_run_it_once(world, eraser):
    import threading

    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    with_a_capture(world)
    inside = threading.Event()
    release = threading.Event()
    erase = eraser.erase

    def slow_erase(request):
        inside.set()
        release.wait(5)
        return erase(request)

    eraser.erase = slow_erase  # type: ignore[method-assign]
    requests = ErasureRequests(
        eraser=eraser,
        audit=world.audit,
        dead_letters=world.dead_letters,
        once=InMemoryRunOnce(
            world.idempotency, key_prefix="deletion.request", data_keyword="request_key"
        ),
        clock=world.clock,
    )
    results: list[object] = []
    first = threading.Thread(
        target=lambda: results.append(requests.handle(session_request(world), "m-1"))
    )
    first.start()
    assert inside.wait(5)
    with pytest.raises(IdempotencyAlreadyInProgressError):  # the twin: retried in seconds
        requests.handle(session_request(world), "m-2")
    release.set()
    first.join(5)
    retried = requests.handle(session_request(world), "m-2")

    assert [r["outcome"] for r in world.audit.history("req-1")] == ["COMPLETED"]
    assert retried.replayed
    assert len(world.tenant.succeeded("delete_workflow")) == 1
