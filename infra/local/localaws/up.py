"""``make up``: the Airflow web UI (``airflow standalone``) on the same local stack as the demo.

The simulator, the endpoint and Airflow's own state live under ``.local/up`` and survive a
restart; Ctrl-C stops everything. The browser tests start the same thing (:func:`standalone`).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from localaws.services import BIN, LocalServices, StackError, local_services, stop


def standalone_env(stack_env: dict[str, str], port: int) -> dict[str, str]:
    """The API server listens on loopback only: the UI and its password are this machine's."""
    return {
        **stack_env,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        # Task processes report to the API server's execution API: on this port, not 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
    }


@dataclass(frozen=True)
class Standalone:
    url: str
    passwords: Path  # the simple auth manager's generated passwords, {"admin": "..."}
    process: subprocess.Popen


@contextlib.contextmanager
def standalone(stack: LocalServices, port: int, log: Path | None = None, ready_s: float = 180) -> Iterator[Standalone]:
    """``airflow standalone`` on the stack, once the API server answers; stopped on exit."""
    env = standalone_env(stack.env, port)
    out = log.open("wb") if log else None
    airflow = subprocess.Popen(  # noqa: S603 - our own venv's airflow
        [str(BIN / "airflow"), "standalone"], env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if airflow.poll() is not None:
                raise StackError(f"airflow standalone exited with {airflow.returncode}; log: {log}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            if time.monotonic() > deadline:
                raise StackError(f"the Airflow API server did not answer within {ready_s:.0f} s; log: {log}")
            time.sleep(1)
        yield Standalone(url, stack.root / "airflow" / "simple_auth_manager_passwords.json.generated", airflow)
    finally:
        stop(airflow)
        if out:
            out.close()


def run(root: Path = Path(".local/up"), port: int = 8080) -> int:
    try:
        with local_services(root) as stack:
            passwords = stack.root / "airflow" / "simple_auth_manager_passwords.json.generated"
            print(f"Airflow UI on http://127.0.0.1:{port}: user 'admin', password in {passwords}")
            print(f"flightdata pages: http://127.0.0.1:{port}/flightdata/ (sign in to Airflow first)")
            print(f"OpenSky simulator {stack.sim_url} · local AWS endpoint {stack.endpoint_url}")
            print(
                f"AWS CLI or boto3 against it: AWS_SHARED_CREDENTIALS_FILE={stack.env['AWS_SHARED_CREDENTIALS_FILE']}"
            )
            print(f"airflow commands by hand: source {stack.root / 'env.sh'}", flush=True)
            with standalone(stack, port) as airflow:
                print(f"ready: {airflow.url}", flush=True)
                try:
                    return airflow.process.wait()
                except KeyboardInterrupt:
                    return 0
    except StackError as exc:
        print(f"up failed: {exc}", file=sys.stderr)
        return 1
