"""``flightdata-local``: the embedded default on a laptop or in CI (never shipped to AWS).

``demo`` runs the pipeline end to end; ``up`` adds the Airflow web UI; ``serve`` and
``provision`` run the local AWS endpoint by hand; ``opensky-sim`` serves the OpenSky simulator.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from flightdata.cli import run_command
from flightdata.resources import Resources


def _opensky_sim(args: argparse.Namespace) -> int:
    from opensky_sim.rest_api import serve

    serve(args.port, seed=args.seed, aircraft=args.aircraft, host=args.host)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from flightdata_local.demo import run

    return run(minutes=args.minutes, root=Path(args.out), history=args.history_hours)


def _serve(args: argparse.Namespace) -> int:
    from localaws.server import serve

    serve(args.port, Path(args.state_dir), args.region, host=args.host)
    return 0


def _provision(args: argparse.Namespace) -> int:
    from flightdata_local.provision import provision, wait_until_ready

    wait_until_ready(args.endpoint, args.wait)
    print(orjson.dumps(provision(args.endpoint, Resources.from_env(), args.opensky_url, args.region)).decode())
    return 0


def _up(args: argparse.Namespace) -> int:
    from flightdata_local.up import run

    return run(root=Path(args.state_dir), port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flightdata-local", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the pipeline locally on simulated traffic")
    demo.add_argument("--minutes", type=int, default=10)
    demo.add_argument("--out", default=".local/demo", help="where the demo keeps its state and logs")
    demo.add_argument(
        "--history-hours", type=int, default=4, help="simulated hours before the live ones to replay (same day)"
    )
    demo.set_defaults(run=_demo)

    up = commands.add_parser("up", help="the Airflow web UI on the local stack (airflow standalone)")
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--state-dir", default=".local/up")
    up.set_defaults(run=_up)

    serve = commands.add_parser("serve", help="serve the local AWS endpoint in the foreground")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    serve.add_argument("--state-dir", default=".local/aws-state")
    serve.add_argument("--region", default="eu-west-1")
    serve.set_defaults(run=_serve)

    provision = commands.add_parser("provision", help="create the project's resources on the local endpoint")
    provision.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4566")
    provision.add_argument("--opensky-url", help="OpenSky simulator base URL for the ingestion function")
    provision.add_argument("--region", default="eu-west-1")
    provision.add_argument("--wait", type=float, default=0, help="seconds to wait for the endpoint to answer")
    provision.set_defaults(run=_provision)

    sim = commands.add_parser("opensky-sim", help="serve the OpenSky simulator in the foreground")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--aircraft", type=int, default=12_000)
    sim.set_defaults(run=_opensky_sim)
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit, so cleanup code (stopping child servers) runs."""
    sys.exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
