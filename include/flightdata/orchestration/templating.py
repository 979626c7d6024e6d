"""What DAG templates can read, without touching AWS or Airflow's metadata at parse time."""

from __future__ import annotations

from typing import Any


class TemplateFacts:
    """``{{ fd.* }}`` in templates: resource names resolved at render time (never at DAG parse
    time) and the column lists SQL needs, from the one schema. ``names`` fixes the resources
    (the named queries); by default they come from the environment at render time."""

    def __init__(self, names: Any = None) -> None:
        self.names = names

    @property
    def processed_columns(self) -> str:
        from flightdata.schema import PROCESSED_COLUMNS

        return ", ".join(c.name for c in PROCESSED_COLUMNS)

    def committed(self, kind: str, condition: str) -> str:
        """The ``kind`` rows (processed or quarantine) of committed snapshots only."""
        from flightdata.catalog import committed_rows

        return committed_rows(self._names(), kind, condition)

    def _names(self) -> Any:
        from flightdata.resources import Resources

        return self.names or Resources.from_env()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._names(), name)
