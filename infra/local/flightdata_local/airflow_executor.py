"""The local Airflow's executor: Airflow's LocalExecutor without two races with its scheduler.

1. Airflow 3.0's LocalExecutor puts a task on its workers' queue the moment the scheduler
   queues it, inside the scheduler's transaction. A worker that starts the task before that
   transaction commits finds it still ``scheduled``, the execution API refuses to run it
   (409, "TI was not in a state where it could be marked as running"), and the task fails
   without having run (apache/airflow#54479); on a busy machine that happened about once a
   test session. This one keeps the task until the executor's heartbeat, which the
   scheduler calls after its commit.
2. A deferred task's first process ends with "success" (it deferred), and its resumption
   runs under the same key (the same try). When the trigger fires fast (local Athena answers
   within a second) and the first process's result arrives after the resumption started, the
   result takes the key out of the executor's running set and the scheduler, seeing a
   "finished" try whose task instance is running and that no executor has, fails it as
   killed externally. This one counts each key's launches and reports only the result of
   the last one: the earlier run's result says nothing the scheduler does not know.

MWAA runs Celery, so this is the laptop's only.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from airflow.executors.local_executor import LocalExecutor
from airflow.utils.state import TaskInstanceState

FINISHED = (TaskInstanceState.SUCCESS, TaskInstanceState.FAILED)


class CommittedLocalExecutor(LocalExecutor):
    """LocalExecutor whose workloads reach the workers at the next heartbeat, and whose
    results for a key are reported for its latest launch only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._uncommitted: deque[tuple[Any, Any]] = deque()
        self._launches: Counter[Any] = Counter()

    def queue_workload(self, workload: Any, session: Any = None) -> None:
        self._uncommitted.append((workload, session))

    def sync(self) -> None:
        while self._uncommitted:
            workload, session = self._uncommitted.popleft()
            ti = getattr(workload, "ti", None)
            if ti is not None:
                self._launches[ti.key] += 1
            super().queue_workload(workload, session)  # neither version's executor uses the session
        super().sync()

    def change_state(self, key: Any, state: Any, info: Any = None, remove_running: bool = True) -> None:
        if state in FINISHED and remove_running and self._launches[key] > 1:
            self._launches[key] -= 1  # an earlier launch of this key (it deferred): a later one runs
            self.log.info("%s: the result of an earlier run of this try (%s) is not the task's own", key, state)
            return
        self._launches.pop(key, None)
        super().change_state(key, state, info, remove_running)
