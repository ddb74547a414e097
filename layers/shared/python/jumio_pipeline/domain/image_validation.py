"""Check a capture against Jumio's upload rules before spending a call on it.

Jumio accepts JPEG or PNG parts (PDF too for DOCUMENT), at most 15 MB and 8000 x 8000 px, and on
add the longest side must exceed 300 px. Checking here turns Jumio's opaque 400s into a recorded
rejection with a reason code, and keeps broken or hostile files (truncated, bad CRC, bombs) away
from Jumio. The format is judged by content, never by file name, and the original bytes are never
re-encoded: the caller uploads exactly what it validated.

Memory is bounded whatever the input: the size is checked before any decoding, JPEGs are decoded
at 1/8 scale (libjpeg still reads every byte of the entropy-coded data, so truncation shows), and
PNG pixel data is inflated as a stream and checked row by row without building the bitmap.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NoReturn

from PIL import Image, ImageFile, UnidentifiedImageError

from jumio_pipeline.domain.capture_limits import MAX_BYTES
from jumio_pipeline.domain.errors import CaptureRejected

# MAX_BYTES (capture_limits): Jumio says "15 MB", read the stricter way, 15,000,000 bytes.
MAX_SIDE = 8000
MIN_LONGEST_SIDE = 300  # on add, the longest side must be strictly greater
# Pillow's own guard (MAX_IMAGE_PIXELS, error at twice the limit) applied with Jumio's limit,
# per call and without touching Pillow's global: a header declaring this many pixels is a bomb.
BOMB_PIXELS = 2 * MAX_SIDE * MAX_SIDE
MAX_PDF_PAGES = 30
PDF_EOF_WINDOW = 1024

ImageFormat = Literal["JPEG", "PNG", "PDF"]
CONTENT_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "PDF": "application/pdf",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9])")
_PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")
# Channels per PNG colour type: grey, -, RGB, palette, grey+alpha, -, RGBA.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7 += ((0, 1, 1, 2),)
_INFLATE_STEP = 1 << 20


@dataclass(frozen=True)
class ImageInfo:
    """What validation learned about an accepted capture (width/height are None for a PDF)."""

    format: ImageFormat
    width: int | None
    height: int | None
    pages: int
    size_bytes: int
    content_type: str


def validate_capture(data: bytes, *, classifier: str, for_update: bool = False) -> ImageInfo:
    """Accept ``data`` as a part for ``classifier`` or raise CaptureRejected saying why.

    ``for_update`` relaxes the minimum size, which Jumio only enforces when adding a part.
    The same checks as ``inspect_capture`` followed by ``check_pixel_data``.
    """
    info = inspect_capture(data, classifier=classifier, for_update=for_update)
    check_pixel_data(data, info)
    return info


def inspect_capture(data: bytes, *, classifier: str, for_update: bool = False) -> ImageInfo:
    """Every rule that needs no pixel decoding: size, format, declared dimensions, bomb guard.

    Cheap (headers only), so it always runs before any byte goes to Jumio. A PDF is checked
    whole here (its page count is part of what it is). What is left for an image is
    ``check_pixel_data``, the costly full decode.
    """
    _check_byte_size(data)
    image_format = _detect_format(data, classifier)
    if image_format == "PDF":
        pages = _count_pdf_pages(data)
        return ImageInfo("PDF", None, None, pages, len(data), CONTENT_TYPES["PDF"])
    width, height = _header_size(data, image_format)
    _check_dimensions(width, height, for_update=for_update)
    return ImageInfo(image_format, width, height, 1, len(data), CONTENT_TYPES[image_format])


def check_pixel_data(data: bytes, info: ImageInfo) -> None:
    """Decode all the pixel data of an image ``inspect_capture`` accepted: truncated or corrupt
    files are refused here. For a 15 MB JPEG this is ~120 ms of entropy decoding, which is why
    the caller may run it beside the upload (it only reads ``data``, so any thread may).
    """
    if info.format == "JPEG":
        assert info.width is not None
        assert info.height is not None
        _check_jpeg_decodes(data, info.width, info.height)
    elif info.format == "PNG":
        _check_png_decodes(data)


def _reject(reason: str, message: str) -> NoReturn:
    """Raise the rejection; messages name the problem, never content."""
    raise CaptureRejected(reason, message)


# --- size and format ------------------------------------------------------------------------


def _check_byte_size(data: bytes) -> None:
    """Empty and oversized files are refused before a single byte is decoded."""
    if not data:
        _reject("EMPTY_FILE", "the file is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        _reject("TOO_LARGE", f"{len(data)} bytes exceeds the limit of {MAX_BYTES} bytes (15 MB)")


def _detect_format(data: bytes, classifier: str) -> ImageFormat:
    """Judge the format by magic bytes, and by Pillow's identification for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"%PDF-"):
        if classifier != "DOCUMENT":
            _reject("PDF_NOT_ALLOWED", f"PDF is accepted only for DOCUMENT, not for {classifier}")
        return "PDF"
    _reject_unsupported(_name_other_format(data), classifier)


def _name_other_format(data: bytes) -> str | None:
    """Name a format Jumio does not take, or None when the bytes are no image at all."""
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    known = {
        "GIF": data.startswith((b"GIF87a", b"GIF89a")),
        "WebP": data.startswith(b"RIFF") and data[8:12] == b"WEBP",
        "BMP": data.startswith(b"BM"),
        "TIFF": data.startswith((b"II*\x00", b"MM\x00*")),
        "HEIC/HEIF": brand in _HEIF_BRANDS,
        "AVIF": brand in _AVIF_BRANDS,
    }
    for name, matches in known.items():
        if matches:
            return name
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format or "unknown image"
    except UnidentifiedImageError:
        return None
    except Exception:  # any other plugin failure still means "an image of some other kind"
        return "unrecognised image"


def _reject_unsupported(name: str | None, classifier: str) -> NoReturn:
    """Say what was found and what Jumio takes instead."""
    accepted = "JPEG, PNG or PDF" if classifier == "DOCUMENT" else "JPEG or PNG"
    if name is None:
        _reject("NOT_AN_IMAGE", f"the content is not an image; Jumio takes {accepted}")
    _reject("UNSUPPORTED_FORMAT", f"{name} data is not accepted; Jumio takes {accepted}")


# --- dimensions -----------------------------------------------------------------------------


def _header_size(data: bytes, image_format: ImageFormat) -> tuple[int, int]:
    """Read the declared size from the header alone, before any pixel is decoded."""
    if image_format == "PNG":
        return _png_header(data)[:2]
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            return image.size
    except Image.DecompressionBombError:
        _reject("DECOMPRESSION_BOMB", "the JPEG header declares an implausible pixel count")
    except Exception:
        _reject("CORRUPT_IMAGE", "the JPEG header cannot be read")


def _check_dimensions(width: int, height: int, *, for_update: bool) -> None:
    """Jumio's limits: at most 8000 px a side, and (on add) a longest side over 300 px."""
    if width * height > BOMB_PIXELS:
        _reject(
            "DECOMPRESSION_BOMB",
            f"{width} x {height} declares more than {BOMB_PIXELS} pixels (decompression bomb)",
        )
    if width > MAX_SIDE or height > MAX_SIDE:
        _reject("TOO_MANY_PIXELS", f"{width} x {height} exceeds {MAX_SIDE} x {MAX_SIDE}")
    if not for_update and max(width, height) <= MIN_LONGEST_SIDE:
        _reject(
            "TOO_SMALL",
            f"{width} x {height}: the longest side must be more than {MIN_LONGEST_SIDE} px",
        )


# --- decoding -------------------------------------------------------------------------------


def _check_jpeg_decodes(data: bytes, width: int, height: int) -> None:
    """Decode the whole JPEG at 1/8 scale in grey: every byte is read, 1/64 of the memory."""
    _require_strict_truncation()
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            image.draft("L", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except Exception:
        _reject("CORRUPT_IMAGE", "the JPEG data is truncated or corrupt and cannot be decoded")


def _require_strict_truncation() -> None:
    """Pillow accepts truncated files when this global is True; then validation means nothing."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process; capture validation "
            "refuses to run because truncated images would pass"
        )


def _png_header(data: bytes) -> tuple[int, int, int, int, int]:
    """IHDR fields: width, height, bit depth, colour type, interlace method."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        _reject("CORRUPT_IMAGE", "the PNG header (IHDR) is missing or truncated")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if not width or not height or colour not in _PNG_CHANNELS or interlace not in (0, 1):
        _reject("CORRUPT_IMAGE", "the PNG header (IHDR) is invalid")
    return width, height, depth, colour, interlace


def _check_png_decodes(data: bytes) -> None:
    """Check every chunk CRC, then inflate the pixel data as a stream, never holding a bitmap.

    Pillow confirms the header describes a mode it can decode; the stream check then proves
    the compressed data is complete and every row has a valid PNG filter type.
    """
    idat_chunks = _png_idat_chunks(data)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]):
            pass
    except Exception:
        _reject("CORRUPT_IMAGE", "the PNG header describes no decodable image")
    width, height, depth, colour, interlace = _png_header(data)
    _check_png_rows(idat_chunks, _png_row_lengths(width, height, depth, colour, interlace))


def _png_idat_chunks(data: bytes) -> list[memoryview]:
    """Walk the chunks, checking each CRC, up to IEND; return the IDAT payloads (no copies)."""
    view = memoryview(data)
    position = len(_PNG_SIGNATURE)
    idat: list[memoryview] = []
    while True:
        if position + 12 > len(data):
            _reject("CORRUPT_IMAGE", "the PNG is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        if end + 4 > len(data):
            _reject("CORRUPT_IMAGE", f"the PNG is truncated inside a {_chunk_name(kind)} chunk")
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(view[position + 4 : end]) & 0xFFFFFFFF != crc:
            _reject("CORRUPT_IMAGE", f"the PNG {_chunk_name(kind)} chunk has a bad CRC")
        if kind == b"IDAT":
            idat.append(view[position + 8 : end])
        if kind == b"IEND":
            return idat
        position = end + 4


def _chunk_name(kind: bytes) -> str:
    """A chunk type safe to print (it is four ASCII letters in a valid file)."""
    return kind.decode("ascii", "replace") if kind.isalpha() else "unnamed"


def _png_row_lengths(
    width: int, height: int, depth: int, colour: int, interlace: int
) -> list[tuple[int, int]]:
    """(bytes per filtered row, number of rows) for each pass; Adam7 has seven passes."""
    bits_per_pixel = _PNG_CHANNELS[colour] * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    lengths: list[tuple[int, int]] = []
    for x0, y0, dx, dy in passes:
        pass_width = (width - x0 + dx - 1) // dx if width > x0 else 0
        pass_height = (height - y0 + dy - 1) // dy if height > y0 else 0
        if pass_width and pass_height:
            lengths.append((1 + (pass_width * bits_per_pixel + 7) // 8, pass_height))
    return lengths


def _row_starts(row_lengths: list[tuple[int, int]]) -> Iterator[int]:
    """Offsets, in the inflated stream, of the filter byte that starts each row."""
    offset = 0
    for row_length, rows in row_lengths:
        for _ in range(rows):
            yield offset
            offset += row_length


def _inflate(chunks: list[memoryview]) -> Iterator[bytes]:
    """Inflate the concatenated IDAT payloads in pieces of at most _INFLATE_STEP bytes."""
    inflater = zlib.decompressobj()
    for chunk in chunks:
        pending: bytes | memoryview = chunk
        while pending:
            piece = inflater.decompress(pending, _INFLATE_STEP)
            pending = inflater.unconsumed_tail
            if piece:
                yield piece
    while not inflater.eof:
        piece = inflater.decompress(b"", _INFLATE_STEP)
        if not piece:
            return
        yield piece


def _check_png_rows(idat_chunks: list[memoryview], row_lengths: list[tuple[int, int]]) -> None:
    """Every row must be present and start with a filter type 0..4; trailing data is ignored."""
    expected = sum(row_length * rows for row_length, rows in row_lengths)
    row_starts = _row_starts(row_lengths)
    next_row = next(row_starts, None)
    inflated = 0
    try:
        for piece in _inflate(idat_chunks):
            while next_row is not None and next_row < inflated + len(piece):
                if piece[next_row - inflated] > 4:
                    _reject("CORRUPT_IMAGE", "the PNG pixel data has an invalid row filter type")
                next_row = next(row_starts, None)
            inflated += len(piece)
            if inflated >= expected:
                return
    except zlib.error:
        _reject("CORRUPT_IMAGE", "the PNG pixel data is not a valid compressed stream")
    _reject("CORRUPT_IMAGE", "the PNG pixel data is truncated (rows are missing)")


# --- PDF --------------------------------------------------------------------------------------


def _count_pdf_pages(data: bytes) -> int:
    """A PDF must end with %%EOF and hold 1..30 pages (Jumio's document limit)."""
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        _reject("CORRUPT_PDF", "the PDF is truncated (no %%EOF at the end)")
    pages = len(_PDF_PAGE.findall(data)) or _count_pages_in_object_streams(data)
    if pages == 0:
        _reject("CORRUPT_PDF", "the PDF has no pages")
    if pages > MAX_PDF_PAGES:
        _reject("TOO_MANY_PAGES", f"the PDF has {pages} pages; Jumio takes at most {MAX_PDF_PAGES}")
    return pages


def _count_pages_in_object_streams(data: bytes) -> int:
    """PDF 1.5+ may compress page objects into object streams: look inside Flate streams.

    Each stream is inflated at most to MAX_BYTES, so a compressed bomb cannot exhaust memory.
    """
    pages = 0
    for match in _PDF_STREAM.finditer(data):
        stream_end = data.find(b"endstream", match.end())
        if stream_end < 0:
            continue
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(memoryview(data)[match.end() : stream_end], MAX_BYTES)
        except zlib.error:
            continue
        pages += len(_PDF_PAGE.findall(text))
    return pages
