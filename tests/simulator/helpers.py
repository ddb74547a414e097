"""Test helpers: real image bytes from Pillow, an account-response wrapper, a callback receiver."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from PIL import Image

from jumio_simulator.variations import SeedProfile, profile_for

USER_AGENT = "SimulatorContractTests/1.0"


def image_bytes(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    """A real, decodable image of the given size and format."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, fmt)
    return buffer.getvalue()


def pdf_bytes(pages: int) -> bytes:
    """A minimal PDF with `pages` page objects (enough for the simulator's page count)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
        f"2 0 obj << /Type /Pages /Kids [{kids}] /Count {pages} >> endobj",
        *(f"{3 + i} 0 obj << /Type /Page /Parent 2 0 R >> endobj" for i in range(pages)),
    ]
    return ("%PDF-1.4\n" + "\n".join(objects) + "\n%%EOF\n").encode()


def file_field(
    content: bytes, name: str = "capture.jpg", content_type: str = "image/jpeg"
) -> dict[str, Any]:
    """The `files=` argument for one multipart `file` field."""
    return {"file": (name, content, content_type)}


@dataclass
class Execution:
    """One workflow execution from an account response, with hrefs and tokens by category."""

    response: dict[str, Any]

    @property
    def account_id(self) -> str:
        """The account id."""
        return self.response["account"]["id"]

    @property
    def id(self) -> str:
        """The workflow execution id."""
        return self.response["workflowExecution"]["id"]

    def credential(self, category: str) -> dict[str, Any]:
        """The credential entry of that category."""
        return next(
            c
            for c in self.response["workflowExecution"]["credentials"]
            if c["category"] == category
        )

    def token(self, category: str) -> str:
        """That credential's api.token."""
        return self.credential(category)["api"]["token"]

    def auth(self, category: str) -> dict[str, str]:
        """A Bearer header with that token."""
        return {"Authorization": f"Bearer {self.token(category)}"}

    def part_href(self, category: str, key: str) -> str:
        """The api.parts href under `key`."""
        return self.credential(category)["api"]["parts"][key]

    def href(self) -> str:
        """The execution (finalize) href."""
        return self.credential(
            next(
                c["category"]
                for c in self.response["workflowExecution"]["credentials"]
                if "api" in c
            )
        )["api"]["workflowExecution"]


def api_session() -> requests.Session:
    """A session that sends the User-Agent Jumio requires."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until `condition()` is truthy and return it; raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


class CallbackReceiver:
    """A tiny local HTTP server that records every JSON POSTed to it.

    With `hold=True` it answers nobody until `release()`; `arrived` is set as soon as a POST
    came in, so a test can see a callback in flight.
    """

    def __init__(self, *, hold: bool = False) -> None:
        received: queue.Queue[dict[str, Any]] = queue.Queue()
        arrived = threading.Event()
        released = threading.Event()
        if not hold:
            released.set()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                arrived.set()
                released.wait(timeout=30)
                received.put(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.received = received
        self.arrived = arrived
        self._released = released
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jumio-callback"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next callback body (waits for it)."""
        return self.received.get(timeout=timeout)

    def release(self) -> None:
        """Let held callbacks be answered."""
        self._released.set()

    def close(self) -> None:
        """Stop the receiver."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()


def seed_where(condition: Callable[[SeedProfile], bool], limit: int = 2000) -> int:
    """The first seed whose profile of undocumented answers meets `condition`."""
    return next(seed for seed in range(limit) if condition(profile_for(seed)))


def status_url(base_url: str, execution: Execution) -> str:
    """The retrieval status route of an execution."""
    return f"{execution_url(base_url, execution)}/status"


def execution_url(base_url: str, execution: Execution) -> str:
    """The execution's own path: finalize (PUT), details (GET), deletion (DELETE)."""
    return f"{base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}"
