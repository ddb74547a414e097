"""One simulator per test module session, reset before every test; real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from jumio_simulator.testing import SimulatorHandle, run_simulator
from tests.simulator.helpers import CallbackReceiver, Execution, api_session


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorHandle]:
    with run_simulator(processing_delay=0.05, seed=7) as handle:
        yield handle


@pytest.fixture
def sim(simulator_server: SimulatorHandle) -> SimulatorHandle:
    simulator_server.admin.reset()
    return simulator_server


@pytest.fixture
def strict(sim: SimulatorHandle) -> SimulatorHandle:
    """The simulator in strict error mode: conflicts carry PART_EXISTS-style detail codes."""
    sim.admin.set_config({"errorMode": "strict"})
    return sim


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with api_session() as session:
        yield session


@pytest.fixture
def execution(sim: SimulatorHandle) -> Execution:
    """A fresh 10013 execution: ID, SELFIE, DATA (+FACEMAP without API)."""
    return Execution(sim.create_account(10013))


@pytest.fixture
def tenant_auth(sim: SimulatorHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.access_token()}"}


@pytest.fixture
def callbacks() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()
