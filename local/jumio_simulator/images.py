"""Judging uploaded files by their bytes (never by file name or declared type), as Jumio does."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image

from jumio_simulator.errors import ApiError, bad_request

MAX_FILE_BYTES = 15_000_000  # "15 MB", read strictly (decimal): the smaller of the two readings
MAX_SIDE = 8000
MIN_LONGEST_SIDE_ON_ADD = 300
MAX_DOCUMENT_PAGES = 30
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?!s)")


@dataclass(frozen=True)
class JudgedFile:
    """What a file turned out to be: JPEG, PNG or PDF, and how many pages it counts for."""

    kind: str
    pages: int


def sniff(content: bytes) -> str | None:
    """The real format from magic bytes: JPEG, PNG, PDF or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if content.startswith(b"%PDF-"):
        return "PDF"
    return None


def check_size(content: bytes) -> None:
    """413 above 15 MB = 15,000,000 bytes (the current Credentials API limit, read strictly)."""
    if len(content) > MAX_FILE_BYTES:
        raise ApiError(
            413, f"file is {len(content)} bytes, larger than 15 MB ({MAX_FILE_BYTES} bytes)"
        )


def check_image(content: bytes, kind: str, *, is_add: bool) -> None:
    """Dimensions within 8000x8000, longest side above 300 px on add, and a full decode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=[kind])
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise bad_request(f"image is {width}x{height}, larger than {MAX_SIDE}x{MAX_SIDE}")
            if is_add and max(width, height) <= MIN_LONGEST_SIDE_ON_ADD:
                raise bad_request(
                    f"image is {width}x{height}; its longest side must exceed "
                    f"{MIN_LONGEST_SIDE_ON_ADD} px"
                )
            image.load()
    except ApiError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as error:
        raise bad_request(f"{kind} image could not be decoded ({type(error).__name__})") from error


def judge_image(content: bytes, *, is_add: bool) -> JudgedFile:
    """A FRONT/BACK/FACE upload: JPEG or PNG only."""
    check_size(content)
    kind = sniff(content)
    if kind not in ("JPEG", "PNG"):
        raise bad_request("file must be a JPEG or PNG image (judged by content)")
    check_image(content, kind, is_add=is_add)
    return JudgedFile(kind=kind, pages=1)


def count_pdf_pages(content: bytes) -> int:
    """Rough page count: `/Type /Page` objects, not the `/Type /Pages` tree nodes."""
    return len(_PDF_PAGE.findall(content))


def judge_document_file(content: bytes) -> JudgedFile:
    """A DOCUMENT page file: JPEG/PNG (one page) or a PDF (its pages)."""
    check_size(content)
    kind = sniff(content)
    if kind == "PDF":
        pages = count_pdf_pages(content)
        if pages == 0:
            raise bad_request("PDF has no pages")
        return JudgedFile(kind=kind, pages=pages)
    if kind in ("JPEG", "PNG"):
        check_image(content, kind, is_add=True)
        return JudgedFile(kind=kind, pages=1)
    raise bad_request("document file must be a JPEG, PNG or PDF (judged by content)")
