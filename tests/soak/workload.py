"""What the soak sends, and the race in which it sends it.

Why a race: in production the account response (sessions queue), the app's captures (S3) and
the prepared data (another service, its own queue) travel independently, so a session's data
is often on its queue before the session is registered. The soak delivers every piece of every
session from a thread pool in a seeded random order, and sends each S3 notification twice.
"""

from __future__ import annotations

import io
import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from local_cloud.demo_data import fake_prepared_data
from tests.soak.notification_tap import NotificationTap, check_names_object

WORKFLOW_KEY = 10013  # ID + SELFIE + DATA (+ FACEMAP, web/SDK only)
# The decision each session asks the simulator for, by a marker in its reference (index % 10):
# one in ten rejected, one in ten a warning, one in ten not executed (a warning too), the rest
# passed.
VERDICT_MARKERS = {2: "reject", 5: "warn", 8: "notexec"}
CAPTURES = (("ID", "FRONT"), ("ID", "BACK"), ("SELFIE", "FACE"))
PREPARED_DATA = "PREPARED_DATA"
PARTS = (*(classifier for _, classifier in CAPTURES), PREPARED_DATA)
_IMAGE_SIZES = {"FRONT": (1012, 638), "BACK": (1012, 638), "FACE": (720, 960)}
ORDERS = ("shuffled", "data-first", "registration-first")
DELIVERY_THREADS = 8

REGISTRATION = "registration"
CAPTURE = "capture"
DATA = "prepared-data"


@dataclass(frozen=True)
class SoakSession:
    """One workflow execution at the simulator; `registration` holds tokens and is never shown."""

    index: int
    workflow_execution_id: str
    credential_ids: dict[str, str]  # category (ID, SELFIE, DATA) → credential id
    registration: str = field(repr=False)

    @property
    def label(self) -> str:
        """`soak-7`: how the report names the session."""
        return f"soak-{self.index}"

    @property
    def reference(self) -> str:
        """The non-PII reference, at Jumio (customerInternalReference: it chooses the
        simulator's decision) and in the registration: `soak-7`, `soak-12-reject`."""
        return reference(self.index)

    def capture_key(self, category: str, classifier: str) -> str:
        """The S3 key layout the pipeline expects."""
        credential = self.credential_ids[category]
        return f"captures/{self.workflow_execution_id}/{credential}/{classifier}.jpg"

    def prepared_data_body(self) -> str:
        """Obviously fake PREPARED_DATA for this session (credentialId defaults to DATA's)."""
        return json.dumps(
            {
                "workflowExecutionId": self.workflow_execution_id,
                "data": fake_prepared_data(self.index),
            }
        )


def reference(index: int) -> str:
    """`soak-{index}`, with the decision marker of VERDICT_MARKERS when it has one."""
    marker = VERDICT_MARKERS.get(index % 10)
    return f"soak-{index}-{marker}" if marker else f"soak-{index}"


def create_sessions(
    create_account: Callable[..., dict[str, Any]],
    count: int,
    token_lifetime: str,
    callback_url: str | None = None,
) -> list[SoakSession]:
    """`count` accounts at the simulator (Jumio's callbacks to `callback_url`), each with its
    sessions-queue registration message."""
    sessions = []
    for index in range(1, count + 1):
        response = create_account(
            WORKFLOW_KEY,
            token_lifetime=token_lifetime,
            callback_url=callback_url,
            customer_internal_reference=reference(index),
        )
        execution = response["workflowExecution"]
        credentials = {c["category"]: c["id"] for c in execution["credentials"] if c.get("api")}
        registration = json.dumps(
            {"account": response, "tokenLifetime": token_lifetime, "reference": reference(index)}
        )
        sessions.append(SoakSession(index, execution["id"], credentials, registration))
    return sessions


def capture_image(index: int, classifier: str) -> bytes:
    """A real JPEG, different for every capture, labelled so nobody mistakes it for an ID."""
    size = _IMAGE_SIZES[classifier]
    image = Image.new("RGB", size, (200 + index % 50, 220, 240 - index % 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, size[0] - 9, size[1] - 9), outline=(30, 30, 30), width=6)
    draw.text((32, 32), f"SOAK {index} {classifier} - NOT A REAL DOCUMENT", fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@dataclass(frozen=True)
class Delivery:
    """One thing to send: a registration, a capture (with its notification twice), or data."""

    kind: str
    session: SoakSession
    category: str = ""
    classifier: str = ""


def sent_before_registration(finished: list[Delivery]) -> dict[str, tuple[str, ...]]:
    """Workflow execution id → the parts whose sending completed before its registration's."""
    before: dict[str, list[str]] = {}
    registered: set[str] = set()
    for delivery in finished:
        workflow_id = delivery.session.workflow_execution_id
        if delivery.kind == REGISTRATION:
            registered.add(workflow_id)
        elif workflow_id not in registered:
            before.setdefault(workflow_id, []).append(delivery.classifier or PREPARED_DATA)
    return {workflow_id: tuple(parts) for workflow_id, parts in before.items()}


def race(sessions: list[SoakSession], rng: random.Random, order: str) -> list[Delivery]:
    """Every delivery of every session, shuffled; `order` may put one kind first."""
    deliveries = [Delivery(REGISTRATION, s) for s in sessions]
    deliveries += [Delivery(CAPTURE, s, cat, cls) for s in sessions for cat, cls in CAPTURES]
    deliveries += [Delivery(DATA, s) for s in sessions]
    rng.shuffle(deliveries)
    if order == "data-first":
        deliveries.sort(key=lambda d: d.kind == REGISTRATION)  # stable: shuffled within
    elif order == "registration-first":
        deliveries.sort(key=lambda d: d.kind != REGISTRATION)
    return deliveries


@dataclass
class Deliverer:
    """Sends deliveries through the public edges: SQS SendMessage and S3 PutObject."""

    sqs: Any
    s3: Any
    bucket: str
    sessions_queue_url: str
    prepared_data_queue_url: str
    capture_events_queue_url: str
    tap: NotificationTap
    images: dict[tuple[int, str], bytes]
    sent: dict[str, int] = field(default_factory=dict)
    finished: list[Delivery] = field(default_factory=list)  # in the order the sends completed
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deliver(self, delivery: Delivery) -> None:
        """Send one delivery; a capture's S3 notification is sent a second time right after."""
        session = delivery.session
        if delivery.kind == REGISTRATION:
            self.sqs.send_message(
                QueueUrl=self.sessions_queue_url, MessageBody=session.registration
            )
        elif delivery.kind == DATA:
            self.sqs.send_message(
                QueueUrl=self.prepared_data_queue_url, MessageBody=session.prepared_data_body()
            )
        else:
            self._put_capture(session, delivery.category, delivery.classifier)
        self._count(delivery.kind)
        with self._lock:
            self.finished.append(delivery)

    def _put_capture(self, session: SoakSession, category: str, classifier: str) -> None:
        key = session.capture_key(category, classifier)
        body = self.images[(session.index, classifier)]
        response = self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="image/jpeg"
        )
        copy = self.tap.take(self.bucket, key)
        check_names_object(
            copy, etag=response["ETag"], size=len(body), version_id=response.get("VersionId")
        )
        self.sqs.send_message(QueueUrl=self.capture_events_queue_url, MessageBody=copy)
        self._count("notification copies")

    def _count(self, what: str) -> None:
        with self._lock:
            self.sent[what] = self.sent.get(what, 0) + 1

    def deliver_all(self, deliveries: list[Delivery]) -> None:
        """Everything at once from a few threads, so deliveries of one session overlap."""
        with ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="soak") as pool:
            for future in [pool.submit(self.deliver, d) for d in deliveries]:
                future.result()
