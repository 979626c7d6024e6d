"""``make deploy``: upload the MWAA bundle and point the environment at the new object versions.

DAG files are synchronised (changed ones uploaded, removed ones deleted); requirements.txt,
startup.sh and plugins.zip are versioned objects whose new VersionIds go to
``UpdateEnvironment`` only when they changed, since each change restarts the environment.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path
from typing import Any

import boto3

from flightdata_cdk.bundle import BUNDLE

log = logging.getLogger(__name__)
VERSIONED = {
    "requirements.txt": ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
    "startup.sh": ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"),
    "plugins.zip": ("PluginsS3Path", "PluginsS3ObjectVersion"),
}


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sync_dags(s3: Any, bucket: str, bundle: Path) -> dict[str, int]:
    local = {f"dags/{p.relative_to(bundle / 'dags')}": p for p in sorted((bundle / "dags").rglob("*")) if p.is_file()}
    remote: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="dags/"):
        remote.update({o["Key"]: o["ETag"].strip('"') for o in page.get("Contents", [])})
    uploaded = 0
    for key, path in local.items():
        body = path.read_bytes()
        if remote.get(key) != _md5(body):
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            uploaded += 1
    stale = [{"Key": key} for key in remote if key not in local]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000], "Quiet": True})
    return {"uploaded": uploaded, "deleted": len(stale), "unchanged": len(local) - uploaded}


def upload_versioned(s3: Any, bucket: str, bundle: Path) -> dict[str, str]:
    """VersionId of each versioned file, uploading only those whose content changed."""
    versions = {}
    for name in VERSIONED:
        path = bundle / name
        if not path.exists():
            continue
        body = path.read_bytes()
        try:
            head = s3.head_object(Bucket=bucket, Key=name)
            if head["ETag"].strip('"') == _md5(body):
                versions[name] = head["VersionId"]
                continue
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        versions[name] = s3.put_object(Bucket=bucket, Key=name, Body=body)["VersionId"]
    return versions


def deploy(s3: Any, mwaa: Any, bucket: str, environment: str, bundle: Path = BUNDLE) -> dict[str, Any]:
    dags = sync_dags(s3, bucket, bundle)
    versions = upload_versioned(s3, bucket, bundle)
    current = mwaa.get_environment(Name=environment)["Environment"]
    update: dict[str, str] = {}
    for name, version in versions.items():
        path_field, version_field = VERSIONED[name]
        if current.get(version_field) != version or current.get(path_field) != name:
            update[path_field] = name
            update[version_field] = version
    if update:
        mwaa.update_environment(Name=environment, **update)
        log.info("updated %s: %s", environment, update)
    return {"dags": dags, "versions": versions, "environment_updated": bool(update), "update": update}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bucket", required=True, help="the MWAA bucket (stack output MwaaBucketName)")
    parser.add_argument("--environment", required=True, help="the MWAA environment (stack output)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    result = deploy(boto3.client("s3"), boto3.client("mwaa"), args.bucket, args.environment)
    print(result)


if __name__ == "__main__":
    main()
