"""One local AWS endpoint: Lambda requests go to our executor, everything else to moto's server.

moto serves S3, Glue, CloudWatch, SQS, STS, Secrets Manager (and Athena's control calls);
the executor runs uploaded Lambda code for real, which moto cannot do without Docker.
Every request must carry a SigV4 signature made with the endpoint's key pair
(``<state-dir>/credentials``), and acts in the region it was signed for; the answers
carry no CORS headers, so a web page cannot read them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from localaws import credentials, objects
from localaws.athena import AthenaApiError, AthenaExecutor
from localaws.athena.worker import Endpoint
from localaws.auth import AuthError, Caller, scope, verify
from localaws.clients import local_client
from localaws.journal import Journal
from localaws.lambda_executor import API_PREFIX, LambdaApiError, LambdaExecutor, function_name, report_log
from localaws.memory import MemoryTrimmer, track_models_weakly, use_system_allocator_for_arrow

log = logging.getLogger(__name__)

DEFAULT_REGION = "eu-west-1"
CODE_PREFIX = "/_localaws/lambda-code/"
MB = 1 << 20
CODE_URL_SECONDS = 600  # GetFunction's Code.Location is valid for 10 minutes on AWS
# The largest request body each service takes, as AWS sets it: a synchronous Lambda invoke
# 6 MB; a function's zip sent inline 50 MB, which base64 in JSON makes about 67 MB; one S3
# PUT 5 GB; CloudWatch's PutMetricData 1 MB. The other JSON and query APIs take far less
# than the 10 MB allowed here. The body is read only after these and the signer's key and
# clock are checked.
REQUEST_LIMITS = {"lambda_invoke": 6 * MB, "lambda": 70 * MB, "s3": 5 * 1024 * MB, "monitoring": 1 * MB}
DEFAULT_REQUEST_LIMIT = 10 * MB
_FUNCTION_PATH = re.compile(rf"^{API_PREFIX}/(?P<name>[^/]+)(?P<rest>/.*)?$")


# A connection has this long for each read (the request line, a header, a piece of the
# body, the next request on a kept-alive connection), and its body as a whole has
# BODY_SECONDS plus a second per MiB; at most MAX_CONNECTIONS are served at once (each is a
# thread), and one past that is closed at once. A client that opens connections and sends
# nothing, or sends a byte now and then, holds a bounded number of threads for a bounded time.
READ_TIMEOUT_S = float(os.environ.get("LOCALAWS_READ_TIMEOUT_S", "20"))
BODY_SECONDS = float(os.environ.get("LOCALAWS_BODY_SECONDS", "30"))
MAX_CONNECTIONS = int(os.environ.get("LOCALAWS_MAX_CONNECTIONS", "256"))


class _QuietHandler(WSGIRequestHandler):
    timeout = READ_TIMEOUT_S  # socketserver sets it on the connection before the first read

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path, code)


class _BoundedServer(ThreadedWSGIServer):
    """A thread per connection, as werkzeug's threaded server runs, up to ``MAX_CONNECTIONS``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("refused a connection from %s: %d are open", client_address[0], MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _start(state_dir: Path, region: str, port: int, host: str = "127.0.0.1") -> tuple[LocalAws, Any]:
    """Bind the socket, then restore state; Lambda code reaches the endpoint on loopback."""
    app = LocalAws(state_dir, region)
    server = _BoundedServer(host, port, app, handler=_QuietHandler)
    app.bind(f"http://127.0.0.1:{server.server_port}")
    return app, server


def _backend_app(service: str) -> Any:
    """moto's Flask app for ``service``, out of debug mode: moto turns it on, and Flask then
    builds a new class for every request that reads a body (about 1,600 an hour, kept)."""
    app = create_backend_app(service)  # type: ignore[arg-type]  # any service moto serves
    app.debug = False
    return app


class LocalAws:
    """The WSGI application behind the endpoint."""

    def __init__(self, state_dir: Path, region: str = DEFAULT_REGION) -> None:
        self.state_dir = state_dir
        self.region = region
        self.endpoint_url = ""  # set once the socket is bound
        self.key = credentials.load_or_create(state_dir)
        objects.install()  # S3 bodies in files under the state directory, not in memory
        track_models_weakly()  # moto would keep every model it ever made
        self.moto = DomainDispatcherApplication(_backend_app)
        self.journal = Journal(state_dir / "journal", objects.ContentStore(state_dir / "objects"))
        self.memory = MemoryTrimmer()
        use_system_allocator_for_arrow()
        self.lambdas: LambdaExecutor | None = None
        self.athena = AthenaExecutor(state_dir, self.client, lambda: Endpoint(self.endpoint_url, self.key))

    def bind(self, endpoint_url: str) -> None:
        """Start serving at ``endpoint_url``, first replaying the journal of an earlier run."""
        self.endpoint_url = endpoint_url
        self.lambdas = LambdaExecutor(self.state_dir, endpoint_url, self.key, self._send_to_dlq)
        self.journal.compact()
        replayed = self.journal.replay(self.moto)
        if replayed:
            log.info("restored %d requests' worth of state from %s", replayed, self.journal.root)

    def client(self, service: str, region: str | None = None) -> Any:
        return local_client(service, self.endpoint_url, region or self.region, self.key)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        start_response = _without_cors(start_response)
        path = environ.get("PATH_INFO", "")
        if path.startswith(CODE_PREFIX):  # GetFunction's Code.Location, a URL with its own token
            return self._code_download(path.removeprefix(CODE_PREFIX), environ)(environ, start_response)
        called = "lambda" if path.startswith(API_PREFIX) else _json_service(environ)
        try:
            signer = scope(environ, self.key)  # before a byte of the body is read
            length = _content_length(environ, called or signer.service, path)
            body = _read_body(environ["wsgi.input"], length)
            environ["wsgi.input"] = io.BytesIO(body)
            self.memory.note(length)
            caller = verify(environ, body, self.key, service=called)
        except AuthError as exc:
            log.warning("refused %s %s: %s", environ.get("REQUEST_METHOD"), path, exc.code)
            return _auth_error(environ, exc)(environ, start_response)
        if path.startswith(API_PREFIX):
            return self._lambda(Request(environ), caller)(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonAthena.") and self.athena.handles(target.split(".", 1)[1]):
            return self._athena(target.split(".", 1)[1], Request(environ), caller)(environ, start_response)
        return self.journal.record(self.moto, environ, start_response, body)

    def _athena(self, operation: str, request: Request, caller: Caller) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            return _json(200, self.athena.handle(operation, body, caller.region))
        except AthenaApiError as exc:
            return _json(exc.status, {"__type": exc.error_type, "Message": str(exc)}, exc.error_type)

    # --- Lambda REST API -----------------------------------------------------------------
    def _lambda(self, request: Request, caller: Caller) -> Response:
        assert self.lambdas is not None
        try:
            return self._route_lambda(request, caller.region)
        except LambdaApiError as exc:
            return _json(exc.status, {"Type": "User", "Message": str(exc), "message": str(exc)}, exc.error_type)

    def _route_lambda(self, request: Request, region: str) -> Response:
        lambdas = self.lambdas
        assert lambdas is not None
        path, method = request.path.rstrip("/"), request.method
        if path == API_PREFIX:
            if method == "POST":
                body = json.loads(request.get_data() or b"{}")
                config = lambdas.create(region, body, self._code(body.get("Code") or {}, region))
                return _json(201, config.describe(region))
            return _json(200, {"Functions": [f.describe(region) for f in lambdas.list(region)]})
        match = _FUNCTION_PATH.match(path)
        candidate = unquote(path[len(API_PREFIX) + 1 :])
        for suffix in ("/invocations", "/configuration", "/code"):
            candidate = candidate.removesuffix(suffix)
        if not match or "/" in candidate:
            function_name(candidate, region)  # a name with '/' in it: ValidationException, as AWS says
            raise LambdaApiError(404, "ResourceNotFoundException", f"no such Lambda API path {path}")
        name, rest = unquote(match["name"]), match["rest"] or ""
        if rest == "/invocations" and method == "POST":
            return self._invoke(region, name, request)
        if rest == "" and method == "GET":
            config = lambdas.get(region, name)
            expires = int(time.time()) + CODE_URL_SECONDS
            token = self._code_token(region, config.FunctionName, expires, config.CodeSha256)
            location = f"{self.endpoint_url}{CODE_PREFIX}{region}/{config.FunctionName}?expires={expires}&token={token}"
            return _json(200, {"Configuration": config.describe(region), "Code": {"Location": location}})
        if rest == "" and method == "DELETE":
            lambdas.delete(region, name)
            return Response(status=204)
        if rest == "/configuration" and method == "GET":
            return _json(200, lambdas.get(region, name).describe(region))
        if rest == "/configuration" and method == "PUT":
            changes = json.loads(request.get_data())
            return _json(200, lambdas.update_configuration(region, name, changes).describe(region))
        if rest == "/code" and method == "PUT":
            body = json.loads(request.get_data())
            return _json(200, lambdas.update_code(region, name, self._code(body, region)).describe(region))
        raise LambdaApiError(400, "InvalidRequestContentException", f"{method} {path} is not supported locally")

    def _code_token(self, region: str, name: str, expires: int, code_sha256: str) -> str:
        """What makes a code download URL work without a signature, as a presigned URL does:
        for this function's code as it is now, until ``expires``."""
        message = f"{region}/{name}/{expires}/{code_sha256}".encode()
        return hmac.new(self.key.secret_key.encode(), message, hashlib.sha256).hexdigest()

    def _code_download(self, where: str, environ: dict[str, Any]) -> Response:
        assert self.lambdas is not None
        denied = _xml_error(403, "AccessDenied", "Request has expired or its token is not valid")
        region, _, name = where.partition("/")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        token, expires = (query.get("token") or [""])[0], (query.get("expires") or [""])[0]
        if not expires.isdigit() or int(expires) < time.time():
            return denied
        try:
            config = self.lambdas.get(region, name)
        except LambdaApiError:
            return denied  # whether a function exists is not for a URL without a valid token to learn
        if not hmac.compare_digest(
            token, self._code_token(region, config.FunctionName, int(expires), config.CodeSha256)
        ):
            return denied
        return Response(self.lambdas.code_zip(region, config.FunctionName), content_type="application/zip")

    def _code(self, code: dict[str, Any], region: str) -> bytes:
        if code.get("ZipFile"):
            return base64.b64decode(code["ZipFile"])
        if code.get("S3Bucket") and code.get("S3Key"):
            obj = self.client("s3", region).get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])
            return obj["Body"].read()
        raise LambdaApiError(400, "InvalidParameterValueException", "Code needs ZipFile or S3Bucket and S3Key")

    def _invoke(self, region: str, name: str, request: Request) -> Response:
        lambdas = self.lambdas
        assert lambdas is not None
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        payload = request.get_data()
        if invocation_type == "Event":
            lambdas.invoke_async(region, name, payload)
            return Response(status=202)
        if invocation_type == "DryRun":
            lambdas.get(region, name)
            return Response(status=204)
        result = lambdas.invoke(region, name, payload)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = result.log_tail
        return Response(result.payload, status=200, headers=headers, content_type="application/json")

    def _send_to_dlq(self, target_arn: str, payload: bytes, function: str, error: bytes) -> None:
        if ":sqs:" not in target_arn:
            log.error("dead-letter target %s of %s is not an SQS queue", target_arn, function)
            return
        sqs = self.client("sqs", target_arn.split(":")[3])
        url = sqs.get_queue_url(QueueName=target_arn.rsplit(":", 1)[1])["QueueUrl"]
        message = json.loads(error or b"{}")
        sqs.send_message(
            QueueUrl=url,
            MessageBody=payload.decode(errors="replace"),
            MessageAttributes={
                "ErrorCode": {"DataType": "String", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": str(message.get("errorMessage", ""))[:256]},
                "FunctionName": {"DataType": "String", "StringValue": function},
            },
        )


def _read_body(stream: Any, length: int) -> bytes:
    """``length`` bytes, read as they come, within ``BODY_SECONDS`` and a second per MiB."""
    deadline = time.monotonic() + BODY_SECONDS + length / MB
    read = getattr(stream, "read1", stream.read)  # one socket read at a time, to check the time
    body = bytearray()
    while len(body) < length:
        if time.monotonic() > deadline:
            raise AuthError(
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within the timeout period.",
                400,
            )
        try:
            chunk = read(min(1 << 16, length - len(body)))
        except OSError:  # the connection's read timeout
            chunk = b""
        if not chunk:
            raise AuthError("IncompleteBody", "The request body ended before its Content-Length.", 400)
        body += chunk
    return bytes(body)


def _json_service(environ: dict[str, Any]) -> str | None:
    """The service an ``X-Amz-Target`` names, where this endpoint answers it itself."""
    return "athena" if environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonAthena.") else None


def _content_length(environ: dict[str, Any], service: str, path: str) -> int:
    """The body's declared length, refused past the service's limit before it is read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise AuthError("InvalidRequest", "Content-Length is not a number", 400) from None
    kind = "lambda_invoke" if service == "lambda" and path.endswith("/invocations") else service
    limit = REQUEST_LIMITS.get(kind, DEFAULT_REQUEST_LIMIT)
    if length > limit:
        message = f"Request must be smaller than {limit} bytes; this one declares {length}"
        if service == "s3":
            raise AuthError("EntityTooLarge", message, 400)
        raise AuthError("RequestEntityTooLargeException", message, 413)
    return length


def _without_cors(start_response: Any) -> Any:
    """moto's server answers any origin; AWS's APIs do not, and neither does this endpoint."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

    return start


# AWS's error code for each refusal, by protocol: JSON APIs (X-Amz-Target), the Lambda REST
# API, query APIs (form-encoded Action) and S3 (REST-XML).
_JSON_CODES = {
    "InvalidAccessKeyId": ("UnrecognizedClientException", 400),
    "SignatureDoesNotMatch": ("InvalidSignatureException", 403),
    "MissingAuthenticationToken": ("MissingAuthenticationTokenException", 403),
    "IncompleteSignature": ("IncompleteSignatureException", 403),
}
_QUERY_CODES = {
    "InvalidAccessKeyId": "InvalidClientTokenId",
    "MissingAuthenticationToken": "MissingAuthenticationToken",
}


def _auth_error(environ: dict[str, Any], error: AuthError) -> Response:
    message = str(error)
    if environ.get("PATH_INFO", "").startswith(API_PREFIX) or environ.get("HTTP_X_AMZ_TARGET"):
        code, status = _JSON_CODES.get(error.code, (error.code, error.status))
        if environ.get("HTTP_X_AMZ_TARGET"):
            return _json(status, {"__type": code, "message": message}, code)
        return _json(status, {"Type": "User", "message": message}, code)
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        code = _QUERY_CODES.get(error.code, error.code)
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_escape(message)}</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        return Response(body, status=error.status, content_type="text/xml")
    code = "AccessDenied" if error.code == "MissingAuthenticationToken" else error.code
    return _xml_error(error.status, code, message)


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (
        f"<Error><Code>{code}</Code><Message>{_escape(message)}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(status: int, document: Any, error_type: str | None = None) -> Response:
    headers = {"x-amzn-ErrorType": error_type} if error_type else {}
    return Response(json.dumps(document, default=str), status=status, headers=headers, content_type="application/json")


@dataclass
class RunningEndpoint:
    url: str
    app: LocalAws

    @property
    def credentials_file(self) -> Path:
        return credentials.credentials_file(self.app.state_dir)

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        """A boto3 client signed with the endpoint's key pair."""
        return local_client(service, self.url, region, self.app.key)


@contextlib.contextmanager
def running(state_dir: Path | None = None, port: int = 0, region: str = DEFAULT_REGION) -> Iterator[RunningEndpoint]:
    """Serve on 127.0.0.1 in a background thread for the duration of the block."""
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="localaws-")))
        app, server = _start(state_dir, region, port)
        url = app.endpoint_url
        thread = threading.Thread(target=server.serve_forever, name="local-aws", daemon=True)
        thread.start()
        try:
            yield RunningEndpoint(url, app)
        finally:
            server.shutdown()
            thread.join(timeout=5)
            app.athena.close()


def _make_private(state_dir: Path) -> None:
    """A state dir written before the endpoint set its umask: folders 0700, files 0600."""
    for path in (state_dir, *state_dir.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & 0o077:
            continue
        path.chmod(0o700 if stat.S_ISDIR(mode) else 0o600)


def serve(port: int, state_dir: Path, region: str = DEFAULT_REGION, host: str = "127.0.0.1") -> None:
    """Serve in the foreground until interrupted. Lambda code reaches the endpoint on loopback.
    Everything the endpoint and its Lambda and Athena processes write is the user's alone
    (0700 folders, 0600 files): the state holds the key pair, secrets and the lake."""
    os.umask(0o077)
    state_dir.mkdir(parents=True, exist_ok=True)
    _make_private(state_dir)
    report_log.setLevel(logging.INFO)
    app, server = _start(state_dir, region, port, host)
    log.info("local AWS endpoint on %s (state in %s)", app.endpoint_url, state_dir)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        app.athena.close()
