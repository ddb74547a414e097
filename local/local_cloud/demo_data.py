"""What the demo sends: generated captures, obviously fake prepared data, messages and keys.

Why generated here: the demo must run in a fresh clone with nothing but the venv, so every
image is drawn with Pillow at start-up (real JPEG bytes, decoded for real by the pipeline),
and every piece of "personal" data says plainly that it is fake.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

ID_CARD_SIZE = (1012, 638)  # ID-1 card proportions, comfortably above Jumio's 300 px minimum
SELFIE_SIZE = (720, 960)
TOO_SMALL_SIZE = (300, 300)  # longest side must be *over* 300 px: rejected as TOO_SMALL
TOKEN_LIFETIME = "30m"  # noqa: S105 - a duration, not a secret


def _jpeg(size: tuple[int, int], caption: str, colour: tuple[int, int, int]) -> bytes:
    """A plain JPEG with a caption, so a human opening it sees at once it is demo data."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((8, 8, width - 9, height - 9), outline=(30, 30, 30), width=6)
    for offset, line in enumerate((caption, "LOCAL DEMO - NOT A REAL DOCUMENT")):
        draw.text((32, 32 + 28 * offset), line, fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def id_front() -> bytes:
    """The front of a fake ID card."""
    return _jpeg(ID_CARD_SIZE, "DEMO ID CARD - FRONT", (214, 226, 240))


def id_back() -> bytes:
    """The back of a fake ID card."""
    return _jpeg(ID_CARD_SIZE, "DEMO ID CARD - BACK", (226, 240, 214))


def selfie() -> bytes:
    """A fake selfie (a portrait-shaped placeholder, no face of anyone)."""
    return _jpeg(SELFIE_SIZE, "DEMO SELFIE", (240, 226, 214))


def too_small_front() -> bytes:
    """A deliberately invalid FRONT: 300 x 300 is below Jumio's minimum."""
    return _jpeg(TOO_SMALL_SIZE, "TOO SMALL", (250, 200, 200))


def fake_prepared_data(index: int) -> dict[str, Any]:
    """PREPARED_DATA that is obviously fake (example.com, 'Demo'/'Fake' names, test numbers)."""
    return {
        "firstName": "Demo",
        "lastName": f"Fakeperson{index}",
        "dateOfBirth": "1990-01-01",
        "sex": "F" if index % 2 else "M",
        "nationality": "AUT",
        "email": f"demo.fake{index}@example.com",
        "phoneNumber": "+43 000 0000000",
        "address": {
            "line1": f"{index} Nowhere Street",
            "postalCode": "0000",
            "city": "Demotown",
            "country": "AUT",
        },
        "id": {"type": "ID_CARD", "idNumber": f"DEMO{index:06d}", "expiryDate": "2035-12-31"},
    }


@dataclass(frozen=True)
class DemoSession:
    """One Jumio workflow execution of the demo, with the ids its captures are keyed by."""

    index: int
    account_id: str
    workflow_execution_id: str
    credential_ids: dict[str, str]  # category (ID, SELFIE, DATA) → credential id

    @classmethod
    def from_account_response(cls, index: int, response: dict[str, Any]) -> DemoSession:
        """Pick the ids out of Jumio's account response (tokens stay in the message only)."""
        execution = response["workflowExecution"]
        credentials = {
            credential["category"]: credential["id"]
            for credential in execution["credentials"]
            if credential.get("api")
        }
        return cls(index, response["account"]["id"], execution["id"], credentials)

    @property
    def short_id(self) -> str:
        """The first block of the workflow execution id, enough to tell sessions apart."""
        return self.workflow_execution_id.split("-", 1)[0]

    def capture_key(self, category: str, classifier: str) -> str:
        """The S3 key layout the pipeline expects."""
        credential = self.credential_ids[category]
        return f"captures/{self.workflow_execution_id}/{credential}/{classifier}.jpg"

    def part_sort_key(self, category: str, classifier: str) -> str:
        """The ledger's sort key of a part item."""
        return f"PART#{self.credential_ids[category]}#{classifier}"


# Which decision each session asks the simulator for, by a marker in its reference (the
# simulator's rule, docs/simulator.md): session 2 is rejected, session 3 gets a warning, every
# other one passes. A 3-session demo thus shows each verdict once.
VERDICT_MARKERS = {2: "reject", 3: "warn"}


def reference(index: int) -> str:
    """The session's non-PII reference: customerInternalReference at Jumio and `reference` in
    the registration (and so in the verdict event), e.g. `demo-2-reject`."""
    marker = VERDICT_MARKERS.get(index)
    return f"demo-{index}-{marker}" if marker else f"demo-{index}"


def registration_message(response: dict[str, Any], index: int) -> dict[str, Any]:
    """The sessions-queue body: Jumio's response wrapped with its lifetime and a non-PII label."""
    return {"account": response, "tokenLifetime": TOKEN_LIFETIME, "reference": reference(index)}


def prepared_data_message(session: DemoSession) -> dict[str, Any]:
    """The prepared-data queue body for a session (credentialId defaults to its DATA one)."""
    return {
        "workflowExecutionId": session.workflow_execution_id,
        "data": fake_prepared_data(session.index),
    }


def retention_request(session: DemoSession) -> dict[str, Any]:
    """A SESSION-scope erasure request for one session."""
    return {
        "requestId": str(uuid.uuid4()),
        "scope": "SESSION",
        "workflowExecutionId": session.workflow_execution_id,
    }
