"""The local Airflow's executor: Airflow's LocalExecutor, handing work to its workers only
after the scheduler has committed it.

Airflow 3.0's LocalExecutor puts a task on its workers' queue the moment the scheduler
queues it, inside the scheduler's transaction. A worker that starts the task before that
transaction commits finds it still ``scheduled``, the execution API refuses to run it (409,
"TI was not in a state where it could be marked as running"), and the task fails without
having run (apache/airflow#54479); on a busy machine that happened about once a test
session. This one keeps the task until the executor's heartbeat, which the scheduler calls
after its commit. MWAA runs Celery, so this is the laptop's only.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from airflow.executors.local_executor import LocalExecutor


class CommittedLocalExecutor(LocalExecutor):
    """LocalExecutor whose workloads reach the workers at the next heartbeat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._uncommitted: deque[Any] = deque()

    def queue_workload(self, workload: Any, session: Any = None) -> None:
        self._uncommitted.append(workload)

    def sync(self) -> None:
        while self._uncommitted:
            super().queue_workload(self._uncommitted.popleft())
        super().sync()
