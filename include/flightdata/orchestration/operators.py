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
