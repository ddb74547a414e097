"""An image part streamed to Jumio while its validation runs beside it; never completed unless
that validation passes.

Decoding a 15 MB JPEG to prove it is whole takes ~120 ms; sending it takes as long as the link
allows. Run one after the other they add up, so the check runs in a thread while the request
body goes out, and the body's last bytes (the end of the image and the closing boundary) wait
until the check has passed. If it fails, the body stops short of its end and the connection is
closed: Jumio, like any HTTP server, processes no request whose body did not arrive whole, so
nothing lands and there is nothing to reconcile (docs/interfaces.md). An invalid file therefore
never reaches Jumio complete, however far its upload got.

The body is replayable (``tell``/``seek``), so urllib3 can send it again after a failed
connect or a 429 (the only retries an add allows), and it is never copied: pieces are views of
the capture's bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from urllib3.fields import RequestField
from urllib3.filepost import choose_boundary

HOLD_BACK_BYTES = 64 * 1024  # of the image, with the closing boundary, until the check passed
PIECE_BYTES = 256 * 1024  # per socket write: few Python round trips, no copy


class UploadAborted(Exception):
    """The body was cut short on purpose because the capture failed its check.

    Deliberately not an OSError: urllib3 and requests would take that for a transport failure
    (and retry or wrap it). This leaves the request as it is raised, the connection closed.
    """


class Gate(Protocol):
    """What the body waits on before its last bytes: returns when they may go, else raises."""

    def wait(self) -> None: ...


class StreamedBody(Protocol):
    """A request body ``JumioHttp.send`` streams: its own Content-Type, length and position."""

    content_type: str

    def __iter__(self) -> Iterator[memoryview]: ...

    def __len__(self) -> int: ...

    def tell(self) -> int: ...

    def seek(self, position: int, whence: int = 0) -> int: ...


class Verification:
    """Runs ``check`` in its own thread from construction; ``wait`` gives its verdict.

    Pillow and zlib release the GIL while they decode, so the check really runs beside the
    socket writes (and, where the send is slower than the check, costs no time at all).
    """

    def __init__(self, check: Callable[[], None]) -> None:
        self._error: Exception | None = None
        self._thread = threading.Thread(
            target=self._run, args=(check,), name="capture-check", daemon=True
        )
        self._thread.start()

    def _run(self, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception as exc:  # handed to whoever waits, in their thread
            self._error = exc

    def wait(self) -> None:
        """Block until the check has ended; raise its exception if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def join(self) -> None:
        """Block until the check has ended, whatever it found (no thread outlives a call)."""
        self._thread.join()


class GatedMultipartBody:
    """``multipart/form-data`` with one file field, as requests would encode it, streamed.

    Everything up to the last ``HOLD_BACK_BYTES`` of the file goes out at once; the rest only
    after ``gate.wait()`` returned. If it raises, iteration raises ``UploadAborted`` instead.
    """

    def __init__(
        self,
        content: bytes,
        content_type: str,
        filename: str,
        gate: Gate,
        *,
        field_name: str = "file",
        boundary: str | None = None,
    ) -> None:
        if not content:
            raise ValueError("an upload needs content")
        boundary = boundary or choose_boundary()
        field = RequestField(name=field_name, data=b"", filename=filename)
        field.make_multipart(content_type=content_type)
        head = f"--{boundary}\r\n".encode("latin-1") + field.render_headers().encode("utf-8")
        tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._segments = (memoryview(head), memoryview(content), memoryview(tail))
        self._length = len(head) + len(content) + len(tail)
        self._hold_from = len(head) + len(content) - min(HOLD_BACK_BYTES, len(content))
        self._gate = gate
        self._position = 0

    def __len__(self) -> int:
        """The whole body's length (requests sends it as Content-Length)."""
        return self._length

    @property
    def held_back_from(self) -> int:
        """The offset of the first byte that waits for the gate."""
        return self._hold_from

    def tell(self) -> int:
        """Where the next piece starts (urllib3 records it to replay the body)."""
        return self._position

    def seek(self, position: int, whence: int = 0) -> int:
        """Go back to ``position`` before a replay (urllib3 after a failed connect or a 429)."""
        if whence != 0 or not 0 <= position <= self._length:
            raise ValueError("the body can only be rewound to an absolute position in it")
        self._position = position
        return position

    def __iter__(self) -> Iterator[memoryview]:
        """The body from the current position, in pieces; the held-back end after the gate."""
        yield from self._pieces_until(self._hold_from)
        if self._position < self._length:
            try:
                self._gate.wait()
            except Exception as exc:
                raise UploadAborted(
                    "the capture failed its check; the upload was cut short"
                ) from exc
        yield from self._pieces_until(self._length)

    def _pieces_until(self, end: int) -> Iterator[memoryview]:
        while self._position < end:
            piece = self._slice(self._position, min(self._position + PIECE_BYTES, end))
            self._position += len(piece)
            yield piece

    def _slice(self, start: int, end: int) -> memoryview:
        """Bytes [start, end) of the body, within one segment (so never a copy)."""
        offset = 0
        for segment in self._segments:
            if start < offset + len(segment):
                return segment[start - offset : min(end, offset + len(segment)) - offset]
            offset += len(segment)
        raise ValueError("position past the end of the body")
