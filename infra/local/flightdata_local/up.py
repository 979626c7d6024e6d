"""``make up``: the Airflow web UI on the same local stack as the demo, with the schedules on.

The simulator, the endpoint and Airflow's own state live under ``.local/up``; Airflow's
components (``flightdata_local.airflow_stack``) log to ``.local/up/logs/airflow-<component>.log``.
Ctrl-C stops everything.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from flightdata_local import airflow_stack
from flightdata_local.services import StackError, local_services


def run(root: Path = Path(".local/up"), port: int = 8080) -> int:
    try:
        with local_services(root) as stack:
            print(f"OpenSky simulator {stack.sim_url} · local AWS endpoint {stack.endpoint_url}")
            print(
                f"AWS CLI or boto3 against it: AWS_SHARED_CREDENTIALS_FILE={stack.env['AWS_SHARED_CREDENTIALS_FILE']}"
            )
            print(f"airflow commands by hand: source {stack.root / 'env.sh'}")
            print(f"starting Airflow (logs: {stack.root / 'logs'}/airflow-*.log) ...", flush=True)
            with airflow_stack.running(stack, port, schedule=True) as airflow:
                print(f"Airflow UI on {airflow.url}: user 'admin', password in {airflow.passwords}")
                print(f"flightdata pages: {airflow.url}/flightdata/ (sign in to Airflow first)")
                print(f"ready: {airflow.url}", flush=True)
                try:
                    while True:
                        airflow.check()
                        time.sleep(2)
                except KeyboardInterrupt:
                    return 0
    except StackError as exc:
        print(f"up failed: {exc}", file=sys.stderr)
        return 1
