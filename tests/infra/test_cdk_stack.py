"""What matters in the synthesised CloudFormation: encryption, arm64 functions, dead letters,
least privilege, alarms, MWAA, and clean cdk-nag and cfn-lint reports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from flightdata import catalog, resources
from flightdata.reporting import REPORT_NAMES
from flightdata.resources import FUNCTIONS, Resources
from flightdata_cdk.nag import SUPPRESSIONS
from flightdata_cdk.versions import DEFAULT_AIRFLOW_VERSION

NAMES = Resources("flightdata-dev")
ROOT = Path(__file__).parents[2]


def of_type(template, kind: str) -> dict:
    return template.find_resources(kind)


def policy_statements(template, role_prefix: str) -> list[dict]:
    statements = []
    for logical_id, policy in of_type(template, "AWS::IAM::Policy").items():
        if logical_id.startswith(role_prefix):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_functions_are_arm64_python312_traced_with_dead_letters(synthesised):
    template = synthesised["template"]
    functions = of_type(template, "AWS::Lambda::Function")

    ours = {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in functions.values()
        if f["Properties"].get("FunctionName", "").startswith(NAMES.prefix)
    }
    assert set(ours) == {NAMES.ingestion_function, NAMES.transform_function}
    queue_id = next(iter(of_type(template, "AWS::SQS::Queue")))
    for spec in FUNCTIONS:
        props = ours[getattr(NAMES, spec.name_attr)]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == spec.handler
        assert props["Timeout"] == spec.timeout_s
        assert props["ReservedConcurrentExecutions"] == spec.reserved_concurrency
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_every_bucket_is_encrypted_private_and_tls_only(synthesised):
    template = synthesised["template"]
    buckets = of_type(template, "AWS::S3::Bucket")

    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
    mwaa_bucket = next(b for b in buckets.values() if b["Properties"].get("BucketName") == f"{NAMES.prefix}-mwaa")
    assert mwaa_bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    lake = next(b for b in buckets.values() if b["Properties"].get("BucketName") == NAMES.lake_bucket)
    algorithm = lake["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert algorithm["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"] for p in of_type(template, "AWS::S3::BucketPolicy").values()
    ]
    assert len(policies) == len(buckets)
    for statements in policies:
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_raw_data_is_tiered_and_athena_results_expire(synthesised):
    buckets = of_type(synthesised["template"], "AWS::S3::Bucket").values()
    lake = next(b for b in buckets if b["Properties"].get("BucketName") == NAMES.lake_bucket)
    results = next(b for b in buckets if b["Properties"].get("BucketName") == NAMES.athena_results_bucket)

    raw = next(r for r in lake["Properties"]["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "raw/")
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in raw["Transitions"]] == [
        ("STANDARD_IA", 30),
        ("GLACIER", 90),
    ]
    assert raw["ExpirationInDays"] == 365
    assert {r["ExpirationInDays"] for r in results["Properties"]["LifecycleConfiguration"]["Rules"]} == {7}


def test_key_rotates_and_encrypts_queue_secret_and_logs(synthesised):
    template = synthesised["template"]
    (key_id,) = of_type(template, "AWS::KMS::Key")

    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    template.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    for group in of_type(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_only_the_ingestion_function_reads_the_secret(synthesised):
    template = synthesised["template"]
    (secret_id,) = of_type(template, "AWS::SecretsManager::Secret")
    readers = [
        logical_id
        for logical_id, policy in of_type(template, "AWS::IAM::Policy").items()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in as_list(s["Action"]) and s["Resource"] == {"Ref": secret_id}
    ]
    assert len(readers) == 1
    assert readers[0].startswith("Functionsingestionfunction")


def test_mwaa_role_reaches_only_this_projects_resources(synthesised):
    statements = policy_statements(synthesised["template"], "AirflowExecutionRole")
    by_action = {a: s for s in statements for a in as_list(s["Action"])}

    invoke = by_action["lambda:InvokeFunction"]["Resource"]
    assert len(invoke) == 2
    assert all("GetAtt" in json.dumps(r) for r in invoke)
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": NAMES.metrics_namespace}
    }
    athena = json.dumps(by_action["athena:StartQueryExecution"]["Resource"])
    assert f"workgroup/{NAMES.workgroup}" in athena
    glue = json.dumps(by_action["glue:CreatePartition"]["Resource"])
    assert f"table/{NAMES.glue_database}/*" in glue
    assert "database/*" not in glue
    lake_objects = json.dumps(by_action["s3:PutObject"]["Resource"])
    for prefix in (resources.PROCESSED, resources.QUARANTINE, resources.CURATED, resources.FLIGHTS, resources.REPORTS):
        assert f"/{prefix}/*" in lake_objects
    assert f"/{resources.RAW}/*" not in lake_objects
    star = [s for s in statements if s["Resource"] == "*"]
    assert {a for s in star for a in as_list(s["Action"])} == {
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricStatistics",  # the plugin's overview page
        "cloudwatch:ListMetrics",
        "logs:DescribeLogGroups",
        "s3:GetAccountPublicAccessBlock",
    }
    # raw/ may be read (the plugin's map), never written
    raw_reads = [s for s in statements if f"/{resources.RAW}/*" in json.dumps(s["Resource"])]
    assert [as_list(s["Action"]) for s in raw_reads] == [["s3:GetObject"]]
    # the reference tables are read (flights, the report), never written
    reference = [s for s in statements if f"/{resources.REFERENCE}/*" in json.dumps(s["Resource"])]
    assert [as_list(s["Action"]) for s in reference] == [["s3:GetObject"]]


def test_alarms_notify_the_topic(synthesised):
    template = synthesised["template"]
    (topic_id,) = of_type(template, "AWS::SNS::Topic")
    alarms = of_type(template, "AWS::CloudWatch::Alarm")

    assert len(alarms) == 7 + len(FUNCTIONS)
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}], logical_id
    quality = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "QualityScore")
    assert quality["Properties"]["Threshold"] == 95
    # whatever regions the DAG runs, the data alarms read the series over all of them, in
    # this deployment's own namespace
    for name in ("QualityScore", "Records", "ProjectedCreditsAtRefill", "HoursNotReconciled", "DeadlineMissed"):
        alarm = next(a for a in alarms.values() if a["Properties"].get("MetricName") == name)["Properties"]
        assert "Dimensions" not in alarm, name
        assert alarm["Namespace"] == f"FlightData/{NAMES.prefix}", name
    reconciled = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "HoursNotReconciled")
    assert reconciled["Properties"]["Threshold"] == 0
    assert reconciled["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    # any freshness deadline missed, by any DAG (the callback publishes the series over all DAGs too)
    late = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "DeadlineMissed")["Properties"]
    assert (late["Statistic"], late["Period"], late["Threshold"]) == ("Sum", 300, 0)
    running_out = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "ProjectedCreditsAtRefill")
    assert running_out["Properties"]["Threshold"] == 100
    blocked = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "OpenSkyBlocked")
    assert blocked["Properties"]["EvaluationPeriods"] == blocked["Properties"]["DatapointsToAlarm"] == 5
    assert blocked["Properties"]["Dimensions"] == [{"Name": "service", "Value": NAMES.ingestion_function}]
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})


def test_mwaa_runs_the_newest_supported_airflow_privately_with_every_log(synthesised):
    template = synthesised["template"]
    (env,) = of_type(template, "AWS::MWAA::Environment").values()
    props = env["Properties"]

    assert props["AirflowVersion"] == DEFAULT_AIRFLOW_VERSION == "3.3.1"
    assert props["EnvironmentClass"] == "mw1.small"  # the smallest class documented for Airflow 3
    assert props["WebserverAccessMode"] == "PRIVATE_ONLY"
    assert props["AirflowConfigurationOptions"]["flightdata.prefix"] == NAMES.prefix
    assert props["AirflowConfigurationOptions"]["flightdata.mwaa_environment"] == props["Name"]
    # the minutely DAG paces OpenSky credits for a standard account unless told otherwise
    assert props["AirflowConfigurationOptions"]["flightdata.opensky_tier"] == "standard"
    logging = props["LoggingConfiguration"]
    assert len(logging) == 5
    assert all(component["Enabled"] for component in logging.values())
    assert props["RequirementsS3Path"] == "requirements.txt"
    assert props["StartupScriptS3Path"] == "startup.sh"
    assert len(props["NetworkConfiguration"]["SubnetIds"]) == 2


def test_glue_tables_come_from_the_one_schema(synthesised):
    tables = of_type(synthesised["template"], "AWS::Glue::Table").values()
    by_name = {t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"] for t in tables}

    assert set(by_name) == set(NAMES.tables.values())
    for kind, name in NAMES.tables.items():
        expected = catalog.table_input(NAMES, kind)["StorageDescriptor"]["Columns"]
        assert by_name[name]["StorageDescriptor"]["Columns"] == expected


def test_athena_workgroup_enforces_results_encryption_and_a_scan_cutoff(synthesised):
    synthesised["template"].has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": NAMES.workgroup,
            "WorkGroupConfiguration": Match.object_like(
                {
                    "EnforceWorkGroupConfiguration": True,
                    "BytesScannedCutoffPerQuery": 10 * 1024**3,
                    "ResultConfiguration": Match.object_like(
                        {"EncryptionConfiguration": Match.object_like({"EncryptionOption": "SSE_KMS"})}
                    ),
                }
            ),
        },
    )
    queries = of_type(synthesised["template"], "AWS::Athena::NamedQuery").values()
    assert len(queries) == len(REPORT_NAMES)
    assert all("{{" not in q["Properties"]["QueryString"] for q in queries)


def test_cdk_nag_finds_no_unsuppressed_error(synthesised):
    errors = Annotations.from_stack(synthesised["stack"]).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))

    assert errors == [], "\n".join(str(e.entry.data) for e in errors)
    for path, rules in SUPPRESSIONS.items():
        for rule, reason, _ in rules:
            assert len(reason) > 40, f"the suppression of {rule} on {path} needs a real reason"


def test_cfn_lint_reports_no_error(synthesised):
    templates = sorted(Path(synthesised["outdir"]).glob("*.template.json"))
    linted = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--config-file",
            str(ROOT / "infra" / "aws" / ".cfnlintrc.yaml"),
            *map(str, templates),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert templates
    assert linted.returncode & 2 == 0, linted.stdout  # bit 2: errors; warnings are bit 4
    assert linted.returncode == 0, linted.stdout


def test_resource_counts_per_type(synthesised, capsys):
    counts = Counter(r["Type"] for r in synthesised["template"].to_json()["Resources"].values())

    assert counts["AWS::Lambda::Function"] >= 2
    with capsys.disabled():
        print("\nsynthesised resources:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def test_the_reference_files_are_deployed_into_the_lake(synthesised):
    template = synthesised["template"]
    (deployment,) = of_type(template, "Custom::CDKBucketDeployment").values()

    assert deployment["Properties"]["DestinationBucketKeyPrefix"] == f"{resources.REFERENCE}/"
    tables = {t["Properties"]["TableInput"]["Name"]: t for t in of_type(template, "AWS::Glue::Table").values()}
    for kind in (resources.AIRPORTS, resources.RUNWAYS):
        location = tables[NAMES.tables[kind]]["Properties"]["TableInput"]["StorageDescriptor"]["Location"]
        assert location.endswith(f"/{kind}/")


class _Context:
    def __init__(self, **values):
        self.values = values

    def try_get_context(self, name):
        return self.values.get(name)


def test_the_airflow_version_is_a_context_value_limited_to_the_supported_ones():
    from flightdata_cdk.stack import Settings

    assert Settings.from_context(_Context()).airflow_version == "3.3.1"
    assert Settings.from_context(_Context(airflow_version="3.0.6")).airflow_version == "3.0.6"
    with pytest.raises(ValueError, match="airflow_version='3.2.1': supported are 3.3.1, 3.0.6"):
        Settings.from_context(_Context(airflow_version="3.2.1"))
