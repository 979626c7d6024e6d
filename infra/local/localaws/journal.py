"""Keeps moto's in-memory state across restarts: every successful change is written down and
replayed, in order, when the endpoint starts again (``--state-dir``).

Reads are not kept. S3 bodies are stored as sent, so the journal grows with the lake, as
the lake itself would on disk.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from werkzeug.test import Client

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_READS = ("Get", "List", "Describe", "Search", "BatchGet", "Receive", "Query", "Head", "Lookup")
# Operations whose replay would not reproduce the original effect (message receipts).
_SKIP = {"DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
_HEADERS_KEPT = ("CONTENT_TYPE", "CONTENT_LENGTH")


def _service(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else ""


def _changes_state(environ: dict[str, Any], body: bytes) -> bool:
    method = environ.get("REQUEST_METHOD", "GET")
    service = _service(environ)
    if service in ("sts", ""):
        return False
    if service == "s3":
        return method in ("PUT", "POST", "DELETE")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        form = parse_qs(body.decode(errors="replace"))
        operation = (form.get("Action") or [""])[0]
    return bool(operation) and not operation.startswith(_READS) and operation not in _SKIP


class Journal:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._next = len(list(self.root.glob("*.json")))

    def record(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        status: list[int] = []

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

        response = app(environ, capture)
        if status and 200 <= status[0] < 300 and _changes_state(environ, body):
            self._write(environ, body)
        return response

    def _write(self, environ: dict[str, Any], body: bytes) -> None:
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers.update({k.replace("_", "-").title(): environ[k] for k in _HEADERS_KEPT if environ.get(k)})
        entry = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", "/"),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
        }
        with self._lock:
            name = f"{self._next:09d}"
            self._next += 1
            (self.root / f"{name}.body").write_bytes(body)
            (self.root / f"{name}.json").write_text(json.dumps(entry))

    def replay(self, app: Callable[..., Iterable[bytes]]) -> int:
        client = Client(app)
        entries = sorted(self.root.glob("*.json"))
        for path in entries:
            entry = json.loads(path.read_text())
            client.open(
                entry["path"],
                method=entry["method"],
                query_string=entry["query"],
                headers=entry["headers"],
                data=path.with_suffix(".body").read_bytes(),
            )
        return len(entries)
