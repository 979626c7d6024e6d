"""What differs between the Airflow versions flightdata supports, in one place.

MWAA runs 3.3.1 (the default here) and 3.0.6; the same DAG files, plugin and bundle serve both
(``AIRFLOW_VERSION=3.0.6 make test``). Nothing outside this module asks which version it runs
on: it asks here, by feature, never by version number.

- The DagBag moved to ``airflow.dag_processing.dagbag`` in 3.1, and lost its
  ``include_examples`` argument there (example DAGs are a bundle of their own since).
- Plugins give the UI menu entries (``external_views``) from 3.1 on; 3.0 ignores them, and
  its users reach the pages from the task links or by URL.
- The task exceptions moved to ``airflow.sdk.exceptions`` in 3.1 (the old names warn there).
- The plugins manager keeps what it loaded in module globals on 3.0, behind functions from 3.1.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

try:
    from airflow.sdk.exceptions import (  # type: ignore[attr-defined,unused-ignore]
        AirflowFailException,
        AirflowSkipException,
    )
except ImportError:  # Airflow 3.0
    from airflow.exceptions import (  # type: ignore[assignment,no-redef,unused-ignore]
        AirflowFailException,
        AirflowSkipException,
    )

__all__ = [
    "AirflowFailException",
    "AirflowSkipException",
    "dag_bag",
    "deadline_alert",
    "has_deadline_alerts",
    "loaded_plugins",
    "plugins_have_menu_entries",
]


def dag_bag(folder: str | Path, **options: Any) -> Any:
    """The DAG files under ``folder``, parsed as the dag-processor parses them, without
    Airflow's example DAGs on any version."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

        options.setdefault("include_examples", False)
    return DagBag(dag_folder=str(folder), **options)


def plugins_have_menu_entries() -> bool:
    """Whether this Airflow shows a plugin's ``external_views`` in its menu (3.1 and later)."""
    from airflow.plugins_manager import AirflowPlugin

    return hasattr(AirflowPlugin, "external_views")


def loaded_plugins() -> tuple[list[Any], dict[str, str]]:
    """The plugins Airflow loaded, and the import error of each plugin file it could not load."""
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    get_import_errors = getattr(plugins_manager, "get_import_errors", None)
    if get_import_errors is not None:  # 3.1 and later: no public list of the plugin objects
        return list(plugins_manager._get_plugins()[0]), dict(get_import_errors())  # type: ignore[attr-defined,unused-ignore]
    return list(plugins_manager.plugins or []), dict(plugins_manager.import_errors)  # type: ignore[attr-defined]


def deadline_alert(dag_id: str, within: timedelta, callback_path: str) -> dict[str, Any]:
    """The DAG arguments that call ``callback_path`` when a run of ``dag_id`` has not finished
    ``within`` of its logical date; none on Airflow 3.0."""
    try:
        from airflow.sdk import (  # type: ignore[attr-defined,unused-ignore]
            DeadlineAlert,
            DeadlineReference,
            SyncCallback,
        )
    except ImportError:  # Airflow 3.0
        return {}
    if sys.argv[1:3] == ["dags", "test"]:
        # Airflow 3.3's `airflow dags test` exits 1 after a successful run of a DAG with a
        # deadline (apache/airflow#73428, fix pending in #73430); that command waits for no
        # deadline anyway, so it parses the DAGs without one.
        return {}
    callback = SyncCallback(callback_path, kwargs={"dag_id": dag_id, "within_s": int(within.total_seconds())})
    alert = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=within, callback=callback, name="freshness"
    )
    return {"deadline": alert}


def has_deadline_alerts() -> bool:
    """Whether this Airflow has deadline alerts (3.1 and later)."""
    try:
        from airflow.sdk import DeadlineAlert  # type: ignore[attr-defined,unused-ignore] # noqa: F401
    except ImportError:
        return False
    return True
