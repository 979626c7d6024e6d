"""``make demo``: the whole pipeline on the embedded default, no network and no AWS account.

Simulator and local AWS endpoint start as child processes. The simulator's traffic of the
hours before (up to ``--history-hours``, within the same day) is replayed into the curated
table through the ETL (``flightdata_local.replay``), so that the day has whole flights to report on.
Airflow's components start meanwhile (``flightdata_local.airflow_stack``, as ``make up`` runs them);
then ``opensky_state_vectors`` runs for consecutive minutes, triggered through Airflow's REST API
and run by its scheduler, ``opensky_compaction`` for that hour and ``opensky_daily_report``
for that day. Each phase's time is printed at the end. Every process stops at the end, on
failure and on Ctrl-C.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from flightdata import lake
from flightdata.etl.commit import Commit
from flightdata_local import airflow_stack, measure, replay
from flightdata_local.services import LocalServices, StackError, free_port, local_services
from opensky_sim import Fleet


def demo_minutes(now: datetime, count: int) -> list[datetime]:
    """The last ``count`` whole minutes if they share an hour, else the previous hour's last ones.

    One hour keeps the compaction step meaningful; all of them are under an hour old, so an
    authenticated fetch can ask OpenSky (or the simulator) for each exact minute.
    """
    last = now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    first = last - timedelta(minutes=count - 1)
    if first.hour != last.hour:
        last = last.replace(minute=0) - timedelta(minutes=1)
        first = last - timedelta(minutes=count - 1)
    return [first + timedelta(minutes=i) for i in range(count)]


def _minute_counts(stack: LocalServices, when: datetime) -> tuple[int, int]:
    """(valid, quarantined) rows of the minute, counted in the files its commit names."""
    s3 = stack.client("s3")

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=stack.names.lake_bucket, Key=key)["Body"].read()

    commit = Commit.from_parquet(read(lake.commit_key(when, "global")))
    valid, quarantined = (pq.read_metadata(io.BytesIO(read(key))).num_rows for key in commit.keys)
    return valid, quarantined


def _say(message: str) -> None:
    print(message, flush=True)


def history_hours(hour: datetime, wanted: int) -> list[datetime]:
    """Up to ``wanted`` hours before ``hour``, none before its day's midnight."""
    return [hour - timedelta(hours=h) for h in range(min(wanted, hour.hour), 0, -1)]


class Clock:
    """The elapsed time of each phase, printed at the end so a slowdown names its phase."""

    def __init__(self) -> None:
        self.started = self.mark = time.monotonic()
        self.phases: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.phases.append((name, now - self.mark))
        self.mark = now

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.phases)


def run(minutes: int = 10, root: Path = Path(".local/demo"), history: int = 4) -> int:
    if not 1 <= minutes <= 30:
        print("error: --minutes must be between 1 and 30", file=sys.stderr)
        return 2
    if not 0 <= history <= 23:
        print("error: --history-hours must be between 0 and 23", file=sys.stderr)
        return 2
    shutil.rmtree(root, ignore_errors=True)
    clock = Clock()
    slots = demo_minutes(datetime.now(UTC), minutes)
    hour = slots[0].replace(minute=0)
    try:
        _say("starting the OpenSky simulator and the local AWS endpoint, deploying, preparing Airflow ...")
        with (
            local_services(root) as stack,
            airflow_stack.running(stack, free_port(), ready_s=None) as airflow,
        ):
            _say(f"  simulator {stack.sim_url} · endpoint {stack.endpoint_url} · logs in {root / 'logs'}")
            clock.lap("start")
            # Airflow's components start while the earlier hours are replayed.
            written = _replay(stack, hour, slots[0], history)
            clock.lap("replay")
            airflow.wait_ready()
            api = airflow_stack.AirflowApi(airflow)
            api.wait_for_dags()
            _say(f"  Airflow {airflow.url} ready (scheduler, DAG processor, triggerer, API server)")
            clock.lap("airflow")
            total, valid_total, phases = _minutes(stack, api, slots)
            clock.lap("minutely")
            _say(f"opensky_compaction for {hour:%Y-%m-%d %H}:00 ...")
            phases.append(measure.Phase("compaction", datetime.now(UTC)))
            api.run("opensky_compaction", conf={"hour": f"{hour:%Y-%m-%dT%H}", "wait_for_minutely": False})
            phases[-1].ended = datetime.now(UTC)
            where = lake.partition_filter(lake.partition_values(hour))
            compacted = stack.athena_rows(f"SELECT count(*) AS n FROM curated_hourly WHERE {where}")[0]["n"]
            _say(f"  compacted rows: {compacted} (valid rows committed: {valid_total} live + {written} replayed)")
            clock.lap("compaction")
            day = f"{hour:%Y-%m-%d}"
            _say(f"opensky_daily_report for {day} ...")
            phases.append(measure.Phase("report", datetime.now(UTC)))
            api.run("opensky_daily_report", conf={"day": day})
            phases[-1].ended = datetime.now(UTC)
            _report(stack, day, root)
            clock.lap("report")
            measured = {"command": f"flightdata-local demo --minutes {minutes}", "records": total}
            measure.write(root / "workload.json", measure.workload(stack, len(slots), phases, measured))
            _say(f"  workload measured: {root / 'workload.json'} (price it: flightdata cost --workload <that file>)")
            clock.lap("measure")
    except StackError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted; every process it started has been stopped", file=sys.stderr)
        return 130
    clock.lap("stop")
    _say(f"phases: {clock.summary()}")
    _say(f"done in {time.monotonic() - clock.started:.0f} s: {total} state vectors fetched, {valid_total} valid.")
    return 0


def _replay(stack: LocalServices, hour: datetime, first_live: datetime, history: int) -> int:
    """The day's earlier hours into curated and the hour's earlier minutes as the transform
    Lambda writes them, so the report has whole flights; the minutes' valid rows."""
    replayed = history_hours(hour, history)
    if replayed:
        _say(f"replaying {len(replayed)} simulated hours ({replayed[0]:%H}:00-{hour:%H}:00 UTC) into curated ...")
        rows = replay.write_hours(
            stack.client("s3"), stack.client("glue"), stack.names, Fleet(), replayed[0], len(replayed)
        )
        _say(f"  {rows:,} state vectors through the ETL, one compacted file per hour")
    earlier = [hour + timedelta(minutes=m) for m in range(first_live.minute)]
    if not earlier:
        return 0
    _say(
        f"replaying {len(earlier)} simulated minutes ({hour:%H:%M}-{earlier[-1]:%H:%M} UTC) "
        "as the transform Lambda writes them ..."
    )
    written = replay.write_minutes(stack.client("s3"), stack.client("glue"), stack.names, Fleet(), earlier)
    _say(f"  {written:,} valid state vectors, committed minute by minute")
    return written


def _minutes(
    stack: LocalServices, api: airflow_stack.AirflowApi, slots: list[datetime]
) -> tuple[int, int, list[measure.Phase]]:
    """Every minute triggered at once (the DAG runs three at a time, as on MWAA); a line per
    minute as it finishes, in order. Returns the records and valid rows, and the phase."""
    _say(f"opensky_state_vectors for {len(slots)} minutes ({slots[0]:%H:%M}-{slots[-1]:%H:%M} UTC):")
    _say(f"  {'minute':<6} {'records':>8} {'valid':>7} {'quarant.':>8} {'quality':>8} {'seconds':>8}")
    phase = measure.Phase("minutely", datetime.now(UTC))
    run_ids = [api.trigger("opensky_state_vectors", when) for when in slots]
    total = valid_total = 0
    for when, run_id in zip(slots, run_ids, strict=True):
        finished = api.wait("opensky_state_vectors", run_id)
        valid, quarantined = _minute_counts(stack, when)
        records = valid + quarantined
        total, valid_total = total + records, valid_total + valid
        _say(
            f"  {when:%H:%M}  {records:>8} {valid:>7} {quarantined:>8} "
            f"{valid / records if records else 0:>8.2%} {finished.seconds:>8.1f}"
        )
    phase.ended = datetime.now(UTC)
    return total, valid_total, [phase]


def _report(stack: LocalServices, day: str, root: Path) -> None:
    s3 = stack.client("s3")
    prefix = f"reports/date={day}/"
    summary = json.loads(s3.get_object(Bucket=stack.names.lake_bucket, Key=f"{prefix}summary.json")["Body"].read())
    _say(f"  {summary['headline']}")
    for name, title in (("busiest_airports", "busiest airports"), ("top_routes", "top routes")):
        text = s3.get_object(Bucket=stack.names.lake_bucket, Key=summary["csv"][name])["Body"].read().decode()
        rows = list(csv.DictReader(io.StringIO(text)))[:5]
        label, value = ("airport", "movements") if name == "busiest_airports" else ("route", "flights")
        _say(f"  {title}: " + "; ".join(f"{r[label]} {r[value]}" for r in rows))
    scanned = summary["bytes_scanned"]
    _say("  bytes scanned: " + ", ".join(f"{k} {v:,}" for k, v in scanned.items()))
    page = root / f"report-{day}.html"
    page.write_bytes(s3.get_object(Bucket=stack.names.lake_bucket, Key=summary["html"])["Body"].read())
    _say(f"  HTML report: {page.resolve()}")
