"""The id Powertools gives an idempotency record, so that erasure can find and delete it.

Powertools names a record ``{key_prefix}#{md5(json.dumps(data, sort_keys=True))}`` when the
idempotent function has a fixed ``key_prefix`` and no JMESPath selection. add_part and
upload_prepared_data use fixed prefixes for exactly this reason; a test in
tests/integration/test_deletion.py checks that the ids computed here are the ones written.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def idempotency_record_id(key_prefix: str, data: Any) -> str:
    """The record id Powertools writes for ``data`` under ``key_prefix``."""
    digest = hashlib.md5(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False)
    return f"{key_prefix}#{digest.hexdigest()}"
