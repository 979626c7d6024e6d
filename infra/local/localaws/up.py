"""``make up``: the Airflow web UI (``airflow standalone``) on the same local stack as the demo.

The simulator, the endpoint and Airflow's own state live under ``.local/up`` and survive a
restart; Ctrl-C stops everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from localaws.services import BIN, StackError, local_services, stop


def standalone_env(stack_env: dict[str, str], port: int) -> dict[str, str]:
    """The API server listens on loopback only: the UI and its password are this machine's."""
    return {
        **stack_env,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        # Task processes report to the API server's execution API: on this port, not 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
    }


def run(root: Path = Path(".local/up"), port: int = 8080) -> int:
    try:
        with local_services(root) as stack:
            env = standalone_env(stack.env, port)
            passwords = stack.root / "airflow" / "simple_auth_manager_passwords.json.generated"
            print(f"Airflow UI on http://127.0.0.1:{port}: user 'admin', password in {passwords}")
            print(f"OpenSky simulator {stack.sim_url} · local AWS endpoint {stack.endpoint_url}")
            print(
                f"AWS CLI or boto3 against it: AWS_SHARED_CREDENTIALS_FILE={stack.env['AWS_SHARED_CREDENTIALS_FILE']}"
            )
            print(f"airflow commands by hand: source {stack.root / 'env.sh'}", flush=True)
            airflow = subprocess.Popen([str(BIN / "airflow"), "standalone"], env=env, start_new_session=True)  # noqa: S603
            try:
                return airflow.wait()
            except KeyboardInterrupt:
                return 0
            finally:
                stop(airflow)
    except StackError as exc:
        print(f"up failed: {exc}", file=sys.stderr)
        return 1
