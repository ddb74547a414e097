"""The handlers stay thin and alike: checked on their source, so a regression shows at once.

A module-level BatchProcessor holds one batch's state; the local cloud (and Lambda with
concurrent invocations of one warm module in tests) would mix two batches' results. Every
queue-driven handler goes through handlers.sqs_batch.process_batch, which makes one per call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))
QUEUE_DRIVEN = {"add_part", "register_session", "upload_prepared_data", "deletion"}


def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_no_handler_keeps_a_batch_processor_between_invocations(path: Path) -> None:
    module_level_calls = [
        node.value.func
        for node in _module(path).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
    ]
    names = {getattr(func, "id", getattr(func, "attr", "")) for func in module_level_calls}
    assert "BatchProcessor" not in names
    assert "BatchProcessor" not in path.read_text()  # the shared batch loop makes one per call


@pytest.mark.parametrize(
    "path", [p for p in HANDLERS if p.parent.name in QUEUE_DRIVEN], ids=lambda p: p.parent.name
)
def test_queue_driven_handlers_use_the_shared_batch_loop_and_failure_policy(path: Path) -> None:
    text = path.read_text()
    assert "process_batch(event, context, record_handler, failures)" in text
    assert "failure_handling(settings, observed" in text


def test_the_shared_batch_loop_makes_a_processor_per_call() -> None:
    source = (ROOT / "layers/shared/python/jumio_pipeline/handlers/sqs_batch.py").read_text()
    function = next(
        node
        for node in _module_from(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "process_batch"
    )
    assert "BatchProcessor(" in ast.unparse(function)


def _module_from(source: str) -> ast.Module:
    return ast.parse(source)
