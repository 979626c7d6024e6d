"""The whole local stack for ``make demo`` and the end-to-end tests: the OpenSky simulator and
the local AWS endpoint as child processes, the project's resources deployed on it, and an
Airflow home whose ``aws_default`` connection points at the endpoint. Airflow's components
run on it (``flightdata_local.airflow_stack``); ``run_dag`` runs a DAG with ``airflow dags test``, as
a developer would by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from flightdata.resources import Resources
from flightdata_local import query
from flightdata_local.provision import provision
from localaws import credentials
from localaws.clients import local_client

REGION = "eu-west-1"
PREFIX = "flightdata-local"
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DATABASE_TEMPLATES = ROOT / "build" / "airflow-db"


class StackError(RuntimeError):
    """A step of the local stack failed; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalServices:
    root: Path
    sim_url: str
    endpoint_url: str
    names: Resources
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    runs: int = 0
    endpoint_command: list[str] = field(default_factory=list)
    endpoint_env: dict[str, str] = field(default_factory=dict)
    _migrated: threading.Lock = field(default_factory=threading.Lock)
    _database_ready: bool = False
    _dags_registered: bool = False

    def migrate(self) -> None:
        """Airflow's metadata database, once: a copy of an empty database this Airflow version
        migrated before (kept under build/), else ``airflow db migrate``, which makes that copy."""
        with self._migrated:
            if self._database_ready:
                return
            database = Path(self.env["AIRFLOW_HOME"]) / "airflow.db"
            database.parent.mkdir(parents=True, exist_ok=True)
            template = DATABASE_TEMPLATES / f"airflow-{metadata.version('apache-airflow')}.db"
            if template.exists():
                shutil.copyfile(template, database)
            else:
                self.airflow("db", "migrate", log_name="000-db-migrate")
                template.parent.mkdir(parents=True, exist_ok=True)
                partial = template.with_suffix(f".{os.getpid()}.partial")
                shutil.copyfile(database, partial)
                partial.replace(template)  # another stack may be writing the same template
            self._database_ready = True

    @property
    def endpoint_process(self) -> subprocess.Popen:
        return self.processes[1]

    def kill_endpoint(self) -> None:
        """SIGKILL the local AWS endpoint (and the Lambda processes it runs), then start it again
        on the same port and state directory, as a crashed laptop process would be restarted."""
        old = self.endpoint_process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(old.pid, signal.SIGKILL)
        old.wait()
        log_path = self.root / "logs" / f"local-aws-restart-{time.time_ns()}.log"
        new = _start(self.endpoint_command, log_path, self.endpoint_env)
        self.processes[1] = new
        wait_ready(self.endpoint_url, new, "local AWS endpoint", log_path)

    def client(self, service: str) -> Any:
        key = credentials.read(Path(self.env["AWS_SHARED_CREDENTIALS_FILE"]))
        return local_client(service, self.endpoint_url, REGION, key)

    def airflow(self, *args: str, log_name: str) -> Path:
        """Run an ``airflow`` CLI command in this stack's environment; raise with its log on failure."""
        log_path = self.root / "logs" / f"{log_name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log_file:
            done = subprocess.run(  # noqa: S603 - our own venv's airflow
                [str(BIN / "airflow"), *args], env=self.env, stdout=log_file, stderr=subprocess.STDOUT, check=False
            )
        if done.returncode != 0:
            raise StackError(f"airflow {' '.join(args[:2])} failed (exit {done.returncode}){log_tail(log_path)}")
        return log_path

    def note_dags_registered(self) -> None:
        """A DAG processor running on this stack has registered the DAGs and their assets:
        ``run_dag`` need not."""
        self._dags_registered = True

    def run_dag(self, dag_id: str, logical_date: datetime | None = None, conf: dict | None = None) -> Path:
        """``airflow dags test``; raises StackError unless the run succeeds. Without a DAG
        processor, the DAGs and their assets are registered first (``airflow dags
        reserialize``, once): a task with an asset outlet fails on an asset Airflow has
        never seen ("inactive assets in its inlets or outlets")."""
        self.migrate()
        with self._migrated:
            if not self._dags_registered:
                self.airflow("dags", "reserialize", log_name="000-dags-reserialize")
                self._dags_registered = True
        self.runs += 1
        args = ["dags", "test", dag_id]
        if logical_date is not None:
            args.append(logical_date.isoformat())
        if conf is not None:
            args += ["-c", json.dumps(conf)]
        log_path = self.airflow(*args, log_name=f"{self.runs:03d}-{dag_id}")
        text = log_path.read_text(errors="replace")
        if "state=success" not in text.split("DagRun Finished", 1)[-1].split("\n", 1)[0]:
            raise StackError(f"{dag_id} did not succeed{log_tail(log_path, 40)}")
        return log_path

    def athena_rows(self, sql: str) -> list[dict[str, str | None]]:
        """The rows of a SELECT in the project's database and work group."""
        try:
            return query.select(self.client("athena"), self.names, sql)
        except query.QueryFailed as exc:
            raise StackError(f"Athena query failed: {exc}") from exc


def _write_env_file(path: Path, env: dict[str, str]) -> None:
    """``source`` it to run ``airflow`` commands by hand against this stack while it is up."""
    ours = {k: v for k, v in env.items() if k.startswith(("AIRFLOW", "AWS_", "FLIGHTDATA_"))}
    lines = [f"export {key}={shlex.quote(value)}" for key, value in sorted(ours.items())]
    path.write_text("# written by the flightdata local stack; valid while it runs\n" + "\n".join(lines) + "\n")


def _start(command: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        return subprocess.Popen(  # noqa: S603 - our own console script
            command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a component's log, for an error message that says why it stopped."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return f"; no log at {path}"
    return f"; last lines of {path}:\n" + "\n".join(f"    {line}" for line in text)


def wait_ready(url: str, process: subprocess.Popen, what: str, log_path: Path, timeout_s: float = 120) -> None:
    """Until ``url`` answers; raise at once, with the log's last lines, if the process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{what} exited with {process.returncode}{log_tail(log_path)}")
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=2)
            return
        time.sleep(0.2)
    raise StackError(f"{what} did not answer within {timeout_s:.0f} s{log_tail(log_path)}")


def stop(*processes: subprocess.Popen) -> None:
    """Terminate each process and its children (SIGTERM, then SIGKILL after 20 s)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def local_services(root: Path, extra_dags: tuple[Path, ...] = ()) -> Iterator[LocalServices]:
    """Start, deploy and configure everything under ``root``; stop every process on exit.

    ``extra_dags`` (benchmarks) are linked into a DAG folder beside the project's own DAGs.
    """
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    dags_folder = ROOT / "dags"
    if extra_dags:
        dags_folder = root / "dags"
        dags_folder.mkdir(exist_ok=True)
        for dag_file in [*sorted((ROOT / "dags").glob("*.py")), *extra_dags]:
            (dags_folder / dag_file.name).symlink_to(dag_file.resolve())
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    base_env.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "FLIGHTDATA_PREFIX": PREFIX,
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    processes: list[subprocess.Popen] = []
    try:
        sim_port, aws_port = free_port(), free_port()
        sim_log, aws_log = root / "logs" / "opensky-sim.log", root / "logs" / "local-aws.log"
        processes.append(
            _start([str(BIN / "flightdata-local"), "opensky-sim", "--port", str(sim_port)], sim_log, base_env)
        )
        endpoint_command = [
            str(BIN / "flightdata-local"),
            "serve",
            "--port",
            str(aws_port),
            "--state-dir",
            str(root / "aws-state"),
        ]
        processes.append(_start(endpoint_command, aws_log, base_env))
        sim_url, endpoint_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{aws_port}"
        wait_ready(f"{sim_url}/healthz", processes[0], "OpenSky simulator", sim_log)
        wait_ready(endpoint_url, processes[1], "local AWS endpoint", aws_log)

        names = Resources(PREFIX)
        credentials_file = credentials.credentials_file(root / "aws-state")  # the endpoint wrote it
        env = {
            **base_env,
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),  # the flightdata pages and links
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {"conn_type": "aws", "extra": {"endpoint_url": endpoint_url, "region_name": REGION}}
            ),
        }
        stack = LocalServices(root, sim_url, endpoint_url, names, env, processes, 0, endpoint_command, base_env)
        _write_env_file(root / "env.sh", env)
        provision(endpoint_url, names, sim_url, REGION, credentials.read(credentials_file))
        yield stack
    finally:
        stop(*processes)
