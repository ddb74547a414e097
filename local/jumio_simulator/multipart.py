"""multipart/form-data parsing with the stdlib `email` parser (`cgi` is gone in Python 3.13)."""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass

from jumio_simulator.errors import bad_request


@dataclass(frozen=True)
class FormFile:
    """One `file` field: its bytes; the declared name/type are kept but never trusted."""

    content: bytes
    filename: str | None
    declared_type: str


def parse_files(content_type: str, body: bytes, field_name: str = "file") -> list[FormFile]:
    """Every `field_name` field of a multipart body; 400 when the body is not multipart or has none."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise bad_request("body must be multipart/form-data with a 'file' field")
    if "boundary=" not in content_type:
        raise bad_request("multipart/form-data Content-Type has no boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise bad_request("multipart body could not be parsed")
    files = []
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != field_name:
            continue
        payload = part.get_payload(decode=True)
        files.append(
            FormFile(
                content=payload if isinstance(payload, bytes) else b"",
                filename=part.get_filename(),
                declared_type=part.get_content_type(),
            )
        )
    if not files:
        raise bad_request(f"multipart body has no '{field_name}' field")
    return files
