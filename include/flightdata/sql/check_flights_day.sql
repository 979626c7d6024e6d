{#- The run's plan (task "plan", key "flights"): the day and the staging table the
    segment_flights task wrote. -#}
{%- set plan = ti.xcom_pull(task_ids="plan")["flights"] -%}
-- The flights table's data checks (flightdata.checks.flights) on this run's staged day,
-- before it is published: a check_<name> column each, counting what breaks it.
{{ fd.data_checks('flights', plan) }}
