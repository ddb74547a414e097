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


def test_delete_all_pages_then_404(strict, http, document_execution):
    sim = strict
    href = document_execution.part_href("DOCUMENT", "document")
    headers = document_execution.auth("DOCUMENT")
    http.post(href, headers=headers, files=file_field(pdf_bytes(2), "a.pdf"))
    deleted = http.delete(href, headers=headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert _credential_state(sim, document_execution, "DOCUMENT")["pages"] == 0
    assert http.delete(href, headers=headers).status_code == 404


FULL_PREPARED_DATA = {
    "suffix": "Mr",
    "firstName": "FIRSTNAME",
    "middleName": "MIDDLE",
    "lastName": "LASTNAME",
    "sex": "M",
    "dateOfBirth": "1985-01-01",
    "socialSecurityNumber": "3387462834",
    "nationality": "BRA",
    "email": "tmp@tmp.com",
    "phoneNumber": "2134445678",
    "phoneNumber2": "3109992939",
    "personalNumber": "1234567890123456",
    "address": {
        "line1": "123 HIGHLAND DRIVE",
        "line2": "",
        "line3": "x",
        "line4": "y",
        "line5": "z",
        "postalCode": "12345",
        "city": "CITY",
        "subdivision": "Indiana",
        "country": "BRA",
    },
    "id": {
        "idNumber": "ABCD12345",
        "issuingDate": "2014-02-20",
        "expiryDate": "2034-11-30",
        "type": "DRIVING_LICENSE",
    },
    "kyc": {"anything": {"nested": True}},
    "bank": {"iban": "BR1500000000000010932840814P2"},
    "business": {},
}


def test_every_documented_prepared_data_field_is_accepted(http, execution):
    response = http.post(
        execution.part_href("DATA", "prepared_data"),
        headers=execution.auth("DATA"),
        json=FULL_PREPARED_DATA,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"favouriteColour": "blue"}, "favouriteColour"),
        ({"firstName": 123}, "firstName"),
        ({"lastName": None}, "lastName"),
        ({"sex": "X"}, "sex"),
        ({"dateOfBirth": "1985-1-1"}, "dateOfBirth"),
        ({"dateOfBirth": "1985-02-30"}, "dateOfBirth"),
        ({"dateOfBirth": 19850101}, "dateOfBirth"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"address": {"street": "x"}}, "address"),
        ({"address": {"city": 5}}, "address.city"),
        ({"address": "123 HIGHLAND DRIVE"}, "address"),
        ({"id": {"type": "VISA"}}, "id.type"),
        ({"id": {"expiryDate": "2034/11/30"}}, "id.expiryDate"),
        ({"id": {"idNumber": 42}}, "id.idNumber"),
        ({"kyc": "low risk"}, "kyc"),
    ],
)
def test_prepared_data_off_the_schema_is_400_naming_the_field(sim, http, execution, change, field):
    response = http.post(
        execution.part_href("DATA", "prepared_data"),
        headers=execution.auth("DATA"),
        json={**PREPARED_DATA, **change},
    )
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert _credential_state(sim, execution, "DATA")["parts"]["PREPARED_DATA"]["count"] == 0


@pytest.mark.parametrize(
    "files",
    [
        [("a.jpg", image_bytes()), ("b.pdf", pdf_bytes(1))],
        [("a.pdf", pdf_bytes(1)), ("b.pdf", pdf_bytes(2))],
    ],
)
def test_a_document_request_holds_images_or_one_pdf_not_both(sim, http, document_execution, files):
    response = http.post(
        document_execution.part_href("DOCUMENT", "document"),
        headers=document_execution.auth("DOCUMENT"),
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
    )
    assert response.status_code == 400
    assert "PDF" in response.json()["detail"]
    assert _credential_state(sim, document_execution, "DOCUMENT")["pages"] == 0


def test_document_files_over_15_000_000_bytes_in_total_are_413(http, document_execution):
    half = image_bytes()
    padded = half + bytes(7_500_001 - len(half))
    response = http.post(
        document_execution.part_href("DOCUMENT", "document"),
        headers=document_execution.auth("DOCUMENT"),
        files=[
            ("file", ("a.jpg", padded, "image/jpeg")),
            ("file", ("b.jpg", padded, "image/jpeg")),
        ],
    )
    assert response.status_code == 413
