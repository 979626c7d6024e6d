"""The Airflow UI and the flightdata pages in a real browser (the system's headless Chromium,
driven by Playwright), against the session's shared stack, which is ``make up``'s: the local
endpoint, the simulator and Airflow's components. Written against roles and labels, not
generated CSS classes.

Screenshots go to build/screenshots/ (CI keeps them as artefacts).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
import requests
from playwright.sync_api import expect

from flightdata.orchestration import compat
from tests.browser.conftest import SHOTS

ALPS = '[{"name": "alps", "bbox": {"lamin": 45.8, "lomin": 5.9, "lamax": 47.8, "lomax": 10.5}}]'
DESCRIPTIONS = {
    "opensky_state_vectors": "Every minute: OpenSky state vectors to the lake",
    "opensky_compaction": "Every hour: the previous hour's committed minutes compacted",
    "opensky_daily_report": "Every day: flights segmented in Athena, then the report queries",
}


@pytest.fixture(scope="module")
def ui(shared_stack):
    api = shared_stack.api
    # Today's report runs while the pages are visited; test_every_extra_link waits for it.
    day = f"{datetime.now(UTC):%Y-%m-%d}"
    report = {"day": day, "run_id": api.trigger("opensky_daily_report", conf={"day": day})}
    return {"url": api.url, "password": api.password, "api": api, "stack": shared_stack.stack, "report": report}


def wait_for_run(ui, dag_id: str, run_id: str, timeout_s: float = 240) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = ui["api"].dag_run(dag_id, run_id).state
        if state in ("success", "failed"):
            return state
        time.sleep(1)
    raise AssertionError(f"{dag_id} run {run_id} did not finish within {timeout_s} s")


@pytest.fixture(scope="module")
def page(browser, ui):
    """A tab signed in through Airflow's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui["url"])
    tab = context.new_page()
    tab.goto(ui["url"] + "/")
    tab.get_by_label("Username").fill("admin")
    tab.get_by_label("Password").fill(ui["password"])
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(ui["url"] + "/")
    yield tab
    context.close()


def shot(tab, name: str) -> None:
    tab.wait_for_load_state("networkidle")
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def triggered(ui, page):
    """opensky_state_vectors triggered through its form, for one custom region."""
    page.goto(f"{ui['url']}/dags/opensky_state_vectors")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text('"global"').first.click()  # into the regions param's JSON editor, by its default
    page.keyboard.press("Control+A")
    # pasted, not typed: Airflow 3.3's editor closes brackets and quotes as they are typed
    page.evaluate("text => navigator.clipboard.writeText(text)", ALPS)
    page.keyboard.press("Control+V")
    shot(page, "trigger-form")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url("**/dags/opensky_state_vectors/runs/manual__*")
    run_id = page.url.rsplit("/runs/", 1)[1].split("/", 1)[0]
    return {"run_id": run_id, "state": wait_for_run(ui, "opensky_state_vectors", run_id)}


@pytest.fixture(scope="module")
def report_run(ui):
    """opensky_daily_report for today, triggered through the REST API when the module began."""
    report = ui["report"]
    return {**report, "state": wait_for_run(ui, "opensky_daily_report", report["run_id"], timeout_s=600)}


def test_signed_in_the_dags_are_listed_with_their_descriptions(ui, page):
    page.goto(f"{ui['url']}/dags")
    for dag_id in DESCRIPTIONS:
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
    shot(page, "dags")
    for dag_id, words in DESCRIPTIONS.items():
        page.goto(f"{ui['url']}/dags/{dag_id}/details")
        expect(page.get_by_role("row", name=re.compile(r"^Description"))).to_contain_text(words)
    # the docs render as prose: inline code stays inside its sentence
    page.get_by_role("button", name="Dag Docs").click()
    docs = page.get_by_role("dialog")
    expect(docs).to_contain_text("segment_flights turns the day's curated state vectors into the flights table")
    shot(page, "dag-docs")
    # Airflow 3.0's Docs dialog shows inline code as blocks that cut the sentence; the docs
    # name things in italics instead
    displays = docs.locator("code").evaluate_all("codes => codes.map(c => getComputedStyle(c).display)")
    assert "block" not in displays, displays
    assert docs.locator("em").count() > 0
    page.keyboard.press("Escape")


def test_a_run_for_a_custom_region_triggered_through_the_form_succeeds(ui, page, triggered):
    assert triggered["state"] == "success"
    run = f"{ui['url']}/dags/opensky_state_vectors/runs/{triggered['run_id']}"
    page.goto(run)
    # the mapped tasks are labelled by region, not by index
    expect(page.get_by_role("cell", name="alps", exact=True)).to_have_count(2)  # ingest, transform
    page.get_by_role("button", name="Show Graph").click()
    page.goto(f"{run}/tasks/transform/mapped/0")
    expect(page.get_by_text("transform [alps]")).to_be_visible()
    shot(page, "run-graph")
    page.get_by_role("button", name="Show Grid").click()


def test_the_transform_log_has_its_summary_line(ui, page, triggered):
    page.goto(f"{ui['url']}/dags/opensky_state_vectors/runs/{triggered['run_id']}/tasks/transform/mapped/0")
    summary = page.get_by_text("region=alps records=")
    expect(summary).to_have_count(1)
    expect(summary).to_contain_text("quality=")
    wrap = page.get_by_role("button", name="Wrap")  # Airflow 3.0; 3.3 wraps long lines itself
    if wrap.count():
        wrap.click()
    shot(page, "transform-log")


def follow(ui, page, dag_id: str, run_id: str, task: str, link: str) -> None:
    """Open a task's Details, follow its extra link, and wait for the page to load its data."""
    page.goto(f"{ui['url']}/dags/{dag_id}/runs/{run_id}/tasks/{task}/details")
    href = page.get_by_role("link", name=link, exact=True).get_attribute("href")
    assert href, f"{task} has no {link!r} link"
    page.goto(urljoin(ui["url"] + "/", href))
    content = page.get_by_role("region")
    # (Playwright's own locators: the pages' Content-Security-Policy refuses a string to eval)
    expect(content).to_have_attribute("aria-busy", "false")
    assert "Could not load" not in content.inner_text()
    assert "Sign in" not in content.inner_text()


def csp_violations(page) -> list[str]:
    """What the browser reports the pages' Content-Security-Policy refused, from now on."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def test_every_extra_link_opens_a_page_that_loads(ui, page, triggered, report_run):
    flights, report = triggered["run_id"], report_run["run_id"]
    refused = csp_violations(page)

    follow(ui, page, "opensky_state_vectors", flights, "ingest/mapped/0", "Raw snapshot")
    assert page.get_by_role("cell", name="_alps.json.gz").count() == 1

    follow(ui, page, "opensky_state_vectors", flights, "transform/mapped/0", "Objects written")
    for prefix in ("processed/", "quarantine/", "commits/"):
        assert page.get_by_role("cell").filter(has_text=prefix).count() >= 1
    shot(page, "lake-objects")

    follow(ui, page, "opensky_state_vectors", flights, "publish_quality_metrics", "Quality dashboard")
    assert page.get_by_role("heading", name="Overview: the last 24 hours").is_visible()

    assert report_run["state"] == "success"
    follow(ui, page, "opensky_daily_report", report, "query_aircraft_by_country", "Athena query")
    assert page.get_by_text("State: SUCCEEDED").is_visible()
    assert "origin_country" in page.get_by_role("region").inner_text()  # the report query's SQL
    shot(page, "athena-query")

    follow(ui, page, "opensky_daily_report", report, "publish_report", "Report")
    frame = page.frame_locator(f"iframe[title='Report {report_run['day']}']")
    frame.locator("body").wait_for()
    assert report_run["day"] in frame.locator("body").inner_text()
    shot(page, "report")
    assert refused == []  # the lake, query and report pages ran under their policy untouched


def test_the_overview_and_the_map_show_the_lake(ui, page, triggered):
    page.goto(f"{ui['url']}/flightdata/")
    table = page.get_by_role("table")
    table.wait_for()
    hour = f"{datetime.now(UTC):%Y-%m-%dT%H}:00Z"
    assert page.get_by_role("row").filter(has_text=hour).count() == 1
    assert "OpenSky credits left: " in page.get_by_role("region").inner_text()
    shot(page, "overview")

    page.goto(f"{ui['url']}/flightdata/map")
    canvas = page.get_by_role("img", name="Map of")
    canvas.wait_for()
    assert int(canvas.get_attribute("aria-label").split()[2]) > 0
    shot(page, "map")


@pytest.mark.skipif(not compat.plugins_have_menu_entries(), reason="Airflow 3.0 has no menu entries for plugins")
def test_one_click_from_the_home_page_opens_the_overview_inside_airflow(ui, page, triggered):
    page.goto(ui["url"] + "/")
    page.get_by_role("link", name="flightdata", exact=True).click()  # in the side bar
    page.wait_for_url("**/plugin/flightdata")
    overview = page.frame_locator("iframe").first  # the page, inside the Airflow UI
    hour = f"{datetime.now(UTC):%Y-%m-%dT%H}:00Z"
    expect(overview.get_by_role("row").filter(has_text=hour)).to_have_count(1)
    expect(overview.get_by_role("region")).to_contain_text("OpenSky credits left: ")
    page.screenshot(path=str(SHOTS / "menu-overview.png"))
    # the other pages, under Plugins > flightdata
    page.get_by_role("button", name="Plugins").click()
    page.get_by_role("menuitem", name="flightdata").hover()
    expect(page.get_by_role("menuitem", name="Map")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Latest report")).to_be_visible()
    page.keyboard.press("Escape")


def test_signed_out_the_pages_give_nothing_away(ui, browser):
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{ui['url']}/flightdata/")
    expect(tab.get_by_role("region")).to_have_attribute("aria-busy", "false")
    assert "Sign in to Airflow first" in tab.get_by_role("region").inner_text()
    assert requests.get(f"{ui['url']}/flightdata/api/overview", timeout=10).status_code == 401
    context.close()
