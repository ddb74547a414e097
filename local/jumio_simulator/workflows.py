"""Which credentials a workflow definition key creates, and which parts each category takes."""

from __future__ import annotations

CREDENTIALS_BY_WORKFLOW_KEY: dict[str, list[str]] = {
    "10011": ["ID", "SELFIE", "FACEMAP"],
    "10005": ["DATA"],
    "10006": ["DATA", "SELFIE"],
    "10026": ["DOCUMENT"],
    "10013": ["ID", "SELFIE", "DATA", "FACEMAP"],
}
DEFAULT_CREDENTIALS = ["ID", "SELFIE"]
REQUESTABLE_CATEGORIES = {"ID", "SELFIE", "FACEMAP", "DOCUMENT"}

CLASSIFIERS_BY_CATEGORY: dict[str, list[str]] = {
    "ID": ["FRONT", "BACK"],
    "SELFIE": ["FACE"],
    "DATA": ["PREPARED_DATA"],
    "DOCUMENT": ["DOCUMENT"],
    "FACEMAP": [],
}
CHANNELS_BY_CATEGORY: dict[str, list[str]] = {
    "ID": ["WEB", "API", "SDK"],
    "SELFIE": ["WEB", "API", "SDK"],
    "DOCUMENT": ["WEB", "API", "SDK"],
    "DATA": ["API"],
    "FACEMAP": ["WEB", "SDK"],
}
IMAGE_CLASSIFIERS = {"FRONT", "BACK", "FACE"}


def categories_for(workflow_key: str, requested: list[str]) -> list[str]:
    """The key's credentials plus any requested category the key does not already create."""
    categories = list(CREDENTIALS_BY_WORKFLOW_KEY.get(workflow_key, DEFAULT_CREDENTIALS))
    for category in requested:
        if category not in categories:
            categories.append(category)
    return categories
