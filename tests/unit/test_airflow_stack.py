"""The local Airflow's supervision: workers sized to the machine, and a component that dies or
crash-loops named with its log, instead of a time-out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flightdata_local import airflow_stack
from flightdata_local.airflow_stack import AirflowProcesses, api_workers
from flightdata_local.services import StackError


def test_the_api_server_gets_one_worker_per_two_cores_and_a_setting_changes_it(monkeypatch):
    monkeypatch.setattr(airflow_stack.os, "cpu_count", lambda: 2)
    assert api_workers({}) == 1
    monkeypatch.setattr(airflow_stack.os, "cpu_count", lambda: 8)
    assert api_workers({}) == 4
    assert api_workers({"FLIGHTDATA_API_WORKERS": "2"}) == 2
    with pytest.raises(StackError, match="FLIGHTDATA_API_WORKERS must be 1 or more"):
        api_workers({"FLIGHTDATA_API_WORKERS": "0"})


def test_the_components_environment_runs_only_what_is_triggered_unless_asked(monkeypatch):
    env = airflow_env_for(schedule=False)
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    assert env["AIRFLOW__API__WORKERS"] == "1"
    assert airflow_env_for(schedule=True)["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "True"


def airflow_env_for(schedule: bool) -> dict[str, str]:
    return airflow_stack.airflow_env({"AIRFLOW_HOME": "/x"}, 8793, schedule=schedule, workers=1)


def processes(tmp_path, api_server_log: str, scheduler_exits: bool = False) -> AirflowProcesses:
    logs = {name: tmp_path / f"airflow-{name}.log" for name in airflow_stack.COMPONENTS}
    logs["api-server"].write_text(api_server_log)
    logs["scheduler"].write_text("starting\nsqlite3.OperationalError: unable to open database file\n")
    found = AirflowProcesses("http://127.0.0.1:9", tmp_path, logs=logs)
    for name in airflow_stack.COMPONENTS:
        code = "raise SystemExit(3)" if scheduler_exits and name == "scheduler" else "import time; time.sleep(30)"
        found.processes[name] = subprocess.Popen([sys.executable, "-c", code])
    if scheduler_exits:
        found.processes["scheduler"].wait()
    return found


def readiness_error(found: AirflowProcesses) -> str:
    """What waiting for readiness raised; every process stopped afterwards."""
    try:
        with pytest.raises(StackError) as raised:
            found.wait_ready(timeout_s=30)
    finally:
        for process in found.processes.values():
            process.kill()
            process.wait()
    return str(raised.value)


def test_a_component_that_exits_is_named_with_the_last_lines_of_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(airflow_stack, "MAX_RESTARTS", 0)  # no restart: the exit itself is reported
    message = readiness_error(processes(tmp_path, "INFO: Started server process\n", scheduler_exits=True))

    assert "the Airflow scheduler exited with 3" in message
    assert "unable to open database file" in message


def test_a_scheduler_that_exits_is_restarted_as_mwaa_would_a_few_times_then_named(tmp_path, monkeypatch):
    found = processes(tmp_path, "INFO: Started server process\n", scheduler_exits=True)
    launched = []

    def relaunch(name, mode):  # each restart exits at once, as the first did
        launched.append((name, mode))
        found.processes[name] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
        found.processes[name].wait()

    monkeypatch.setattr(found, "_launch", relaunch)
    message = readiness_error(found)

    assert launched == [("scheduler", "ab")] * airflow_stack.MAX_RESTARTS  # its log is kept, appended to
    assert "the Airflow scheduler exited with 3" in message


def test_an_api_server_whose_workers_keep_dying_is_reported_as_crash_looping(tmp_path):
    # What uvicorn's supervisor logged on a busy two-core machine with four workers
    died = "".join(
        f"INFO:     Child process [{pid}] died\nINFO:     Started server process [{pid + 1}]\n" for pid in (7, 9, 11)
    )
    message = readiness_error(processes(tmp_path, died))

    assert "the Airflow API server is crash-looping: 3 of its workers" in message
    assert "FLIGHTDATA_API_WORKERS=1" in message
    assert "Child process [11] died" in message


def test_the_local_executor_hands_work_over_only_at_its_heartbeat(monkeypatch):
    """The scheduler queues a task inside its transaction and commits before the executor's
    heartbeat: a workload handed to a worker before then could find its task still scheduled."""
    from airflow.executors.local_executor import LocalExecutor

    from flightdata_local.airflow_executor import CommittedLocalExecutor

    handed: list[str] = []
    monkeypatch.setattr(LocalExecutor, "queue_workload", lambda self, workload, session=None: handed.append(workload))
    monkeypatch.setattr(LocalExecutor, "sync", lambda self: None)
    executor = CommittedLocalExecutor(parallelism=2)

    executor.queue_workload("compact")  # in the scheduler's critical section
    assert handed == []
    executor.sync()  # the heartbeat, after the commit
    assert handed == ["compact"]


def test_a_deferred_tasks_first_result_does_not_end_its_resumed_run(monkeypatch):
    """The CI run that failed: segment_flights deferred, its trigger fired within a second and
    the task resumed (same key); then its first process's "success" arrived, took the key out
    of the running set, and the scheduler failed the running task as killed externally."""
    from types import SimpleNamespace

    from airflow.executors.local_executor import LocalExecutor
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.utils.state import TaskInstanceState

    from flightdata_local.airflow_executor import CommittedLocalExecutor

    monkeypatch.setattr(LocalExecutor, "queue_workload", lambda self, workload, session=None: None)
    monkeypatch.setattr(LocalExecutor, "sync", lambda self: None)
    executor = CommittedLocalExecutor(parallelism=2)
    key = TaskInstanceKey("opensky_daily_report", "segment_flights", "run", 1, -1)
    workload = SimpleNamespace(ti=SimpleNamespace(key=key))

    executor.running.add(key)
    executor.queue_workload(workload)
    executor.sync()  # the first run, which defers
    executor.queue_workload(workload)
    executor.sync()  # the resumption, same key, before the first run's result is read
    executor.change_state(key, TaskInstanceState.SUCCESS)  # the first run's process ended

    assert key in executor.running  # the resumed run is still the executor's
    assert key not in executor.event_buffer

    executor.change_state(key, TaskInstanceState.SUCCESS)  # the resumed run's own result
    assert key not in executor.running
    assert executor.event_buffer[key][0] == TaskInstanceState.SUCCESS


def test_lists_are_read_page_by_page_since_airflow_cuts_any_limit_to_its_page_size():
    """run_ids and task_instances asked for limit=1000 and got Airflow's first 100."""
    runs = [{"dag_run_id": f"run-{i}"} for i in range(250)]

    class Paged(airflow_stack.AirflowApi):
        def __init__(self) -> None:  # no server: call answers as Airflow's API does
            self.calls = 0

        def call(self, method, path, **kwargs):
            self.calls += 1
            params = kwargs["params"]
            limit = min(int(params["limit"]), 100)  # [api] maximum_page_limit
            offset = int(params.get("offset", 0))
            return {"dag_runs": runs[offset : offset + limit], "total_entries": len(runs)}

    api = Paged()
    assert api.run_ids("opensky_state_vectors") == [r["dag_run_id"] for r in runs]
    assert api.calls == 3
