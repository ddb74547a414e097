"""Where an app may upload each required capture, and as what: keys the pipeline will accept.

Every key handed out must parse (domain/capture_key.py) as the very part it is for, or the app
would upload captures that add_part refuses; PREPARED_DATA is data for the queue, not a file.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.capture_key import parse_capture_key
from jumio_pipeline.domain.image_validation import MAX_BYTES
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.upload_targets import (
    MAX_UPLOAD_BYTES,
    MIN_UPLOAD_BYTES,
    upload_targets,
)
from tests.unit.services.conftest import Ids, registration


def session_with(ids: Ids, categories: tuple[str, ...]):
    return parse_registration(registration(ids, categories))


def test_each_image_part_gets_one_key_per_image_format():
    ids = Ids()
    session = session_with(ids, ("ID", "SELFIE"))

    targets, data_parts = upload_targets(session, document_pages=1)

    prefix = f"captures/{ids.workflow}"
    expected = {
        (ids.ref("ID", "FRONT"), f"{prefix}/{ids.id_credential}/FRONT.jpg", "image/jpeg"),
        (ids.ref("ID", "FRONT"), f"{prefix}/{ids.id_credential}/FRONT.png", "image/png"),
        (ids.ref("ID", "BACK"), f"{prefix}/{ids.id_credential}/BACK.jpg", "image/jpeg"),
        (ids.ref("ID", "BACK"), f"{prefix}/{ids.id_credential}/BACK.png", "image/png"),
        (ids.ref("SELFIE", "FACE"), f"{prefix}/{ids.selfie_credential}/FACE.jpg", "image/jpeg"),
        (ids.ref("SELFIE", "FACE"), f"{prefix}/{ids.selfie_credential}/FACE.png", "image/png"),
    }
    assert {(t.part, t.key, t.content_type) for t in targets} == expected
    assert len(targets) == len(expected)
    assert all(target.page is None for target in targets)
    assert data_parts == []


@pytest.mark.parametrize("pages", [1, 3, 30])
def test_a_document_gets_keys_per_page_in_every_document_format(pages):
    ids = Ids()
    session = session_with(ids, ("DOCUMENT",))

    targets, _ = upload_targets(session, document_pages=pages)

    folder = f"captures/{ids.workflow}/{ids.document_credential}/DOCUMENT"
    assert [(t.page, t.key, t.content_type) for t in targets] == [
        (page, f"{folder}/{page}.{extension}", content_type)
        for page in range(1, pages + 1)
        for extension, content_type in (
            ("jpg", "image/jpeg"),
            ("png", "image/png"),
            ("pdf", "application/pdf"),
        )
    ]
    assert {t.part for t in targets} == {ids.ref("DOCUMENT", "DOCUMENT")}


def test_prepared_data_is_listed_apart_and_gets_no_key():
    ids = Ids()
    session = session_with(ids, ("ID", "DATA"))

    targets, data_parts = upload_targets(session, document_pages=1)

    assert data_parts == [ids.ref("DATA", "PREPARED_DATA")]
    assert all("PREPARED_DATA" not in target.key for target in targets)
    assert {t.part for t in targets} == {ids.ref("ID", "FRONT"), ids.ref("ID", "BACK")}


def test_every_required_part_is_either_uploadable_or_data():
    ids = Ids()
    session = session_with(ids, ("ID", "SELFIE", "DATA", "DOCUMENT", "FACEMAP"))

    targets, data_parts = upload_targets(session, document_pages=2)

    assert {t.part for t in targets} | set(data_parts) == set(session.required_parts)
    assert not {t.part for t in targets} & set(data_parts)


def test_every_key_parses_as_the_part_it_is_for():
    ids = Ids()
    session = session_with(ids, ("ID", "SELFIE", "DOCUMENT"))

    targets, _ = upload_targets(session, document_pages=4)

    for target in targets:
        key = parse_capture_key(target.key)
        assert key.is_canonical
        assert key.workflow_execution_id == ids.workflow
        assert key.part_ref == target.part
        assert key.page == target.page


def test_targets_come_in_a_stable_order():
    session = session_with(Ids(), ("ID", "SELFIE", "DATA", "DOCUMENT"))

    assert upload_targets(session, 2) == upload_targets(session, 2)
    parts = [target.part for target in upload_targets(session, 2)[0]]
    assert parts == sorted(parts)


def test_uploads_are_bounded_by_jumios_size_limit():
    assert (MIN_UPLOAD_BYTES, MAX_UPLOAD_BYTES) == (1, MAX_BYTES)
    assert MAX_UPLOAD_BYTES == 15_000_000
