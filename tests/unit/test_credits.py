"""OpenSky credits: costs, tiers, pacing and tiling as arithmetic (the simulated day against
the simulator is in tests/integration/test_credits_day.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flightdata import credits
from flightdata.cli import main
from flightdata.orchestration import compaction, metrics, minutely, pacing

ALPS = {"name": "alps", "bbox": {"lamin": 44.0, "lomin": 5.0, "lamax": 48.0, "lomax": 11.0}}  # 24 sq deg
EUROPE = {"name": "europe", "bbox": {"lamin": 35.0, "lomin": -10.0, "lamax": 60.0, "lomax": 30.0}}


def test_costs_follow_openskys_tiers():
    assert credits.call_cost(None) == 4
    assert [credits.call_cost(a) for a in (25, 25.01, 100, 400, 400.5)] == [1, 2, 2, 3, 4]


def test_a_standard_account_fetches_the_globe_on_evenly_spread_minutes():
    plan = credits.plan_credits("standard", reserve=0)

    assert plan.as_dict()["credits_per_day_unpaced"] == 5760
    assert not plan.fits
    assert plan.as_dict()["fetch_minutes_per_day"] == 1000
    assert plan.as_dict()["credits_per_day"] == 4000
    assert plan.longest_gap_minutes() == 2  # never two minutes skipped in a row
    hours = [sum(plan.fetches_at(h * 60 + m) for m in range(60)) for h in range(24)]
    assert max(hours) - min(hours) <= 1  # every hour gets its share


def test_tiers_that_pay_for_every_minute_are_not_paced():
    assert credits.plan_credits("feeder").fits
    assert credits.plan_credits("licensed", [ALPS, EUROPE]).fits
    assert all(credits.plan_credits("feeder").fetches_at(m) for m in range(1440))


def test_the_reserve_and_the_interval_count():
    plan = credits.plan_credits("standard", interval_minutes=2, reserve=100)

    assert plan.fits  # 720 global fetches = 2,880 credits
    assert not plan.fetches_at(1)
    with pytest.raises(ValueError, match="divides a day"):
        credits.plan_credits("standard", interval_minutes=7)
    with pytest.raises(ValueError, match="tier 'gold' is unknown"):
        credits.plan_credits("gold")


def test_tiling_covers_the_box_and_is_used_only_when_cheaper():
    cut = credits.tiles(EUROPE["bbox"])

    assert len(cut) == 5 * 8
    assert all(credits.box_area(t) <= 25 for t in cut)
    assert sum(credits.box_area(t) for t in cut) == pytest.approx(credits.box_area(EUROPE["bbox"]))
    # 1,000 square degrees: 4 credits as one call, 40 as tiles. With OpenSky's tiers tiling
    # is never cheaper, so it is never chosen.
    assert credits.region_cost("europe", EUROPE["bbox"]) == credits.RegionCost("europe", 4, 1, tiled=False)
    assert credits.region_cost("alps", ALPS["bbox"]).credits == 1


def test_flightdata_plan_prints_the_summary_and_json_last(capsys):
    assert main(["plan", "--tier", "standard"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()

    assert "does not fit" in lines[0]
    summary = json.loads(lines[-1])
    assert summary["calls_per_day"] == 975  # 3,900 of 4,000 credits: 100 held in reserve
    assert summary["coverage"] == pytest.approx(975 / 1440, abs=1e-4)


def test_the_dag_skips_planned_minutes_and_completeness_counts_them(monkeypatch, caplog):
    from flightdata.orchestration.compat import AirflowSkipException

    monkeypatch.setenv("AIRFLOW__FLIGHTDATA__OPENSKY_TIER", "standard")
    plan = pacing.credit_plan(minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    skipped = next(day + timedelta(minutes=m) for m in range(1440) if not plan.fetches_at(m))
    fetched = next(day + timedelta(minutes=m) for m in range(1440) if plan.fetches_at(m))

    with caplog.at_level("INFO"):
        pacing.check_pacing(fetched, minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    with pytest.raises(AirflowSkipException, match="planned skip"):
        pacing.check_pacing(skipped, minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    assert "OpenSky standard: 975 calls" in caplog.text

    hour = skipped.replace(minute=0)
    planned = pacing.planned_minutes(hour)
    found = compaction.describe_hour(hour, planned)
    assert found["minutes_planned"] == len(planned) < 60
    assert found["completeness"] == 1.0  # the planned skips are not missing
    assert found["missing"] == ""


def test_credit_metrics_project_the_balance_at_the_next_refill(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__FLIGHTDATA__OPENSKY_TIER", "standard")
    plan = pacing.credit_plan(minutely.DEFAULT_REGIONS, minutely.DEFAULT_CREDIT_RESERVE)
    first = next(m for m in range(1440) if plan.fetches_at(m))
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=first)

    def landed(remaining: int) -> str:
        return json.dumps(
            {"status": "ok", "snapshot_time": when.isoformat(), "credits_remaining": remaining, "credits_spent": 4}
        )

    # GIVEN the first fetch of the day, with OpenSky reporting what a standard account has
    with caplog.at_level("WARNING"):
        data = {d["MetricName"]: d["Value"] for d in metrics.credit_metric_data([landed(3996)])}
    # THEN the balance projected at midnight is the reserve the plan keeps, and nothing is wrong
    assert data["CreditsSpent"] == 4
    assert data["CreditsLeft"] == 3996
    assert data["ProjectedCreditsAtRefill"] == 3996 - 4 * (plan.as_dict()["fetch_minutes_per_day"] - 1)
    assert data["ProjectedCreditsAtRefill"] >= minutely.DEFAULT_CREDIT_RESERVE
    assert caplog.text == ""

    # WHEN OpenSky reports far fewer credits than the tier grants (a feeder set as standard is
    # the other way round), the mismatch is logged and the projection goes below the reserve
    with caplog.at_level("WARNING"):
        data = {d["MetricName"]: d["Value"] for d in metrics.credit_metric_data([landed(396)])}
    assert "tier 'standard' grants 4000" in caplog.text
    assert data["ProjectedCreditsAtRefill"] < minutely.DEFAULT_CREDIT_RESERVE


def test_without_a_tier_only_spent_and_left_are_published(monkeypatch):
    monkeypatch.delenv("AIRFLOW__FLIGHTDATA__OPENSKY_TIER", raising=False)
    monkeypatch.delenv("FLIGHTDATA_OPENSKY_TIER", raising=False)
    result = json.dumps({"status": "ok", "snapshot_time": "2026-03-01T00:00:00+00:00", "credits_remaining": 50})

    assert [d["MetricName"] for d in metrics.credit_metric_data([result])] == ["CreditsSpent", "CreditsLeft"]
    assert metrics.credit_metric_data([json.dumps({"status": "skipped"})]) == []


def test_the_report_and_the_compaction_share_one_completeness(monkeypatch):
    """On the standard tier a complete hour is 100% in HourCompleteness; the report divided
    by 60 and read about 68%. Its SQL, run on DuckDB as local Athena runs it, now divides by
    the same planned minutes."""
    import duckdb
    import sqlglot

    from flightdata.orchestration.templating import TemplateFacts, sql_templates
    from flightdata.resources import Resources

    monkeypatch.setenv("AIRFLOW__FLIGHTDATA__OPENSKY_TIER", "standard")
    day = datetime(2026, 3, 1, tzinfo=UTC)
    hour = day + timedelta(hours=7)
    planned = pacing.planned_minutes(hour)
    facts = TemplateFacts(Resources("flightdata-test"), report_filter="TRUE")
    sql = sql_templates().get_template("report_completeness_by_hour.sql").render(fd=facts)
    db = duckdb.connect()
    db.execute("CREATE SCHEMA flightdata_test")
    db.execute("CREATE TABLE flightdata_test.snapshot_commits (hour VARCHAR, snapshot_time TIMESTAMP, valid BIGINT)")
    db.execute("CREATE TABLE flightdata_test.curated_hourly (hour VARCHAR)")
    db.executemany(
        "INSERT INTO flightdata_test.snapshot_commits VALUES ('07', ?, 1)", [(m.replace(tzinfo=None),) for m in planned]
    )
    db.executemany("INSERT INTO flightdata_test.curated_hourly VALUES ('07')", [()] * len(planned))

    (row,) = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
    columns = [d[0] for d in db.description]
    found = dict(zip(columns, row, strict=True))

    assert found["minutes_planned"] == len(planned) < 60
    assert float(found["completeness_pct"]) == 100.0 == 100 * compaction.describe_hour(hour, planned)["completeness"]
    assert found["reconciled"] is True
