"""Who may read what through the plugin's API, decided by Airflow's own auth manager (the
SimpleAuthManager the local stack runs), and the headers every answer carries."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from flightdata.orchestration import overview, webapp


@pytest.fixture
def client(monkeypatch):
    """The plugin's app with Airflow's SimpleAuthManager deciding, and the data readers
    replaced (what they would read is not the point here)."""
    from airflow.api_fastapi.app import create_auth_manager

    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    create_auth_manager()  # what get_auth_manager() answers from now on, on every supported version
    monkeypatch.setattr(webapp.aws, "s3", lambda: None)
    monkeypatch.setattr(webapp.aws, "glue", lambda: None)
    monkeypatch.setattr(webapp.aws, "cloudwatch", lambda: None)
    monkeypatch.setattr(webapp.aws, "names", lambda: None)
    monkeypatch.setattr(overview, "last_day", lambda *args: {"hours": []})
    monkeypatch.setattr(overview, "latest_positions", lambda *args: {"positions": []})
    monkeypatch.setattr(overview, "report_html", lambda s3, names, day: f"<p>{day}</p>")
    yield TestClient(webapp.app)
    webapp.app.dependency_overrides.clear()


def signed_in_as(role: str | None) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    webapp.app.dependency_overrides[webapp._user] = lambda: SimpleAuthManagerUser(username="someone", role=role)


@pytest.mark.parametrize("path", ["/api/overview", "/api/map", "/api/report/2026-03-01"])
def test_a_signed_in_user_without_a_role_gets_nothing(client, path):
    signed_in_as(None)

    answer = client.get(path)

    assert answer.status_code == 403
    assert "may not read the DAG" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["/api/overview", "/api/map", "/api/report/2026-03-01"])
def test_a_viewer_reads_what_airflow_lets_viewers_read(client, path):
    signed_in_as("viewer")

    assert client.get(path).status_code == 200


def test_signed_out_the_api_answers_401(client):
    assert client.get("/api/overview").status_code == 401


@pytest.mark.parametrize("path", ["/", "/map", "/report/2026-03-01", "/static/pages.js", "/api/overview"])
def test_every_answer_carries_a_content_security_policy_and_refuses_framing_elsewhere(client, path):
    answer = client.get(path)

    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_the_pages_carry_no_inline_script(client):
    page = client.get("/map").text

    assert "<script>" not in page
    assert '<script src="/flightdata/static/pages.js"></script>' in page


def test_the_latest_report_is_the_newest_day_that_has_one():
    import boto3
    from moto import mock_aws

    from flightdata.resources import Resources

    names = Resources("fd-test")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=names.lake_bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        with pytest.raises(KeyError, match="no report yet"):
            overview.report_day(s3, names, overview.LATEST)
        for day in ("2026-11-30", "2026-12-02", "2026-12-01"):
            key = f"reports/date={day}/report.html"
            s3.put_object(Bucket=names.lake_bucket, Key=key, Body=f"<p>{day}</p>".encode())

        assert overview.report_day(s3, names, overview.LATEST) == "2026-12-02"
        assert overview.report_html(s3, names, overview.report_day(s3, names, "2026-12-01")) == "<p>2026-12-01</p>"
        with pytest.raises(ValueError, match="does not match format"):
            overview.report_day(s3, names, "../etc/passwd")


def test_the_menu_names_pages_the_app_serves():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "plugins" / "flightdata_plugin.py"
    spec = importlib.util.spec_from_file_location("flightdata_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    FlightdataPlugin = module.FlightdataPlugin

    served = {route.path for route in webapp.app.routes}
    for entry in FlightdataPlugin.external_views:
        assert entry["category"] == "flightdata"
        assert entry["destination"] == "nav"
        path = entry["href"].removeprefix(webapp.PLUGIN_PREFIX)
        assert path in served or path.replace(overview.LATEST, "{day}") in served, path
    names = [entry["name"] for entry in FlightdataPlugin.external_views]
    assert names == ["flightdata", "Overview", "Map", "Latest report"]
    assert [entry.get("nav_top_level", False) for entry in FlightdataPlugin.external_views] == [True] + [False] * 3
