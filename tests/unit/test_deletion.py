"""The deletion domain without AWS: request validation, scope planning, record ids, retention."""

from __future__ import annotations

import uuid

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from jumio_pipeline.adapters.idempotency import capture_idempotency_ids
from jumio_pipeline.domain.erasure_request import (
    DeletionScope,
    JumioOperation,
    parse_request,
    part_jumio_call,
    retention_cutoff,
    retention_request,
    session_erasure,
    tenant_jumio_call,
)
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session import PartId

WF = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())
CRED = str(uuid.uuid4())


def _request(**fields: object) -> dict[str, object]:
    return {"requestId": "req-1", **fields}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_request(scope="SESSION"), "workflowExecutionId"),
        (_request(scope="ACCOUNT"), "accountId"),
        (_request(scope="PART", workflowExecutionId=WF, classifier="FRONT"), "credentialId"),
        (_request(scope="PART", workflowExecutionId=WF, credentialId=CRED), "classifier"),
        (
            _request(
                scope="PART", workflowExecutionId=WF, credentialId=CRED, classifier="DOCUMENT"
            ),
            "classifier",
        ),
        (
            _request(
                scope="DOCUMENT_PAGES", workflowExecutionId=WF, credentialId=CRED, classifier="FACE"
            ),
            "classifier",
        ),
        (
            _request(scope="ACCOUNT", accountId=ACCOUNT, workflowExecutionId=WF),
            "workflowExecutionId",
        ),
        (_request(scope="EVERYTHING", workflowExecutionId=WF), "scope"),
        (_request(scope="SESSION", workflowExecutionId="not-a-uuid"), "workflowExecutionId"),
        ({"scope": "SESSION", "workflowExecutionId": WF}, "requestId"),
        (
            _request(scope="SESSION", workflowExecutionId=WF, requestedBy="Jane Doe <jane@x>"),
            "requestedBy",
        ),
        (_request(scope="SESSION", workflowExecutionId=WF, email="jane@example.com"), "email"),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_request(body)
    assert caught.value.reason == "INVALID_REQUEST"
    assert caught.value.field == field
    assert field in str(caught.value)
    assert "jane" not in str(caught.value).lower()


@pytest.mark.parametrize(
    "contact",
    ["jane.doe@example.com", "ops:jane@example.org", "+4915112345678", "0151-1234-5678"],
)
def test_requested_by_refuses_contact_data_the_audit_would_keep(contact: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_request(_request(scope="SESSION", workflowExecutionId=WF, requestedBy=contact))
    assert caught.value.field == "requestedBy"
    assert "e-mail address or a phone number" in str(caught.value)
    assert contact not in str(caught.value)


@pytest.mark.parametrize("who", ["employee:4711", "svc-dsar-portal", "ticket/DSR-2024-17"])
def test_requested_by_takes_plain_ids(who: str) -> None:
    request = parse_request(_request(scope="SESSION", workflowExecutionId=WF, requestedBy=who))
    assert request.requestedBy == who


def test_non_object_request_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="not a JSON object"):
        parse_request(["SESSION"])


def test_ids_are_normalised_to_lower_case() -> None:
    request = parse_request(_request(scope="SESSION", workflowExecutionId=WF.upper()))
    assert request.workflow_execution_id == WF


def test_part_scope_covers_only_that_part() -> None:
    request = parse_request(
        _request(scope="PART", workflowExecutionId=WF, credentialId=CRED, classifier="FRONT")
    )
    plan = session_erasure(request, WF)
    assert plan.object_prefix == f"captures/{WF}/{CRED}/FRONT."
    assert plan.part == PartId(CRED, "FRONT")
    assert plan.part.ref == f"{CRED}/FRONT"


def test_document_pages_scope_covers_every_page() -> None:
    request = parse_request(
        _request(scope="DOCUMENT_PAGES", workflowExecutionId=WF, credentialId=CRED)
    )
    plan = session_erasure(request, WF)
    assert plan.object_prefix == f"captures/{WF}/{CRED}/DOCUMENT/"
    assert plan.part == PartId(CRED, "DOCUMENT")


@pytest.mark.parametrize("scope", ["SESSION", "ACCOUNT"])
def test_session_and_account_scopes_cover_the_whole_session(scope: str) -> None:
    body = (
        _request(scope=scope, workflowExecutionId=WF)
        if scope == "SESSION"
        else _request(scope=scope, accountId=ACCOUNT)
    )
    plan = session_erasure(parse_request(body), WF)
    assert plan.object_prefix == f"captures/{WF}/"
    assert plan.part is None  # the whole session, not one part


def test_part_call_uses_the_ledger_href_and_refuses_unknown_parts() -> None:
    request = parse_request(
        _request(scope="PART", workflowExecutionId=WF, credentialId=CRED, classifier="BACK")
    )
    call = part_jumio_call(request, ACCOUNT, {"BACK": "https://api.example/back"})
    assert call.operation is JumioOperation.DELETE_PART
    assert call.href == "https://api.example/back"
    with pytest.raises(InvalidMessage) as caught:
        part_jumio_call(request, ACCOUNT, {"FRONT": "https://api.example/front"})
    assert caught.value.reason == "UNKNOWN_PART"
    assert caught.value.field == "classifier"


def test_tenant_calls_per_scope() -> None:
    session = parse_request(_request(scope="SESSION", workflowExecutionId=WF))
    account = parse_request(_request(scope="ACCOUNT", accountId=ACCOUNT))
    assert tenant_jumio_call(session, ACCOUNT).operation is JumioOperation.DELETE_WORKFLOW
    assert tenant_jumio_call(session, ACCOUNT).workflow_execution_id == WF
    assert tenant_jumio_call(account, ACCOUNT).operation is JumioOperation.DELETE_ACCOUNT


class _Probe(BasePersistenceLayer):
    """Powertools' own key derivation, without storage (only the id is looked at)."""

    def _get_record(self, idempotency_key):  # pragma: no cover - never called
        raise NotImplementedError

    def _put_record(self, data_record):  # pragma: no cover
        raise NotImplementedError

    def _update_record(self, data_record):  # pragma: no cover
        raise NotImplementedError

    def _delete_record(self, data_record):  # pragma: no cover
        raise NotImplementedError


@pytest.mark.parametrize("label", ["3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "etag:a4ae46510b68becf"])
def test_record_ids_are_the_ones_powertools_derives(label: str) -> None:
    probe = _Probe()
    probe.configure(
        IdempotencyConfig(event_key_jmespath="[bucket, key, versionId]"),
        key_prefix="add_part.deliver_once",
    )
    key = f"captures/{WF}/{CRED}/FRONT.jpg"
    expected = probe._get_hashed_idempotency_key({"bucket": "b", "key": key, "versionId": label})
    version_id = None if label.startswith("etag:") else label
    etag = '"a4ae46510b68becf"' if version_id is None else None
    ids = capture_idempotency_ids("b", key, version_id, etag)
    assert expected in ids


def test_retention_cutoff_and_request() -> None:
    assert retention_cutoff(1_000_000, 1) == 1_000_000 - 86400
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        retention_cutoff(1_000_000, 0)
    request = retention_request(WF, "2025-01-31")
    assert request.requestId == f"retention:2025-01-31:{WF}"
    assert request.scope is DeletionScope.SESSION
    assert request.requestedBy == "retention-schedule"
    assert parse_request(request.model_dump(mode="json", exclude_none=True)) == request
