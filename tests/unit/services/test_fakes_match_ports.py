"""The fakes and the adapters offer every method of the ports they stand for, with its parameters.

Protocols are not checked at run time, so a port that gains a method (or a parameter) could be
used by a service that the fast tests run against a fake lacking it, or that Lambda runs
against an adapter lacking it. The behaviour is compared elsewhere (contracts/); this is the
shape.
"""

from __future__ import annotations

import inspect

import pytest

from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.adapters.jumio.tenant import TenantClient
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.adapters.upload_posts import S3UploadPosts
from jumio_pipeline.adapters.verdict_events import EventBridgeVerdicts
from jumio_pipeline.services import ports, start_session
from tests.support.fakes import (
    FakeAccountRequests,
    FakeExecutions,
    FakeUploadPosts,
    FakeWorkflowStatus,
    InMemoryLedger,
    InMemoryVerdictEvents,
)

PAIRS = [
    (ports.SessionReader, InMemoryLedger, Ledger),
    (ports.RegistrationLedger, InMemoryLedger, Ledger),
    (ports.CompletionLedger, InMemoryLedger, Ledger),
    (ports.VerdictLedger, InMemoryLedger, Ledger),
    (ports.PartLedger, InMemoryLedger, Ledger),
    (ports.DocumentLedger, InMemoryLedger, Ledger),
    (ports.OutcomeLedger, InMemoryLedger, Ledger),
    (ports.ErasureLedger, InMemoryLedger, Ledger),
    (ports.Executions, FakeExecutions, StepFunctions),
    (ports.WorkflowStatusReader, FakeWorkflowStatus, JumioRetrieval),
    (ports.WorkflowDetailsReader, FakeWorkflowStatus, JumioRetrieval),
    (ports.VerdictEvents, InMemoryVerdictEvents, EventBridgeVerdicts),
    (start_session.StartLedger, InMemoryLedger, Ledger),
    (start_session.AccountRequests, FakeAccountRequests, TenantClient),
    (start_session.UploadPosts, FakeUploadPosts, S3UploadPosts),
]


def _methods(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for klass in protocol.__mro__
        if klass not in (object,) and getattr(klass, "_is_protocol", False)
        for name, member in vars(klass).items()
        if callable(member) and not name.startswith("_")
    }


def _parameters(signature: inspect.Signature) -> list[tuple[str, object]]:
    return [(p.name, p.kind) for p in signature.parameters.values() if p.name != "self"]


@pytest.mark.parametrize(
    ("protocol", "fake", "adapter"), PAIRS, ids=[f"{p.__name__}" for p, _, _ in PAIRS]
)
def test_the_fake_and_the_adapter_have_every_method_of_the_port(protocol, fake, adapter):
    expected = _methods(protocol)
    assert expected

    for implementation in (fake, adapter):
        for name, signature in expected.items():
            method = getattr(implementation, name, None)
            assert method is not None, f"{implementation.__name__} lacks {name}"
            assert _parameters(inspect.signature(method)) == _parameters(signature), (
                f"{implementation.__name__}.{name}"
            )
