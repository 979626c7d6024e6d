"""The cost estimate: its sums against a hand-worked example, the command, and the budget the
stack takes from it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flightdata_cdk import cost
from flightdata_cdk.shape import shape_of

D = 365 / 12  # days in the estimate's month
TB = 1024**4
MB = 1024**2

HAND_PRICES = {
    "region": "test",
    "transcribed": "2026-11-28",
    "mwaa": {
        "environment_hour": {"mw1.small": 1.0},
        "additional_worker_hour": {"mw1.small": 0.5},
        "metadata_storage_gb_month": 0.1,
    },
    "lambda": {"arm64_gb_second": 0.00001, "requests_per_million": 1.0},
    "s3": {
        "standard_gb_month": 0.02,
        "standard_ia_gb_month": 0.01,
        "glacier_flexible_gb_month": 0.004,
        "put_per_thousand": 0.005,
        "transition_ia_per_thousand": 0.01,
        "transition_glacier_per_thousand": 0.02,
    },
    "athena": {"tb_scanned": 5.0, "minimum_mb_per_query": 10},
    "vpc": {"nat_gateway_hour": 0.05, "nat_gateway_gb": 0.05, "interface_endpoint_az_hour": 0.01},
    "kms": {"key_month": 1.0, "requests_per_10k": 0.03, "free_requests_per_month": 20000},
    "cloudwatch": {
        "metric_month": 0.3,
        "alarm_month": 0.1,
        "dashboard_month": 3.0,
        "put_metric_data_per_thousand": 0.01,
        "logs_ingested_gb": 0.5,
        "logs_stored_gb_month": 0.03,
    },
    "secrets_manager": {"secret_month": 0.4, "calls_per_10k": 0.05},
    "glue": {"free_objects": 1_000_000, "objects_per_100k_month": 1.0},
}
SHAPE = cost.Shape(
    environment_class="mw1.small",
    min_workers=2,  # one more than the environment includes
    nat_gateways=1,
    interface_endpoint_azs=0,
    kms_keys=1,
    secrets=1,
    alarms=10,
    dashboards=1,
    functions={"ingestion_function": (1024, "arm64"), "transform_function": (1024, "arm64")},
    log_retention_days=30,
    raw_expiry_days=365,
    opensky_tier="standard",
)
NOTHING = {"objects": 0, "bytes": 0}
WORKLOAD = {
    "measured": {"on": "2026-11-28", "command": "by hand"},
    "lambda": {
        name: {"mean_duration_ms": 1000.0, "mean_init_ms": 500.0, "mean_log_bytes": 0}
        for name in ("ingestion_function", "transform_function")
    },
    "s3_per_snapshot": {
        "raw": {"objects": 1, "bytes": 1024**3 / 1000},  # 1,000 snapshots a day: 1 GiB a day
        "processed": NOTHING,
        "commits": NOTHING,
        "quarantine": NOTHING,
    },
    "s3_per_compacted_snapshot": {"curated": NOTHING},
    "s3_per_day": {"reports": NOTHING},
    # measured over 1,000 snapshots; an hour of the plan holds 1000 / 24 of them
    "athena": {
        "snapshots": 1000,
        "bytes_scanned_per_query": {"compaction": [24 * MB, 24 * TB], "report": []},
        "result_bytes": {},
    },
    "airflow_task_log_bytes_per_minutely_run": 0,
    "custom_metrics": 0,
}
ASSUMED = cost.Assumptions(
    nat_gb_per_month=10,
    mwaa_component_logs_gb_per_month=0,
    flow_logs_gb_per_month=0,
    metadata_db_gb=1,
    cold_start_share=0,
)


def test_the_sums_match_a_hand_worked_month():
    estimate = cost.estimate(SHAPE, WORKLOAD, cost.Prices(HAND_PRICES), month=1, minutes=1000, assume=ASSUMED)
    lines = {(line.component, line.item): line.usd for line in estimate.lines}

    invocations = 1000 * D  # a month of minutes, one snapshot each
    assert lines[("MWAA", "mw1.small environment")] == pytest.approx(730 * 1.0)
    assert lines[("MWAA", "always-on extra workers")] == pytest.approx(730 * 0.5)
    # 1 GB of memory for 1 s is 1 GB-s per invocation
    assert lines[("Lambda", "ingestion: 1024 MB × 1000 ms (arm64)")] == pytest.approx(invocations * 1e-5)
    assert lines[("Lambda", "ingestion: requests")] == pytest.approx(invocations / 1e6)
    # raw/ at the end of month 1 (30.4 days old): 30 days in Standard, the rest in IA
    assert lines[("S3", "raw/ in standard")] == pytest.approx(30 * 0.02)
    assert lines[("S3", "raw/ in standard ia")] == pytest.approx((D - 30) * 0.01)
    assert lines[("S3", "PUT requests")] == pytest.approx(invocations * 0.005 / 1000)
    assert lines[("S3", "lifecycle transitions")] == pytest.approx(invocations * 0.01 / 1000)
    # two queries an hour: 1 MiB is billed as the 10 MiB minimum, then 1 TiB
    assert lines[("Athena", "compaction (2 queries a run)")] == pytest.approx(24 * D * (10 * MB + TB) / TB * 5)
    assert lines[("VPC", "NAT gateway hours")] == pytest.approx(730 * 0.05)
    assert lines[("VPC", "NAT gateway data (assumed)")] == pytest.approx(10 * 0.05)
    assert lines[("CloudWatch", "PutMetricData requests")] == pytest.approx((1000 + 24 + 1) * D * 0.01 / 1000)

    by_hand = (
        730 * 1.0 + 730 * 0.5 + 1 * 0.1  # MWAA
        + 2 * (invocations * 1e-5 + invocations / 1e6)  # Lambda
        + 30 * 0.02 + (D - 30) * 0.01 + invocations * (0.005 + 0.01) / 1000  # S3
        + 24 * D * (10 * MB + TB) / TB * 5  # Athena
        + 730 * 0.05 + 10 * 0.05  # NAT
        + 1.0 + 0.4  # KMS key, secret
        + 10 * 0.1 + 3.0 + (1000 + 24 + 1) * D * 0.01 / 1000  # alarms, dashboard, PutMetricData
    )  # fmt: skip
    assert estimate.total == pytest.approx(by_hand)


def test_storage_ages_through_the_lifecycle():
    prices = cost.Prices(HAND_PRICES)
    year = cost.estimate(SHAPE, WORKLOAD, prices, month=12, minutes=1000, assume=ASSUMED)
    lines = {(line.component, line.item): line.usd for line in year.lines}

    assert lines[("S3", "raw/ in standard")] == pytest.approx(30 * 0.02)
    assert lines[("S3", "raw/ in standard ia")] == pytest.approx(60 * 0.01)
    assert lines[("S3", "raw/ in glacier flexible")] == pytest.approx((365 - 90) * 0.004)
    # past 90 days, each object is moved twice
    assert lines[("S3", "lifecycle transitions")] == pytest.approx(1000 * D * (0.01 + 0.02) / 1000)


def test_a_missing_price_names_itself_and_the_override():
    prices = cost.Prices(HAND_PRICES)
    with pytest.raises(KeyError, match=r"mwaa\.environment_hour\.mw1\.medium.*--prices"):
        cost.estimate(
            cost.Shape(**{**SHAPE.__dict__, "environment_class": "mw1.medium"}), WORKLOAD, prices, minutes=1000
        )


def test_the_plan_sets_how_many_snapshots_a_day():
    # a standard account fetches the globe on (4,000 - the 100 reserve) / 4 minutes; a licensed one every minute
    assert cost.fetched_minutes_per_day("standard") == 975
    assert cost.fetched_minutes_per_day("licensed") == 1440


def run_cost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flightdata.cli", "cost", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_prints_a_table_and_a_last_line_of_json(tmp_path):
    done = run_cost("--mwaa-class", "mw1.small")

    assert done.returncode == 0, done.stderr
    *table, last = done.stdout.strip().splitlines()
    summary = json.loads(last)
    small = summary["classes"]["mw1.small"]
    assert small["monthly_usd"]["1"] < small["monthly_usd"]["12"]  # the lake grows
    assert small["by_component"]["1"]["MWAA"] == pytest.approx(0.49 * 730 + 0.10, abs=0.01)
    assert small["budget_usd"] >= small["monthly_usd"]["12"] * 1.2
    assert small["snapshots_per_day"] == 975
    text = "\n".join(table)
    for component in ("MWAA", "Lambda", "S3", "Athena", "VPC", "KMS", "CloudWatch", "Secrets Manager"):
        assert f"\n{component} " in text
    assert "transcribed 2026-11-28" in text

    # WHEN mw1.micro is asked for, THEN it is named as unpriced, until a price file gives one
    done = run_cost("--mwaa-class", "mw1.micro")
    assert json.loads(done.stdout.strip().splitlines()[-1])["classes"]["mw1.micro"] is None
    assert "no price" in done.stdout
    override = tmp_path / "prices.json"
    override.write_text(json.dumps({"mwaa": {"environment_hour": {"mw1.micro": 0.25}}}))
    done = run_cost("--mwaa-class", "mw1.micro", "--prices", str(override))
    micro = json.loads(done.stdout.strip().splitlines()[-1])["classes"]["mw1.micro"]
    assert micro["by_component"]["1"]["MWAA"] == pytest.approx(0.25 * 730 + 0.10, abs=0.01)


def test_a_bad_price_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "prices.json"
    broken.write_text("{not json")
    done = run_cost("--mwaa-class", "mw1.small", "--prices", str(broken))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: the prices file {broken} is not JSON")


def test_the_stacks_budget_is_its_own_estimate_plus_a_margin(synthesised):
    stack, template = synthesised["stack"], synthesised["template"]
    (budget,) = [r for r in template.to_json()["Resources"].values() if r["Type"] == "AWS::Budgets::Budget"]

    year = cost.estimate(shape_of(stack), cost.load_workload(), cost.Prices.load(), month=12)
    amount = budget["Properties"]["Budget"]["BudgetLimit"]["Amount"]
    assert amount == cost.budget_usd(year)
    assert amount > 0.49 * 730  # more than the MWAA environment alone; the old default was 100


def test_the_shape_counts_what_the_template_creates(synthesised):
    shape = shape_of(synthesised["stack"])
    resources = synthesised["template"].to_json()["Resources"].values()

    def count(kind: str) -> int:
        return sum(r["Type"] == kind for r in resources)

    assert shape.alarms == count("AWS::CloudWatch::Alarm")
    assert shape.dashboards == count("AWS::CloudWatch::Dashboard") == 1
    assert shape.nat_gateways == count("AWS::EC2::NatGateway") == 1
    assert shape.kms_keys == count("AWS::KMS::Key")
    assert shape.secrets == count("AWS::SecretsManager::Secret")
    assert shape.environment_class == "mw1.small"
    assert shape.functions["transform_function"] == (1024, "arm64")


def test_mw1_micro_is_warned_about_for_airflow_3(tmp_path):
    import importlib.util
    from pathlib import Path

    from aws_cdk.assertions import Annotations, Match

    spec = importlib.util.spec_from_file_location("cdk_app", Path(__file__).parents[2] / "infra" / "aws" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    placeholder = tmp_path / "lambda.zip"
    placeholder.write_bytes(b"")
    context = {"mwaa_environment_class": "mw1.micro", "lambda_zip": str(placeholder), "monthly_budget_usd": 500}
    _, stack = module.build_app(tmp_path / "cdk.out", context=context)

    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("mw1.micro is documented for Apache Airflow v2")
    )
