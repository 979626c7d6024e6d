"""The ETL's second thread. The C reader, pyarrow and numpy release the GIL while they work
on whole arrays, so half of the rows' reading or a Parquet encode can run beside the main
thread's next step."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# Two workers, so that one snapshot's scan never waits behind another snapshot's encode
# when several threads of one process run the ETL.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="flightdata-etl")


def submit(fn: Callable[..., T], *args: Any) -> Future[T]:  # noqa: UP047 (the pinned mypy lacks PEP 695)
    return _POOL.submit(fn, *args)


def result_or_run(future: Future[T], fn: Callable[..., T], *args: Any) -> T:
    """``future``'s result, where ``future`` is ``submit(fn, *args)``: if no worker has
    started it yet, this thread runs ``fn`` itself. A worker wakes in tens of microseconds
    on a quiet machine, but on a busy host a sleeping core can take a millisecond or more
    to wake, and then the caller would wait for it instead of doing the work."""
    return fn(*args) if future.cancel() else future.result()
