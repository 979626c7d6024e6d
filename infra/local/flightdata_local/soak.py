"""``make soak``: the pipeline unattended over simulated time, under the real scheduler, with faults.

Airflow runs as it does for ``make up`` (scheduler, DAG processor, triggerer, API server);
the tests' short soak runs on their shared stack (:func:`soak`).
Backfills of ``opensky_state_vectors`` cover ``SOAK_MINUTES`` past minutes with a gap of
``SOAK_GAP_MINUTES``, while OpenSky faults (429, 503, slow, truncated) are injected and the
local AWS endpoint, or a Lambda process it runs, is killed with SIGKILL now and then. Failed
minutes are run again once, as an operator would; then each hour is compacted and the day
reported by backfills of their DAGs. The lake is then checked, snapshot by snapshot:

- ``lost_rows``: rows of a landed raw response that no commit accounts for, plus rows a
  commit says were fetched but that are neither valid nor quarantined;
- ``half_snapshots``: processed or quarantine objects no commit names, or commits whose
  objects are missing or differ from their checksums;
- ``reconciled``: hours whose curated rows equal the valid rows their commits recorded, in
  the files of one compaction only (each hour is compacted at least twice).

It ends with one ``soak: ...`` line and exits non-zero unless nothing was lost or half
written and every hour reconciles.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from flightdata_local import airflow_stack, chaos, lake_audit
from flightdata_local.airflow_stack import AirflowApi
from flightdata_local.services import LocalServices, StackError, free_port, local_services

BACKFILL_CHUNK = 30
ATTEMPTS = 10
UNFINISHED = ("queued", "running")
MB = 1024 * 1024


def run(minutes: int, gap: int, kills: int, root: Path, seed: int = 7) -> int:
    """``make soak``: a stack of its own, with Airflow's schedules on, as ``make up`` runs it."""
    with local_services(root) as stack, airflow_stack.running(stack, free_port(), schedule=True) as airflow:
        api = airflow_stack.AirflowApi(airflow)
        api.wait_for_dags()
        return soak(stack, api, minutes, gap, kills, seed)


def soak(stack: LocalServices, api: AirflowApi, minutes: int, gap: int, kills: int, seed: int = 7) -> int:
    """Soak a running stack whose Airflow has every DAG parsed and unpaused; 0 when nothing
    was lost or half written and every hour reconciles."""
    started, since = time.monotonic(), datetime.now(UTC)
    endpoint_rss_start = psutil.Process(stack.endpoint_process.pid).memory_info().rss
    window = _window(minutes, gap)
    faults = chaos.Faults()
    stop_faults = threading.Event()
    injector = threading.Thread(
        target=chaos.inject,
        args=(stack, faults, stop_faults, kills, len(window), random.Random(seed)),
        daemon=True,
    )
    injector.start()
    try:
        _backfill(api, "opensky_state_vectors", window, reprocess="none")
        _wait_for_runs(api, "opensky_state_vectors", window)
    finally:
        stop_faults.set()
        injector.join()
    first_pass = _run_states(api, "opensky_state_vectors", window)
    failed_first = [m for m, state in first_pass.items() if state == "failed"]
    if failed_first:  # an operator's one rerun of what failed
        _backfill(api, "opensky_state_vectors", failed_first, reprocess="failed")
        _wait_for_runs(api, "opensky_state_vectors", window)

    hours = sorted({m.replace(minute=0) for m in window})
    compactions = [h + timedelta(hours=1, minutes=5) for h in hours]
    # "completed": a scheduled compaction may have run for one of these hours before
    # all of its minutes were in; each hour is compacted once more after them.
    _backfill(api, "opensky_compaction", compactions, reprocess="completed")
    _wait_for_runs(api, "opensky_compaction", compactions)
    api.wait_idle("opensky_compaction", timeout_s=6 * 3600)  # the recompactions late minutes asked for
    days = sorted({f"{m:%Y-%m-%d}" for m in window})
    for day in days:
        api.trigger("opensky_daily_report", conf={"day": day})
    api.wait_idle("opensky_daily_report", timeout_s=6 * 3600)

    states = _run_states(api, "opensky_state_vectors", window)
    skipped = _skipped_minutes(api, window)
    check = lake_audit.audit_lake(stack, window, hours)
    check["problems"] += lake_audit.audit_reports(stack, days, hours)
    rss_end = psutil.Process(stack.endpoint_process.pid).memory_info().rss
    state_mb = sum(p.stat().st_size for p in (stack.root / "aws-state").rglob("*") if p.is_file()) / MB
    failed = sum(1 for s in states.values() if s == "failed")
    line = (
        f"soak: minutes={len(window)} committed={check['committed']} skipped={len(skipped)} failed={failed} "
        f"hours={len(hours)} compactions={_successes(api, 'opensky_compaction', since)} "
        f"reconciled={check['reconciled']} lost_rows={check['lost_rows']} "
        f"half_snapshots={check['half_snapshots']} wall_s={time.monotonic() - started:.0f} "
        f"endpoint_rss_mb_start={endpoint_rss_start / MB:.0f} endpoint_rss_mb_end={rss_end / MB:.0f} "
        f"state_mb={state_mb:.0f}"
    )
    print(
        f"faults: opensky={faults.opensky} endpoint_kills={faults.endpoint_kills} lambda_kills={faults.lambda_kills}; "
        f"gap of {gap} minutes; problems: {json.dumps(check['problems'][:10])}"
    )
    print(line, flush=True)
    ok = (
        check["lost_rows"] == 0
        and check["half_snapshots"] == 0
        and check["reconciled"] == len(hours)
        and not [p for p in check["problems"] if "report" in p]
    )
    return 0 if ok else 1


def _window(minutes: int, gap: int) -> list[datetime]:
    """``minutes`` minutes ending at :09 of the hour before last (so they cross an hour
    boundary, and the hourly compaction of their last hour is already due), with a gap of
    ``gap`` minutes a third of the way in."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2) + timedelta(minutes=9)
    span = minutes + gap
    first = end - timedelta(minutes=span - 1)
    hole_start = first + timedelta(minutes=minutes // 3)
    every = [first + timedelta(minutes=n) for n in range(span)]
    return [m for m in every if not hole_start <= m < hole_start + timedelta(minutes=gap)]


def _spans(logical_dates: list[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    spans: list[list[datetime]] = []
    for when in sorted(logical_dates):
        if spans and when - spans[-1][1] == step:
            spans[-1][1] = when
        else:
            spans.append([when, when])
    return [(a, b) for a, b in spans]


def _chunks(spans: list[tuple[datetime, datetime]], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Spans cut into backfills of at most ``BACKFILL_CHUNK`` runs: each is one short SQLite
    write, which meets 'database is locked' less often than one of hundreds of rows."""
    chunks = []
    for first, last in spans:
        while first <= last:
            end = min(last, first + step * (BACKFILL_CHUNK - 1))
            chunks.append((first, end))
            first = end + step
    return chunks


def _backfill(api: AirflowApi, dag_id: str, logical_dates: list[datetime], reprocess: str) -> None:
    step = timedelta(minutes=1) if dag_id == "opensky_state_vectors" else timedelta(hours=1)
    for first, last in _chunks(_spans(logical_dates, step), step):
        for attempt in range(ATTEMPTS):
            _wait_for_backfills(api, dag_id)  # Airflow runs one backfill of a DAG at a time
            try:
                api.call(
                    "POST",
                    "backfills",
                    json={
                        "dag_id": dag_id,
                        "from_date": first.isoformat(),
                        "to_date": (last + timedelta(seconds=30)).isoformat(),  # the last date is in, either way
                        "max_active_runs": 3,
                        "reprocess_behavior": reprocess,
                    },
                )
                break
            except StackError:
                # SQLite is shared by the scheduler and the API server: a write can meet
                # "database is locked". Runs created so far stay; the next try adds the rest.
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(2 * (attempt + 1))


def _wait_for_backfills(api: AirflowApi, dag_id: str, timeout_s: float = 6 * 3600) -> None:
    """Until the scheduler has marked every backfill of ``dag_id`` complete."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        backfills = api.call("GET", "backfills", params={"dag_id": dag_id, "limit": 100})["backfills"]
        if all(b["completed_at"] for b in backfills):
            return
        api.airflow.check()
        time.sleep(2)
    raise StackError(f"{dag_id}: a backfill is still running after {timeout_s:.0f} s")


def _run_states(api: AirflowApi, dag_id: str, logical_dates: list[datetime]) -> dict[datetime, str]:
    """The state of the run of each of ``logical_dates`` that has one."""
    wanted = set(logical_dates)
    runs = api.dag_runs(
        dag_id, logical_date_gte=min(logical_dates).isoformat(), logical_date_lte=max(logical_dates).isoformat()
    )
    states = {}
    for run in runs:
        when = datetime.fromisoformat(run["logical_date"]).astimezone(UTC)
        if when in wanted:
            states[when] = run["state"]
    return states


def _wait_for_runs(
    api: AirflowApi, dag_id: str, logical_dates: list[datetime], quiet: bool = False, timeout_s: float = 6 * 3600
) -> None:
    """Until every backfilled run of these dates has finished (and, unless ``quiet``, exists)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = _run_states(api, dag_id, logical_dates)
        unfinished = [s for s in states.values() if s in UNFINISHED]
        if not unfinished and (quiet or len(states) == len(logical_dates)):
            return
        api.airflow.check()
        time.sleep(1)
    raise StackError(f"{dag_id} runs did not finish in {timeout_s:.0f} s")


def _successes(api: AirflowApi, dag_id: str, since: datetime) -> int:
    """Runs of ``dag_id`` that started at ``since`` or later and succeeded."""
    return api.count_runs(dag_id, state=["success"], start_date_gte=since.isoformat())


def _skipped_minutes(api: AirflowApi, window: list[datetime]) -> list[datetime]:
    """Minutes whose ingestion was skipped on purpose (the credit reserve), not failed."""
    skipped = api.task_instances_where(dag_ids=["opensky_state_vectors"], task_ids=["ingest"], state=["skipped"])
    wanted = set(window)
    found = {datetime.fromisoformat(ti["logical_date"]).astimezone(UTC) for ti in skipped if ti.get("logical_date")}
    return sorted(found & wanted)


def main() -> int:
    minutes = int(os.environ.get("SOAK_MINUTES", "1440"))
    gap = int(os.environ.get("SOAK_GAP_MINUTES", str(max(5, minutes // 24))))
    kills = int(os.environ.get("SOAK_KILLS", "4"))
    root = Path(os.environ.get("SOAK_DIR", ".local/soak"))
    if root.exists():
        import shutil

        shutil.rmtree(root)
    return run(minutes, gap, kills, root)


if __name__ == "__main__":
    sys.exit(main())
