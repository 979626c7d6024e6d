"""The flightdata plugin's pages in the Airflow UI, a FastAPI app the API server mounts at
``/flightdata`` (``plugins/flightdata_plugin.py``).

Each page is a small HTML shell with no data in it; its script asks ``/flightdata/api/...``
for the data with the Airflow UI's own token (the one the UI keeps after you sign in), and
those endpoints check it with Airflow's auth manager, as the REST API does: signed in, and
allowed by Airflow's own permissions to read the DAGs whose data the view shows. Signed
out, a page shows only a link to sign in; without the permission, nothing. Every answer
carries a Content-Security-Policy (scripts from this app only: the pages' one script is a
static file) and ``X-Frame-Options: SAMEORIGIN``. Data is read through the ``aws_default`` connection
(``flightdata.orchestration.overview``), so the pages work on MWAA and on the local stack.
The lake and query views serve the local stack only; on AWS the links open the console.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import get_user  # the API server's own
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from flightdata.orchestration import aws, overview
from flightdata.orchestration.dag_defaults import COMPACTION_DAG, REPORT_DAG, STATE_VECTORS_DAG
from flightdata.orchestration.links import PLUGIN_PREFIX, destinations

# One HTML shell for every page; its script fetches and renders the page's data.
_SHELL = (Path(__file__).with_name("pages.html")).read_text()
_SCRIPT = (Path(__file__).with_name("pages.js")).read_text()
# The report arrives as an HTML page shown in a sandboxed srcdoc frame: inline styles and SVG.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The pages in Airflow's menu (3.1 and later; ``plugins/flightdata_plugin.py``), each shown
# inside the Airflow UI: the overview as "flightdata" in the side bar, one click from the home
# page, and every page under Plugins > flightdata. The lake and query pages show one object or
# query that a task link names, on the local stack only; they have no place in the menu.
MENU = [
    {"name": "flightdata", "href": f"{PLUGIN_PREFIX}/", "url_route": "flightdata", "nav_top_level": True},
    {"name": "Overview", "href": f"{PLUGIN_PREFIX}/", "url_route": "flightdata-overview"},
    {"name": "Map", "href": f"{PLUGIN_PREFIX}/map", "url_route": "flightdata-map"},
    {"name": "Latest report", "href": f"{PLUGIN_PREFIX}/report/{overview.LATEST}", "url_route": "flightdata-report"},
]
# The DAGs whose data each view shows: a user must be allowed to read them all.
PAGES = {
    "overview": "Overview: the last 24 hours",
    "map": "Map: the latest snapshot",
    "report": "Daily report",
    "lake": "Lake objects",
    "query": "Athena query",
}


async def _user(user: Annotated[Any, Depends(get_user)]) -> Any:
    """The signed-in Airflow user, as the API server's own routes resolve it (a bearer token on
    every supported version; 3.1 and later also read the UI's token cookie); 401 or 403 otherwise."""
    return user


User = Annotated[Any, Depends(_user)]
app = FastAPI(title="flightdata", docs_url=None, redoc_url=None, openapi_url=None)


@app.middleware("http")
async def _security_headers(request: Request, call_next: Any) -> Any:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def authorize(user: Any, *dag_ids: str) -> None:
    """403 unless Airflow's auth manager lets ``user`` read every one of ``dag_ids``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    manager = get_auth_manager()
    for dag_id in dag_ids:
        if not manager.is_authorized_dag(method="GET", user=user, details=DagDetails(id=dag_id)):
            raise HTTPException(403, f"you may not read the DAG {dag_id}, whose data this view shows")


def _page(kind: str, argument: str = "") -> HTMLResponse:
    title = PAGES[kind]
    body = (
        _SHELL.replace("__TITLE__", html.escape(title))
        .replace("__KIND__", kind)
        .replace("__ARGUMENT__", html.escape(argument, quote=True))
        .replace("__PREFIX__", PLUGIN_PREFIX)
    )
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@app.get("/", response_class=HTMLResponse)
def overview_page() -> HTMLResponse:
    return _page("overview")


@app.get("/map", response_class=HTMLResponse)
def map_page() -> HTMLResponse:
    return _page("map")


@app.get("/report/{day}", response_class=HTMLResponse)
def report_page(day: str) -> HTMLResponse:
    return _page("report", day)


@app.get("/lake", response_class=HTMLResponse)
def lake_page() -> HTMLResponse:
    return _page("lake")


@app.get("/query/{query_id}", response_class=HTMLResponse)
def query_page(query_id: str) -> HTMLResponse:
    return _page("query", query_id)


# --- data, for signed-in users only --------------------------------------------------------
@app.get("/static/pages.js")
def pages_script() -> Response:
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})


@app.get("/api/overview")
def overview_data(user: User) -> dict[str, Any]:
    authorize(user, STATE_VECTORS_DAG, COMPACTION_DAG, REPORT_DAG)
    return overview.last_day(aws.s3(), aws.glue(), aws.cloudwatch(), aws.names())


@app.get("/api/map")
def map_data(user: User) -> dict[str, Any]:
    authorize(user, STATE_VECTORS_DAG)
    return overview.latest_positions(aws.s3(), aws.names())


@app.get("/api/report/{day}")
def report_data(day: str, user: User) -> dict[str, str]:
    authorize(user, REPORT_DAG)
    s3, names = aws.s3(), aws.names()
    try:
        day = overview.report_day(s3, names, day)
        return {"day": day, "html": overview.report_html(s3, names, day)}
    except ValueError:
        raise HTTPException(400, f"{day!r} is not a day (YYYY-MM-DD)") from None
    except KeyError as missing:
        raise HTTPException(404, str(missing.args[0])) from None


def _local_only() -> None:
    if not destinations().serves_lake_views:
        raise HTTPException(404, "this view serves the local stack; on AWS the task links open the AWS console")


@app.get("/api/lake")
def lake_data(
    user: User, key: Annotated[list[str] | None, Query()] = None, prefix: str | None = None
) -> dict[str, Any]:
    authorize(user, STATE_VECTORS_DAG)
    _local_only()
    if not key and prefix is None:
        raise HTTPException(400, "give key=... (one or more) or prefix=...")
    return overview.lake_objects(aws.s3(), aws.names(), key or [], prefix)


@app.get("/api/query/{query_id}")
def query_data(query_id: str, user: User) -> dict[str, Any]:
    authorize(user, COMPACTION_DAG, REPORT_DAG)  # the DAGs that run Athena queries
    _local_only()
    client = aws.athena().get_conn()
    try:
        return overview.query(client, query_id)
    except client.exceptions.InvalidRequestException as exc:
        raise HTTPException(404, exc.response["Error"].get("Message", "no such query")) from None


@app.get("/api/health")
def health() -> dict[str, str]:
    """Unauthenticated, and says nothing but that the app is mounted."""
    return {"status": "ok", "time": datetime.now().astimezone().isoformat(timespec="seconds")}
