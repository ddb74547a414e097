"""PREPARED_DATA (JSON on DATA credentials) and DOCUMENT pages (images and PDFs, at most 30)."""

from __future__ import annotations

import pytest

from tests.simulator.helpers import Execution, file_field, image_bytes, pdf_bytes

PREPARED_DATA = {
    "firstName": "FIRSTNAME",
    "lastName": "LASTNAME",
    "personalNumber": "1234567890123456",
    "address": {"country": "BRA"},
}


@pytest.fixture
def document_execution(sim) -> Execution:
    return Execution(sim.create_account(10026))


def _credential_state(sim, execution: Execution, category: str) -> dict:
    credential_id = execution.credential(category)["id"]
    return sim.admin.state()["workflowExecutions"][execution.id]["credentials"][credential_id]


def test_prepared_data_accepted(sim, http, execution):
    href = execution.part_href("DATA", "prepared_data")
    response = http.post(href, headers=execution.auth("DATA"), json=PREPARED_DATA)
    assert response.status_code == 200
    body = response.json()
    assert body["api"]["parts"] == {"prepared_data": href}
    assert body["workflowExecution"] == {"id": execution.id}
    assert _credential_state(sim, execution, "DATA")["parts"]["PREPARED_DATA"]["count"] == 1


def test_prepared_data_repeat_replaces_it(sim, http, execution):
    href = execution.part_href("DATA", "prepared_data")
    for _ in range(2):
        assert (
            http.post(href, headers=execution.auth("DATA"), json=PREPARED_DATA).status_code == 200
        )
    assert _credential_state(sim, execution, "DATA")["parts"]["PREPARED_DATA"] == {
        "count": 1,
        "adds": 1,
        "updates": 1,
        "deletes": 0,
    }


def test_prepared_data_with_wrong_content_type_is_415(http, execution):
    response = http.post(
        execution.part_href("DATA", "prepared_data"),
        headers={**execution.auth("DATA"), "Content-Type": "text/plain"},
        data=b"{}",
    )
    assert response.status_code == 415


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"text"'])
def test_prepared_data_that_is_not_a_json_object_is_400(http, execution, body):
    response = http.post(
        execution.part_href("DATA", "prepared_data"),
        headers={**execution.auth("DATA"), "Content-Type": "application/json"},
        data=body,
    )
    assert response.status_code == 400


def test_prepared_data_on_an_id_credential_is_400(http, execution):
    href = execution.part_href("ID", "front").replace("/FRONT", "/PREPARED_DATA")
    response = http.post(href, headers=execution.auth("ID"), json=PREPARED_DATA)
    assert response.status_code == 400
    assert "DATA credential" in response.json()["detail"]


def test_document_pages_accumulate_from_images_and_pdfs(sim, http, document_execution):
    href = document_execution.part_href("DOCUMENT", "document")
    headers = document_execution.auth("DOCUMENT")
    files = [
        ("file", ("p1.jpg", image_bytes(), "image/jpeg")),
        ("file", ("p2.png", image_bytes(fmt="PNG"), "image/png")),
    ]
    first = http.post(href, headers=headers, files=files)
    assert first.status_code == 200
    assert first.json()["api"]["parts"] == {"document": href}
    second = http.post(
        href, headers=headers, files=file_field(pdf_bytes(3), "doc.pdf", "application/pdf")
    )
    assert second.status_code == 200
    state = _credential_state(sim, document_execution, "DOCUMENT")
    assert state["pages"] == 5
    assert state["parts"]["DOCUMENT"]["adds"] == 2


def test_document_over_30_pages_is_400(sim, http, document_execution):
    href = document_execution.part_href("DOCUMENT", "document")
    headers = document_execution.auth("DOCUMENT")
    assert (
        http.post(href, headers=headers, files=file_field(pdf_bytes(30), "a.pdf")).status_code
        == 200
    )
    response = http.post(href, headers=headers, files=file_field(image_bytes()))
    assert response.status_code == 400
    assert "30" in response.json()["detail"]
    assert _credential_state(sim, document_execution, "DOCUMENT")["pages"] == 30


def test_document_that_is_not_an_image_or_pdf_is_400(http, document_execution):
    response = http.post(
        document_execution.part_href("DOCUMENT", "document"),
        headers=document_execution.auth("DOCUMENT"),
        files=file_field(b"%PDX-not really", "doc.pdf", "application/pdf"),
    )
    assert response.status_code == 400


def test_document_on_an_id_credential_is_400(http, execution):
    href = execution.part_href("ID", "front").replace("/FRONT", "/DOCUMENT")
    response = http.post(href, headers=execution.auth("ID"), files=file_field(image_bytes()))
    assert response.status_code == 400


def test_document_via_the_parts_collection_path_is_accepted(http, document_execution):
    href = document_execution.part_href("DOCUMENT", "document").removesuffix("/DOCUMENT")
    response = http.post(
        href, headers=document_execution.auth("DOCUMENT"), files=file_field(image_bytes())
    )
    assert response.status_code == 200


def test_delete_all_pages_then_404(sim, http, document_execution):
    href = document_execution.part_href("DOCUMENT", "document")
    headers = document_execution.auth("DOCUMENT")
    http.post(href, headers=headers, files=file_field(pdf_bytes(2), "a.pdf"))
    deleted = http.delete(href, headers=headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert _credential_state(sim, document_execution, "DOCUMENT")["pages"] == 0
    assert http.delete(href, headers=headers).status_code == 404
