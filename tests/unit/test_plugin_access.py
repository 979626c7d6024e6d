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
    import airflow.api_fastapi.app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    monkeypatch.setattr(airflow_app, "auth_manager", SimpleAuthManager())
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
