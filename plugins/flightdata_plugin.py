"""The flightdata Airflow plugin: the pages at /flightdata in the Airflow UI, and the links
from tasks to what they wrote or ran. The code lives in ``flightdata.orchestration``
(``webapp``, ``links``); ``make bundle`` ships this file and that package as plugins.zip."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from flightdata.orchestration import links, webapp


class FlightdataPlugin(AirflowPlugin):
    name = "flightdata"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": webapp.app, "url_prefix": links.PLUGIN_PREFIX, "name": "flightdata pages"}
    ]
    # Entries under "flightdata" in Airflow's menu, from 3.1 on (3.0 has no menu entries for
    # plugins and ignores this): each page opens inside the Airflow UI.
    external_views: ClassVar[list[dict[str, Any]]] = [
        {**entry, "category": "flightdata", "destination": "nav"} for entry in webapp.MENU
    ]
    # Listed for `airflow plugins`; the operators carry the links themselves (Airflow 3 keeps
    # each link a task computed when it finished).
    operator_extra_links: ClassVar[list[Any]] = [link() for link in links.LINKS]
