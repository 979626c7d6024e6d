"""Keeps moto's in-memory state across restarts: every successful change is written down and
replayed, in order, when the endpoint starts again (``--state-dir``).

Reads are not kept. An object write is recorded by the digest of the body it stored in the
``ContentStore`` (``localaws.objects``), so the lake's bytes are on disk once; other bodies
are kept as sent. ``compact`` drops every object write that a later write or delete of the
same key superseded (at start, and every ``COMPACT_EVERY`` writes). Each entry
is one file, written to a temporary name, synced and renamed, so a crash leaves whole
entries only; an entry that cannot be read (a disk
that lied) is skipped with a warning, never a refusal to start. The directory is 0700 and
its files 0600: entries hold what was sent, Secrets Manager values included.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.test import Client

from localaws import objects

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_READS = ("Get", "List", "Describe", "Search", "BatchGet", "Receive", "Query", "Head", "Lookup")
# Operations whose replay would not reproduce the original effect (message receipts).
_SKIP = {"DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
_HEADERS_KEPT = ("CONTENT_TYPE", "CONTENT_LENGTH")
COMPACT_EVERY = 500
_DELETE_KEY = re.compile(rb"<Key>(.*?)</Key>", re.DOTALL)
# How the request framed its body: meaningless once the entry holds the stored bytes.
_FRAMING_HEADERS = ("X-Amz-Decoded-Content-Length", "X-Amz-Trailer", "Content-Length", "Content-Md5")


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
    def __init__(self, root: Path, store: objects.ContentStore) -> None:
        self.root = root
        self.store = store
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for path in self.root.iterdir():
            if path.name.startswith(".tmp-"):  # a write that a crash interrupted
                path.unlink()
            else:  # journals written before entries were private
                os.chmod(path, 0o600)
        self._lock = threading.Lock()
        numbers = [int(p.stem) for p in self.root.glob("*.json") if p.stem.isdigit()]
        self._next = max(numbers, default=-1) + 1
        self._since_compaction = 0

    def record(
        self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Any, body: bytes
    ) -> Any:
        """Run ``app`` on the request, and journal it if it changed state. ``body`` is the
        request's body, which the caller has read (``wsgi.input`` still yields it)."""
        status: list[int] = []

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

        with objects.using(self.store) as stored:
            response = app(environ, capture)
        if status and 200 <= status[0] < 300 and _changes_state(environ, body):
            self._write(environ, body, stored[-1] if stored and _is_object_put(environ) else None)
        return response

    def _write(self, environ: dict[str, Any], body: bytes, stored: str | None) -> None:
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers.update({k.replace("_", "-").title(): environ[k] for k in _HEADERS_KEPT if environ.get(k)})
        entry = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", "/"),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
        }
        if stored is not None:
            entry["object"] = stored  # already synced to disk by the store
        with self._lock:
            name = f"{self._next:09d}"
            self._next += 1
            # The body first, then the entry that points at it: the entry is the commit.
            if stored is None:
                _write_atomically(self.root / f"{name}.body", body)
            _write_atomically(self.root / f"{name}.json", json.dumps(entry).encode())
            self._since_compaction += 1
            if self._since_compaction >= COMPACT_EVERY:
                self._compact()

    def compact(self) -> int:
        """Drop superseded object writes; returns how many entries went."""
        with self._lock:
            return self._compact()

    def _compact(self) -> int:
        self._since_compaction = 0
        entries = []
        for path in sorted(self.root.glob("*.json")):
            try:
                entries.append((path, read_entry(path)))
            except (OSError, ValueError):
                continue  # replay skips it, with a warning
        dropped = superseded(entries, self._delete_keys)
        for path in dropped:
            path.unlink()  # the entry first: a body without an entry is never replayed
            path.with_suffix(".body").unlink(missing_ok=True)
        gone = set(dropped)
        swept = self.store.sweep({e["object"] for path, e in entries if path not in gone and "object" in e})
        if dropped or swept:
            log.info("journal compacted: %d superseded object writes, %d stored bodies", len(dropped), swept)
        return len(dropped)

    def _delete_keys(self, path: Path) -> list[str]:
        try:
            body = path.with_suffix(".body").read_bytes()
        except OSError:
            return []
        return [unquote_xml(k.decode()) for k in _DELETE_KEY.findall(body)]

    def replay(self, app: Callable[..., Iterable[bytes]]) -> int:
        """Send every entry again, in order."""
        client = Client(app)
        replayed = 0
        with objects.using(self.store):
            for path in sorted(self.root.glob("*.json")):
                try:
                    entry = read_entry(path)
                    headers = entry["headers"]
                    if "object" in entry:
                        body = self.store.read(entry["object"])
                        headers = _unframed(headers)
                    else:
                        body = path.with_suffix(".body").read_bytes()
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("skipping journal entry %s, which cannot be read: %s", path.name, exc)
                    continue
                client.open(
                    entry["path"],
                    method=entry["method"],
                    query_string=entry["query"],
                    headers=headers,
                    data=body,
                )
                replayed += 1
        return replayed


def read_entry(path: Path) -> dict[str, Any]:
    """A journal entry, in the shape ``_write`` gives it; ValueError for anything else (a torn
    file, or valid JSON of another shape), which start-up then skips with a warning."""
    entry = json.loads(path.read_text())
    if not isinstance(entry, dict):
        raise ValueError(f"an entry is a JSON object, not {type(entry).__name__}")
    for field in ("method", "path", "query"):
        if not isinstance(entry.get(field), str):
            raise ValueError(f"the entry's {field!r} is not text")
    headers = entry.get("headers")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError("the entry's 'headers' are not a map of text to text")
    if "object" in entry and not isinstance(entry["object"], str):
        raise ValueError("the entry's 'object' is not text")
    return entry


def _write_atomically(path: Path, data: bytes) -> None:
    """Temporary file (0600), fsync, rename, fsync of the directory: whole or absent."""
    tmp = path.with_name(f".tmp-{path.name}")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _is_object_put(environ: dict[str, Any]) -> bool:
    """A PutObject: a path-style object URL, no sub-resource, not a copy."""
    return (
        environ.get("REQUEST_METHOD") == "PUT"
        and _bucket_and_key(environ.get("PATH_INFO", "")) is not None
        and not environ.get("QUERY_STRING")
        and "HTTP_X_AMZ_COPY_SOURCE" not in environ
        and _service(environ) == "s3"
    )


def _unframed(headers: dict[str, str]) -> dict[str, str]:
    """The headers of a PutObject replayed with its stored bytes as a plain body."""
    kept = {k: v for k, v in headers.items() if k not in _FRAMING_HEADERS}
    kept["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD"
    encodings = [e for e in kept.pop("Content-Encoding", "").split(",") if e.strip() and e.strip() != "aws-chunked"]
    if encodings:
        kept["Content-Encoding"] = ",".join(encodings)
    return kept


def unquote_xml(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


def _bucket_and_key(path: str) -> tuple[str, str] | None:
    """(bucket, key) of a path-style S3 object URL path, or None."""
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    return (bucket, key) if bucket and key else None


def superseded(entries: list[tuple[Path, dict[str, Any]]], delete_keys: Callable[[Path], list[str]]) -> list[Path]:
    """Entries whose effect a later entry replaced: a PutObject (or CopyObject) of a key that
    is written or deleted again later, with no copy reading it in between. Walks backward."""
    replaced: set[tuple[str, str]] = set()
    drop: list[Path] = []
    for path, entry in reversed(entries):
        if _service_of(entry) != "s3":
            continue
        method, query, headers = entry["method"], entry.get("query", ""), entry.get("headers", {})
        if method == "POST" and "delete" in parse_qs(query, keep_blank_values=True):
            bucket = unquote(entry["path"]).strip("/")
            replaced.update((bucket, key) for key in delete_keys(path))
            continue
        target = _bucket_and_key(entry["path"])
        if target is None or query:  # buckets, multipart parts, tagging, ...: kept as they are
            continue
        if method == "DELETE":
            replaced.add(target)
        elif method == "PUT":
            if target in replaced:
                drop.append(path)
                continue
            replaced.add(target)
            source = _bucket_and_key(headers.get("X-Amz-Copy-Source", "").split("?", 1)[0])
            if source:  # the copy reads its source as it was then: keep the write it read
                replaced.discard(source)
    return drop


def _service_of(entry: dict[str, Any]) -> str:
    match = _SCOPE.search(entry.get("headers", {}).get("Authorization", ""))
    return match.group(1) if match else ""
