"""Real image bytes for tests and benchmarks, built in memory.

Everything here is a genuine file a decoder can read (or a deliberately broken one), so tests
exercise real Pillow decoding instead of mocks. Expensive results are cached: treat the returned
bytes as read-only (they are immutable ``bytes`` anyway).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable, Iterator
from functools import lru_cache

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
_JPEG_COM = b"\xff\xfe"
_MAX_SEGMENT_BYTES = 4 + 65533  # marker (2) + length field (2) + the largest payload
_QUALITIES_TO_TRY = (95, 90, 85, 75, 60, 40, 20, 10, 5)
_ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4))
_ADAM7_PASSES += ((1, 0, 2, 2), (0, 1, 1, 2))


def _picture(width: int, height: int, *, noise: bool = False) -> Image.Image:
    """A deterministic RGB picture: gradients (compress well) or gradients plus noise."""
    horizontal = Image.linear_gradient("L").resize((width, height))
    vertical = horizontal.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    middle = Image.effect_noise((width, height), 12) if noise else vertical
    return Image.merge("RGB", (horizontal, middle, vertical))


def _encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    """Encode a Pillow image to bytes in memory."""
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


@lru_cache(maxsize=32)
def make_jpeg(width: int, height: int, *, quality: int = 90, noise: bool = False) -> bytes:
    """A baseline RGB JPEG; ``noise`` makes its size realistic for a photo."""
    return _encode(_picture(width, height, noise=noise), "JPEG", quality=quality)


@lru_cache(maxsize=32)
def make_png(width: int, height: int, *, mode: str = "RGB") -> bytes:
    """A PNG in any mode Pillow writes (RGB, RGBA, L, LA, P, 1, I;16)."""
    picture = _picture(width, height)
    if mode == "I;16":
        wide = picture.convert("L").convert("I").point(lambda v: v * 257)
        return _encode(wide.convert("I;16"), "PNG")
    return _encode(picture.convert(mode), "PNG")


def make_gif(width: int, height: int) -> bytes:
    """GIF bytes, which Jumio does not accept."""
    return _encode(_picture(width, height).convert("P"), "GIF")


def make_webp(width: int, height: int) -> bytes:
    """WebP bytes, which Jumio does not accept."""
    return _encode(_picture(width, height), "WEBP")


def make_bmp(width: int, height: int) -> bytes:
    """BMP bytes, which Jumio does not accept."""
    return _encode(_picture(width, height), "BMP")


def make_tiff(width: int, height: int) -> bytes:
    """TIFF bytes, which Jumio does not accept."""
    return _encode(_picture(width, height), "TIFF")


def make_heic_like(brand: bytes = b"heic") -> bytes:
    """The start of a HEIC/HEIF file: an ISO-BMFF 'ftyp' box with the given brand, then filler.

    Pillow cannot write HEIC (it needs the pillow-heif plugin), so this is not a decodable
    picture; it is exactly what a detector sees first, which is all validation looks at.
    """
    ftyp_payload = brand + b"\x00\x00\x00\x00" + b"mif1" + brand
    ftyp = struct.pack(">I", 8 + len(ftyp_payload)) + b"ftyp" + ftyp_payload
    mdat_payload = bytes(range(256)) * 16
    return ftyp + struct.pack(">I", 8 + len(mdat_payload)) + b"mdat" + mdat_payload


def truncated_jpeg() -> bytes:
    """A real JPEG cut off in the middle of its entropy-coded data."""
    whole = make_jpeg(640, 480, noise=True)
    return whole[: len(whole) * 3 // 5]


def corrupt_late(data: bytes, *, at: float = 0.9, length: int = 200, seed: int = 1) -> bytes:
    """A JPEG damaged ``at`` (a fraction) into its entropy-coded data, header intact.

    A stray DHT marker (0xFF 0xC4) followed by seeded noise overwrites ``length`` bytes: a
    decoder meets it only when it gets there, so only a full decode finds the damage (random
    noise alone may decode as valid-looking garbage, which no decoder can tell).
    """
    import random

    damage = (b"\xff\xc4" + random.Random(seed).randbytes(length))[:length]
    start = int(len(data) * at)
    return data[:start] + damage + data[start + length :]


def png_with_bad_crc() -> bytes:
    """A real PNG whose first IDAT chunk has a wrong CRC (data intact)."""
    data = bytearray(make_png(400, 300))
    idat = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[idat : idat + 4])
    crc_at = idat + 8 + length
    data[crc_at] ^= 0xFF
    return bytes(data)


def png_with_corrupt_pixels() -> bytes:
    """A PNG whose IDAT CRCs are right but whose compressed pixel data is garbage."""
    header = _ihdr(400, 300, bit_depth=8, color_type=2)
    garbage = zlib.compress(b"\x00" * 10)[:2] + bytes(range(256)) * 4
    return PNG_SIGNATURE + header + _chunk(b"IDAT", garbage) + _chunk(b"IEND", b"")


def png_missing_rows(width: int = 400, height: int = 300) -> bytes:
    """A PNG with valid chunks and CRCs whose pixel data stops one row short."""
    rows = (b"\x00" + b"\x00" * width for _ in range(height - 1))
    return _png_from_rows(width, height, rows, bit_depth=8, color_type=0)


def png_with_bad_filter_byte(width: int = 400, height: int = 300) -> bytes:
    """A PNG with valid chunks and CRCs whose second row has filter type 7 (only 0..4 exist)."""
    rows = (bytes([7 if y == 1 else 0]) + b"\x00" * width for y in range(height))
    return _png_from_rows(width, height, rows, bit_depth=8, color_type=0)


def interlaced_png(width: int = 401, height: int = 333) -> bytes:
    """A valid Adam7-interlaced grey PNG (Pillow only writes non-interlaced PNGs)."""
    return raw_png(width, height, bit_depth=8, color_type=0, interlace=1)


@lru_cache(maxsize=64)
def raw_png(
    width: int,
    height: int,
    *,
    bit_depth: int,
    color_type: int,
    interlace: int = 0,
    missing_bytes: int = 0,
) -> bytes:
    """A mid-grey PNG of any bit depth, colour type and interlacing, written by hand.

    ``missing_bytes`` drops that many bytes from the end of the pixel data while keeping every
    chunk and CRC valid: the file is well formed but its last row is incomplete.
    """
    bits_per_pixel = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type] * bit_depth
    passes = _ADAM7_PASSES if interlace else ((0, 0, 1, 1),)
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        pass_width = max(0, (width - x0 + dx - 1) // dx)
        pass_height = max(0, (height - y0 + dy - 1) // dy)
        if pass_width and pass_height:
            row = b"\x00" + b"\x80" * ((pass_width * bits_per_pixel + 7) // 8)
            raw += row * pass_height
    palette = _chunk(b"PLTE", bytes(range(48))) if color_type == 3 else b""
    header = _ihdr(width, height, bit_depth=bit_depth, color_type=color_type, interlace=interlace)
    pixels = zlib.compress(bytes(raw[: len(raw) - missing_bytes]), 9)
    return PNG_SIGNATURE + header + palette + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


@lru_cache(maxsize=4)
def decompression_bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A 1-bit PNG declaring width x height pixels of zeros, a few tens of KB on disk.

    Written chunk by chunk over a generator of zero rows, so building it never allocates the
    bitmap it describes.
    """
    row = b"\x00" * (1 + (width + 7) // 8)
    rows = (row for _ in range(height))
    return _png_from_rows(width, height, rows, bit_depth=1, color_type=0)


def jpeg_declaring_size(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims another size, as a bomb would."""
    data = bytearray(make_jpeg(320, 240))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@lru_cache(maxsize=8)
def make_pdf(pages: int = 1) -> bytes:
    """A minimal valid PDF with the given number of empty A4 pages, written by hand."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


@lru_cache(maxsize=8)
def jpeg_of_size(target_bytes: int, width: int, height: int) -> bytes:
    """A real, decodable noisy JPEG of exactly ``target_bytes``.

    The noise gives a photo-like natural size; the highest quality that fits is chosen, then
    COM segments right after SOI pad it to the exact length (decoders skip comments).
    """
    picture = _picture(width, height, noise=True)
    for quality in _QUALITIES_TO_TRY:
        encoded = _encode(picture, "JPEG", quality=quality)
        missing = target_bytes - len(encoded)
        if missing == 0 or missing >= 4:
            return _after_soi(_comment_segments(missing), encoded)
    raise ValueError(f"{width} x {height} does not fit in {target_bytes} bytes as a JPEG")


def not_an_image() -> bytes:
    """Bytes that no image decoder recognises."""
    return b"Hello, this is a plain text file and not an image at all.\n" * 20


def _after_soi(segments: Iterable[bytes], jpeg: bytes) -> bytes:
    """Insert segments right after a JPEG's SOI marker."""
    return _JPEG_SOI + b"".join(segments) + jpeg[len(_JPEG_SOI) :]


def _comment_segments(total: int) -> Iterator[bytes]:
    """COM segments adding exactly ``total`` bytes (0, or 4 and more)."""
    while total:
        size = min(total, _MAX_SEGMENT_BYTES)
        if 0 < total - size < 4:
            size -= 4
        yield _JPEG_COM + struct.pack(">H", size - 2) + b"\x00" * (size - 4)
        total -= size


def _chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _ihdr(width: int, height: int, *, bit_depth: int, color_type: int, interlace: int = 0) -> bytes:
    """The PNG header chunk."""
    return _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    )


def _png_from_rows(
    width: int,
    height: int,
    rows: Iterable[bytes],
    *,
    bit_depth: int,
    color_type: int,
    interlace: int = 0,
) -> bytes:
    """A PNG from already-filtered rows, compressed as they stream past."""
    compressor = zlib.compressobj(9)
    idat = bytearray()
    for row in rows:
        idat += compressor.compress(row)
    idat += compressor.flush()
    header = _ihdr(width, height, bit_depth=bit_depth, color_type=color_type, interlace=interlace)
    return PNG_SIGNATURE + header + _chunk(b"IDAT", bytes(idat)) + _chunk(b"IEND", b"")
