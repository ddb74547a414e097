"""Creators of local resources, one module per AWS service family.

Why split by service: each module holds the boto3 calls for its resource types next to the
table of CloudFormation properties it applies and the ones it deliberately ignores (with the
reason), so a new property is added in one small place. `CREATORS`, `HANDLED` and `IGNORED`
below merge those tables for the provisioner.
"""

from __future__ import annotations

from local_cloud.resources import (
    dynamodb,
    events,
    lambda_,
    misc,
    s3,
    schedules,
    sqs,
    stepfunctions,
)
from local_cloud.resources.base import Creator

_MODULES = (misc, sqs, s3, dynamodb, lambda_, stepfunctions, events, schedules)

CREATORS: dict[str, Creator] = {t: c for m in _MODULES for t, c in m.CREATORS.items()}
HANDLED: dict[str, frozenset[str]] = {t: h for m in _MODULES for t, h in m.HANDLED.items()}
IGNORED: dict[str, dict[str, str]] = {t: i for m in _MODULES for t, i in m.IGNORED.items()}
OWNER: dict[str, str] = {t: m.__name__ for m in _MODULES for t in m.CREATORS}
