"""Our one operator: the provider's Lambda operator, plus a clean skip when OpenSky credits run low."""

from __future__ import annotations

import json
from typing import Any

from airflow.exceptions import AirflowSkipException
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator


class OpenSkyIngestOperator(LambdaInvokeFunctionOperator):
    """Invokes the ingestion function; a ``"status": "skipped"`` answer skips the task.

    The function answers so when the call would take the OpenSky credits below the
    reserve: not a failure, so no retries and no alarms.
    """

    def execute(self, context: Any) -> str:
        result = super().execute(context)
        answer = json.loads(result)
        if answer.get("status") == "skipped":
            raise AirflowSkipException(answer.get("reason", "the ingestion function skipped this minute"))
        return result


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
