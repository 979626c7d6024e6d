"""The short soak: the real scheduler over simulated minutes that cross an hour, with a gap,
OpenSky faults and a SIGKILL of the local AWS endpoint mid-run (``make soak`` runs a day).
It runs on the session's shared stack, last of all, since it kills that stack's endpoint."""

from __future__ import annotations

import re

from flightdata_local import soak


def test_a_short_soak_loses_nothing_and_every_hour_reconciles(shared_stack, capsys):
    code = soak.soak(shared_stack.stack, shared_stack.api, minutes=10, gap=3, kills=1)

    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("soak: "))
    figures = dict(re.findall(r"(\w+)=(\d+)", line))
    assert code == 0, out
    assert figures["minutes"] == "10"
    assert figures["lost_rows"] == "0"
    assert figures["half_snapshots"] == "0"
    assert figures["reconciled"] == figures["hours"] == "2"
    # so that "only one compaction's files stay" is tested: some hour was compacted twice. Each
    # hour is usually compacted twice (a late minute's recompaction, then the backfill's), but
    # a SIGKILL can fail a recompaction, which the backfill's run then makes good.
    assert int(figures["compactions"]) > int(figures["hours"])
    assert int(figures["committed"]) + int(figures["skipped"]) + int(figures["failed"]) >= 10
    assert "endpoint_kills=1" in out
    assert "report" not in out.split("problems:")[1]
