"""Add / update / delete of FRONT, BACK and FACE parts, and every rule that guards them."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.simulator.helpers import Execution, file_field, image_bytes


def _front(execution: Execution) -> str:
    return execution.part_href("ID", "front")


def _parts(sim, execution: Execution, category: str) -> dict:
    credential_id = execution.credential(category)["id"]
    return sim.admin.state()["workflowExecutions"][execution.id]["credentials"][credential_id][
        "parts"
    ]


def test_add_part_accepted_with_the_documented_response(sim, http, execution):
    response = http.post(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == {"id": execution.account_id}
    assert body["workflowExecution"] == {"id": execution.id}
    assert body["credential"] == {"id": execution.credential("ID")["id"]}
    assert uuid.UUID(body["part"]["id"])
    assert body["api"]["parts"]["front"] == _front(execution)
    assert body["api"]["workflowExecution"] == execution.href()
    assert _parts(sim, execution, "ID")["FRONT"] == {
        "count": 1,
        "adds": 1,
        "updates": 0,
        "deletes": 0,
    }


def test_png_accepted_and_judged_by_content_not_by_name(http, execution):
    png = image_bytes(fmt="PNG")
    response = http.post(
        execution.part_href("SELFIE", "face"),
        headers=execution.auth("SELFIE"),
        files=file_field(png, "face.jpg", "image/jpeg"),
    )
    assert response.status_code == 200


def test_another_credentials_token_of_the_same_execution_is_403(sim, http, execution):
    selfie_token = execution.auth("SELFIE")
    added = http.post(_front(execution), headers=selfie_token, files=file_field(image_bytes()))
    assert added.status_code == 403
    assert added.json()["title"] == "Forbidden"
    assert _parts(sim, execution, "ID")["FRONT"]["adds"] == 0
    assert (
        http.post(
            _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
        ).status_code
        == 200
    )
    for response in (
        http.put(_front(execution), headers=selfie_token, files=file_field(image_bytes())),
        http.delete(_front(execution), headers=selfie_token),
        http.post(
            execution.part_href("DATA", "prepared_data"),
            headers=execution.auth("ID"),
            json={"firstName": "X"},
        ),
    ):
        assert response.status_code == 403
    assert _parts(sim, execution, "ID")["FRONT"] == {
        "count": 1,
        "adds": 1,
        "updates": 0,
        "deletes": 0,
    }


def test_token_of_another_execution_is_401(sim, http, execution):
    other = Execution(sim.create_account(10013))
    response = http.post(
        _front(execution), headers=other.auth("ID"), files=file_field(image_bytes())
    )
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_missing_bearer_token_is_401(http, execution):
    response = http.post(_front(execution), files=file_field(image_bytes()))
    assert response.status_code == 401


def test_missing_user_agent_is_403(http, execution):
    response = http.post(
        _front(execution),
        headers={**execution.auth("ID"), "User-Agent": ""},
        files=file_field(image_bytes()),
    )
    assert response.status_code == 403


@pytest.mark.parametrize("segment", ["account", "execution", "credential"])
def test_unknown_or_malformed_ids_are_404(http, execution, segment):
    href = _front(execution)
    real = {
        "account": execution.account_id,
        "execution": execution.id,
        "credential": execution.credential("ID")["id"],
    }[segment]
    for replacement in (str(uuid.uuid4()), "not-a-uuid"):
        response = http.post(
            href.replace(real, replacement),
            headers=execution.auth("ID"),
            files=file_field(image_bytes()),
        )
        assert response.status_code == 404, replacement


def test_credential_of_another_execution_is_404(sim, http, execution):
    other = Execution(sim.create_account(10013))
    href = _front(execution).replace(execution.credential("ID")["id"], other.credential("ID")["id"])
    response = http.post(href, headers=execution.auth("ID"), files=file_field(image_bytes()))
    assert response.status_code == 404


def test_classifier_the_credential_lacks_is_400(http, execution):
    href = _front(execution).replace("/FRONT", "/FACE")
    response = http.post(href, headers=execution.auth("ID"), files=file_field(image_bytes()))
    assert response.status_code == 400
    assert "FACE" in response.json()["detail"]


def test_unknown_classifier_is_400(http, execution):
    href = _front(execution).replace("/FRONT", "/SIDE")
    response = http.post(href, headers=execution.auth("ID"), files=file_field(image_bytes()))
    assert response.status_code == 400


def test_body_that_is_not_multipart_is_400(http, execution):
    response = http.post(
        _front(execution),
        headers={**execution.auth("ID"), "Content-Type": "image/jpeg"},
        data=image_bytes(),
    )
    assert response.status_code == 400
    assert "multipart" in response.json()["detail"]


def test_multipart_without_a_file_field_is_400(http, execution):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files={"image": ("a.jpg", image_bytes(), "image/jpeg")},
    )
    assert response.status_code == 400
    assert "'file'" in response.json()["detail"]


@pytest.mark.parametrize("fmt", ["GIF", "BMP"])
def test_other_image_formats_named_jpg_are_400(http, execution, fmt):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(image_bytes(fmt=fmt), "front.jpg", "image/jpeg"),
    )
    assert response.status_code == 400
    assert "JPEG or PNG" in response.json()["detail"]


def _jpeg_of_exactly(size: int) -> bytes:
    """A decodable JPEG padded after its end marker to exactly `size` bytes."""
    jpeg = image_bytes()
    return jpeg + bytes(size - len(jpeg))


def test_file_of_15_000_000_bytes_is_accepted(http, execution):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(_jpeg_of_exactly(15_000_000)),
    )
    assert response.status_code == 200


def test_file_over_15_000_000_bytes_is_413(http, execution):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(_jpeg_of_exactly(15_000_001)),
    )
    assert response.status_code == 413
    assert "15000000" in response.json()["detail"]


def test_image_wider_than_8000_px_is_400(http, execution):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(image_bytes(8001, 10, "PNG"), "wide.png", "image/png"),
    )
    assert response.status_code == 400
    assert "8000" in response.json()["detail"]


def test_image_of_8000_px_is_accepted(http, execution):
    response = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(image_bytes(8000, 10, "PNG"), "wide.png", "image/png"),
    )
    assert response.status_code == 200


def test_small_image_refused_on_add_but_accepted_on_update(http, execution):
    headers = execution.auth("ID")
    small = image_bytes(300, 200)
    assert http.post(_front(execution), headers=headers, files=file_field(small)).status_code == 400
    assert (
        http.post(
            _front(execution), headers=headers, files=file_field(image_bytes(301, 200))
        ).status_code
        == 200
    )
    assert http.put(_front(execution), headers=headers, files=file_field(small)).status_code == 200


def test_truncated_image_is_400(http, execution):
    truncated = image_bytes(fmt="PNG")[:-200]
    response = http.post(
        _front(execution), headers=execution.auth("ID"), files=file_field(truncated)
    )
    assert response.status_code == 400
    assert "decoded" in response.json()["detail"]


def test_adding_an_existing_part_is_409_and_update_replaces_it(strict, http, execution):
    sim = strict
    headers = execution.auth("ID")
    assert (
        http.post(_front(execution), headers=headers, files=file_field(image_bytes())).status_code
        == 200
    )
    again = http.post(_front(execution), headers=headers, files=file_field(image_bytes()))
    assert again.status_code == 409
    assert again.json()["detail"].startswith("PART_EXISTS")
    assert (
        http.put(_front(execution), headers=headers, files=file_field(image_bytes())).status_code
        == 200
    )
    assert _parts(sim, execution, "ID")["FRONT"] == {
        "count": 1,
        "adds": 1,
        "updates": 1,
        "deletes": 0,
    }


def test_update_of_a_part_never_added_is_404(strict, http, execution):
    response = http.put(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )
    assert response.status_code == 404


def test_delete_part_then_it_is_gone(strict, http, execution):
    sim = strict
    headers = execution.auth("ID")
    http.post(_front(execution), headers=headers, files=file_field(image_bytes()))
    deleted = http.delete(_front(execution), headers=headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert http.delete(_front(execution), headers=headers).status_code == 404
    assert _parts(sim, execution, "ID")["FRONT"]["count"] == 0


def test_after_finalize_uploads_and_deletes_are_409_workflow_not_active(strict, http, execution):
    headers = execution.auth("ID")
    http.post(_front(execution), headers=headers, files=file_field(image_bytes()))
    assert http.put(execution.href(), headers=headers).status_code == 200
    back = execution.part_href("ID", "back")
    for response in (
        http.post(back, headers=headers, files=file_field(image_bytes())),
        http.put(_front(execution), headers=headers, files=file_field(image_bytes())),
        http.delete(_front(execution), headers=headers),
    ):
        assert response.status_code == 409
        assert response.json()["detail"].startswith("WORKFLOW_NOT_ACTIVE")


def test_the_admin_state_shows_the_digest_of_the_image_now_in_place(sim, http, execution):
    first, retake = image_bytes(640, 480), image_bytes(700, 500)
    credential_id = execution.credential("ID")["id"]

    def digests() -> dict:
        state = sim.admin.state()["workflowExecutions"][execution.id]
        return state["credentials"][credential_id]["sha256"]

    assert digests() == {}
    http.post(_front(execution), headers=execution.auth("ID"), files=file_field(first))
    assert digests() == {"FRONT": hashlib.sha256(first).hexdigest()}
    http.put(_front(execution), headers=execution.auth("ID"), files=file_field(retake))
    assert digests() == {"FRONT": hashlib.sha256(retake).hexdigest()}
    http.delete(_front(execution), headers=execution.auth("ID"))
    assert digests() == {}
