"""Inside an emulated Lambda execution environment: load one handler, give it one event, print its result.

Started by lambda_emulator.py as `python3.13 -I -S lambda_runtime.py --task-root … --opt … --handler app.x`, the
event on stdin. Isolated mode and no `site` leave sys.path with the standard library only; this adds what Lambda's
Python runtime adds: the task root (/var/task), then the layer's /opt/python/lib/python3.13/site-packages and
/opt/python. The function's environment is the process environment the emulator built.

stdout carries the result and nothing else, as JSON (what `sam local invoke` prints); everything the function
prints or logs goes to stderr, with Lambda's START / END / REPORT lines. Exit status: 0 when the handler returned,
1 when it raised, failed to load or timed out (the error object is then the result), 2 for bad arguments.
With --init-only it loads the handler, prints {"initDurationMs": …} and exits at once, without teardown;
--no-teardown ends a whole invocation that way too (benchmarks/cold_start.py).
Standard library only: nothing of the host's environment may be importable here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

RUNTIME_VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object of Lambda's Python runtime (awslambdaric), attribute for attribute.

    As there, the names and the memory size come from the environment, so memory_limit_in_mb is a string.
    """

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.identity = CognitoIdentity()
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(str(message))


class Output:
    """The result channel (the original stdout) and the log (stderr, where the original fd 1 now points too)."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._result_fd = os.dup(1)
        os.dup2(2, 1)  # so that even C code writing to fd 1 ends up in the log
        sys.stdout = sys.stderr

    def result(self, value: Any) -> None:
        os.write(self._result_fd, (json.dumps(value) + "\n").encode())

    @staticmethod
    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def error_object(exc: BaseException, error_type: str | None, request_id: str) -> dict[str, Any]:
    """Lambda's answer for an unhandled error; the stack lists frames (file, line, code), never values."""
    frames = traceback.format_tb(exc.__traceback__) if isinstance(exc.__traceback__, TracebackType) else []
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": frames,
    }


def load_handler(spec: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, attribute = spec.rpartition(".")
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"Handler '{attribute}' missing on module '{module_name}'")
    return handler  # type: ignore[no-any-return]


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run one Lambda handler as Lambda's Python runtime does.")
    parser.add_argument("--task-root", required=True, help="the function's folder (Lambda: /var/task)")
    parser.add_argument("--opt", required=True, help="the layer's root (Lambda: /opt)")
    parser.add_argument("--handler", required=True, help="module.attribute")
    parser.add_argument("--function-arn", required=True)
    parser.add_argument("--timeout", type=float, required=True, help="seconds, as the function's Timeout")
    parser.add_argument("--request-id", default=None)
    parser.add_argument("--init-only", action="store_true", help="load the handler, report the init time, stop")
    parser.add_argument("--no-teardown", action="store_true", help="end without the interpreter's teardown")
    return parser.parse_args(argv)


def lambda_sys_path(task_root: str, opt: str) -> list[str]:
    return [task_root, f"{opt}/python/lib/{RUNTIME_VERSION}/site-packages", f"{opt}/python"]


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    code = invoke_once(args)
    if args.no_teardown:
        sys.stderr.flush()
        os._exit(code)  # as --init-only: a benchmark measures the invocation, not the interpreter's teardown
    return code


def invoke_once(args: argparse.Namespace) -> int:
    request_id = args.request_id or str(uuid.uuid4())
    output = Output()
    sys.path[:0] = lambda_sys_path(args.task_root, args.opt)
    os.chdir(args.task_root)

    init_started = time.perf_counter()
    try:
        handler = load_handler(args.handler)
    except Exception as exc:  # a broken module is Lambda's Runtime.ImportModuleError, not a crash of ours
        kind = "Runtime.HandlerNotFound" if isinstance(exc, AttributeError) else "Runtime.ImportModuleError"
        output.result(error_object(exc, kind, request_id))
        return 1
    init_ms = (time.perf_counter() - init_started) * 1000
    if args.init_only:
        output.result({"initDurationMs": round(init_ms, 2)})
        sys.stderr.flush()
        os._exit(0)  # no interpreter teardown: it is not part of a Lambda init and would only add to a measurement

    event = json.loads(sys.stdin.buffer.read() or b"null")
    deadline_ms = int(time.time() * 1000 + args.timeout * 1000)
    context = LambdaContext(request_id, args.function_arn, deadline_ms)
    started = time.perf_counter()

    def report(status: str = "") -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        output.log(f"END RequestId: {request_id}")
        output.log(
            f"REPORT RequestId: {request_id}\tInit Duration: {init_ms:.2f} ms\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {context.memory_limit_in_mb} MB\t"
            f"Max Memory Used: {memory_mb} MB{status}"
        )

    def time_out(signum: int, frame: FrameType | None) -> None:
        message = f"Task timed out after {args.timeout:.2f} seconds"
        output.result({"errorType": "Sandbox.Timedout", "errorMessage": message, "requestId": request_id})
        report("\tStatus: timeout")
        os._exit(1)  # as Lambda stops the environment: no cleanup code of the function runs

    output.log(f"START RequestId: {request_id} Version: {context.function_version}")
    signal.signal(signal.SIGALRM, time_out)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    try:
        result = handler(event, context)
    except Exception as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        traceback.print_exc()  # Lambda logs it; the frames carry no values
        output.result(error_object(exc, None, request_id))
        report("\tStatus: error")
        return 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    report()
    try:
        output.result(result)
    except (TypeError, ValueError) as exc:
        output.result(error_object(exc, "Runtime.MarshalError", request_id))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
