"""The streamed multipart body of a verified upload: what it sends before and after its gate.

No HTTP here: the body is iterated as urllib3 iterates it. The loopback tests against the
simulator are in tests/integration/test_jumio_verified_upload.py.
"""

from __future__ import annotations

import threading

import pytest
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from jumio_pipeline.adapters.jumio.verified_upload import (
    HOLD_BACK_BYTES,
    GatedMultipartBody,
    UploadAborted,
    Verification,
)
from jumio_pipeline.domain.errors import CaptureRejected

BOUNDARY = "0123456789abcdef0123456789abcdef"
CONTENT = bytes(range(256)) * 4096  # 1 MiB, every byte value


class RecordingGate:
    """Notes how much of the body had been handed out when the body asked to go on."""

    def __init__(self, sent: list[bytes], error: Exception | None = None) -> None:
        self.sent = sent
        self.error = error
        self.bytes_out_when_asked: int | None = None

    def wait(self) -> None:
        self.bytes_out_when_asked = sum(len(piece) for piece in self.sent)
        if self.error is not None:
            raise self.error


def _expected_body(content: bytes = CONTENT) -> bytes:
    field = RequestField(name="file", data=content, filename="FRONT.jpg")
    field.make_multipart(content_type="image/jpeg")
    body, _ = encode_multipart_formdata([field], boundary=BOUNDARY)
    return body


def _drain(body: GatedMultipartBody, sent: list[bytes]) -> bytes:
    for piece in body:
        sent.append(bytes(piece))
    return b"".join(sent)


def test_the_body_is_what_requests_would_send_for_the_same_file() -> None:
    sent: list[bytes] = []
    body = GatedMultipartBody(
        CONTENT, "image/jpeg", "FRONT.jpg", RecordingGate(sent), boundary=BOUNDARY
    )

    assert _drain(body, sent) == _expected_body()
    assert len(body) == len(_expected_body())
    assert body.content_type == f"multipart/form-data; boundary={BOUNDARY}"


def test_the_end_of_the_file_and_the_closing_boundary_wait_for_the_gate() -> None:
    sent: list[bytes] = []
    gate = RecordingGate(sent)
    body = GatedMultipartBody(CONTENT, "image/jpeg", "FRONT.jpg", gate, boundary=BOUNDARY)

    whole = _drain(body, sent)

    held = whole[gate.bytes_out_when_asked :]
    assert gate.bytes_out_when_asked == body.held_back_from
    assert held == CONTENT[-HOLD_BACK_BYTES:] + f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_gate_that_refuses_cuts_the_body_short_of_the_file_end() -> None:
    sent: list[bytes] = []
    refusal = CaptureRejected("CORRUPT_IMAGE", "the JPEG data is truncated or corrupt")
    body = GatedMultipartBody(
        CONTENT, "image/jpeg", "FRONT.jpg", RecordingGate(sent, refusal), boundary=BOUNDARY
    )

    with pytest.raises(UploadAborted) as aborted:
        _drain(body, sent)

    out = b"".join(sent)
    assert aborted.value.__cause__ is refusal
    assert out == _expected_body()[: body.held_back_from]
    assert len(out) < len(body)
    head = len(_expected_body()) - len(CONTENT) - len(f"\r\n--{BOUNDARY}--\r\n")
    assert len(out) == head + len(CONTENT) - HOLD_BACK_BYTES  # the file's end never left
    assert isinstance(aborted.value, Exception)
    assert not isinstance(aborted.value, OSError)  # urllib3 must not retry it as a socket error


def test_a_small_file_is_held_back_whole() -> None:
    sent: list[bytes] = []
    gate = RecordingGate(sent)
    body = GatedMultipartBody(
        b"\xff\xd8\xff" * 10, "image/jpeg", "FRONT.jpg", gate, boundary=BOUNDARY
    )

    _drain(body, sent)

    head_length = len(_expected_body(b"\xff\xd8\xff" * 10)) - 30 - len(f"\r\n--{BOUNDARY}--\r\n")
    assert gate.bytes_out_when_asked == head_length


def test_a_rewound_body_is_sent_again_whole() -> None:
    sent: list[bytes] = []
    body = GatedMultipartBody(
        CONTENT, "image/jpeg", "FRONT.jpg", RecordingGate(sent), boundary=BOUNDARY
    )
    first = _drain(body, sent)
    assert body.tell() == len(body)

    assert body.seek(0) == 0
    again: list[bytes] = []
    second = _drain(body, again)

    assert first == second == _expected_body()


def test_the_body_only_rewinds_to_a_position_inside_it() -> None:
    body = GatedMultipartBody(CONTENT, "image/jpeg", "FRONT.jpg", RecordingGate([]))

    with pytest.raises(ValueError, match="rewound"):
        body.seek(0, 2)
    with pytest.raises(ValueError, match="rewound"):
        body.seek(len(body) + 1)


def test_the_check_runs_in_its_own_thread_and_its_error_is_raised_by_wait() -> None:
    ran_in: list[int] = []
    refusal = CaptureRejected("CORRUPT_IMAGE", "bad")

    def check() -> None:
        ran_in.append(threading.get_ident())
        raise refusal

    verification = Verification(check)

    with pytest.raises(CaptureRejected) as caught:
        verification.wait()
    assert caught.value is refusal
    assert len(ran_in) == 1
    assert ran_in[0] != threading.get_ident()


def test_a_check_that_passes_lets_wait_return() -> None:
    started = threading.Event()
    release = threading.Event()

    def check() -> None:
        started.set()
        release.wait()

    verification = Verification(check)
    assert started.wait(30)
    release.set()

    verification.wait()
    verification.join()
