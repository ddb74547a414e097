"""Document pages: appended once; rebuilt whole whenever an upload is uncertain or a page retaken.

Jumio has no per-page update, listing or delete, so a page upload is never repeated after it
may have reached Jumio: the document is deleted and sent again, every landed page in order.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.errors import JumioUnavailable, PartBusy
from jumio_pipeline.domain.session_state import PartStatus
from jumio_pipeline.services.capture import CaptureService
from tests.support import images
from tests.support.fakes import jumio_refusal, jumio_unavailable
from tests.unit.services.conftest import World, put_capture

PAGES = {number: images.make_jpeg(600 + number, 800) for number in range(1, 5)}
RETAKE = images.make_jpeg(640, 900)


@pytest.fixture
def captures(world: World) -> CaptureService:
    return world.captures


def page_key(world: World, number: int) -> str:
    return world.ids.key("DOCUMENT", f"DOCUMENT/{number}.jpg")


def land(world: World, captures: CaptureService, *numbers: int) -> None:
    for number in numbers:
        captures.process(put_capture(world, page_key(world, number), PAGES[number]))


def sent_pages(world: World) -> list[bytes]:
    """What the last rebuild (or every append, without one) left at Jumio, in order."""
    pages: list[bytes] = []
    for call in world.jumio.succeeded():
        if call.operation == "delete_all_pages":
            pages = []
        elif call.operation == "upload_document":
            pages.append(call.content or b"")
    return pages


def test_pages_are_appended_one_request_each(world, captures):
    world.register(("DOCUMENT",))

    land(world, captures, 1, 2)

    assert [c.operation for c in world.jumio.calls] == ["upload_document", "upload_document"]
    assert sent_pages(world) == [PAGES[1], PAGES[2]]


def test_an_uncertain_page_upload_rebuilds_the_document_instead_of_sending_it_again(
    world, captures
):
    world.register(("DOCUMENT",))
    land(world, captures, 1, 2)
    world.jumio.fail("upload_document", jumio_unavailable(operation="upload_document"))

    outcome = captures.process(put_capture(world, page_key(world, 3), PAGES[3]))

    assert outcome.operation == "document-rebuilt"
    assert sent_pages(world) == [PAGES[1], PAGES[2], PAGES[3]]  # each page once, in order
    records = world.ledger.parts(world.ids.workflow)
    assert {r.part.page for r in records if r.status is PartStatus.UPLOADED} == {1, 2, 3}


def test_a_retaken_page_takes_its_place_in_a_rebuilt_document(world, captures):
    world.register(("DOCUMENT",))
    land(world, captures, 1, 2, 3)

    outcome = captures.process(put_capture(world, page_key(world, 2), RETAKE))

    assert outcome.operation == "document-rebuilt"
    assert sent_pages(world) == [PAGES[1], RETAKE, PAGES[3]]


def test_a_rebuild_that_meets_uncertainty_again_starts_over(world, captures):
    world.register(("DOCUMENT",))
    land(world, captures, 1)
    world.jumio.fail(
        "upload_document",
        jumio_unavailable(operation="upload_document"),  # the new page: uncertain
        jumio_unavailable(operation="upload_document"),  # page 1 of the first rebuild too
    )

    captures.process(put_capture(world, page_key(world, 2), PAGES[2]))

    assert sent_pages(world) == [PAGES[1], PAGES[2]]
    deletes = [c for c in world.jumio.calls if c.operation == "delete_all_pages"]
    assert len(deletes) == 2


def test_a_document_that_cannot_be_rebuilt_is_a_transient_failure(world, captures):
    world.register(("DOCUMENT",))
    world.jumio.fail(
        "upload_document", *[jumio_unavailable(operation="upload_document") for _ in range(10)]
    )

    with pytest.raises(JumioUnavailable, match="could not be rebuilt"):
        captures.process(put_capture(world, page_key(world, 1), PAGES[1]))


def test_an_unexplained_refusal_to_delete_pages_is_settled_by_jumios_details(world, captures):
    world.register(("DOCUMENT",))
    land(world, captures, 1)
    world.jumio.fail("upload_document", jumio_unavailable(operation="upload_document"))
    world.jumio.fail("delete_all_pages", jumio_refusal(409, operation="delete_all_pages"))
    # Jumio's details list no DOCUMENT part: the refusal meant "nothing to delete".
    world.status.parts[world.ids.workflow] = {world.ids.credential("DOCUMENT"): frozenset()}

    outcome = captures.process(put_capture(world, page_key(world, 2), PAGES[2]))

    assert outcome.operation == "document-rebuilt"
    assert [c.operation for c in world.status.calls] == ["details"]


def test_an_unexplained_refusal_while_pages_remain_is_not_taken_for_success(world, captures):
    world.register(("DOCUMENT",))
    land(world, captures, 1)
    world.jumio.fail("upload_document", jumio_unavailable(operation="upload_document"))
    world.jumio.fail("delete_all_pages", jumio_refusal(409, operation="delete_all_pages"))
    world.status.parts[world.ids.workflow] = {
        world.ids.credential("DOCUMENT"): frozenset({"DOCUMENT"})
    }

    outcome = captures.process(put_capture(world, page_key(world, 2), PAGES[2]))

    assert (outcome.status, outcome.reason) == ("REJECTED", "JUMIO_REJECTED")
    assert [c.operation for c in world.jumio.succeeded()].count("upload_document") == 1


def test_a_document_being_changed_elsewhere_makes_the_page_wait(world, captures):
    world.register(("DOCUMENT",))
    held = world.ledger.take_document_lease(
        world.ids.workflow, world.ids.credential("DOCUMENT"), now=world.clock(), seconds=60
    )
    assert held is not None

    with pytest.raises(PartBusy):
        captures.process(put_capture(world, page_key(world, 1), PAGES[1]))

    assert world.jumio.calls == []
    world.clock.advance(61)  # the holder died: its lease ran out
    assert (
        captures.process(put_capture(world, page_key(world, 1), PAGES[1])).operation == "document"
    )
