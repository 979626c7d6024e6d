"""A local OpenSky: token endpoint, ``/api/states/all``, rate-limit headers, credits and faults.

Start it with ``flightdata-local opensky-sim --port PORT`` or, in tests, with :func:`running`.
Control it over HTTP (``POST /_sim/faults``, ``GET /_sim/stats``) or through the
:class:`Simulator` object.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from flightdata.credits import TIERS, Tier
from flightdata.opensky.api import TOKEN_PATH, BoundingBox, credit_cost
from flightdata.opensky.errors import InvalidRequestError
from opensky_sim.traffic import Fleet, TrafficShape

log = logging.getLogger(__name__)

# "403" is OpenSky refusing the caller (it may block cloud providers' addresses); "reset"
# drops the connection without an answer, as a blocking firewall does.
FAULT_KINDS = (
    "429",
    "401",
    "403",
    "500",
    "503",
    "slow",
    "truncated",
    "not_json",
    "reset",
    "huge",
    "huge_declared",
    "drip",
)
HUGE_BYTES = 2 << 30  # what "huge" streams, without end for any client that reads it
DEMO_CLIENT_ID = "flightdata-demo"
DEMO_CLIENT_SECRET = "synthetic-demo-secret"  # noqa: S105 - a credential of the local simulator only


@dataclass
class Fault:
    kind: str
    remaining: int = 1
    delay_s: float = 2.0
    retry_after_s: int = 1


@dataclass
class Simulator:
    """State shared by the HTTP handler threads."""

    fleet: Fleet
    clients: dict[str, str] = field(default_factory=lambda: {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    token_lifetime_s: int = 1800
    clock: Callable[[], float] = time.time
    credits: dict[str, int] = field(default_factory=dict)
    # Each client's account tier (flightdata.credits.TIERS); "standard" unless named here.
    client_tiers: dict[str, str] = field(default_factory=dict)
    credit_periods: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    requests_served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_fault(self, kind: str, count: int = 1, delay_s: float = 2.0, retry_after_s: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.faults.append(Fault(kind, count, delay_s, retry_after_s))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget faults, tokens, spent credits and the request count."""
        with self.lock:
            self.faults.clear()
            self.tokens.clear()
            self.credits.clear()
            self.credit_periods.clear()
            self.requests_served = 0

    def next_fault(self) -> Fault | None:
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.popleft()
            return fault

    def set_credits(self, identity: str, credits: int) -> None:
        """What ``identity`` has left in the current period."""
        period = self.tier_of(identity).period_at(self.clock())
        with self.lock:
            self.credits[identity] = credits
            self.credit_periods[identity] = period

    def issue_token(self, client_id: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = (client_id, self.clock() + self.token_lifetime_s)
        return token

    def identity(self, authorization: str | None) -> str | None:
        """``anonymous``, a client id, or None for a missing, unknown or expired token."""
        if not authorization:
            return "anonymous"
        token = authorization.removeprefix("Bearer ").strip()
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def tier_of(self, identity: str) -> Tier:
        return TIERS["anonymous" if identity == "anonymous" else self.client_tiers.get(identity, "standard")]

    def charge(self, identity: str, cost: int) -> int | None:
        """Remaining credits after the charge, or None when there are not enough. Credits refill
        at each of the tier's periods (UTC days; hours for a licensed account)."""
        tier = self.tier_of(identity)
        period = tier.period_at(self.clock())
        with self.lock:
            if self.credit_periods.get(identity) != period:  # a new day (or hour): a full allowance
                self.credit_periods[identity] = period
                self.credits[identity] = tier.credits
            left = self.credits[identity]
            if left < cost:
                return None
            self.credits[identity] = left - cost
            return left - cost

    def seconds_to_reset(self, identity: str = "anonymous") -> int:
        return self.tier_of(identity).seconds_to_refill(self.clock())

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests_served, "credits": dict(self.credits), "faults": len(self.faults)}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers, 40 ms on Linux, on every answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("opensky-sim %s", format % args)

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path == TOKEN_PATH:
            self._token(body)
        elif path == "/_sim/faults":
            self._control_faults(body)
        else:
            self._send(404, {"error": "not found"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/api/states/all":
            self._states(parse_qs(url.query))
        elif url.path == "/_sim/stats":
            self._send(200, self.sim.stats())
        elif url.path == "/healthz":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": "not found"})

    def _token(self, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            self._send(400, {"error": "unsupported_grant_type"})
            return
        client_id = form.get("client_id", "")
        if self.sim.clients.get(client_id) != form.get("client_secret"):
            self._send(401, {"error": "invalid_client"})
            return
        token = self.sim.issue_token(client_id)
        self._send(
            200,
            {"access_token": token, "expires_in": self.sim.token_lifetime_s, "token_type": "Bearer"},
        )

    def _control_faults(self, body: bytes) -> None:
        try:
            spec = orjson.loads(body or b"{}")
            if spec.get("clear"):
                self.sim.clear_faults()
            else:
                self.sim.add_fault(
                    spec["kind"],
                    int(spec.get("count", 1)),
                    float(spec.get("delay_s", 2.0)),
                    int(spec.get("retry_after_s", 1)),
                )
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"error": str(exc)})
            return
        self._send(200, self.sim.stats())

    def _states(self, query: dict[str, list[str]]) -> None:
        with self.sim.lock:
            self.sim.requests_served += 1
        fault = self.sim.next_fault()
        if fault and fault.kind == "slow":
            time.sleep(fault.delay_s)
            fault = None
        if fault and fault.kind == "reset":
            self._reset()
            return
        if fault and fault.kind in ("401", "403", "500", "503"):
            self._send(int(fault.kind), {"error": f"simulated {fault.kind}"})
            return
        if fault and fault.kind == "429":
            self._send(429, {"error": "rate limited"}, {"X-Rate-Limit-Retry-After-Seconds": fault.retry_after_s})
            return

        identity = self.sim.identity(self.headers.get("Authorization"))
        if identity is None:
            self._send(401, {"error": "invalid or expired token"})
            return
        try:
            box = _box(query)
        except (InvalidRequestError, ValueError) as exc:
            self._send(400, {"error": str(exc)})
            return
        remaining = self.sim.charge(identity, credit_cost(box))
        if remaining is None:
            self._send(
                429,
                {"error": "too many requests"},
                {"X-Rate-Limit-Retry-After-Seconds": self.sim.seconds_to_reset(identity)},
            )
            return

        now = int(self.sim.clock())
        at_time = now - now % 10 if identity == "anonymous" else now
        if identity != "anonymous" and "time" in query:
            at_time = int(query["time"][0])
        extended = query.get("extended", ["0"])[0] == "1"
        bounds = (box.lamin, box.lomin, box.lamax, box.lomax) if box else None
        states = self.sim.fleet.states_at(at_time, bounds, extended)
        body = orjson.dumps({"time": at_time, "states": states or None})
        headers = {"X-Rate-Limit-Remaining": remaining}
        if fault and fault.kind == "huge":  # chunked, no length said: 2 GiB of rows
            self._send_endless(body, headers)
        elif fault and fault.kind == "huge_declared":  # a length announced, never sent
            self._send_head(200, HUGE_BYTES, headers)
        elif fault and fault.kind == "drip":  # one byte every delay_s
            self._send_head(200, len(body), headers)
            for byte in body:
                time.sleep(fault.delay_s)
                if not self._write(bytes((byte,))):
                    break
        elif fault and fault.kind == "truncated":
            self._send_bytes(200, body[: len(body) // 2], headers)
        elif fault and fault.kind == "not_json":
            self._send_bytes(200, b"<html><body>Service temporarily overloaded</body></html>", headers)
        else:
            self._send_bytes(200, body, headers)

    def _reset(self) -> None:
        """Close the connection with a TCP reset (SO_LINGER 0) and no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.wfile = io.BytesIO()  # what the handler still flushes goes nowhere

    def _send(self, status: int, document: Any, headers: dict[str, Any] | None = None) -> None:
        self._send_bytes(status, orjson.dumps(document), headers)

    def _send_bytes(self, status: int, body: bytes, headers: dict[str, Any] | None = None) -> None:
        self._send_head(status, len(body), headers)
        self._write(body)

    def _send_head(self, status: int, length: int | None, headers: dict[str, Any] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()

    def _write(self, data: bytes) -> bool:
        """False once the client has gone."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False
        return True

    def _send_endless(self, body: bytes, headers: dict[str, Any]) -> None:
        """A states document whose rows go on for ``HUGE_BYTES``, as HTTP chunks."""
        start, _, rest = body.partition(b"[[")
        row = b"[" + rest.split(b"]", 1)[0] + b"],"
        block = row * max(1, (1 << 20) // len(row))
        self._send_head(200, None, headers)
        for piece in (start + b"[", *(block for _ in range(HUGE_BYTES // len(block)))):
            if not self._write(b"%x\r\n%s\r\n" % (len(piece), piece)):
                return
        self._write(b"0\r\n\r\n")


def _box(query: dict[str, list[str]]) -> BoundingBox | None:
    names = ("lamin", "lomin", "lamax", "lomax")
    given = [n for n in names if n in query]
    if not given:
        return None
    return BoundingBox.from_mapping({n: float(query[n][0]) for n in given})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator


@dataclass
class RunningSimulator:
    url: str
    simulator: Simulator

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def make_server(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> _Server:
    return _Server((host, port), simulator)


@contextlib.contextmanager
def running(
    seed: int = 7,
    shape: TrafficShape | None = None,
    fleet: Fleet | None = None,
    **simulator_options: Any,
) -> Iterator[RunningSimulator]:
    """Run the simulator on 127.0.0.1 in a background thread for the duration of the block."""
    simulator = Simulator(fleet=fleet or Fleet(seed, shape), **simulator_options)
    server = make_server(simulator)
    thread = threading.Thread(target=server.serve_forever, name="opensky-sim", daemon=True)
    thread.start()
    try:
        yield RunningSimulator(f"http://127.0.0.1:{server.server_address[1]}", simulator)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(port: int, seed: int = 7, aircraft: int = 12_000, host: str = "127.0.0.1") -> None:
    """Serve in the foreground until interrupted."""
    simulator = Simulator(fleet=Fleet(seed, TrafficShape(aircraft=aircraft)))
    server = make_server(simulator, host, port)
    log.info("OpenSky simulator on http://%s:%d (client id %s)", host, server.server_address[1], DEMO_CLIENT_ID)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
