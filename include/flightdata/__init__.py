"""flightdata: OpenSky state vectors to a validated, partitioned S3 data lake.

Follow one snapshot through the package in this order:
``opensky.client`` (fetch) → ``lambdas.ingestion`` (land raw) → ``etl.parse`` →
``etl.validate`` → ``etl.transform`` (processed + quarantine Parquet) → ``lake``
(where every object lives) → ``sql/`` (Athena reports).
``schema`` and ``config`` hold the facts everything else reads.
"""

__version__ = "0.1.0"
