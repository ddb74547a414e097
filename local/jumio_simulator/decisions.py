"""The verification result of a PROCESSED execution: decision, capabilities and fake data.

Chosen deterministically, so tests can ask for an outcome: a marker in the account's
`customerInternalReference` (case-insensitive, first match in this order: `notexec`,
`reject`, `warn`; anything else passes), unless the admin API set an override for the
execution. Per-capability decisions agree with the overall one.

The extracted identity, the predicted age and the similarity verdict are FAKE personal data
with distinctive values (`FAKE_*` below): a client that copies retrieval data into logs,
traces or audit records is caught by searching for them.
"""

from __future__ import annotations

import uuid

PASSED = "PASSED"
REJECTED = "REJECTED"
WARNING = "WARNING"
NOT_EXECUTED = "NOT_EXECUTED"
DECISION_TYPES = (PASSED, REJECTED, WARNING, NOT_EXECUTED)
MARKERS = (("notexec", NOT_EXECUTED), ("reject", REJECTED), ("warn", WARNING))

FAKE_IDENTITY: dict[str, object] = {
    "type": "DRIVING_LICENSE",
    "issuingCountry": "USA",
    "firstName": "Ysolde-Kq4",
    "lastName": "Barraclough-Zt8",
    "dateOfBirth": "1979-03-14",
    "documentNumber": "Q9X4471203",
    "issuingDate": "2021-06-30",
    "expiryDate": "2031-06-30",
    "gender": "F",
    "nationality": "USA",
    "address": {
        "line1": "415 Quillfeather Lane",
        "city": "Marbleton",
        "subdivision": "WY",
        "postalCode": "83113",
        "country": "USA",
    },
}
FAKE_LIVENESS: dict[str, object] = {
    "type": "JUMIO_STANDARD",
    "predictedAge": 47,
    "ageConfidenceRange": "43-51",
}
FAKE_SIMILARITY: dict[str, object] = {"similarity": "MATCH", "faceMatchScore": 97.31}

# capability -> credential categories it judges (a capability appears once per such credential)
_CAPABILITY_SOURCES: dict[str, tuple[str, ...]] = {
    "usability": ("ID", "SELFIE", "DOCUMENT"),
    "imageChecks": ("ID", "DOCUMENT"),
    "extraction": ("ID", "DOCUMENT"),
    "dataChecks": ("ID", "DATA"),
    "liveness": ("SELFIE", "FACEMAP"),
    "similarity": (),  # ID + SELFIE together, see capabilities()
    "watchlistScreening": ("DATA",),
}
_PASSED_LABEL = {
    "usability": "OK",
    "imageChecks": "OK",
    "extraction": "OK",
    "dataChecks": "OK",
    "liveness": "OK",
    "similarity": "MATCH",
    "watchlistScreening": "NOT_LISTED",
}
# (capability, label) that carries the overall verdict, first present wins
_REJECTING = (
    ("imageChecks", "MANIPULATED_DOCUMENT"),
    ("liveness", "PHOTO_OF_PHOTO"),
    ("dataChecks", "NOT_VALID"),
)
_WARNING = (
    ("watchlistScreening", "ALERT"),
    ("usability", "GLARE"),
    ("dataChecks", "MISMATCH"),
)
_RISK = {PASSED: 12, WARNING: 58, REJECTED: 96}


def decision_for(reference: str, override: str | None) -> str:
    """The overall decision type: the admin override, else the reference marker, else PASSED."""
    if override is not None:
        return override
    lowered = reference.lower()
    return next((kind for marker, kind in MARKERS if marker in lowered), PASSED)


def _data(capability: str, kind: str) -> dict[str, object]:
    if kind == NOT_EXECUTED:
        return {}
    if capability == "extraction":
        return {**FAKE_IDENTITY, "address": dict(FAKE_IDENTITY["address"])}  # type: ignore[arg-type]
    if capability == "liveness":
        return dict(FAKE_LIVENESS)
    if capability == "similarity":
        return dict(FAKE_SIMILARITY)
    return {}


def _items(
    execution_id: str, credentials: list[tuple[str, str]]
) -> dict[str, list[dict[str, object]]]:
    """Capability items with a PASSED decision, before the overall verdict is applied."""
    found: dict[str, list[dict[str, object]]] = {name: [] for name in _CAPABILITY_SOURCES}
    for name, sources in _CAPABILITY_SOURCES.items():
        for credential_id, category in credentials:
            if category in sources:
                found[name].append(_item(execution_id, name, [(credential_id, category)]))
    faces = [c for c in credentials if c[1] == "SELFIE"]
    ids = [c for c in credentials if c[1] == "ID"]
    if faces and ids:
        found["similarity"].append(_item(execution_id, "similarity", [ids[0], faces[0]]))
    return found


def _item(
    execution_id: str, capability: str, credentials: list[tuple[str, str]]
) -> dict[str, object]:
    """One capability item; its id is derived, so repeated reads show the same ids."""
    item_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{execution_id}/{capability}/{credentials[0][0]}")
    return {
        "id": str(item_id),
        "credentials": [{"id": cid, "category": category} for cid, category in credentials],
        "decision": {"type": PASSED, "details": {"label": _PASSED_LABEL[capability]}},
        "data": _data(capability, PASSED),
    }


def _set(item: dict[str, object], capability: str, kind: str, label: str) -> None:
    item["decision"] = {"type": kind, "details": {"label": label}}
    item["data"] = _data(capability, kind)


def result(
    kind: str, execution_id: str, credentials: list[tuple[str, str]]
) -> tuple[dict[str, object], dict[str, object]]:
    """`(capabilities, decision)` for a PROCESSED execution with these (id, category) pairs."""
    capabilities = _items(execution_id, credentials)
    label = PASSED
    if kind == NOT_EXECUTED:
        label = "TECHNICAL_ERROR"
        for name, items in capabilities.items():
            for item in items:
                _set(item, name, NOT_EXECUTED, "TECHNICAL_ERROR")
    elif kind in (REJECTED, WARNING):
        label = REJECTED if kind == REJECTED else WARNING
        for name, verdict_label in _REJECTING if kind == REJECTED else _WARNING:
            if capabilities[name]:
                _set(capabilities[name][0], name, kind, verdict_label)
                label = verdict_label
                break
    decision: dict[str, object] = {"type": kind, "details": {"label": label}}
    if kind in _RISK:
        decision["risk"] = {"score": _RISK[kind]}
    return capabilities, decision
