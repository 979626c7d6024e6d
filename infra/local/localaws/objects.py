"""S3 object bodies on disk, not in the endpoint's memory: the endpoint's footprint then
follows the number of objects, not the lake's bytes, over days of traffic.

moto keeps each object's body in a ``SpooledTemporaryFile``: in memory up to a size, then
in an unlinked temporary file that stays open (a descriptor and an I/O buffer per object).
Here each body is a file named by its SHA-256 under ``<state-dir>/objects``, opened only
while it is read, and shared by every key that holds the same bytes (a copy costs nothing).
Files are counted by the keys that hold them. A file no key holds is deleted by ``sweep``,
which the journal calls when it compacts, never when a key lets go: moto lets go of every key
when its state is reset or the process exits, and the lake must outlive both.

The journal records an object write as the digest of what was stored, not as the request's
body (see ``localaws.journal``), so the lake's bytes are on disk once.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_local = threading.local()
_fallback: ContentStore | None = None
_fallback_lock = threading.Lock()


class ContentStore:
    """Content-addressed files, each counted by the bodies that hold it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for stale in self.root.glob("*/.tmp-*"):  # a write that a crash interrupted
            stale.unlink()
        self._refs: Counter[str] = Counter()
        self._lock = threading.Lock()

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` (synced to disk before it counts) and hold one reference to it."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        with self._lock:
            if self._refs[digest] or path.exists():
                self._refs[digest] += 1
                return digest
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with self._lock:
            os.replace(tmp, path)  # same bytes if another thread got there first
            self._refs[digest] += 1
        return digest

    def read(self, digest: str, offset: int = 0, size: int = -1) -> bytes:
        with open(self.path(digest), "rb") as handle:
            handle.seek(offset)
            return handle.read(size)

    def release(self, digest: str) -> None:
        with self._lock:
            self._refs[digest] -= 1
            if self._refs[digest] <= 0:
                del self._refs[digest]

    def sweep(self, keep: set[str]) -> int:
        """Delete the files that no body holds and ``keep`` does not name (the journal's
        entries); returns how many went."""
        removed = 0
        with self._lock:
            for path in self.root.glob("*/*"):
                name = path.name
                if not name.startswith(".tmp-") and name not in self._refs and name not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


@contextlib.contextmanager
def using(store: ContentStore) -> Iterator[list[str]]:
    """Bodies stored by this thread inside the block go to ``store``; the block gets the
    digests stored, in order (the journal records a PutObject by its digest)."""
    previous = getattr(_local, "store", None), getattr(_local, "written", None)
    written: list[str] = []
    _local.store, _local.written = store, written
    try:
        yield written
    finally:
        _local.store, _local.written = previous


def _current() -> ContentStore:
    store = getattr(_local, "store", None)
    if store is not None:
        return store
    global _fallback
    with _fallback_lock:  # bodies made outside a request (moto's own internals, tests)
        if _fallback is None:
            root = tempfile.mkdtemp(prefix="localaws-objects-")
            atexit.register(shutil.rmtree, root, ignore_errors=True)  # nothing outlives the process
            _fallback = ContentStore(Path(root))
        return _fallback


class StoredBody:
    """The file-like object moto's ``FakeKey`` keeps its body in, backed by an ``ContentStore``
    file. moto writes a body whole (seek 0, truncate, write) and reads it back in blocks."""

    def __init__(self, max_size: int = 0, *args: Any, **kwargs: Any) -> None:
        self._store = _current()
        self._digest: str | None = None
        self._size = 0
        self._position = 0
        self.closed = False

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        if size == 0:
            self._drop()
        elif size < self._size and self._digest is not None:
            self._replace(self._store.read(self._digest, 0, size))
        return size

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to a closed body")
        current = self._store.read(self._digest) if self._digest is not None else b""
        head = current[: self._position].ljust(self._position, b"\0")
        self._replace(head + bytes(data) + current[self._position + len(data) :])
        self._position += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read of a closed body")
        if self._digest is None or self._position >= self._size:
            return b""
        data = self._store.read(self._digest, self._position, size)
        self._position += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self._drop()
            self.closed = True

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _replace(self, data: bytes) -> None:
        digest = self._store.put(data)
        self._drop()
        self._digest, self._size = digest, len(data)
        written = getattr(_local, "written", None)
        if written is not None:
            written.append(digest)

    def _drop(self) -> None:
        if self._digest is not None:
            self._store.release(self._digest)
        self._digest, self._size = None, 0


class _TempfileWithStoredBodies:
    """Stands in for the ``tempfile`` module inside ``moto.s3.models``, whose only use of it
    is the body buffer of each key and upload part."""

    SpooledTemporaryFile = StoredBody

    def __getattr__(self, name: str) -> Any:
        return getattr(tempfile, name)


def install() -> None:
    """Make moto's S3 keep every body in an ``ContentStore`` (idempotent)."""
    from moto.s3 import models

    models.tempfile = _TempfileWithStoredBodies()  # type: ignore[assignment]
