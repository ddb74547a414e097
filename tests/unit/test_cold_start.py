"""What a cold start does: importing a handler builds no AWS client and loads no unused models.

It also runs with the garbage collector paused and leaves the imported objects frozen
(jumio_pipeline/handlers/cold_start.py): no collection walks the heap during the import.

Each handler is imported in a fresh process with the environment template.yaml gives it and
tracing on (tests/support/lambda_env.py), as Lambda would import it; a spy on botocore's
``Session.create_client`` records every client built during the import. Clients are built on
first use instead (jumio_pipeline/adapters/aws_clients.py), so a cold start pays only for the
clients the environment ever calls. Figures: benchmarks/bench_cold_start.py.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

from tests.support.lambda_env import LAYER, REPO, functions, lambda_env

FUNCTIONS = functions()
# Functions whose code needs no HTTP library besides botocore's (they only call AWS).
AWS_ONLY = {"await_parts", "await_verdict", "check_token", "record_outcome"}
# Functions that decode images (the rest must not pay for importing Pillow).
DECODE_IMAGES = {"add_part"}
QUEUE_DRIVEN = {"add_part", "deletion", "register_session", "start_session", "upload_prepared_data"}
PARSER_MODELS = "aws_lambda_powertools.utilities.parser.models"

_IMPORT_WITH_SPY = """
import json, sys
sys.path[:0] = {paths!r}
import botocore.session
built = []
original = botocore.session.Session.create_client
def spy(self, service_name, *args, **kwargs):
    built.append(service_name)
    return original(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = spy
import gc
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
import app
gc.callbacks.clear()
from pydantic import BaseModel
import jumio_pipeline.handlers.settings as settings_module
settings_models = [
    value for value in vars(settings_module).values()
    if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
]
print(json.dumps({{
    "clients": built,
    "parser_models": {parser_models!r} in sys.modules,
    "tracing_on": not app.observed.tracer.disabled,
    "traced": sorted(__import__("aws_xray_sdk.core.patcher").core.patcher._PATCHED_MODULES),
    "requests_imported": "requests" in sys.modules,
    "pillow_imported": "PIL" in sys.modules,
    "registration_models_imported": "jumio_pipeline.domain.registration" in sys.modules,
    "settings_models_built": sorted(
        model.__name__ for model in settings_models if model.__pydantic_complete__
    ),
    "settings_model": type(app.settings).__name__,
    "collections_during_import": collections,
    "gc_enabled_after_import": gc.isenabled(),
    "frozen_after_import": gc.get_freeze_count(),
}}))
"""


@functools.cache  # one fresh process per handler serves every test below
def _import_in_fresh_process(name: str) -> dict:
    spec = FUNCTIONS[name]
    code = _IMPORT_WITH_SPY.format(
        paths=[str(spec["dir"]), str(LAYER)], parser_models=PARSER_MODELS
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=lambda_env(spec["env"], name, spec["dir"]),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_importing_a_handler_builds_no_aws_client(name: str) -> None:
    imported = _import_in_fresh_process(name)
    assert imported["tracing_on"], "the import must be measured as Lambda runs it: tracing on"
    assert imported["clients"] == []
    if name in QUEUE_DRIVEN:
        # Powertools loads its parser models only when pydantic was imported before batch.
        assert not imported["parser_models"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_tracing_patches_botocore_and_requests_only_where_the_code_imports_it(name: str) -> None:
    imported = _import_in_fresh_process(name)
    expected = ["botocore", "requests"] if imported["requests_imported"] else ["botocore"]
    # Patching everything X-Ray supports would import requests, sqlite3, ... for nothing.
    assert imported["traced"] == expected
    if name in AWS_ONLY:
        assert not imported["requests_imported"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_the_functions_that_decode_images_import_pillow(name: str) -> None:
    imported = _import_in_fresh_process(name)
    assert imported["pillow_imported"] == (name in DECODE_IMAGES)


# Functions that parse Jumio's account response (the rest must not build its models).
REGISTER_SESSIONS = {"register_session", "start_session"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_the_functions_that_register_sessions_build_the_account_response_models(
    name: str,
) -> None:
    imported = _import_in_fresh_process(name)
    assert imported["registration_models_imported"] == (name in REGISTER_SESSIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_handler_builds_only_its_own_settings_model(name: str) -> None:
    imported = _import_in_fresh_process(name)
    assert imported["settings_models_built"] == [imported["settings_model"]]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_garbage_collection_runs_during_a_handler_import_and_it_resumes_after(
    name: str,
) -> None:
    imported = _import_in_fresh_process(name)
    # At most the young generation's, once, as collection resumes: it holds nothing by then.
    assert imported["collections_during_import"] in ([], [0])
    assert imported["gc_enabled_after_import"]
    # What the import built is frozen: later collections never walk it.
    assert imported["frozen_after_import"] > 50_000


_TWO_HANDLERS_IN_ONE_PROCESS = """
import gc, json, sys
sys.path[:0] = {paths!r}
from local_cloud.lambda_bootstrap import load_handler_module
load_handler_module({first!r}, "app.handler", "first_app")
frozen_after_first = gc.get_freeze_count()
kept = [[index] for index in range(100_000)]  # objects made between the two imports
load_handler_module({second!r}, "app.handler", "second_app")
print(json.dumps({{
    "frozen_after_first": frozen_after_first,
    "frozen_after_second": gc.get_freeze_count(),
    "gc_enabled": gc.isenabled(),
}}))
"""


def test_a_process_that_imports_handler_after_handler_freezes_only_once() -> None:
    """The local cloud's workers and the tests import many handlers in one process: freezing
    at each would keep alive, for good, every cycle that was live at a freeze and dies later."""
    first, second = FUNCTIONS["check_token"], FUNCTIONS["finalize"]
    code = _TWO_HANDLERS_IN_ONE_PROCESS.format(
        paths=[str(LAYER), str(REPO / "local")],
        first=str(first["dir"]),
        second=str(second["dir"]),
    )
    env = {**lambda_env(first["env"], "check_token", first["dir"]), **second["env"]}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported["frozen_after_first"] > 0
    # Frozen objects may be freed (by reference count), never added: the 100,000 lists made
    # between the imports stay collectable.
    assert imported["frozen_after_second"] <= imported["frozen_after_first"]
    assert imported["gc_enabled"]
