"""One local AWS endpoint: Lambda requests go to our executor, everything else to moto's server.

moto serves S3, Glue, CloudWatch, SQS, STS, Secrets Manager (and Athena's control calls);
the executor runs uploaded Lambda code for real, which moto cannot do without Docker.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from localaws.athena import AthenaApiError, AthenaExecutor
from localaws.clients import local_client
from localaws.journal import Journal
from localaws.lambda_executor import API_PREFIX, LambdaApiError, LambdaExecutor

log = logging.getLogger(__name__)

DEFAULT_REGION = "eu-west-1"
CODE_PREFIX = "/_localaws/lambda-code/"
_FUNCTION_PATH = re.compile(rf"^{API_PREFIX}/(?P<name>[^/]+)(?P<rest>/.*)?$")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path, code)


def _start(state_dir: Path, region: str, port: int, host: str = "127.0.0.1") -> tuple[LocalAws, Any]:
    """Bind the socket, then restore state; Lambda code reaches the endpoint on loopback."""
    app = LocalAws(state_dir, region)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    app.bind(f"http://127.0.0.1:{server.server_port}")
    return app, server


class LocalAws:
    """The WSGI application behind the endpoint."""

    def __init__(self, state_dir: Path, region: str = DEFAULT_REGION) -> None:
        self.state_dir = state_dir
        self.region = region
        self.endpoint_url = ""  # set once the socket is bound
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.journal = Journal(state_dir / "journal")
        self.lambdas: LambdaExecutor | None = None
        self.athena = AthenaExecutor(state_dir, self.client)

    def bind(self, endpoint_url: str) -> None:
        """Start serving at ``endpoint_url``, first replaying the journal of an earlier run."""
        self.endpoint_url = endpoint_url
        self.lambdas = LambdaExecutor(self.state_dir, endpoint_url, self.region, self._send_to_dlq)
        replayed = self.journal.replay(self.moto)
        if replayed:
            log.info("restored %d requests' worth of state from %s", replayed, self.journal.root)

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint_url, self.region)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(API_PREFIX):
            return self._lambda(Request(environ))(environ, start_response)
        if path.startswith(CODE_PREFIX):  # GetFunction's Code.Location
            return self._code_download(path.removeprefix(CODE_PREFIX))(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonAthena.") and self.athena.handles(target.split(".", 1)[1]):
            return self._athena(target.split(".", 1)[1], Request(environ))(environ, start_response)
        return self.journal.record(self.moto, environ, start_response)

    def _athena(self, operation: str, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            return _json(200, self.athena.handle(operation, body))
        except AthenaApiError as exc:
            return _json(exc.status, {"__type": exc.error_type, "Message": str(exc)}, exc.error_type)

    # --- Lambda REST API -----------------------------------------------------------------
    def _lambda(self, request: Request) -> Response:
        assert self.lambdas is not None
        try:
            return self._route_lambda(request)
        except LambdaApiError as exc:
            return _json(exc.status, {"Type": "User", "Message": str(exc), "message": str(exc)}, exc.error_type)

    def _route_lambda(self, request: Request) -> Response:
        lambdas = self.lambdas
        assert lambdas is not None
        path, method = request.path.rstrip("/"), request.method
        if path == API_PREFIX:
            if method == "POST":
                body = json.loads(request.get_data() or b"{}")
                config = lambdas.create(body, self._code(body.get("Code") or {}))
                return _json(201, config.describe(self.region))
            return _json(200, {"Functions": [f.describe(self.region) for f in lambdas.list()]})
        match = _FUNCTION_PATH.match(path)
        if not match:
            raise LambdaApiError(404, "ResourceNotFoundException", f"no such Lambda API path {path}")
        name, rest = unquote(match["name"]), match["rest"] or ""
        if rest == "/invocations" and method == "POST":
            return self._invoke(name, request)
        if rest == "" and method == "GET":
            config = lambdas.get(name)
            location = f"{self.endpoint_url}{CODE_PREFIX}{config.FunctionName}"
            return _json(200, {"Configuration": config.describe(self.region), "Code": {"Location": location}})
        if rest == "" and method == "DELETE":
            lambdas.delete(name)
            return Response(status=204)
        if rest == "/configuration" and method == "GET":
            return _json(200, lambdas.get(name).describe(self.region))
        if rest == "/configuration" and method == "PUT":
            return _json(200, lambdas.update_configuration(name, json.loads(request.get_data())).describe(self.region))
        if rest == "/code" and method == "PUT":
            body = json.loads(request.get_data())
            return _json(200, lambdas.update_code(name, self._code(body)).describe(self.region))
        raise LambdaApiError(400, "InvalidRequestContentException", f"{method} {path} is not supported locally")

    def _code_download(self, name: str) -> Response:
        assert self.lambdas is not None
        try:
            config = self.lambdas.get(name)
        except LambdaApiError as exc:
            return _json(exc.status, {"Message": str(exc)}, exc.error_type)
        return Response(self.lambdas.code_zip(config.FunctionName), content_type="application/zip")

    def _code(self, code: dict[str, Any]) -> bytes:
        if code.get("ZipFile"):
            return base64.b64decode(code["ZipFile"])
        if code.get("S3Bucket") and code.get("S3Key"):
            obj = self.client("s3").get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])
            return obj["Body"].read()
        raise LambdaApiError(400, "InvalidParameterValueException", "Code needs ZipFile or S3Bucket and S3Key")

    def _invoke(self, name: str, request: Request) -> Response:
        lambdas = self.lambdas
        assert lambdas is not None
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        payload = request.get_data()
        if invocation_type == "Event":
            lambdas.invoke_async(name, payload)
            return Response(status=202)
        if invocation_type == "DryRun":
            lambdas.get(name)
            return Response(status=204)
        result = lambdas.invoke(name, payload)
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
        sqs = self.client("sqs")
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


def _json(status: int, document: Any, error_type: str | None = None) -> Response:
    headers = {"x-amzn-ErrorType": error_type} if error_type else {}
    return Response(json.dumps(document, default=str), status=status, headers=headers, content_type="application/json")


@dataclass
class RunningEndpoint:
    url: str
    app: LocalAws


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


def serve(port: int, state_dir: Path, region: str = DEFAULT_REGION, host: str = "127.0.0.1") -> None:
    """Serve in the foreground until interrupted. Lambda code reaches the endpoint on loopback."""
    state_dir.mkdir(parents=True, exist_ok=True)
    app, server = _start(state_dir, region, port, host)
    log.info("local AWS endpoint on %s (state in %s)", app.endpoint_url, state_dir)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        app.athena.close()
