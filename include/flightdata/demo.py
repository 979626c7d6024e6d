"""``make demo`` on the core pipeline: simulator → OpenSky client → ETL → a local lake directory."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flightdata.etl.snapshot import process_snapshot
from flightdata.etl.transform import SnapshotContext
from flightdata.opensky import ClientCredentials, Endpoints, OpenSkyClient
from flightdata.simulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, running
from flightdata.storage import DirectoryStore


def run_core_demo(minutes: int, out: Path) -> int:
    if not 1 <= minutes <= 60:
        print("error: --minutes must be 1-60 (OpenSky serves at most one hour back)", file=sys.stderr)
        return 2
    shutil.rmtree(out, ignore_errors=True)
    store = DirectoryStore(out)
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    snapshot_times = [last - timedelta(minutes=minutes - 1 - i) for i in range(minutes)]
    print(f"OpenSky simulator → client → ETL for {minutes} consecutive minutes; lake in {out}/", flush=True)
    header = f"{'minute (UTC)':<17} {'records':>8} {'valid':>7} {'quarant.':>8} {'quality':>8} {'complete':>8}"
    totals = {"records": 0, "valid": 0, "quarantined": 0}
    with running() as sim:
        client = OpenSkyClient(Endpoints.at(sim.url), ClientCredentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
        print(header)
        for when in snapshot_times:
            started = time.perf_counter()
            fetched = client.fetch_states(at_time=int(when.timestamp()))
            written = process_snapshot(store, fetched.body, SnapshotContext(when), keep_raw=True)
            s = written.result.summary
            for key in totals:
                totals[key] += getattr(s, key)
            print(
                f"{when:%Y-%m-%d %H:%M}  {s.records:>8} {s.valid:>7} {s.quarantined:>8} "
                f"{s.quality_score or 0:>8.2%} {s.completeness or 0:>8.2%}  "
                f"({time.perf_counter() - started:.2f} s, {fetched.credits_remaining} credits left)",
                flush=True,
            )
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    print(
        f"total: {totals['records']} fetched = {totals['valid']} valid + {totals['quarantined']} quarantined; "
        f"{len(files)} objects written, e.g. {files[0] if files else '-'}"
    )
    print(f"top reasons in the last minute: {dict(sorted(s.reasons.items(), key=lambda kv: -kv[1])[:3])}")
    return 0
