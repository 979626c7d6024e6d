"""The ETL's second thread. The C reader, pyarrow and numpy release the GIL while they work
on whole arrays, so half of the rows' reading or a Parquet encode can run beside the main
thread's next step."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Two workers, so that one snapshot's half of the rows never waits behind another snapshot's
# quarantine when several threads of one process run the ETL.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="flightdata-etl")


class Job(Generic[T]):  # noqa: UP046 (the pinned mypy lacks PEP 695)
    """``fn(*args)``, started on a worker. Its ``result`` is the worker's, or, if no worker
    has started it by then, this thread runs it itself. A worker wakes in tens of
    microseconds on a quiet machine, but on a busy host a sleeping core can take a
    millisecond or more to wake, and the caller would wait for it instead of working."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._call = functools.partial(fn, *args)
        self._future = _POOL.submit(self._call)

    def result(self) -> T:
        return self._call() if self._future.cancel() else self._future.result()
