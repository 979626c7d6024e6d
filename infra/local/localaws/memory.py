"""Giving freed memory back to the operating system, so the endpoint's footprint follows its
live state over days of traffic.

The endpoint handles many large bodies (raw snapshots, Parquet files, Athena results). glibc
keeps the heap space they leave when freed for later use; with bodies of varied sizes that
space fragments and resident memory climbed by about 8 MB per simulated hour although the
Python objects alive stayed flat (tracemalloc). ``malloc_trim`` returns free pages anywhere in
the heap. Elsewhere (musl, macOS) there is no such call and this does nothing.

Two allocators beside glibc's keep freed memory for themselves, where trimming cannot reach:
pyarrow's default pool (mimalloc) and DuckDB's. Over two simulated hours the endpoint grew
by 21 MB an hour with mimalloc, 7 with the system pool, and 5 to 9 with DuckDB in the
process; Athena queries now run in processes of their own (``localaws.athena.worker``),
and the endpoint grows by under 1 MB an hour (``make bench``).

moto keeps every model object it ever made (``BaseModel.instances_tracked``, for its dashboard
and its reset): every S3 key deleted or overwritten, every Glue partition a request was
refused, every metric datum. In a server that runs for months that is a leak, about 10 KB for
each refused ``CreatePartition``, three of which the minutely DAG sends every minute of an
hour but the first. ``track_models_weakly`` keeps the dashboard and the reset working on the
objects that are still alive, and lets the others go.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

# LOCALAWS_MALLOC_TRIM=0 turns trimming off (make bench measures both ways).
ENABLED_ENV = "LOCALAWS_MALLOC_TRIM"
TRIM_EVERY_BYTES = 32 * 1024 * 1024  # of request bodies handled since the last trim
TRIM_EVERY_REQUESTS = 500
MIN_INTERVAL_S = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    if os.environ.get(ENABLED_ENV, "1") == "0":
        return None
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path) if path else None
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


def use_system_allocator_for_arrow() -> None:
    """Route pyarrow's allocations through malloc, so the trimmer can give them back."""
    if os.environ.get(ENABLED_ENV, "1") == "0":
        return
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


class MemoryTrimmer:
    """Counts what requests bring in and trims the heap after enough of it, at most once a
    second; thread-safe (``malloc_trim`` takes glibc's own arena locks)."""

    def __init__(self, trim: Callable[[int], int] | None = None, clock: Callable[[], float] = time.monotonic):
        self._trim = trim if trim is not None else _malloc_trim()
        self._clock = clock
        self._lock = threading.Lock()
        self._bytes = self._requests = 0
        self._last = clock()
        self.trims = 0

    def note(self, body_bytes: int) -> None:
        if self._trim is None:
            return
        with self._lock:
            self._bytes += body_bytes
            self._requests += 1
            due = self._bytes >= TRIM_EVERY_BYTES or self._requests >= TRIM_EVERY_REQUESTS
            if not due or self._clock() - self._last < MIN_INTERVAL_S:
                return
            self._bytes = self._requests = 0
            self._last = self._clock()
            self.trims += 1
        self._trim(0)


class WeakInstances:
    """What moto's model classes keep in ``instances_tracked``: the instances still alive."""

    def __init__(self) -> None:
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def append(self, instance: Any) -> None:
        try:
            self._live[id(instance)] = instance
        except TypeError:  # a class without weak references: leave it untracked
            return

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._live.values()))

    def __len__(self) -> int:
        return len(self._live)


def track_models_weakly() -> None:
    """Make moto's model classes track their instances weakly (idempotent)."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel, "_localaws_weak", False):
        return

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)  # as moto does, past BaseModel in the MRO
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, WeakInstances):  # a new class, or a list a reset put back
            tracked = WeakInstances()
            cls.instances_tracked = tracked  # type: ignore[attr-defined]
        tracked.append(instance)
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign,assignment]
    BaseModel._localaws_weak = True  # type: ignore[attr-defined]
