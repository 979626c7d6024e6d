"""Runs one Lambda invocation inside its own process: payload on stdin, result on stdout.

An exception in the handler is reported the way Lambda reports it (``errorMessage``,
``errorType``, ``stackTrace``) with exit status 1; logs go to stderr, ending, as on Lambda,
with a ``REPORT`` line: the handler's duration, the billed duration, the memory size and the
most memory used, and the init (import) duration, since every local invocation is a cold start.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import resource
import sys
import time
import traceback
import uuid


class Context:
    """The parts of the Lambda context object handlers use."""

    def __init__(self) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self._deadline = time.monotonic() + int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    sys.path.insert(0, os.environ["LOCALAWS_CODE_DIR"])
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # prints in the handler are logs, as on Lambda
    context = Context()
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST", file=sys.stderr)
    init_started = time.perf_counter()
    started = init_ms = None
    try:
        module_name, function_name = os.environ["LOCALAWS_HANDLER"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
        raw = sys.stdin.buffer.read()
        event = json.loads(raw) if raw.strip() else {}
        started = time.perf_counter()
        init_ms = (started - init_started) * 1000
        result = handler(event, context)
        real_stdout.write(json.dumps(result, default=str))
        code = 0
    except Exception as exc:
        error = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        traceback.print_exc(file=sys.stderr)
        real_stdout.write(json.dumps(error))
        code = 1
    print(f"END RequestId: {context.aws_request_id}", file=sys.stderr)
    print(report_line(context, started, init_ms), file=sys.stderr)
    real_stdout.flush()
    return code


def _peak_rss_kib() -> int:
    """This process's peak resident size. Not ``getrusage``: its ``ru_maxrss`` keeps the
    parent's peak across fork and exec, so the endpoint's own size would show up. Where
    there is no /proc (macOS), it is the best there is."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)


def report_line(context: Context, started: float | None, init_ms: float | None) -> str:
    """Lambda's ``REPORT`` line; a handler that never started reports its init time only."""
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    used_mb = math.ceil(_peak_rss_kib() / 1024)
    fields = [
        f"REPORT RequestId: {context.aws_request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms)} ms",
        f"Memory Size: {context.memory_limit_in_mb} MB",
        f"Max Memory Used: {used_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(fields)


if __name__ == "__main__":
    sys.exit(main())
