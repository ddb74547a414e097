"""`python -m jumio_simulator --port 0`: serve until interrupted, printing the base URL first."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from jumio_simulator.app import Simulator, SimulatorConfig
from jumio_simulator.error_modes import DEFAULT_ERROR_MODE, ERROR_MODES
from jumio_simulator.faults import FaultConfigError, validate_fault_config
from jumio_simulator.rate_limits import normalise_limits
from jumio_simulator.runtime_config import (
    DEFAULT_SESSION_IDLE_SECONDS,
    ConfigError,
    check_idle_seconds,
)
from jumio_simulator.server import SimulatorHTTPServer


def _json_text(value: str) -> object:
    """Inline JSON, or the content of the JSON file the value names."""
    text = (
        value if value.lstrip().startswith("{") else pathlib.Path(value).read_text(encoding="utf-8")
    )
    return json.loads(text)


def _faults(value: str) -> dict[str, object]:
    """--faults takes inline JSON or a path to a JSON file."""
    try:
        return validate_fault_config(_json_text(value))
    except (json.JSONDecodeError, FaultConfigError) as error:
        raise argparse.ArgumentTypeError(f"--faults: {error}") from error


def _rate_limits(value: str) -> dict[str, object]:
    """--rate-limits takes inline JSON or a path to a JSON file."""
    try:
        return normalise_limits(_json_text(value))
    except (json.JSONDecodeError, ConfigError) as error:
        raise argparse.ArgumentTypeError(f"--rate-limits: {error}") from error


def _idle_seconds(value: str) -> float:
    """--session-idle-seconds: a positive number."""
    try:
        return check_idle_seconds(float(value))
    except (ValueError, ConfigError) as error:
        raise argparse.ArgumentTypeError("--session-idle-seconds must be positive") from error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The CLI flags (see docs/simulator.md)."""
    parser = argparse.ArgumentParser(prog="python -m jumio_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", default="local-client")
    parser.add_argument("--client-secret", default="local-secret")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--faults", type=_faults, default=None, help="JSON text or a JSON file path"
    )
    parser.add_argument(
        "--processing-delay", type=float, default=0.2, help="seconds ACQUIRED→PROCESSED"
    )
    parser.add_argument(
        "--public-base-url", default=None, help="base for hrefs instead of the Host header"
    )
    parser.add_argument(
        "--error-mode",
        choices=ERROR_MODES,
        default=DEFAULT_ERROR_MODE,
        help="how undocumented conflicts are answered",
    )
    parser.add_argument(
        "--session-idle-seconds",
        type=_idle_seconds,
        default=DEFAULT_SESSION_IDLE_SECONDS,
        help="idle time after the first action before SESSION_EXPIRED",
    )
    limits = parser.add_mutually_exclusive_group()
    limits.add_argument(
        "--rate-limits", type=_rate_limits, default=None, help="JSON text or a JSON file path"
    )
    limits.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="switch Jumio's documented rate limits off (raw speed for tools)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Start the server, print its base URL, serve until SIGINT/SIGTERM."""
    args = parse_args(argv)
    config = SimulatorConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        seed=args.seed,
        faults=args.faults,
        processing_delay=args.processing_delay,
        public_base_url=args.public_base_url,
        error_mode=args.error_mode,
        session_idle_seconds=args.session_idle_seconds,
        rate_limits=False if args.no_rate_limits else args.rate_limits,
    )
    simulator = Simulator(config)
    server = SimulatorHTTPServer((args.host, args.port), simulator)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        simulator.stop_timers()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
