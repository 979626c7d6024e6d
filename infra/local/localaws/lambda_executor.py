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
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

API_PREFIX = "/2015-03-31/functions"
LOG_TAIL_BYTES = 4096
ASYNC_RETRIES = 2
ACCOUNT_ID = "123456789012"


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


class LambdaExecutor:
    """Functions kept under ``state_dir/lambda/<name>/`` (config.json, code.zip, code/)."""

    def __init__(self, state_dir: Path, endpoint_url: str, region: str, send_to_dlq: Any) -> None:
        self.root = state_dir / "lambda"
        self.root.mkdir(parents=True, exist_ok=True)
        self.endpoint_url = endpoint_url
        self.region = region
        self._send_to_dlq = send_to_dlq
        self._lock = threading.Lock()

    # --- control plane -------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        name = name.rsplit(":", 1)[-1] if name.startswith("arn:") else name
        return self.root / name

    def get(self, name: str) -> FunctionConfig:
        path = self._dir(name) / "config.json"
        if not path.exists():
            raise LambdaApiError(404, "ResourceNotFoundException", f"Function not found: {self._arn_of(name)}")
        return FunctionConfig(**json.loads(path.read_text()))

    def _arn_of(self, name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"

    def list(self) -> list[FunctionConfig]:
        return [self.get(p.name) for p in sorted(self.root.iterdir()) if (p / "config.json").exists()]

    def create(self, request: dict[str, Any], code: bytes) -> FunctionConfig:
        name = request.get("FunctionName")
        if not name:
            raise LambdaApiError(400, "InvalidParameterValueException", "FunctionName is required")
        if (self._dir(name) / "config.json").exists():
            raise LambdaApiError(409, "ResourceConflictException", f"Function already exist: {name}")
        for required in ("Runtime", "Handler", "Role"):
            if not request.get(required):
                raise LambdaApiError(400, "InvalidParameterValueException", f"{required} is required")
        known = set(FunctionConfig.__dataclass_fields__)
        config = FunctionConfig(**{k: v for k, v in request.items() if k in known})
        self._store(config, code)
        return config

    def update_code(self, name: str, code: bytes) -> FunctionConfig:
        config = self.get(name)
        self._store(config, code)
        return config

    def update_configuration(self, name: str, request: dict[str, Any]) -> FunctionConfig:
        config = self.get(name)
        for key, value in request.items():
            if key in FunctionConfig.__dataclass_fields__ and key != "FunctionName":
                setattr(config, key, value)
        self._write_config(config)
        return config

    def code_zip(self, name: str) -> bytes:
        return (self._dir(name) / "code.zip").read_bytes()

    def delete(self, name: str) -> None:
        self.get(name)
        shutil.rmtree(self._dir(name))

    def _store(self, config: FunctionConfig, code: bytes) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(code))
        except zipfile.BadZipFile:
            raise LambdaApiError(400, "InvalidParameterValueException", "Could not unzip uploaded file") from None
        directory = self._dir(config.FunctionName)
        with self._lock:
            staging = directory.with_name(directory.name + ".new")
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "code").mkdir(parents=True)
            archive.extractall(staging / "code")
            (staging / "code.zip").write_bytes(code)
            config.CodeSha256 = base64.b64encode(hashlib.sha256(code).digest()).decode()
            config.CodeSize = len(code)
            config.LastModified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
            (staging / "config.json").write_text(json.dumps(asdict(config)))
            shutil.rmtree(directory, ignore_errors=True)
            staging.rename(directory)

    def _write_config(self, config: FunctionConfig) -> None:
        config.LastModified = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        (self._dir(config.FunctionName) / "config.json").write_text(json.dumps(asdict(config)))

    # --- data plane ----------------------------------------------------------------------
    def invoke(self, name: str, payload: bytes) -> Invocation:
        config = self.get(name)
        code_dir = self._dir(config.FunctionName) / "code"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
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

    def invoke_async(self, name: str, payload: bytes) -> None:
        config = self.get(name)  # unknown functions fail the request itself

        def run() -> None:
            for attempt in range(1 + ASYNC_RETRIES):
                result = self.invoke(config.FunctionName, payload)
                if result.function_error is None:
                    return
                log.warning("async invocation of %s failed (attempt %d)", config.FunctionName, attempt + 1)
            target = (config.DeadLetterConfig or {}).get("TargetArn")
            if target:
                self._send_to_dlq(target, payload, config.FunctionName, result.payload)

        threading.Thread(target=run, name=f"lambda-async-{name}", daemon=True).start()


def _tail(logs: str) -> str:
    data = logs.encode()[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode()
