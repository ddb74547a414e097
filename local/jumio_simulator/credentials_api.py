"""The seven Credentials-API operations (contract §3), authorised by a credential's api.token.

Each operation checks in a fixed order: User-Agent (403, in the dispatcher), Bearer present
(401), ids known and nested (404), token issued for this execution (401) and - on credential
routes - for this very credential (403; finalize takes any token of the execution), the token
unexpired (401), classifier and category (400), execution still active (a conflict), part
presence (a conflict), then the body (400/413/415). The body is judged outside the state lock,
then the checks run again and the change is made under it. Conflicts are undocumented by
Jumio: they carry a kind and the error mode decides how they are answered (`error_modes`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jumio_simulator import variations
from jumio_simulator.error_modes import OPAQUE
from jumio_simulator.errors import (
    ApiError,
    bad_request,
    conflict,
    forbidden,
    unauthorized,
    undocumented_not_found,
)
from jumio_simulator.images import (
    MAX_DOCUMENT_PAGES,
    MAX_FILE_BYTES,
    judge_document_file,
    judge_image,
    sniff,
)
from jumio_simulator.lookup import find_credential, find_execution
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.model import ACQUIRED, PROCESSED, Credential, WorkflowExecution
from jumio_simulator.multipart import parse_files
from jumio_simulator.prepared_data_rules import check_prepared_data
from jumio_simulator.tenant_api import credential_api_block
from jumio_simulator.workflows import IMAGE_CLASSIFIERS

if TYPE_CHECKING:
    from jumio_simulator.app import Simulator


@dataclass(frozen=True)
class Target:
    """The execution and credential a request addresses, after every id and token check."""

    execution: WorkflowExecution
    credential: Credential | None


def _authorise(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> Target:
    """The addressed execution and credential once ids and the token check out."""
    token = request.bearer_token()
    opaque = sim.runtime.error_mode == OPAQUE
    with sim.state.lock:
        execution = find_execution(
            sim.state, params["account"], params["execution"], include_deleted=opaque
        )
        credential = (
            find_credential(execution, params["credential"]) if "credential" in params else None
        )
        owner = sim.state.token_owner.get(token)
        if owner is None or owner.execution_id != execution.id:
            raise unauthorized("token was not issued for this workflow execution")
        if credential is not None and owner.credential_id != credential.id:
            raise forbidden("token was not issued for this credential")
        if execution.deleted:
            raise undocumented_not_found(variations.DELETED, "workflow execution not found")
        sim.lifecycle.settle(execution, sim.base_url(request.base_url))
        if sim.lifecycle.token_expired(execution):
            raise unauthorized("token has expired")
        return Target(execution, credential)


def _require_active(execution: WorkflowExecution) -> None:
    if execution.is_active:
        return
    kind = (
        variations.NOT_ACTIVE
        if execution.status in (ACQUIRED, PROCESSED)
        else variations.SESSION_EXPIRED
    )
    raise conflict(kind, "WORKFLOW_NOT_ACTIVE", f"workflow execution is {execution.status}")


def _image_target(
    sim: Simulator, request: ApiRequest, params: dict[str, str]
) -> tuple[Target, Credential, str]:
    target = _authorise(sim, request, params)
    credential = target.credential
    assert credential is not None
    classifier = params["classifier"]
    if classifier not in IMAGE_CLASSIFIERS:
        raise bad_request("classifier must be FRONT, BACK or FACE")
    if classifier not in credential.classifiers:
        raise bad_request(f"a {credential.category} credential has no {classifier} part")
    _require_active(target.execution)
    return target, credential, classifier


def _category_target(
    sim: Simulator, request: ApiRequest, params: dict[str, str], category: str
) -> tuple[Target, Credential]:
    target = _authorise(sim, request, params)
    credential = target.credential
    assert credential is not None
    if credential.category != category:
        raise bad_request(
            f"{params['classifier']} is only accepted on a {category} credential, "
            f"not on {credential.category}"
        )
    _require_active(target.execution)
    return target, credential


def _upload_response(
    sim: Simulator, request: ApiRequest, target: Target, part_id: str
) -> ApiResponse:
    credential = target.credential
    assert credential is not None
    execution = target.execution
    base = sim.base_url(request.base_url)
    body = {
        "timestamp": sim.state.timestamp(),
        "account": {"id": execution.account_id},
        "workflowExecution": {"id": execution.id},
        "credential": {"id": credential.id},
        "part": {"id": part_id},
        "api": credential_api_block(base, execution, credential),
    }
    return ApiResponse(200, body)


def _single_file(request: ApiRequest) -> bytes:
    files = parse_files(request.content_type(), request.body)
    if len(files) != 1:
        raise bad_request("exactly one 'file' field is expected for an image part")
    return files[0].content


def _put_image(
    sim: Simulator, request: ApiRequest, params: dict[str, str], *, is_add: bool
) -> ApiResponse:
    target, credential, classifier = _image_target(sim, request, params)
    _check_presence(sim, credential, classifier, is_add=is_add)
    content = _single_file(request)
    judge_image(content, is_add=is_add)
    with sim.state.lock:
        target, credential, classifier = _image_target(sim, request, params)
        _check_presence(sim, credential, classifier, is_add=is_add)
        part = credential.parts[classifier]
        part.count = 1
        part.part_id = str(uuid.uuid4())
        part.sha256 = hashlib.sha256(content).hexdigest()
        if is_add:
            part.adds += 1
        else:
            part.updates += 1
        sim.lifecycle.record_action(target.execution)
        return _upload_response(sim, request, target, part.part_id)


def _check_presence(
    sim: Simulator, credential: Credential, classifier: str, *, is_add: bool
) -> None:
    """Add needs the part absent; update needs it present, unless this seed upserts (opaque)."""
    present = credential.parts[classifier].count > 0
    if is_add and present:
        raise conflict(
            variations.PART_EXISTS,
            "PART_EXISTS",
            f"{classifier} was already added; update it with PUT",
        )
    if is_add or present:
        return
    upserts = sim.runtime.profile.update_of_missing_part == variations.UPSERT
    if sim.runtime.error_mode == OPAQUE and upserts:
        return
    raise undocumented_not_found(
        variations.PART_MISSING, f"{classifier} has not been added yet; add it with POST"
    )


def add_part(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """POST .../parts/{FRONT|BACK|FACE}: a new image part (longest side must exceed 300 px)."""
    return _put_image(sim, request, params, is_add=True)


def update_part(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """PUT .../parts/{FRONT|BACK|FACE}: replace an existing image part (a retake)."""
    return _put_image(sim, request, params, is_add=False)


def upload_prepared_data(
    sim: Simulator, request: ApiRequest, params: dict[str, str]
) -> ApiResponse:
    """POST .../parts/PREPARED_DATA: a JSON object on a DATA credential; a repeat replaces it."""
    _category_target(sim, request, params, "DATA")
    if request.content_type().split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "PREPARED_DATA needs Content-Type: application/json")
    data = check_prepared_data(request.json_body())
    with sim.state.lock:
        target, credential = _category_target(sim, request, params, "DATA")
        part = credential.parts["PREPARED_DATA"]
        if part.count:
            part.updates += 1
        else:
            part.adds += 1
        part.count = 1
        part.part_id = str(uuid.uuid4())
        credential.prepared_data = data
        sim.lifecycle.record_action(target.execution)
        return _upload_response(sim, request, target, part.part_id)


def upload_document(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """POST .../parts/DOCUMENT: image(s) or one PDF per request; pages accumulate, at most 30."""
    _category_target(sim, request, params, "DOCUMENT")
    files = parse_files(request.content_type(), request.body)
    total = sum(len(file.content) for file in files)
    if total > MAX_FILE_BYTES:
        raise ApiError(
            413, f"document files total {total} bytes, more than 15 MB ({MAX_FILE_BYTES} bytes)"
        )
    pdfs = sum(1 for file in files if sniff(file.content) == "PDF")
    if pdfs and len(files) > 1:
        raise bad_request("a document request holds image(s) or exactly one PDF, not both")
    pages = sum(judge_document_file(file.content).pages for file in files)
    with sim.state.lock:
        target, credential = _category_target(sim, request, params, "DOCUMENT")
        if credential.pages + pages > MAX_DOCUMENT_PAGES:
            raise bad_request(
                f"document would have {credential.pages + pages} pages; at most {MAX_DOCUMENT_PAGES}"
            )
        credential.pages += pages
        part = credential.parts["DOCUMENT"]
        part.count = credential.pages
        part.adds += 1
        part.part_id = str(uuid.uuid4())
        sim.lifecycle.record_action(target.execution)
        return _upload_response(sim, request, target, part.part_id)


def delete_part(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """DELETE .../parts/{FRONT|BACK|FACE}: remove an image part before finalize (404 if absent)."""
    with sim.state.lock:
        target, credential, classifier = _image_target(sim, request, params)
        part = credential.parts[classifier]
        if not part.count:
            raise undocumented_not_found(variations.NOTHING_TO_DELETE, f"{classifier} is not there")
        part.count = 0
        part.deletes += 1
        sim.lifecycle.record_action(target.execution)
        return ApiResponse(200, {})


def delete_pages(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """DELETE .../parts/DOCUMENT: remove every document page before finalize (404 if none)."""
    with sim.state.lock:
        target, credential = _category_target(sim, request, params, "DOCUMENT")
        if not credential.pages:
            raise undocumented_not_found(variations.NOTHING_TO_DELETE, "the document has no pages")
        credential.pages = 0
        part = credential.parts["DOCUMENT"]
        part.count = 0
        part.deletes += 1
        sim.lifecycle.record_action(target.execution)
        return ApiResponse(200, {})


def finalize(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """PUT .../workflow-executions/{w}: ACQUIRED now, PROCESSED + callback after the delay."""
    with sim.state.lock:
        execution = _authorise(sim, request, params).execution
        if execution.finalize_count:
            raise conflict(
                variations.ALREADY_FINALIZED,
                "ALREADY_FINALIZED",
                "workflow execution was already finalized",
            )
        _require_active(execution)
        execution.finalize_count += 1
        sim.lifecycle.start_processing(execution, sim.base_url(request.base_url))
        body = {
            "timestamp": sim.state.timestamp(),
            "account": {"id": execution.account_id},
            "workflowExecution": {"id": execution.id},
        }
        return ApiResponse(200, body)
