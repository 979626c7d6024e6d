"""The daily report page in a real browser (the system's headless Chromium): simulated hours
replayed into the local lake, flights segmented, every report query run, the page rendered
as the daily DAG renders it, then opened from disk with no network.

The screenshot goes to build/screenshots/daily-report.png (CI keeps it as an artefact).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from flightdata import reporting
from flightdata.resources import Resources
from flightdata_local import replay, segment
from flightdata_local.provision import provision
from opensky_sim import Fleet, TrafficShape
from tests.browser.conftest import SHOTS

REGION = "eu-west-1"
DAY = datetime(2026, 4, 7, tzinfo=UTC)
HOURS = 2


@pytest.fixture(scope="module")
def report(tmp_path_factory, local_aws):
    """The report page of a day with two simulated hours of 2,000 aircraft, and one of an
    empty day, on the session's endpoint under a prefix of its own."""
    names = Resources("flightdata-report")
    folder = tmp_path_factory.mktemp("report")
    provision(local_aws.url, names, None, REGION, local_aws.app.key)
    fleet = Fleet(3, TrafficShape(aircraft=2_000))
    s3, glue = local_aws.client("s3"), local_aws.client("glue")
    # the minutes as the transform Lambda writes them, and the hours as compaction would
    minutes = [DAY + timedelta(minutes=m) for m in range(HOURS * 60)]
    replay.write_minutes(s3, glue, names, fleet, minutes)
    replay.write_hours(s3, glue, names, fleet, DAY, HOURS)
    segment.segment_day(local_aws.client, names, DAY)
    results = segment.report_results(local_aws.client, names, DAY)
    empty_day = DAY - timedelta(days=3)
    segment.segment_day(local_aws.client, names, empty_day)
    empty = segment.report_results(local_aws.client, names, empty_day)
    page = folder / "report.html"
    page.write_text(reporting.render_html(f"{DAY:%Y-%m-%d}", results))
    empty_page = folder / "empty.html"
    empty_page.write_text(reporting.render_html(f"{empty_day:%Y-%m-%d}", empty))
    return {"page": page, "empty": empty_page, "results": results}


def test_every_section_of_the_report_renders_with_its_chart_and_rows(browser, report):
    tab = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True).new_page()
    tab.goto(report["page"].as_uri())

    expect(tab.get_by_role("heading", level=1)).to_contain_text("flightdata daily report")
    expect(tab.locator(".headline")).to_contain_text("flights")
    reconciliation = report["results"][reporting.RECONCILIATION].rows
    assert [row["reconciled"] for row in reconciliation] == ["true"] * HOURS
    for name in reporting.REPORT_NAMES:
        section = tab.locator(f"section#{name}")
        expect(section.get_by_role("heading", level=2)).to_have_text(reporting.TITLES[name])
        expect(section.locator(".meta")).to_contain_text("bytes scanned")
        expect(section.locator("svg")).to_be_visible()
        assert report["results"][name].rows, f"{name} found no rows"
        expect(section.locator("details table tr").first).to_be_attached()
    # the map: shaded cells, a graticule and the busiest airports, labelled
    density = tab.locator("section#position_density svg.map")
    assert density.locator("rect.cell").count() > 50
    busiest = report["results"]["busiest_airports"].rows[0]["airport"]
    expect(density.locator("text.airport-label").first).to_have_text(busiest)
    tab.screenshot(path=str(SHOTS / "daily-report.png"), full_page=True)
    tab.locator("section#position_density").screenshot(path=str(SHOTS / "daily-report-map.png"))


def test_an_empty_day_says_so_instead_of_drawing_empty_charts(browser, report):
    tab = browser.new_context(offline=True).new_page()
    tab.goto(report["empty"].as_uri())

    expect(tab.get_by_role("heading", name="No data")).to_be_visible()
    assert tab.locator("section svg").count() == 0
    tab.screenshot(path=str(SHOTS / "daily-report-empty.png"), full_page=True)
