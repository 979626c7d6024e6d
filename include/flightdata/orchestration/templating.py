"""What DAG templates can read, without touching AWS or Airflow's metadata at parse time."""

from __future__ import annotations

from typing import Any


class TemplateFacts:
    """``{{ fd.* }}`` in templates: resource names resolved at render time (never at DAG parse
    time) and the column lists SQL needs, from the one schema."""

    @property
    def processed_columns(self) -> str:
        from flightdata.schema import PROCESSED_COLUMNS

        return ", ".join(c.name for c in PROCESSED_COLUMNS)

    def __getattr__(self, name: str) -> Any:
        from flightdata.config import Resources

        return getattr(Resources.from_env(), name)
