"""Where the ETL's time goes, stage by stage, for ``make bench``.

Off unless a benchmark records: then each stage adds its elapsed time, on whichever thread
ran it (the Parquet encode runs beside the quarantine build, so the stages can add up to
more than the wall time). The C reader checks validity and types in the same pass that reads,
so for it ``read`` is that pass and ``validity_and_types`` the Arrow arrays made over its
buffers; for the strict path, orjson's parse and the typing of its values."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

READ = "read"
TYPES = "validity_and_types"
RULES = "validation_rules"
BUILD = "arrow_build"
ENCODE = "parquet_encode"
STAGES = (READ, TYPES, RULES, BUILD, ENCODE)

_totals: dict[str, float] | None = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    if _totals is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        _totals[name] = _totals.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Seconds by stage, summed over every ETL run inside the block."""
    global _totals
    _totals = dict.fromkeys(STAGES, 0.0)
    try:
        yield _totals
    finally:
        _totals = None
