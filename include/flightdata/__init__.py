"""flightdata: OpenSky state vectors to a validated, partitioned S3 data lake.

Follow one snapshot through the package in this order: ``lambdas.ingestion`` (fetch with
``opensky.client``, land raw) → ``lambdas.transformation`` → ``etl.transform`` (parse,
``etl.validate``, processed + quarantine tables) → ``etl.snapshot`` (written and committed
in one step, at the keys ``lake`` gives) → ``sql/`` (Athena).
``schema`` and ``resources`` hold the facts everything else reads.
"""

__version__ = "0.1.0"
