"""How long the lake keeps what, in days: the S3 lifecycle the stack sets (``lake.py``) and
the cost estimate ages storage by. No CDK here, so the estimate's command loads without it."""

RAW_TO_IA_DAYS = 30
RAW_TO_GLACIER_DAYS = 90
QUARANTINE_EXPIRY_DAYS = 180
ATHENA_RESULTS_EXPIRY_DAYS = 7
