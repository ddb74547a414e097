"""Document pages at Jumio: appended once, and rebuilt whole whenever that is in doubt.

Jumio's document part accumulates pages and has no per-page update, listing or delete (only
"delete all pages"). So a page upload is never repeated once it may have reached Jumio: a
repeat could add the page twice. When an upload's outcome is uncertain (a lost answer, a
timeout, a 5xx), or when a page is retaken (a new version of a page key), the document is
rebuilt: every page deleted, then every landed page sent again in page order with the new
one in its place. A rebuild that meets uncertainty again starts over, a few times, and then
gives up as a transient failure (the capture is retried later).

Changing a document is serialised by a lease in the ledger, so that one invocation's rebuild
never deletes a page another invocation is appending; a page that meets a held lease is
retried within seconds (PartBusy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from jumio_pipeline.domain.capture_key import DOCUMENT, CaptureKey
from jumio_pipeline.domain.errors import (
    JumioError,
    JumioTransientError,
    JumioUnavailable,
    PartBusy,
)
from jumio_pipeline.domain.image_validation import CONTENT_TYPES
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import PartRecord
from jumio_pipeline.services.ports import (
    CaptureObjects,
    Clock,
    DocumentLedger,
    DocumentUploads,
    WorkflowStatusReader,
)

MAX_REBUILDS = 3
LEASE_SECONDS = 150  # longer than add_part's timeout: a crashed holder's lease runs out
APPENDED = "document"
REBUILT = "document-rebuilt"


@dataclass(frozen=True)
class PageUpload:
    """The page being delivered: its validated bytes and what to call them."""

    content: bytes
    content_type: str
    filename: str

    def as_file(self) -> tuple[bytes, str, str]:
        return (self.content, self.content_type, self.filename)


class DocumentPages:
    """``deliver(...)``: the page is at Jumio (appended, or the document rebuilt with it)."""

    def __init__(
        self,
        *,
        ledger: DocumentLedger,
        objects: CaptureObjects,
        jumio: DocumentUploads,
        status: WorkflowStatusReader,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._objects = objects
        self._jumio = jumio
        self._status = status
        self._clock = clock

    def deliver(
        self,
        session: Session,
        key: CaptureKey,
        href: str,
        token: str,
        page: PageUpload,
        *,
        retake: bool,
    ) -> str:
        """Append the page, or rebuild the document; the operation that did it."""
        wf, credential = session.workflow_execution_id, key.credential_id
        until = self._ledger.take_document_lease(
            wf, credential, now=self._clock(), seconds=LEASE_SECONDS
        )
        if until is None:
            raise PartBusy(f"document of credential {credential} is being changed right now")
        try:
            if not retake:
                try:
                    self._jumio.upload_document(href, token, [page.as_file()])
                    return APPENDED
                except JumioTransientError:
                    pass  # it may or may not have been added: only a rebuild is sure
            self._rebuild(session, key, href, token, page)
            return REBUILT
        finally:
            self._ledger.release_document_lease(wf, credential, until)

    def _rebuild(
        self, session: Session, key: CaptureKey, href: str, token: str, page: PageUpload
    ) -> None:
        """Delete every page, then send every landed page in order, this one in its place."""
        for _ in range(MAX_REBUILDS):
            self._delete_all_pages(session, key.credential_id, href, token)
            try:
                for record in self._pages_in_order(session, key):
                    if record is None:
                        self._jumio.upload_document(href, token, [page.as_file()])
                    else:
                        self._send_again(session, href, token, record)
                return
            except JumioTransientError:
                continue  # uncertain again: start over
        raise JumioUnavailable(
            f"the document of credential {key.credential_id} could not be rebuilt in "
            f"{MAX_REBUILDS} tries",
            operation="upload_document",
        )

    def _pages_in_order(self, session: Session, key: CaptureKey) -> list[PartRecord | None]:
        """The landed pages of the document by page number; None stands for this page."""
        landed = {
            record.part.page: record
            for record in self._ledger.parts(
                session.workflow_execution_id, PartId(key.credential_id, DOCUMENT)
            )
            if record.part.page is not None and record.landed and record.part.page != key.page
        }
        ordered: list[PartRecord | None] = []
        for number in sorted([*landed, key.page or 0]):
            ordered.append(landed.get(number))
        return ordered

    def _send_again(self, session: Session, href: str, token: str, record: PartRecord) -> None:
        """An earlier page, read again from its own object version and sent as it was."""
        stored = self._objects.open_version(
            record.bucket or "", record.key or "", record.version_id
        )
        if stored is None:
            # Its object version is gone (erased): it cannot be at Jumio any more either.
            self._ledger.delete_part(session.workflow_execution_id, record.part)
            return
        try:
            content = stored.read()
        finally:
            stored.close()
        content_type = CONTENT_TYPES.get(record.format or "", "application/pdf")
        filename = (record.key or "page").rsplit("/", 1)[-1]
        self._jumio.upload_document(href, token, [(content, content_type, filename)])
        self._ledger.record_part_uploaded(
            session.workflow_execution_id, record.part, record.evidence(REBUILT), now=self._clock()
        )

    def _delete_all_pages(self, session: Session, credential: str, href: str, token: str) -> None:
        """No page left at Jumio; a refusal Jumio does not explain is settled by its details."""
        try:
            self._jumio.delete_all_pages(href, token)
        except JumioTransientError:
            raise
        except JumioError as refused:
            present = self._status.present_parts(session.account_id, session.workflow_execution_id)
            if DOCUMENT in present.get(credential, frozenset()):
                raise refused from None
