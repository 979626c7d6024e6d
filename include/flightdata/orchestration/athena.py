"""Reading Athena results through the provider's AthenaHook."""

from __future__ import annotations

from typing import Any

from flightdata.resources import Resources


class AthenaQueryFailed(RuntimeError):
    """An Athena query ended in FAILED or CANCELLED; the message carries Athena's reason."""


def query_rows(hook: Any, sql: str, names: Resources) -> list[dict[str, str | None]]:
    """Run ``sql`` in the project's workgroup and return its rows as dicts (all values as text)."""
    query_id = hook.run_query(
        sql,
        query_context={"Database": names.glue_database},
        result_configuration={"OutputLocation": names.athena_output_location},
        workgroup=names.workgroup,
    )
    state = hook.poll_query_status(query_id, sleep_time=1)
    if state != "SUCCEEDED":
        reason = hook.get_state_change_reason(query_id)
        raise AthenaQueryFailed(f"Athena query {query_id} ended {state}: {reason}")
    return result_rows(hook, query_id)


def result_rows(hook: Any, query_id: str) -> list[dict[str, str | None]]:
    """All rows of a finished SELECT, following pagination; the header row is dropped."""
    rows: list[list[str | None]] = []
    token = None
    while True:
        page = hook.get_query_results(query_id, next_token_id=token)
        rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            break
    if not rows:
        return []
    header = [str(name) for name in rows[0]]  # column names are never null
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def bytes_scanned(hook: Any, query_id: str) -> int:
    info = hook.get_query_info(query_id)
    return int(info["QueryExecution"]["Statistics"].get("DataScannedInBytes", 0))
