"""Lambda that really runs the code: CreateFunction stores the zip, Invoke runs its handler.

Each invocation is a separate Python process with the function's environment, the
uploaded package first on ``sys.path`` and ``AWS_ENDPOINT_URL`` pointing back at this
endpoint; the configured timeout is enforced. Third-party packages come from the
endpoint's own environment, as a Lambda layer would provide them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localaws.credentials import KeyPair

log = logging.getLogger(__name__)
# Each invocation's REPORT line; ``serve`` logs it at INFO, whatever the endpoint's level.
report_log = logging.getLogger(f"{__name__}.reports")

API_PREFIX = "/2015-03-31/functions"
LOG_TAIL_BYTES = 4096
ASYNC_RETRIES = 2
ACCOUNT_ID = "123456789012"
# What Lambda accepts as FunctionName: a name, a partial ARN or a full ARN (the name part is
# 1-64 letters, digits, '-' or '_'); anything else is refused before a path is built from it.
_FUNCTION_REF = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:)?(?P<name>[a-zA-Z0-9_-]{1,64})(?::\$LATEST)?"
)


class LambdaApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


@dataclass
class FunctionConfig:
    FunctionName: str
    Runtime: str
    Handler: str
    Role: str
    Timeout: int = 3
    MemorySize: int = 128
    Environment: dict[str, Any] = field(default_factory=lambda: {"Variables": {}})
    DeadLetterConfig: dict[str, Any] = field(default_factory=dict)
    Architectures: list[str] = field(default_factory=lambda: ["x86_64"])
    Description: str = ""
    CodeSha256: str = ""
    CodeSize: int = 0
    LastModified: str = ""
    Version: str = "$LATEST"
    State: str = "Active"
    PackageType: str = "Zip"

    def arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.FunctionName}"

    def describe(self, region: str) -> dict[str, Any]:
        return {**asdict(self), "FunctionArn": self.arn(region), "LastUpdateStatus": "Successful"}


@dataclass
class Invocation:
    payload: bytes
    function_error: str | None
    log_tail: str


def function_name(reference: Any, region: str) -> str:
    """The function name in ``reference`` (a name or an ARN of ``region``), or ValidationException."""
    match = _FUNCTION_REF.fullmatch(reference) if isinstance(reference, str) else None
    if match is None:
        raise LambdaApiError(
            400,
            "ValidationException",
            f"1 validation error detected: Value {reference!r} at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)",
        )
    if match["region"] and match["region"] != region:
        raise LambdaApiError(404, "ResourceNotFoundException", f"Function not found: {reference}")
    return match["name"]


# What Lambda takes as a function's code: a zip of at most 50 MB, of at most 250 MB unzipped.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024


class LambdaExecutor:
    """Functions kept under ``state_dir/lambda/<region>/<name>/`` (config.json, code.zip, code/).

    A function lives in the region its CreateFunction was signed for, and runs with that
    region and the endpoint's own key pair, so its AWS calls come back signed."""

    def __init__(self, state_dir: Path, endpoint_url: str, key: KeyPair, send_to_dlq: Any) -> None:
        self.root = state_dir / "lambda"
        self.root.mkdir(parents=True, exist_ok=True)
        self.endpoint_url = endpoint_url
        self.key = key
        self._send_to_dlq = send_to_dlq
        self._lock = threading.Lock()

    # --- control plane -------------------------------------------------------------------
    def _dir(self, region: str, reference: str) -> Path:
        """Built only from a validated name and region, never from the raw request."""
        if not re.fullmatch(r"[a-z]{2}(?:-gov)?-[a-z]+-\d", region):
            raise LambdaApiError(400, "ValidationException", f"{region!r} is not a region")
        return self.root / region / function_name(reference, region)

    def get(self, region: str, name: str) -> FunctionConfig:
        path = self._dir(region, name) / "config.json"
        if not path.exists():
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name(name, region)}"
            raise LambdaApiError(404, "ResourceNotFoundException", f"Function not found: {arn}")
        return FunctionConfig(**json.loads(path.read_text()))

    def list(self, region: str) -> list[FunctionConfig]:
        folder = self.root / region
        if not folder.is_dir():
            return []
        return [self.get(region, p.name) for p in sorted(folder.iterdir()) if (p / "config.json").exists()]

    def create(self, region: str, request: dict[str, Any], code: bytes) -> FunctionConfig:
        name = request.get("FunctionName")
        if not name:
            raise LambdaApiError(400, "InvalidParameterValueException", "FunctionName is required")
        name = function_name(name, region)
        request = {**request, "FunctionName": name}
        if (self._dir(region, name) / "config.json").exists():
            raise LambdaApiError(409, "ResourceConflictException", f"Function already exist: {name}")
        for required in ("Runtime", "Handler", "Role"):
            if not request.get(required):
                raise LambdaApiError(400, "InvalidParameterValueException", f"{required} is required")
        known = set(FunctionConfig.__dataclass_fields__)
        config = FunctionConfig(**{k: v for k, v in request.items() if k in known})
        self._store(region, config, code)
        return config

    def update_code(self, region: str, name: str, code: bytes) -> FunctionConfig:
        config = self.get(region, name)
        self._store(region, config, code)
        return config

    def update_configuration(self, region: str, name: str, request: dict[str, Any]) -> FunctionConfig:
        config = self.get(region, name)
        for key, value in request.items():
            if key in FunctionConfig.__dataclass_fields__ and key != "FunctionName":
                setattr(config, key, value)
        self._write_config(region, config)
        return config

    def code_zip(self, region: str, name: str) -> bytes:
        return (self._dir(region, name) / "code.zip").read_bytes()

    def delete(self, region: str, name: str) -> None:
        self.get(region, name)
        shutil.rmtree(self._dir(region, name))

    def _store(self, region: str, config: FunctionConfig, code: bytes) -> None:
        """Unpack ``code`` beside the function's folder, then swap it in; refused as Lambda
        refuses it past 50 MB zipped or 250 MB unzipped (sizes the zip's directory states,
        which extraction holds each file to), and nothing of a failed unpack stays."""
        if len(code) > MAX_ZIPPED:
            raise LambdaApiError(
                413, "RequestEntityTooLargeException", f"Zipped file size must be at most {MAX_ZIPPED} bytes"
            )
        try:
            archive = zipfile.ZipFile(io.BytesIO(code))
        except zipfile.BadZipFile:
            raise LambdaApiError(400, "InvalidParameterValueException", "Could not unzip uploaded file") from None
        if sum(entry.file_size for entry in archive.infolist()) > MAX_UNZIPPED:
            raise LambdaApiError(
                400, "InvalidParameterValueException", f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes"
            )
        directory = self._dir(region, config.FunctionName)
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            staging = directory.with_name(directory.name + ".new")
            shutil.rmtree(staging, ignore_errors=True)
            try:
                (staging / "code").mkdir(parents=True, mode=0o700)
                archive.extractall(staging / "code")
            except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:  # e.g. a file 'a', then 'a/b'
                shutil.rmtree(staging, ignore_errors=True)
                raise LambdaApiError(
                    400, "InvalidParameterValueException", f"Could not unzip uploaded file ({type(exc).__name__})"
                ) from None
            (staging / "code.zip").write_bytes(code)
            config.CodeSha256 = base64.b64encode(hashlib.sha256(code).digest()).decode()
            config.CodeSize = len(code)
            config.LastModified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
            (staging / "config.json").write_text(json.dumps(asdict(config)))
            shutil.rmtree(directory, ignore_errors=True)
            staging.rename(directory)

    def _write_config(self, region: str, config: FunctionConfig) -> None:
        config.LastModified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        (self._dir(region, config.FunctionName) / "config.json").write_text(json.dumps(asdict(config)))

    # --- data plane ----------------------------------------------------------------------
    def invoke(self, region: str, name: str, payload: bytes) -> Invocation:
        config = self.get(region, name)
        code_dir = self._dir(region, config.FunctionName) / "code"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **self.key.environment(),
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": config.FunctionName,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.MemorySize),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.Timeout),
            "LOCALAWS_HANDLER": config.Handler,
            "LOCALAWS_CODE_DIR": str(code_dir),
            **(config.Environment or {}).get("Variables", {}),
        }
        try:
            proc = subprocess.run(  # noqa: S603 - our own runner, with the function's own code
                [sys.executable, "-m", "localaws.lambda_runner"],
                input=payload,
                capture_output=True,
                env=env,
                timeout=config.Timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            logs = (exc.stderr or b"").decode(errors="replace")
            message = f"Task timed out after {config.Timeout:.2f} seconds"  # Lambda names the configured limit
            body = json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}).encode()
            return Invocation(body, "Unhandled", _tail(logs + message + "\n"))
        logs = proc.stderr.decode(errors="replace")
        _log_report(config.FunctionName, logs)
        if proc.returncode == 0:
            return Invocation(proc.stdout, None, _tail(logs))
        try:
            error = json.loads(proc.stdout or b"{}")
        except json.JSONDecodeError:
            error = {}
        if not error.get("errorType"):
            error = {
                "errorMessage": f"Runtime exited with error: exit status {proc.returncode}",
                "errorType": "Runtime.ExitError",
            }
        return Invocation(json.dumps(error).encode(), "Unhandled", _tail(logs))

    def invoke_async(self, region: str, name: str, payload: bytes) -> None:
        config = self.get(region, name)  # unknown functions fail the request itself

        def run() -> None:
            for attempt in range(1 + ASYNC_RETRIES):
                result = self.invoke(region, config.FunctionName, payload)
                if result.function_error is None:
                    return
                log.warning("async invocation of %s failed (attempt %d)", config.FunctionName, attempt + 1)
            target = (config.DeadLetterConfig or {}).get("TargetArn")
            if target:
                self._send_to_dlq(target, payload, config.FunctionName, result.payload)

        threading.Thread(target=run, name=f"lambda-async-{config.FunctionName}", daemon=True).start()


def _log_report(function_name: str, logs: str) -> None:
    """The endpoint's log keeps each invocation's ``REPORT`` line, as CloudWatch Logs would,
    with the size of the invocation's log: ``make demo`` measures the workload from it."""
    for line in reversed(logs.splitlines()):
        if line.startswith("REPORT RequestId:"):
            report_log.info("lambda %s %s\tLog Size: %d bytes", function_name, line, len(logs.encode()))
            return


def _tail(logs: str) -> str:
    data = logs.encode()[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode()
