"""Where an app may upload each capture a session needs, and as what.

An app holds no AWS credentials; it gets one presigned POST per (key, content type), each
valid for exactly that key. The keys follow the capture layout (domain/capture_key.py): one key
per image format for FRONT, BACK and FACE, and per page and format for a DOCUMENT. PREPARED_DATA
is not a file: it goes on the prepared-data queue, so it is listed apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from jumio_pipeline.domain.capture_limits import MAX_BYTES
from jumio_pipeline.domain.session import Session

IMAGE_FORMATS = (("jpg", "image/jpeg"), ("png", "image/png"))
DOCUMENT_FORMATS = (*IMAGE_FORMATS, ("pdf", "application/pdf"))
PREPARED_DATA = "PREPARED_DATA"
DOCUMENT = "DOCUMENT"
MIN_UPLOAD_BYTES = 1
MAX_UPLOAD_BYTES = MAX_BYTES  # Jumio's 15 MB, read as 15,000,000 bytes


@dataclass(frozen=True)
class UploadTarget:
    """One key an app may upload to, with the one content type it must declare."""

    part: str  # the required part, {credentialId}/{CLASSIFIER}
    key: str
    content_type: str
    page: int | None = None


def upload_targets(session: Session, document_pages: int) -> tuple[list[UploadTarget], list[str]]:
    """Upload targets for every required capture, and the required parts that are data."""
    targets: list[UploadTarget] = []
    data_parts: list[str] = []
    prefix = f"captures/{session.workflow_execution_id}"
    for part in sorted(session.required_parts):
        credential_id, _, classifier = part.partition("/")
        if classifier == PREPARED_DATA:
            data_parts.append(part)
        elif classifier == DOCUMENT:
            for page in range(1, document_pages + 1):
                for extension, content_type in DOCUMENT_FORMATS:
                    key = f"{prefix}/{credential_id}/DOCUMENT/{page}.{extension}"
                    targets.append(UploadTarget(part, key, content_type, page))
        else:
            for extension, content_type in IMAGE_FORMATS:
                key = f"{prefix}/{credential_id}/{classifier}.{extension}"
                targets.append(UploadTarget(part, key, content_type))
    return targets, data_parts
