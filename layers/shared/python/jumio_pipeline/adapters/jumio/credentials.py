"""The Credentials API: add, replace and delete parts, upload data and documents, finalize.

Every call takes the href Jumio returned in the account response and the ``api.token`` of the
credential. Image bytes are sent exactly as captured: requests builds the multipart body (and
its boundary) around them.

Recovering from uncertainty never reads an error body: Jumio documents no error codes. An add
(POST) is never re-sent once it may have reached Jumio; when its outcome is uncertain (a lost
answer, a timeout, a 5xx, or a refusal whose meaning Jumio does not document) the same bytes
are sent as an update (PUT), which is idempotent by nature. Only 401 (the token) and 429
(nothing was done) are taken at their word.

An add or update may carry ``verify``, the rest of the capture's validation: it then runs
beside the upload and the body cannot complete before it passed (``verified_upload``). A
capture that fails it is cut short and its own error raised: that request cannot have landed,
so it is never reconciled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from jumio_pipeline.adapters.jumio.http import JumioHttp
from jumio_pipeline.adapters.jumio.responses import json_body
from jumio_pipeline.adapters.jumio.urls import require_jumio_href
from jumio_pipeline.adapters.jumio.verified_upload import (
    GatedMultipartBody,
    UploadAborted,
    Verification,
)
from jumio_pipeline.domain.errors import (
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioThrottled,
    JumioTransientError,
)

logger = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
DOCUMENT_TYPES = IMAGE_TYPES | {"application/pdf"}
MAX_DOCUMENT_PAGES = 30


class CredentialsClient:
    """Calls of the Credentials API with a credential's ``api.token``."""

    def __init__(self, http: JumioHttp) -> None:
        self._http = http

    def add_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Add an image part (POST); an uncertain add is followed by an update (PUT).

        The POST is not re-sent once it may have reached Jumio. If its outcome is uncertain,
        the same bytes go out as ``update_part``: the part is then in place whether the POST
        took effect or not. If the update is refused too, the add's own error is what the
        caller gets (a transient error stays transient, so the capture is tried again later).

        ``verify`` (optional) runs beside the POST and must pass before its body may end; if
        it raises, that error is raised here, whatever became of the POST, and nothing is
        reconciled: the body never ended, so the part cannot have landed.
        """
        with _verified(verify) as verification:
            try:
                return self._send_image(
                    "add_part",
                    "POST",
                    href,
                    token,
                    content,
                    content_type,
                    filename,
                    resend=False,
                    verification=verification,
                )
            except JumioError as uncertain:
                add_error = uncertain
            _raise_if_failed(verification)  # an invalid capture: its own error, no update
            if not _worth_reconciling(add_error):
                raise add_error
        logger.info(
            "jumio add_part uncertain (HTTP %s): the same bytes go out as update_part",
            add_error.status,
        )
        return _reconciled(
            add_error,
            lambda: self.update_part(href, token, content, content_type, filename),
        )

    def update_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Replace an image part (PUT): a retake before finalize. ``verify`` as for add."""
        with _verified(verify) as verification:
            try:
                return self._send_image(
                    "update_part",
                    "PUT",
                    href,
                    token,
                    content,
                    content_type,
                    filename,
                    verification=verification,
                )
            except JumioError as refused:
                update_error = refused
            _raise_if_failed(verification)
            raise update_error

    def upload_prepared_data(self, href: str, token: str, data: dict[str, Any]) -> dict[str, Any]:
        """Upload the PREPARED_DATA part as JSON (POST); an uncertain upload is followed by an
        update (PUT) of the same data, as for an image part."""
        if not isinstance(data, dict) or not data:
            raise ValueError("prepared data must be a non-empty JSON object")
        target = require_jumio_href(self._http.settings, href)
        bearer = _checked_token(token)
        try:
            response = self._http.send(
                "upload_prepared_data",
                "POST",
                target,
                bearer=bearer,
                json_body=data,
                retry_after_sent=False,
            )
            return json_body("upload_prepared_data", response)
        except JumioError as uncertain:
            if not _worth_reconciling(uncertain):
                raise
            upload_error = uncertain
        logger.info(
            "jumio upload_prepared_data uncertain (HTTP %s): the same data goes out as an update",
            upload_error.status,
        )

        def update() -> dict[str, Any]:
            answer = self._http.send(
                "update_prepared_data", "PUT", target, bearer=bearer, json_body=data
            )
            return json_body("update_prepared_data", answer)

        return _reconciled(upload_error, update)

    def upload_document(
        self, href: str, token: str, pages: list[tuple[bytes, str, str]]
    ) -> dict[str, Any]:
        """Upload document pages (POST), one ``file`` field per page: ``(content, type, name)``."""
        if not pages:
            raise ValueError("a document upload needs at least one page")
        if len(pages) > MAX_DOCUMENT_PAGES:
            raise ValueError(f"a document has at most {MAX_DOCUMENT_PAGES} pages")
        files = []
        for number, page in enumerate(pages, start=1):
            if not isinstance(page, tuple) or len(page) != 3:
                raise ValueError(f"document page {number} must be (content, content_type, name)")
            content, content_type, filename = page
            files.append(_file_field(content, content_type, filename, DOCUMENT_TYPES))
        pdfs = sum(content_type == "application/pdf" for _, content_type, _ in pages)
        if pdfs and len(pages) > 1:
            raise ValueError("a document request holds image(s) or one PDF, not both or two PDFs")
        # Never re-sent once it may have reached Jumio: pages accumulate, so a repeat would add
        # them twice. The caller recovers from an uncertain upload by rebuilding the document.
        response = self._http.send(
            "upload_document",
            "POST",
            require_jumio_href(self._http.settings, href),
            bearer=_checked_token(token),
            files=files,
            retry_after_sent=False,
        )
        return json_body("upload_document", response)

    def finalize(self, workflow_execution_href: str, token: str) -> dict[str, Any]:
        """Finalize the workflow execution (PUT, no body): Jumio starts processing."""
        response = self._http.send(
            "finalize",
            "PUT",
            require_jumio_href(self._http.settings, workflow_execution_href),
            bearer=_checked_token(token),
        )
        return json_body("finalize", response)

    def delete_part(self, href: str, token: str) -> None:
        """Delete an image part (DELETE); a part Jumio does not know is already gone."""
        self._delete("delete_part", href, token)

    def delete_all_pages(self, href: str, token: str) -> None:
        """Delete every page of a document (DELETE); none left is already the goal."""
        self._delete("delete_all_pages", href, token)

    def _delete(self, operation: str, href: str, token: str) -> None:
        """DELETE where 404 means the goal is reached: logged, not raised."""
        try:
            self._http.send(
                operation,
                "DELETE",
                require_jumio_href(self._http.settings, href),
                bearer=_checked_token(token),
            )
        except JumioNotFound:
            logger.info("jumio %s: already gone (HTTP 404)", operation)

    def _send_image(
        self,
        operation: str,
        method: str,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        resend: bool = True,
        verification: Verification | None = None,
    ) -> dict[str, Any]:
        """POST or PUT one image as the multipart field ``file``; streamed when verified."""
        target = require_jumio_href(self._http.settings, href)
        bearer = _checked_token(token)
        field = _file_field(content, content_type, filename, IMAGE_TYPES)
        if verification is None:
            response = self._http.send(
                operation, method, target, bearer=bearer, files=[field], retry_after_sent=resend
            )
            return json_body(operation, response)
        body = GatedMultipartBody(content, content_type, filename, verification)
        try:
            return json_body(
                operation,
                self._http.send(
                    operation, method, target, bearer=bearer, stream=body, retry_after_sent=resend
                ),
            )
        except UploadAborted:
            pass
        # Out of the except block: the abort's traceback runs through requests' frames, which
        # hold the Authorization header; it must not become the context of what is raised.
        logger.info(
            "jumio %s %s cut short at byte %d of %d: the capture failed its check",
            operation,
            method,
            body.tell(),
            len(body),
        )
        verification.wait()  # raises the check's own error
        raise RuntimeError(f"{operation}: the upload was cut short although its check passed")


@contextmanager
def _verified(verify: Callable[[], None] | None) -> Iterator[Verification | None]:
    """The check started beside the call, and ended before the call returns."""
    if verify is None:
        yield None
        return
    verification = Verification(verify)
    try:
        yield verification
    finally:
        verification.join()


def _raise_if_failed(verification: Verification | None) -> None:
    """After a failed request: the check's error if the capture was invalid."""
    if verification is not None:
        verification.wait()


def _worth_reconciling(error: JumioError) -> bool:
    """Every failure but the two Jumio documents the meaning of: 401 (token) and 429 (busy)."""
    if isinstance(error, JumioThrottled):
        return False
    return not (isinstance(error, JumioAuthError) and error.status == 401)


def _reconciled(first_error: JumioError, update: Any) -> dict[str, Any]:
    """The update's answer; if it is refused, the first error (transient stays transient)."""
    try:
        return update()
    except JumioTransientError:
        raise
    except JumioError:
        raise first_error from None


def _file_field(
    content: bytes, content_type: str, filename: str, allowed: frozenset[str]
) -> tuple[str, tuple[str, bytes, str]]:
    """One multipart ``file`` field, after checking what Jumio would refuse anyway."""
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise ValueError("file content must be non-empty bytes")
    if content_type not in allowed:
        raise ValueError(f"content type must be one of {', '.join(sorted(allowed))}")
    if not isinstance(filename, str) or not filename.strip() or any(c in filename for c in '"\r\n'):
        raise ValueError("filename must be a non-empty name without quotes or line breaks")
    return ("file", (filename, bytes(content), content_type))


def _checked_token(token: str) -> str:
    """The api.token, if it can be a bearer token at all (its value is never shown)."""
    if not isinstance(token, str) or not token or any(c.isspace() for c in token):
        raise ValueError("token must be a non-empty string without whitespace")
    return token
