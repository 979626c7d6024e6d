"""The endpoint hands freed heap memory back after enough traffic (``make bench`` measures the
effect: endpoint_rss_growth_mb_per_simulated_hour)."""

from __future__ import annotations

import sys

import pytest

from localaws import memory


def test_it_trims_after_enough_bytes_or_requests_and_at_most_once_a_second():
    calls, now = [], [0.0]
    trimmer = memory.MemoryTrimmer(trim=lambda pad: calls.append(pad) or 1, clock=lambda: now[0])

    now[0] = 5.0
    trimmer.note(memory.TRIM_EVERY_BYTES - 1)
    assert calls == []
    trimmer.note(1)  # the bytes add up
    assert calls == [0]

    trimmer.note(memory.TRIM_EVERY_BYTES)  # due, but within the second
    assert calls == [0]
    now[0] = 6.5
    for _ in range(memory.TRIM_EVERY_REQUESTS):  # many small requests count too
        trimmer.note(10)
    assert len(calls) == 2
    assert trimmer.trims == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_the_real_malloc_trim_is_found_and_runs():
    trim = memory._malloc_trim()

    assert trim is not None
    assert trim(0) in (0, 1)  # 1 when it released memory
