"""A request whose body stops before its end is never processed: no part, no answer, logged.

A client that aborts an upload (the pipeline does, when validation beside the upload fails)
closes the connection before the multipart body's end. Jumio cannot accept a part from such a
request, so neither may the simulator: the same bytes sent whole are the control case.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.simulator.helpers import USER_AGENT, Execution, image_bytes

BOUNDARY = "incomplete-body-test-boundary"
WAIT_SECONDS = 20.0


def _multipart(content: bytes) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="FRONT.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def _headers(execution: Execution, href: str, framing: str) -> bytes:
    url = urlsplit(href)
    lines = [
        f"POST {url.path} HTTP/1.1",
        f"Host: {url.netloc}",
        f"User-Agent: {USER_AGENT}",
        f"Authorization: Bearer {execution.token('ID')}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        framing,
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _send_raw(href: str, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection, close our side, return whatever came back."""
    url = urlsplit(href)
    with socket.create_connection((url.hostname, url.port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _front(sim, execution: Execution) -> dict:
    credential_id = execution.credential("ID")["id"]
    credentials = sim.admin.state()["workflowExecutions"][execution.id]["credentials"]
    return credentials[credential_id]["parts"]["FRONT"]


def _logged_add_parts(sim) -> list[dict]:
    """The add_part entries of the request log, once the server has finished with the request."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        entries = [entry for entry in sim.admin.requests() if entry["route"] == "add_part"]
        if entries:
            return entries
        time.sleep(0.05)
    raise AssertionError("the simulator logged no add_part request")


@pytest.mark.parametrize("missing", [1, 40, 5000])
def test_a_body_cut_short_of_its_content_length_adds_no_part(sim, execution, missing):
    body = _multipart(image_bytes(1200, 900))
    href = execution.part_href("ID", "front")
    raw = _headers(execution, href, f"Content-Length: {len(body)}") + body[:-missing]

    answer = _send_raw(href, raw)

    assert answer == b""  # nobody is left to answer
    entries = _logged_add_parts(sim)
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(None, "incomplete_body")]
    assert _front(sim, execution) == {"count": 0, "adds": 0, "updates": 0, "deletes": 0}


def test_a_chunked_body_without_its_last_chunk_adds_no_part(sim, execution):
    body = _multipart(image_bytes(1200, 900))
    href = execution.part_href("ID", "front")
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n"  # the terminating 0-chunk never comes
    raw = _headers(execution, href, "Transfer-Encoding: chunked") + chunk

    answer = _send_raw(href, raw)

    assert answer == b""
    assert [entry["fault"] for entry in _logged_add_parts(sim)] == ["incomplete_body"]
    assert _front(sim, execution)["count"] == 0


@pytest.mark.parametrize("framing", ["Content-Length", "chunked"])
def test_the_same_body_sent_whole_adds_the_part(sim, execution, framing):
    body = _multipart(image_bytes(1200, 900))
    href = execution.part_href("ID", "front")
    if framing == "chunked":
        raw = _headers(execution, href, "Transfer-Encoding: chunked")
        raw += f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        raw = _headers(execution, href, f"Content-Length: {len(body)}") + body

    answer = _send_raw(href, raw)

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [entry["status"] for entry in _logged_add_parts(sim)] == [200]
    assert _front(sim, execution)["count"] == 1
