"""The local endpoint's one key pair, kept as an AWS shared-credentials file.

``flightdata-local serve`` writes ``<state-dir>/credentials`` (profile ``default``, mode 0600) on
first start, unless one is there already; every request must be signed with that key.
Point boto3 or the AWS CLI at it with ``AWS_SHARED_CREDENTIALS_FILE``.
"""

from __future__ import annotations

import configparser
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "credentials"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str

    def boto3_kwargs(self) -> dict[str, str]:
        return {"aws_access_key_id": self.access_key, "aws_secret_access_key": self.secret_key}

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def credentials_file(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def load_or_create(state_dir: Path) -> KeyPair:
    """The key pair of ``state_dir``, made on first use (random, like an IAM user's)."""
    path = credentials_file(state_dir)
    if not path.exists():
        pair = KeyPair(
            "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
            secrets.token_urlsafe(30)[:40],
        )
        _write_private(
            path, f"[default]\naws_access_key_id = {pair.access_key}\naws_secret_access_key = {pair.secret_key}\n"
        )
        return pair
    return read(path)


def read(path: Path) -> KeyPair:
    parser = configparser.ConfigParser()
    parser.read(path)
    try:
        return KeyPair(parser["default"]["aws_access_key_id"], parser["default"]["aws_secret_access_key"])
    except KeyError:
        raise ValueError(f"{path} has no [default] profile with aws_access_key_id and aws_secret_access_key") from None


def _write_private(path: Path, text: str) -> None:
    """Written 0600 from the start (never readable by others, even briefly), then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
