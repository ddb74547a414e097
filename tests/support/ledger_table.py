"""A fresh ledger table, keyed and indexed as template.yaml defines LedgerTable, on moto.

For the ledger's contract tests and the retention benchmark: both must run against the table
the stack deploys (keys, the byAccount and byRetention indexes), never a hand-written copy.
"""

from __future__ import annotations

import uuid
from typing import Any

from local_cloud.template import load_yaml
from tests.support.lambda_env import REPO


def ledger_table_properties() -> dict[str, Any]:
    """LedgerTable's Properties in template.yaml."""
    return load_yaml(REPO / "template.yaml")["Resources"]["LedgerTable"]["Properties"]


def create_ledger_table(resource: Any, properties: dict[str, Any]) -> str:
    """Create a table under a fresh name with those keys and indexes; returns its name."""
    name = f"ledger-{uuid.uuid4().hex[:12]}"
    resource.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
        BillingMode=properties["BillingMode"],
    )
    return name
