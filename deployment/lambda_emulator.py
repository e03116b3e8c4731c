"""Run a built function (`make package`'s .aws-sam/build) as Lambda's Python 3.13 runtime would, without Docker.

A fresh `python3.13 -I -S` per invocation (isolated: no PYTHON* variables, no user or site packages, not the source
tree), with only the built function folder (Lambda's /var/task) and the layer (/opt) added to sys.path; the
environment is built from scratch: Lambda's own variables plus the function's variables from the built template
(Globals and its own, parameters at their defaults or overridden). AWS calls go to the endpoint given (a local
moto server), with dummy credentials, never to AWS.

The deployed layer is arm64; the emulation loads its x86_64 twin (.aws-sam/layer-x86_64), built from the same lock
the same way (deployment/build_layer.py), so that its compiled modules load on this machine.

    built = built_function("FileTokenFunction")
    subprocess.run(python_command(built), env=environment(built, "http://127.0.0.1:5000"), input=event_bytes)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .template_values import LOCAL_ACCOUNT, LOCAL_REGION, Stack, function_environment, load_template

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / ".aws-sam" / "build"
TWIN_LAYER = ROOT / ".aws-sam" / "layer-x86_64"
RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.py")
FIND_PYTHON = Path(__file__).with_name("find-python.sh")
RUNTIME = "python3.13"
LAYER = "SharedLayer"
INIT_LIMIT_S = 10  # Lambda stops an init phase that takes longer
# Lambda's own variables that do not depend on the function (python3.13 runtime, on-demand environment).
LAMBDA_VARIABLES = {
    "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
}
# Loopback only: the credentials moto accepts, so that nothing can reach a real account.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class EmulatorError(RuntimeError):
    """The emulation cannot start (nothing built, no Python 3.13, unknown function); the message says what to do."""


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    name: str  # the deployed function's name (Lambda's AWS_LAMBDA_FUNCTION_NAME)
    task_root: Path  # Lambda: /var/task
    layer_root: Path  # Lambda: /opt
    handler: str  # module.attribute
    memory_mb: int
    timeout_s: int
    variables: dict[str, str]  # from the template, resolved
    region: str
    log_format: str | None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.name}"


def built_stack(
    build_dir: Path = BUILD_DIR, parameter_overrides: dict[str, str] | None = None, region: str = LOCAL_REGION
) -> Stack:
    """The built template (.aws-sam/build/template.yaml) as one local stack."""
    template_path = build_dir / "template.yaml"
    if not template_path.is_file():
        raise EmulatorError(f"nothing built at {build_dir}: run `make package` first")
    return Stack.of(load_template(template_path), parameter_overrides, region=region)


def built_function(
    logical_id: str,
    *,
    stack: Stack | None = None,
    build_dir: Path = BUILD_DIR,
    layer_root: Path = TWIN_LAYER,
) -> BuiltFunction:
    """The built function as the built template describes it; its layer replaced by the x86_64 twin."""
    stack = stack or built_stack(build_dir)
    if not (layer_root / "python").is_dir():
        raise EmulatorError(f"no layer at {layer_root}: run `make package` first")
    functions = stack.resources_of_type("AWS::Serverless::Function")
    if logical_id not in functions:
        raise EmulatorError(f"no function {logical_id} in this stack; there are: {', '.join(sorted(functions))}")
    properties = {
        **((stack.template.get("Globals") or {}).get("Function") or {}),
        **(stack.resources[logical_id].get("Properties") or {}),
    }
    if properties.get("Runtime") != RUNTIME:
        raise EmulatorError(f"{logical_id} runs {properties.get('Runtime')}; the emulator runs {RUNTIME} only")
    layers = stack.resolve(properties.get("Layers") or [])
    if layers != [stack.ref(LAYER)]:
        raise EmulatorError(f"{logical_id} must use exactly the layer {LAYER}, which the twin stands in for")
    return BuiltFunction(
        logical_id=logical_id,
        name=functions[logical_id],
        task_root=(build_dir / str(properties["CodeUri"])).resolve(),
        layer_root=layer_root.resolve(),
        handler=str(properties["Handler"]),
        memory_mb=int(properties.get("MemorySize", 128)),
        timeout_s=int(properties.get("Timeout", 3)),
        variables=function_environment(stack, logical_id),
        region=stack.region,
        log_format=(properties.get("LoggingConfig") or {}).get("LogFormat"),
    )


@cache
def runtime_python() -> str:
    """Python 3.13 (on PATH, else pyenv's): the interpreter the emulated runtime runs on."""
    found = subprocess.run(  # noqa: S603 - our own script
        [str(FIND_PYTHON), RUNTIME.removeprefix("python")], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found:
        raise EmulatorError(f"{RUNTIME} not found on PATH or in pyenv: install it, e.g. `pyenv install 3.13`")
    return found


def python_command(
    function: BuiltFunction, *, init_only: bool = False, no_teardown: bool = False, request_id: str | None = None
) -> list[str]:
    """The command line of a fresh runtime process for the function; the event goes to its stdin."""
    command = [
        runtime_python(),
        "-I",  # isolated: ignores PYTHON* variables, the user's site-packages and the current folder
        "-S",  # no `site`: not even the interpreter's own site-packages
        str(RUNTIME_SCRIPT),
        "--task-root",
        str(function.task_root),
        "--opt",
        str(function.layer_root),
        "--handler",
        function.handler,
        "--function-arn",
        function.arn,
        "--timeout",
        str(function.timeout_s),
    ]
    if request_id:
        command += ["--request-id", request_id]
    return command + (["--init-only"] if init_only else []) + (["--no-teardown"] if no_teardown else [])


def environment(function: BuiltFunction, aws_endpoint: str | None) -> dict[str, str]:
    """The process environment Lambda would give the function, from scratch (nothing of ours leaks in)."""
    env = {
        **LAMBDA_VARIABLES,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
        "LAMBDA_TASK_ROOT": str(function.task_root),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_SCRIPT.parent),
        "_HANDLER": function.handler,
        **LOCAL_CREDENTIALS,
    }
    if function.log_format:
        env["AWS_LAMBDA_LOG_FORMAT"] = function.log_format
    if aws_endpoint:
        # Every service, and the two that the code reads itself (it hands them to boto3).
        for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"):
            env[variable] = aws_endpoint
    return env | function.variables


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    result: Any  # the handler's return value, or Lambda's error object
    logs: str  # what the function wrote to stdout/stderr ("" when the logs went to the terminal)
    seconds: float


def invoke(function: BuiltFunction, event: Any, aws_endpoint: str | None, *, capture_logs: bool = True) -> Invocation:
    """One cold invocation; the logs are captured, or streamed to our stderr when capture_logs is False."""
    started = time.perf_counter()
    try:
        completed = subprocess.run(  # noqa: S603 - our own command line
            python_command(function),
            input=json.dumps(event).encode(),
            env=environment(function, aws_endpoint),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if capture_logs else None,
            timeout=INIT_LIMIT_S + function.timeout_s + 5,  # the runtime stops itself first; this is the backstop
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        logs = (exc.stderr or b"").decode(errors="replace")
        error = {"errorType": "Sandbox.Timedout", "errorMessage": f"no answer within {exc.timeout:.0f} s"}
        return Invocation(1, error, logs, time.perf_counter() - started)
    stdout = completed.stdout.decode()
    result = json.loads(stdout) if stdout.strip() else None
    logs = completed.stderr.decode(errors="replace") if capture_logs else ""
    return Invocation(completed.returncode, result, logs, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """`python -m deployment.lambda_emulator FUNCTION`: print the command line and environment, for other tools."""
    import argparse

    parser = argparse.ArgumentParser(description="Print how to start a built function as Lambda would.")
    parser.add_argument("function", help="logical id, e.g. FileTokenFunction")
    parser.add_argument("--aws-endpoint", default=None, help="e.g. http://127.0.0.1:5000 (a moto server)")
    parser.add_argument("--init-only", action="store_true", help="the command only loads the handler")
    args = parser.parse_args(argv)
    try:
        function = built_function(args.function)
        command = python_command(function, init_only=args.init_only)
    except EmulatorError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps({"command": command, "environment": environment(function, args.aws_endpoint)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
