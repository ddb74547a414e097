"""Parse the S3 key of a capture into the Jumio part it belongs to.

The key is the only thing that ties an uploaded object to a workflow execution, a credential and
a part, so it is checked strictly here, before any I/O: a key outside the agreed layout can never
be delivered and is rejected with a reason naming the wrong path segment (ids are not personal
data). Layout (README, "Contracts at the edges"):

    captures/{workflowExecutionId}/{credentialId}/{FRONT|BACK|FACE}.{jpg|jpeg|png}
    captures/{workflowExecutionId}/{credentialId}/DOCUMENT/{page}.{jpg|jpeg|png|pdf}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import unquote_plus

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session import PartId

PREFIX = "captures"
IMAGE_CLASSIFIERS = frozenset({"FRONT", "BACK", "FACE"})
DOCUMENT = "DOCUMENT"
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png"})
DOCUMENT_EXTENSIONS = IMAGE_EXTENSIONS | {"pdf"}
MAX_DOCUMENT_PAGE = 30

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
# Digits only, no sign and no leading zero: "01.jpg" and "1.jpg" must not both name page 1.
_PAGE = re.compile(r"[1-9][0-9]*", re.ASCII)
_MAX_SEGMENT_IN_MESSAGE = 80


@dataclass(frozen=True)
class CaptureKey:
    """What a capture key says: which credential part (or document page) the object is."""

    workflow_execution_id: str
    credential_id: str
    classifier: str
    page: int | None
    extension: str
    key: str

    @property
    def part(self) -> PartId:
        """The part this capture is (one per document page)."""
        return PartId(self.credential_id, self.classifier, self.page)

    @property
    def part_ref(self) -> str:
        """The required-part name it counts for: every document page belongs to DOCUMENT."""
        return self.part.ref

    @property
    def is_canonical(self) -> bool:
        """The key spells its ids as Jumio does (lower case): an erasure's prefix finds it.

        UUIDs compare case-insensitively, so ``captures/EB7DA138-.../FRONT.jpg`` names the
        same session; S3 prefixes do not, so such a key must be remembered to be erased.
        """
        return self.key.startswith(session_prefix(self.workflow_execution_id))


def session_prefix(workflow_execution_id: str) -> str:
    """Where a session's captures live when their key is canonical."""
    return f"{PREFIX}/{workflow_execution_id.lower()}/"


def parse_capture_key(raw_key: str) -> CaptureKey:
    """Decode an S3 event key and parse it, or raise InvalidMessage naming what is wrong.

    S3 (and moto, with quote_plus) URL-encode keys in event notifications, so the raw key is
    decoded here; ``CaptureKey.key`` is the decoded key to use with GetObject.
    """
    key = unquote_plus(raw_key)
    segments = key.split("/")
    if len(segments) not in (4, 5) or segments[0] != PREFIX or not segments[-1]:
        _reject(
            "KEY_OUTSIDE_LAYOUT",
            f"key {_shown(key)!r} is not captures/{{workflowExecutionId}}/{{credentialId}}/"
            "{CLASSIFIER}.{ext} or captures/{workflowExecutionId}/{credentialId}/DOCUMENT/"
            "{page}.{ext}",
        )
    workflow_execution_id = _uuid(segments[1], "workflowExecutionId")
    credential_id = _uuid(segments[2], "credentialId")
    if len(segments) == 4:
        classifier, extension = _split_name(segments[3])
        _check_image_classifier(classifier)
        _check_extension(extension, IMAGE_EXTENSIONS, classifier)
        page = None
    else:
        classifier = segments[3]
        _check_document_folder(classifier)
        page_text, extension = _split_name(segments[4])
        _check_extension(extension, DOCUMENT_EXTENSIONS, classifier)
        page = _page(page_text)
    return CaptureKey(
        workflow_execution_id=workflow_execution_id,
        credential_id=credential_id,
        classifier=classifier,
        page=page,
        extension=extension.lower(),
        key=key,
    )


def _uuid(segment: str, name: str) -> str:
    """Jumio ids are UUIDs; accept any case and return Jumio's lower-case form."""
    if not _UUID.fullmatch(segment.lower()):
        _reject("INVALID_ID", f"{name} {_shown(segment)!r} is not a UUID")
    return segment.lower()


def _split_name(file_name: str) -> tuple[str, str]:
    """Split 'FRONT.jpg' into ('FRONT', 'jpg'); a name without an extension has none."""
    stem, dot, extension = file_name.rpartition(".")
    if not dot:
        return file_name, ""
    return stem, extension


def _check_image_classifier(classifier: str) -> None:
    """FRONT, BACK and FACE sit directly under the credential; DOCUMENT needs a page folder."""
    if classifier == DOCUMENT:
        _reject(
            "KEY_OUTSIDE_LAYOUT",
            "DOCUMENT captures go under DOCUMENT/{page}.{ext}, not DOCUMENT.{ext}",
        )
    if classifier not in IMAGE_CLASSIFIERS:
        _reject(
            "UNKNOWN_CLASSIFIER",
            f"classifier {_shown(classifier)!r} is not one of FRONT, BACK, FACE, DOCUMENT "
            "(upper case)",
        )


def _check_document_folder(folder: str) -> None:
    """Only DOCUMENT has pages; anything else in that position is a layout or name error."""
    if folder in IMAGE_CLASSIFIERS:
        _reject(
            "KEY_OUTSIDE_LAYOUT",
            f"{folder} has no pages: use {folder}.{{ext}} directly under the credential",
        )
    if folder != DOCUMENT:
        _reject(
            "UNKNOWN_CLASSIFIER",
            f"classifier {_shown(folder)!r} is not DOCUMENT (upper case), the only paged part",
        )


def _check_extension(extension: str, allowed: frozenset[str], classifier: str) -> None:
    """The extension is a routing hint only (content is checked later), but it must be sane."""
    if extension.lower() in allowed:
        return
    if not extension:
        _reject("UNSUPPORTED_EXTENSION", f"{classifier} capture has no file extension")
    hint = " (pdf only for DOCUMENT pages)" if extension.lower() == "pdf" else ""
    _reject(
        "UNSUPPORTED_EXTENSION",
        f"extension {_shown(extension)!r} is not one of {', '.join(sorted(allowed))}{hint}",
    )


def _page(text: str) -> int:
    """Pages are numbered 1..30 in plain decimal, as Jumio accepts at most 30 pages."""
    if not _PAGE.fullmatch(text) or int(text) > MAX_DOCUMENT_PAGE:
        _reject(
            "INVALID_PAGE",
            f"page {_shown(text)!r} is not a whole number from 1 to {MAX_DOCUMENT_PAGE} "
            "without leading zeros",
        )
    return int(text)


def _shown(segment: str) -> str:
    """Keep messages short even when a key is absurdly long."""
    if len(segment) <= _MAX_SEGMENT_IN_MESSAGE:
        return segment
    return segment[:_MAX_SEGMENT_IN_MESSAGE] + "..."


def _reject(reason: str, message: str) -> NoReturn:
    """Raise the pipeline's 'can never be processed' error for the key field."""
    raise InvalidMessage(reason, message, field="key")
