"""Capture keys: the S3 layout is the only link between an object and its Jumio part."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from jumio_pipeline.domain.capture_key import CaptureKey, parse_capture_key
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session import PartId

WF = "7f0c1a52-3b1e-4d8a-9a57-0e5b2f6c9d41"
CRED = "c3d2e1f0-5a4b-4c3d-8e2f-1a0b9c8d7e6f"


@pytest.mark.parametrize("classifier", ["FRONT", "BACK", "FACE"])
@pytest.mark.parametrize("extension", ["jpg", "jpeg", "png", "JPG", "Png"])
def test_image_part_keys_name_their_part(classifier: str, extension: str) -> None:
    key = f"captures/{WF}/{CRED}/{classifier}.{extension}"

    parsed = parse_capture_key(key)

    assert parsed == CaptureKey(WF, CRED, classifier, None, extension.lower(), key)
    assert parsed.part_ref == f"{CRED}/{classifier}"
    assert parsed.part == PartId(CRED, classifier)


@pytest.mark.parametrize(("page", "extension"), [(1, "pdf"), (7, "jpg"), (30, "PNG"), (12, "jpeg")])
def test_document_page_keys_name_their_page(page: int, extension: str) -> None:
    key = f"captures/{WF}/{CRED}/DOCUMENT/{page}.{extension}"

    parsed = parse_capture_key(key)

    assert (parsed.classifier, parsed.page, parsed.extension) == (
        "DOCUMENT",
        page,
        extension.lower(),
    )
    assert parsed.part_ref == f"{CRED}/DOCUMENT"
    assert parsed.part == PartId(CRED, "DOCUMENT", page)


@pytest.mark.parametrize("encode", [quote_plus, lambda key: quote(key, safe="")])
def test_url_encoded_keys_from_s3_events_are_decoded(encode) -> None:
    key = f"captures/{WF}/{CRED}/DOCUMENT/3.pdf"
    raw = encode(key)
    assert "%2F" in raw

    parsed = parse_capture_key(raw)

    assert parsed.key == key
    assert parsed.page == 3


def test_plus_decodes_to_a_space_and_the_wrong_name_is_reported() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures%2F{WF}%2F{CRED}%2FFRONT+copy.jpg")

    assert caught.value.reason == "UNKNOWN_CLASSIFIER"
    assert "'FRONT copy'" in str(caught.value)


def test_upper_case_ids_are_normalised_to_jumios_lower_case() -> None:
    parsed = parse_capture_key(f"captures/{WF.upper()}/{CRED.upper()}/FACE.png")

    assert (parsed.workflow_execution_id, parsed.credential_id) == (WF, CRED)


@pytest.mark.parametrize(
    "key",
    [
        f"uploads/{WF}/{CRED}/FRONT.jpg",
        f"captures/{WF}/FRONT.jpg",
        f"captures/{WF}/{CRED}/DOCUMENT/1/extra.jpg",
        f"captures/{WF}/{CRED}/",
        f"captures/{WF}/{CRED}/DOCUMENT/",
        f"captures/{WF}/{CRED}/DOCUMENT.pdf",
        f"captures/{WF}/{CRED}/FRONT/1.jpg",
        f"/captures/{WF}/{CRED}/FRONT.jpg",
        "",
    ],
)
def test_keys_outside_the_layout_are_rejected(key: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(key)

    assert caught.value.reason == "KEY_OUTSIDE_LAYOUT"
    assert caught.value.field == "key"


@pytest.mark.parametrize("name", ["front.jpg", "SELFIE.jpg", "PREPARED_DATA.png", "FRONT.x.jpg"])
def test_unknown_classifiers_are_rejected_by_name(name: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{WF}/{CRED}/{name}")

    assert caught.value.reason == "UNKNOWN_CLASSIFIER"
    assert name.rpartition(".")[0] in str(caught.value)


def test_a_lower_case_document_folder_is_an_unknown_classifier() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{WF}/{CRED}/document/1.pdf")

    assert caught.value.reason == "UNKNOWN_CLASSIFIER"


@pytest.mark.parametrize(
    ("workflow_id", "credential_id", "named"),
    [
        ("not-a-uuid", CRED, "workflowExecutionId"),
        (WF, "12345", "credentialId"),
        (WF[:-1], CRED, "workflowExecutionId"),
        (WF, CRED.replace("-", ""), "credentialId"),
        (WF, "g" + CRED[1:], "credentialId"),
        ("", CRED, "workflowExecutionId"),
    ],
)
def test_ids_that_are_not_uuids_are_rejected_naming_the_id(
    workflow_id: str, credential_id: str, named: str
) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{workflow_id}/{credential_id}/BACK.jpg")

    assert caught.value.reason == "INVALID_ID"
    assert named in str(caught.value)


@pytest.mark.parametrize("page", ["0", "31", "100", "01", "-1", "+1", "one", "1.5", "", "\u0661"])
def test_bad_page_numbers_are_rejected(page: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{WF}/{CRED}/DOCUMENT/{page}.jpg")

    assert caught.value.reason == "INVALID_PAGE"


@pytest.mark.parametrize(
    "path",
    [
        "FRONT.gif",
        "FACE.heic",
        "BACK.pdf",
        "FRONT",
        "FRONT.",
        "DOCUMENT/1.tiff",
        "DOCUMENT/2",
    ],
)
def test_bad_extensions_are_rejected(path: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{WF}/{CRED}/{path}")

    assert caught.value.reason == "UNSUPPORTED_EXTENSION"


def test_a_pdf_outside_document_says_where_pdf_belongs() -> None:
    with pytest.raises(InvalidMessage, match="pdf only for DOCUMENT"):
        parse_capture_key(f"captures/{WF}/{CRED}/FRONT.pdf")


def test_messages_stay_short_for_absurd_keys() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_capture_key(f"captures/{WF}/{CRED}/{'X' * 5000}.jpg")

    assert len(str(caught.value)) < 300
