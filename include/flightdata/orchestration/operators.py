"""The minutely run's Lambda operators: the provider's Lambda operator, plus what a reader of
the Airflow UI needs. The function's answer is the task's XCom as a dict (rendered as a tree,
not one long string), one summary line of it goes to the log, and a mapped task instance is
labelled by its region instead of an index."""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from flightdata.orchestration import lambda_calls
from flightdata.orchestration.compat import AirflowSkipException
from flightdata.orchestration.links import RawSnapshotLink, WrittenObjectsLink

# The label of a mapped instance: rendered after it runs, from the context ``execute`` fills.
REGION_LABEL = "{{ region }}"


# The XCom key under which a skipped ingestion keeps its answer (the credits left, the reason).
SKIPPED_KEY = "skipped"


class _MinutelyLambdaOperator(LambdaInvokeFunctionOperator):
    def execute(self, context: Any) -> dict[str, Any]:
        context["region"] = lambda_calls.payload_region(self.payload)
        answer = json.loads(super().execute(context))
        if not isinstance(answer, dict):
            raise ValueError(f"{self.function_name} answered {answer!r}, not a JSON object")
        return self.summarize(answer, context)

    def summarize(self, answer: dict[str, Any], context: Any) -> dict[str, Any]:
        raise NotImplementedError


class OpenSkyIngestOperator(_MinutelyLambdaOperator):
    """Invokes the ingestion function; a ``"status": "skipped"`` answer skips the task.

    The function answers so when the call would take the OpenSky credits below the
    reserve: not a failure, so no retries and no alarms.
    """

    operator_extra_links = (RawSnapshotLink(),)

    def summarize(self, answer: dict[str, Any], context: Any) -> dict[str, Any]:
        if answer.get("status") == "skipped":
            # kept for publish_quality_metrics: the credits left matter most when they run low
            context["ti"].xcom_push(key=SKIPPED_KEY, value=answer)
            raise AirflowSkipException(answer.get("reason", "the ingestion function skipped this minute"))
        self.log.info("%s", lambda_calls.ingest_summary(answer))
        return answer


class TransformOperator(_MinutelyLambdaOperator):
    """Invokes the transform function on one landed snapshot."""

    operator_extra_links = (WrittenObjectsLink(),)

    def summarize(self, answer: dict[str, Any], context: Any) -> dict[str, Any]:
        self.log.info("%s", lambda_calls.transform_summary(answer))
        return answer
