"""A faithful local stand-in for Jumio's auth, account, Credentials and retrieval APIs.

Why it exists: the pipeline must be tested against real HTTP with Jumio's rules, faults and
callbacks, without a network or a Jumio tenant. See docs/simulator.md for the behaviour.
"""

from jumio_simulator.app import Simulator, SimulatorConfig

__all__ = ["Simulator", "SimulatorConfig"]
