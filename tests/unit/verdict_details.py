"""Details documents of PROCESSED executions, as the Jumio simulator builds them, with decoys.

The simulator's capability ``data`` holds fake personal data with distinctive values
(``jumio_simulator.decisions``); every item's ``data`` here also carries decoys shaped like
decisions (``type``, ``label``, ``risk``) and more distinctive values, so that a test can prove
none of it reaches what the pipeline keeps or publishes.
"""

from __future__ import annotations

import json
from typing import Any

from jumio_simulator.decisions import result
from tests.unit.services.conftest import Ids

USER_REFERENCE = "user-ref-Quillfeather-8812"
DECOY_LABEL = "DECOY-LABEL-FROM-DATA"
DECOY_SCORE = 4242


def details_document(kind: str, ids: Ids | None = None) -> dict[str, Any]:
    """The details of a PROCESSED execution with an ID, a SELFIE and a DATA credential."""
    ids = ids or Ids()
    credentials = [
        (ids.id_credential, "ID"),
        (ids.selfie_credential, "SELFIE"),
        (ids.data_credential, "DATA"),
    ]
    capabilities, decision = result(kind, ids.workflow, credentials)
    for name, items in capabilities.items():
        for index, item in enumerate(items):
            item["data"] = {
                **item["data"],
                "type": "REJECTED",
                "label": DECOY_LABEL,
                "decision": {"type": "REJECTED", "details": {"label": DECOY_LABEL}},
                "risk": {"score": DECOY_SCORE},
                "note": f"data-of-{name}-{index}-Marbleton",
            }
    return {
        "workflow": {
            "id": ids.workflow,
            "status": "PROCESSED",
            "definitionKey": "10013",
            "userReference": USER_REFERENCE,
            "customerInternalReference": "onboarding-42",
        },
        "account": {"id": ids.account},
        "createdAt": "2024-05-01T10:00:00.000Z",
        "completedAt": "2024-05-01T10:01:00.000Z",
        "credentials": [
            {"id": cid, "category": category, "parts": []} for cid, category in credentials
        ],
        "capabilities": capabilities,
        "decision": decision,
    }


def data_values(details: dict[str, Any]) -> tuple[set[str], set[Any]]:
    """Every distinctive value of the details that is not a decision: long strings, numbers."""
    strings: set[str] = {USER_REFERENCE, DECOY_LABEL}
    numbers: set[Any] = {DECOY_SCORE}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, str) and len(value) >= 6 and value not in ("REJECTED",):
            strings.add(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.add(value)

    for items in details["capabilities"].values():
        for item in items:
            walk(item["data"])
    return strings, numbers


def assert_no_data_in(document: Any, details: dict[str, Any]) -> None:
    """Neither a distinctive string (anywhere in the text) nor a data number (as a value)."""
    strings, numbers = data_values(details)
    text = json.dumps(document)
    assert [value for value in strings if value in text] == []
    leaves: list[Any] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for inner in value.values():
                collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)
        else:
            leaves.append(value)

    collect(document)
    assert [leaf for leaf in leaves if leaf in numbers and not isinstance(leaf, bool)] == []
