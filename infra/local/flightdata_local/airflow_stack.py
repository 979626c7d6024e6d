"""Airflow itself on the local stack: its four components as processes, and a REST client.

``make up``, ``make demo``, ``make soak`` and the tests run the same Airflow: the scheduler
(LocalExecutor), the DAG processor, the triggerer and the API server, each a process of its
own with its own log under ``<root>/logs/airflow-<component>.log``, on the SQLite database
the stack migrated. DAG runs go through Airflow's REST API, as a user's would, so one warm
Airflow runs every minute instead of a cold ``airflow dags test`` process per run.

The API server gets as many uvicorn workers as the machine has cores to spare (one on two
cores; ``FLIGHTDATA_API_WORKERS`` changes it): on a busy two-core machine, four workers are
killed by uvicorn's health check before they finish importing Airflow, over and over.
Readiness is what the API server's health endpoint says; a component that exits or
crash-loops raises :class:`StackError` with its name and the last lines of its log.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from flightdata_local.services import BIN, LocalServices, StackError, log_tail, stop

PIPELINE_DAGS = frozenset({"opensky_state_vectors", "opensky_compaction", "opensky_daily_report"})
PROJECT_DAGS = PIPELINE_DAGS | {"airflow_db_retention"}
log = logging.getLogger(__name__)
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
HEALTH_KEYS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
FINISHED = ("success", "failed")
PAGE = 100  # Airflow's default [api] maximum_page_limit: a larger limit is cut to it
# uvicorn's supervisor says this when it kills a worker that did not answer its health check
WORKER_DIED = "Child process ["
CRASH_LOOP_DEATHS = 3
# Components a supervisor restarts when they exit, as MWAA's does: Airflow 3.3's scheduler exits
# when a run it holds changes under it (a backfill that reprocesses it, a db clean), expecting one.
RESTARTED = ("scheduler",)
MAX_RESTARTS = 3


def api_workers(environ: dict[str, str] | None = None) -> int:
    """The API server's workers: ``FLIGHTDATA_API_WORKERS``, else one per two cores (at least one)."""
    env = os.environ if environ is None else environ
    if env.get("FLIGHTDATA_API_WORKERS"):
        workers = int(env["FLIGHTDATA_API_WORKERS"])
        if workers < 1:
            raise StackError(f"FLIGHTDATA_API_WORKERS must be 1 or more, not {workers}")
        return workers
    return max(1, (os.cpu_count() or 1) // 2)


def airflow_env(stack_env: dict[str, str], port: int, schedule: bool, workers: int) -> dict[str, str]:
    """The components' environment. The API server listens on loopback only: the UI and its
    password are this machine's. ``schedule=False`` runs only what is triggered (the demo and
    the tests choose their minutes); ``make up`` and the soak keep the schedules."""
    cores = os.cpu_count() or 1
    return {
        **stack_env,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": str(workers),
        # Task processes report to the API server's execution API: on this port, not 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # LocalExecutor, without its race with the scheduler's commit (flightdata_local.airflow_executor)
        "AIRFLOW__CORE__EXECUTOR": "flightdata_local.airflow_executor.CommittedLocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(max(4, 4 * cores)),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedule),
        # A task's successor is queued within a quarter second of it finishing, not a second:
        # a minutely run is seven tasks in a row. Local Athena answers within a second too.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
        "AIRFLOW__FLIGHTDATA__ATHENA_POLL_SECONDS": "1",
        # One set of secrets for every component: each would otherwise make up its own when it
        # writes airflow.cfg, and the API server would refuse the scheduler's task tokens.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


@dataclass
class AirflowProcesses:
    """The running components, by name, with their logs."""

    url: str
    home: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    starting: threading.Thread | None = None
    start_error: StackError | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    api_log_read: int = 0  # how far check() has read the API server's log
    worker_deaths: int = 0
    env: dict[str, str] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)

    def start(self, stack: LocalServices, env: dict[str, str]) -> None:
        """Migrate the database, then start every component, in a thread of its own, so the
        caller can do other work meanwhile (``check`` and ``wait_ready`` report its errors)."""
        self.env = env
        for name in COMPONENTS:
            self.logs[name] = stack.root / "logs" / f"airflow-{name}.log"

        def launch() -> None:
            try:
                stack.migrate()
            except StackError as exc:
                self.start_error = exc
                return
            for name in COMPONENTS:
                if self.stopped.is_set():
                    return
                self._launch(name, "wb")

        self.starting = threading.Thread(target=launch, name="airflow-start", daemon=True)
        self.starting.start()

    def _launch(self, name: str, mode: str) -> None:
        with self.logs[name].open(mode) as out:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own venv's airflow
                [str(BIN / "airflow"), name],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        self.stopped.set()
        if self.starting is not None:
            self.starting.join()
        stop(*self.processes.values())

    @property
    def passwords(self) -> Path:
        """The simple auth manager's generated passwords, ``{"admin": "..."}``."""
        return self.home / "simple_auth_manager_passwords.json.generated"

    def check(self) -> None:
        """Raise with the component's name and its log's last lines if one died or crash-loops."""
        if self.start_error is not None:
            raise self.start_error
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            if name in RESTARTED and self.restarts[name] < MAX_RESTARTS and not self.stopped.is_set():
                self.restarts[name] += 1
                log.warning("the Airflow %s exited with %s; restarting it, as MWAA would", name, process.returncode)
                self._launch(name, "ab")
                continue
            raise StackError(f"the Airflow {name} exited with {process.returncode}{log_tail(self.logs[name])}")
        api_log = self.logs["api-server"]
        if api_log.exists():
            with api_log.open("rb") as handle:
                handle.seek(self.api_log_read)
                fresh = handle.read()
            # count whole lines only, so a line half written now is counted next time
            self.api_log_read += fresh.rfind(b"\n") + 1
            self.worker_deaths += fresh[: fresh.rfind(b"\n") + 1].count(WORKER_DIED.encode())
        deaths = self.worker_deaths
        if deaths >= CRASH_LOOP_DEATHS:
            raise StackError(
                f"the Airflow API server is crash-looping: {deaths} of its workers were killed before they "
                f"were ready (a busy machine? fewer workers: FLIGHTDATA_API_WORKERS=1){log_tail(api_log)}"
            )

    def health(self) -> dict[str, Any] | None:
        with contextlib.suppress(requests.RequestException, ValueError):
            response = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5)
            if response.ok:
                return response.json()
        return None

    def wait_ready(self, timeout_s: float = 600) -> None:
        """Until every component reports healthy to the API server; raise as soon as one dies."""
        deadline = time.monotonic() + timeout_s
        health: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            self.check()
            health = self.health()
            healthy = health and all(health.get(key, {}).get("status") == "healthy" for key in HEALTH_KEYS)
            if healthy and self.passwords.exists():
                return
            time.sleep(0.5)
        tails = "".join(f"\n--- {name}{log_tail(path, 5)}" for name, path in self.logs.items())
        raise StackError(f"Airflow was not healthy within {timeout_s:.0f} s; health: {health}{tails}")


@contextlib.contextmanager
def running(
    stack: LocalServices,
    port: int,
    schedule: bool = False,
    ready_s: float | None = 600,
    workers: int | None = None,
) -> Iterator[AirflowProcesses]:
    """Airflow's components on ``stack``, once healthy (``ready_s=None``: started, not waited
    for, so the caller can work meanwhile and call ``wait_ready`` later); stopped on exit."""
    env = airflow_env(stack.env, port, schedule, workers or api_workers())
    airflow = AirflowProcesses(f"http://127.0.0.1:{port}", Path(stack.env["AIRFLOW_HOME"]))
    try:
        airflow.start(stack, env)
        if ready_s is not None:
            airflow.wait_ready(ready_s)
        yield airflow
    finally:
        airflow.stop()


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    start_date: datetime | None
    end_date: datetime | None

    @property
    def seconds(self) -> float:
        if self.start_date is None or self.end_date is None:
            return 0.0
        return (self.end_date - self.start_date).total_seconds()


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _every_page(key: str, page: Callable[[int], Any]) -> list[dict[str, Any]]:
    """The ``key`` items of every page ``page(offset)`` answers, until ``total_entries``."""
    items: list[dict[str, Any]] = []
    while True:
        found = page(len(items))
        items += found[key]
        if not found[key] or len(items) >= found["total_entries"]:
            return items


class AirflowApi:
    """Airflow's REST API (``/api/v2``) as the admin user, with the DAG run calls the harness
    and the tests need."""

    def __init__(self, airflow: AirflowProcesses) -> None:
        self.airflow = airflow
        self.url = airflow.url
        self.password = json.loads(airflow.passwords.read_text())["admin"]
        self.session = requests.Session()
        self._sign_in()

    def _sign_in(self) -> None:
        response = requests.post(
            f"{self.url}/auth/token", json={"username": "admin", "password": self.password}, timeout=30
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}/api/v2/{path}", timeout=60, **kwargs)
        if response.status_code == 401:  # the token expired: sign in again, once
            self._sign_in()
            response = self.session.request(method, f"{self.url}/api/v2/{path}", timeout=60, **kwargs)
        if not response.ok:
            raise StackError(f"Airflow API {method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def listed(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list: Airflow answers at most ``[api] maximum_page_limit``
        items a page (100 by default), however large a ``limit`` asks for."""
        return _every_page(
            key, lambda offset: self.call("GET", path, params={**(params or {}), "limit": PAGE, "offset": offset})
        )

    def dag_runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        """Every run of ``dag_id`` (``~`` for all DAGs) that the API's run filters select."""
        return self.listed(f"dags/{dag_id}/dagRuns", "dag_runs", filters)

    def count_runs(self, dag_id: str, **filters: Any) -> int:
        return int(self.call("GET", f"dags/{dag_id}/dagRuns", params={**filters, "limit": 1})["total_entries"])

    def task_instances_where(self, **filters: Any) -> list[dict[str, Any]]:
        """Every task instance, across runs and DAGs, that the batch list's filters select
        (``dag_ids``, ``task_ids``, ``state``, dates)."""
        path = "dags/~/dagRuns/~/taskInstances/list"
        return _every_page(
            "task_instances",
            lambda offset: self.call("POST", path, json={**filters, "page_limit": PAGE, "page_offset": offset}),
        )

    def wait_for_dags(self, unpause: frozenset[str] = PIPELINE_DAGS, timeout_s: float = 300) -> None:
        """Until the DAG processor has parsed every DAG of the project; unpause ``unpause``.
        The retention DAG stays paused: ``airflow dags test`` runs a paused DAG beside a live
        scheduler, which would otherwise run the same task instances too."""
        dag_ids = PROJECT_DAGS
        deadline = time.monotonic() + timeout_s
        while True:
            self.airflow.check()
            found = {d["dag_id"] for d in self.call("GET", "dags", params={"limit": 100})["dags"]}
            if dag_ids <= found:
                break
            if time.monotonic() > deadline:
                tail = log_tail(self.airflow.logs["dag-processor"])
                raise StackError(f"DAGs {sorted(dag_ids - found)} were not parsed within {timeout_s:.0f} s{tail}")
            time.sleep(1)
        for dag_id in sorted(unpause):
            self.call("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, logical_date: datetime | None = None, conf: dict | None = None) -> str:
        """Create a run; its id names the logical date and a counter, so a minute can run again."""
        body: dict[str, Any] = {"logical_date": logical_date.astimezone(UTC).isoformat() if logical_date else None}
        if conf is not None:
            body["conf"] = conf
        body["dag_run_id"] = (
            f"local__{(logical_date or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%S}__{time.time_ns()}"
        )
        return self.call("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> DagRun:
        found = self.call("GET", f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        return DagRun(dag_id, run_id, found["state"], _when(found.get("start_date")), _when(found.get("end_date")))

    def wait(self, dag_id: str, run_id: str, timeout_s: float = 900, must_succeed: bool = True) -> DagRun:
        """Until the run has finished; raise with its failed tasks' logs unless it succeeded."""
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.dag_run(dag_id, run_id)
            if run.state in FINISHED:
                break
            self.airflow.check()
            if time.monotonic() > deadline:
                raise StackError(f"{dag_id} run {run_id} did not finish within {timeout_s:.0f} s (state {run.state})")
            time.sleep(0.5)
        if must_succeed and run.state != "success":
            raise StackError(f"{dag_id} run {run_id} ended {run.state}{self.failures(dag_id, run_id)}")
        return run

    def run(self, dag_id: str, logical_date: datetime | None = None, conf: dict | None = None) -> DagRun:
        """Run ``dag_id`` for ``logical_date`` and wait; raises StackError unless it succeeds.
        A logical date that already has a run is run again by clearing that run, as an
        operator would (Airflow keeps one run per logical date)."""
        existing = self.run_at(dag_id, logical_date) if logical_date is not None else None
        if existing is None:
            return self.wait(dag_id, self.trigger(dag_id, logical_date, conf))
        return self.rerun(dag_id, existing)

    def run_at(self, dag_id: str, logical_date: datetime) -> str | None:
        """The id of the run of ``dag_id`` for ``logical_date``, if there is one."""
        at = logical_date.astimezone(UTC).isoformat()
        params = {"logical_date_gte": at, "logical_date_lte": at, "limit": 1}
        found = self.call("GET", f"dags/{dag_id}/dagRuns", params=params)["dag_runs"]
        return found[0]["dag_run_id"] if found else None

    def rerun(self, dag_id: str, run_id: str) -> DagRun:
        """Clear every task of a finished run, so the scheduler runs it again; wait for it."""
        self.wait(dag_id, run_id, must_succeed=False)
        self.call("POST", f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/clear", json={"dry_run": False})
        return self.wait(dag_id, run_id)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.listed(f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", "task_instances")

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        path = f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path, params={"map_index": map_index})["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """A task try's log as text (Airflow 3 keeps it as structured lines)."""
        path = f"dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
        found = self.call("GET", path, params={"map_index": map_index, "full_content": True})
        content = found.get("content", [])
        if isinstance(content, str):
            return content
        return "\n".join(line.get("event", "") if isinstance(line, dict) else str(line) for line in content)

    def run_ids(self, dag_id: str) -> list[str]:
        return [r["dag_run_id"] for r in self.dag_runs(dag_id)]

    def wait_idle(self, dag_id: str = "~", timeout_s: float = 900) -> None:
        """Until no run of ``dag_id`` (``~``: of any DAG) is queued or running, the runs that
        runs triggered included."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.call("GET", f"dags/{dag_id}/dagRuns", params={"state": ["queued", "running"], "limit": PAGE})
            if not found["dag_runs"]:
                return
            self.airflow.check()
            if time.monotonic() > deadline:
                busy = [f"{r['dag_id']}/{r['dag_run_id']}" for r in found["dag_runs"]]
                raise StackError(f"runs still unfinished after {timeout_s:.0f} s: {busy}")
            time.sleep(1)

    def asset_events(self, dag_id: str) -> list[dict[str, Any]]:
        """The asset events ``dag_id``'s tasks emitted, oldest first."""
        return self.listed("assets/events", "asset_events", {"source_dag_id": dag_id, "order_by": "timestamp"})

    def failures(self, dag_id: str, run_id: str) -> str:
        """The failed tasks of a run, each with the last lines of its log, for an error message."""
        lines = []
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] not in ("failed", "upstream_failed"):
                continue
            lines.append(f"\n--- {ti['task_id']}[{ti['map_index']}] {ti['state']}")
            if ti["state"] == "failed":
                with contextlib.suppress(StackError):
                    text = self.task_log(dag_id, run_id, ti["task_id"], max(1, ti["try_number"]), ti["map_index"])
                    lines.extend(f"\n    {line}" for line in text.splitlines()[-15:])
        return "".join(lines)
