"""Capture validation against Jumio's rules, with real image bytes decoded by real Pillow."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageFile

from jumio_pipeline.domain.errors import PipelineError
from jumio_pipeline.domain.image_validation import (
    MAX_BYTES,
    CaptureRejected,
    ImageInfo,
    check_pixel_data,
    inspect_capture,
    validate_capture,
)
from tests.support import images

ALL_CLASSIFIERS = ["FRONT", "BACK", "FACE", "DOCUMENT"]


def rejection(
    data: bytes, *, classifier: str = "FRONT", for_update: bool = False
) -> CaptureRejected:
    """The rejection validate_capture raises for data (fails the test if it accepts it)."""
    with pytest.raises(CaptureRejected) as caught:
        validate_capture(data, classifier=classifier, for_update=for_update)
    return caught.value


def outcome_of(data: bytes) -> str:
    """'accepted' or the rejection reason, for comparing validation with another decoder."""
    try:
        validate_capture(data, classifier="FRONT", for_update=True)
    except CaptureRejected as error:
        return error.reason
    return "accepted"


# --- accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize("classifier", ALL_CLASSIFIERS)
def test_a_jpeg_is_accepted_with_its_size(classifier: str) -> None:
    data = images.make_jpeg(1600, 1200, noise=True)

    info = validate_capture(data, classifier=classifier)

    assert info == ImageInfo("JPEG", 1600, 1200, 1, len(data), "image/jpeg")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"])
def test_a_png_is_accepted_in_every_mode(mode: str) -> None:
    data = images.make_png(640, 301, mode=mode)

    info = validate_capture(data, classifier="FACE")

    assert info == ImageInfo("PNG", 640, 301, 1, len(data), "image/png")


def test_an_interlaced_png_is_accepted() -> None:
    data = images.interlaced_png(401, 333)

    assert validate_capture(data, classifier="BACK").format == "PNG"


@pytest.mark.parametrize("pages", [1, 2, 30])
def test_a_pdf_is_accepted_for_document_with_its_page_count(pages: int) -> None:
    data = images.make_pdf(pages)

    info = validate_capture(data, classifier="DOCUMENT")

    assert info == ImageInfo("PDF", None, None, pages, len(data), "application/pdf")


def test_a_pdf_with_pages_inside_a_compressed_object_stream_is_counted() -> None:
    plain = images.make_pdf(3)
    page_dicts = plain[plain.index(b"3 0 obj") : plain.index(b"xref")]
    stream = zlib.compress(page_dicts)
    hidden = plain.replace(page_dicts, b"9 0 obj\n<< /Type /ObjStm >>\nstream\n")
    hidden = hidden.replace(b"stream\n", b"stream\n" + stream + b"\nendstream\nendobj\n", 1)

    assert validate_capture(hidden, classifier="DOCUMENT").pages == 3


@pytest.mark.parametrize(("width", "height"), [(300, 300), (120, 80), (1, 1)])
def test_an_update_accepts_small_images(width: int, height: int) -> None:
    data = images.make_jpeg(width, height)

    info = validate_capture(data, classifier="FRONT", for_update=True)

    assert (info.width, info.height) == (width, height)


def test_the_limits_themselves_are_accepted() -> None:
    assert validate_capture(images.make_jpeg(301, 200), classifier="FRONT").width == 301
    assert validate_capture(images.make_png(8000, 301), classifier="FRONT").width == 8000
    exactly_15_mb = images.jpeg_of_size(MAX_BYTES, 640, 480)
    assert validate_capture(exactly_15_mb, classifier="FRONT").size_bytes == MAX_BYTES


# --- size and format ------------------------------------------------------------------------


def test_zero_bytes_are_rejected_as_empty() -> None:
    assert rejection(b"").reason == "EMPTY_FILE"


def test_15_mb_plus_one_byte_is_too_large() -> None:
    data = images.jpeg_of_size(MAX_BYTES + 1, 640, 480)

    error = rejection(data)

    assert error.reason == "TOO_LARGE"
    assert str(MAX_BYTES + 1) in error.message


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: images.make_gif(640, 480), "GIF"),
        (lambda: images.make_webp(640, 480), "WebP"),
        (lambda: images.make_bmp(640, 480), "BMP"),
        (lambda: images.make_tiff(640, 480), "TIFF"),
        (lambda: images.make_heic_like(b"heic"), "HEIC"),
        (lambda: images.make_heic_like(b"mif1"), "HEIC"),
        (lambda: images.make_heic_like(b"avif"), "AVIF"),
    ],
)
@pytest.mark.parametrize("classifier", ALL_CLASSIFIERS)
def test_other_image_formats_are_unsupported_whatever_the_name(
    make, named: str, classifier: str
) -> None:
    error = rejection(make(), classifier=classifier)

    assert error.reason == "UNSUPPORTED_FORMAT"
    assert named in error.message
    assert "JPEG" in error.message


def test_a_format_only_pillow_recognises_is_named_by_pillow() -> None:
    out = io.BytesIO()
    Image.new("RGB", (320, 320)).save(out, "PPM")

    error = rejection(out.getvalue())

    assert error.reason == "UNSUPPORTED_FORMAT"
    assert "PPM" in error.message


@pytest.mark.parametrize(
    "data", [images.not_an_image(), b"\x00" * 1000, b"PK\x03\x04" + b"\x00" * 200]
)
def test_bytes_that_are_no_image_are_rejected(data: bytes) -> None:
    assert rejection(data).reason == "NOT_AN_IMAGE"


@pytest.mark.parametrize("classifier", ["FRONT", "BACK", "FACE"])
def test_a_pdf_is_only_allowed_for_document(classifier: str) -> None:
    error = rejection(images.make_pdf(1), classifier=classifier)

    assert error.reason == "PDF_NOT_ALLOWED"
    assert classifier in error.message


# --- dimensions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(8001, 600), (600, 8001)])
def test_more_than_8000_px_on_a_side_is_too_many_pixels(width: int, height: int) -> None:
    error = rejection(images.make_jpeg(width, height))

    assert error.reason == "TOO_MANY_PIXELS"
    assert error.message == f"{width} x {height} exceeds 8000 x 8000"


def test_a_wide_png_is_judged_from_its_header() -> None:
    assert rejection(images.make_png(8001, 301)).reason == "TOO_MANY_PIXELS"


@pytest.mark.parametrize(("width", "height"), [(300, 300), (300, 10), (200, 150)])
def test_a_longest_side_of_300_px_or_less_is_too_small_on_add(width: int, height: int) -> None:
    error = rejection(images.make_jpeg(width, height))

    assert error.reason == "TOO_SMALL"
    assert f"{width} x {height}" in error.message


def test_a_png_decompression_bomb_is_rejected_without_decoding() -> None:
    bomb = images.decompression_bomb_png(20000, 20000)
    assert len(bomb) < 100_000

    error = rejection(bomb)

    assert error.reason == "DECOMPRESSION_BOMB"


@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (65000, 65000)])
def test_a_jpeg_declaring_a_huge_size_is_a_decompression_bomb(width: int, height: int) -> None:
    assert rejection(images.jpeg_declaring_size(width, height)).reason == "DECOMPRESSION_BOMB"


# --- decoding -------------------------------------------------------------------------------


def test_a_truncated_jpeg_is_corrupt() -> None:
    error = rejection(images.truncated_jpeg())

    assert error.reason == "CORRUPT_IMAGE"
    assert "truncated" in error.message


def test_a_jpeg_with_a_broken_header_is_corrupt() -> None:
    assert rejection(b"\xff\xd8\xff\xe0" + b"\x00" * 500).reason == "CORRUPT_IMAGE"


def test_a_png_with_a_bad_crc_is_corrupt_and_says_so() -> None:
    error = rejection(images.png_with_bad_crc())

    assert error.reason == "CORRUPT_IMAGE"
    assert "CRC" in error.message


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (images.png_with_corrupt_pixels, "compressed"),
        (images.png_missing_rows, "truncated"),
        (images.png_with_bad_filter_byte, "filter"),
        (lambda: images.make_png(640, 480)[:-12], "IEND"),
        (lambda: images.make_png(640, 480)[:200], "truncated"),
        (lambda: images.make_png(640, 480)[:20], "IHDR"),
    ],
)
def test_broken_png_pixel_data_is_corrupt(make, says: str) -> None:
    error = rejection(make())

    assert error.reason == "CORRUPT_IMAGE"
    assert says in error.message


@pytest.mark.parametrize("interlace", [0, 1])
@pytest.mark.parametrize(
    ("width", "height", "bit_depth", "color_type"),
    [(401, 333, 8, 0), (13, 7, 1, 0), (9, 9, 16, 6), (1, 1, 8, 2), (5, 3, 4, 3), (7, 5, 16, 4)],
)
@pytest.mark.parametrize("missing_bytes", [0, 1])
def test_the_png_stream_check_agrees_with_a_full_pillow_decode(
    width: int, height: int, bit_depth: int, color_type: int, interlace: int, missing_bytes: int
) -> None:
    data = images.raw_png(
        width,
        height,
        bit_depth=bit_depth,
        color_type=color_type,
        interlace=interlace,
        missing_bytes=missing_bytes,
    )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        pillow_accepts = True
    except OSError:
        pillow_accepts = False

    outcome = outcome_of(data)

    assert outcome in ("accepted", "CORRUPT_IMAGE")
    we_accept = outcome == "accepted"
    assert we_accept == pillow_accepts == (missing_bytes == 0)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (images.make_pdf(1)[:-40], "%%EOF"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "no pages"),
    ],
)
def test_a_broken_pdf_is_corrupt(data: bytes, says: str) -> None:
    error = rejection(data, classifier="DOCUMENT")

    assert error.reason == "CORRUPT_PDF"
    assert says in error.message


def test_a_pdf_over_30_pages_is_too_many_pages() -> None:
    error = rejection(images.make_pdf(31), classifier="DOCUMENT")

    assert error.reason == "TOO_MANY_PAGES"
    assert "31" in error.message


def test_validation_refuses_to_run_if_truncated_images_were_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The only place the flag is ever set True: restored by monkeypatch when the test ends.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        validate_capture(images.truncated_jpeg(), classifier="FRONT")


def test_a_rejection_is_a_pipeline_error_with_reason_and_message() -> None:
    error = rejection(b"")

    assert isinstance(error, PipelineError)
    assert str(error) == f"{error.reason}: {error.message}"


# --- the two halves: inspect_capture (cheap, before the upload) and check_pixel_data ---------


@pytest.mark.parametrize(
    "make",
    [
        images.truncated_jpeg,
        lambda: images.corrupt_late(images.make_jpeg(1600, 1200, noise=True)),
        lambda: images.make_jpeg(1600, 1200, noise=True)[:-2],
        images.png_with_bad_crc,
        images.png_missing_rows,
        images.png_with_bad_filter_byte,
    ],
)
def test_damaged_pixel_data_passes_inspection_and_fails_the_pixel_check(make) -> None:
    data = make()

    info = inspect_capture(data, classifier="FRONT")

    with pytest.raises(CaptureRejected) as caught:
        check_pixel_data(data, info)
    assert caught.value.reason == "CORRUPT_IMAGE"
    assert rejection(data).reason == "CORRUPT_IMAGE"  # validate_capture is both halves


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"", "EMPTY_FILE"),
        (lambda: images.jpeg_of_size(MAX_BYTES + 1, 640, 480), "TOO_LARGE"),
        (lambda: images.make_gif(640, 480), "UNSUPPORTED_FORMAT"),
        (images.not_an_image, "NOT_AN_IMAGE"),
        (lambda: images.make_pdf(1), "PDF_NOT_ALLOWED"),
        (lambda: images.make_jpeg(8001, 400), "TOO_MANY_PIXELS"),
        (lambda: images.make_jpeg(300, 200), "TOO_SMALL"),
        (images.decompression_bomb_png, "DECOMPRESSION_BOMB"),
        (lambda: images.jpeg_declaring_size(20000, 20000), "DECOMPRESSION_BOMB"),
        (lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 500, "CORRUPT_IMAGE"),
        (lambda: images.make_png(640, 480)[:20], "CORRUPT_IMAGE"),
    ],
)
def test_every_rule_that_needs_no_decoding_is_applied_by_inspection_alone(make, reason) -> None:
    with pytest.raises(CaptureRejected) as caught:
        inspect_capture(make(), classifier="FRONT")

    assert caught.value.reason == reason


def test_inspection_returns_what_validation_returns() -> None:
    data = images.make_png(1000, 640)

    assert inspect_capture(data, classifier="BACK") == validate_capture(data, classifier="BACK")
    check_pixel_data(data, inspect_capture(data, classifier="BACK"))  # a sound image passes
