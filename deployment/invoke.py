"""`make invoke FN=… EVENT=…`: the Docker-free `sam local invoke` for the built functions.

    python -m deployment.invoke FileTokenFunction events/file_token_png.json [--parameter-overrides QrFormat=legacy]

Starts a moto server on loopback with the stack's tables and buckets and the sample events' records, runs the built
function once in a fresh Python 3.13 (lambda_emulator.py), and prints its result on stdout as `sam local invoke`
does (the proxy response; a PNG body in base64). The function's logs and our progress lines go to stderr. Exit
status: the function's (0 answered, 1 unhandled error or timeout), 2 for bad input here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .lambda_emulator import EmulatorError, built_function, built_stack, invoke
from .local_aws import LocalAws
from .template_values import TemplateValueError


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parameter_overrides(pairs: list[str]) -> dict[str, str]:
    """`Key=Value` pairs, as `sam deploy --parameter-overrides` takes them."""
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"--parameter-overrides: {pair!r} is not Key=Value")
        overrides[key] = value
    return overrides


def read_event(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the event {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the event {path} is not JSON: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Invoke a built function as Lambda would, without Docker.")
    parser.add_argument("function", help="the function's logical id in template.yaml, e.g. FileTokenFunction")
    parser.add_argument("event", type=Path, help="a JSON event, e.g. events/file_token_png.json")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        overrides = parameter_overrides(args.parameter_overrides)
        event = read_event(args.event)
        stack = built_stack(parameter_overrides=overrides)
        function = built_function(args.function, stack=stack)
    except (ValueError, EmulatorError, TemplateValueError) as exc:
        say(f"invoke: {exc}")
        return 2
    say("starting AWS (moto) on loopback…")
    with LocalAws(stack) as aws:
        say(f"  {aws.endpoint}: tables and buckets of the stack; records {', '.join(aws.seeded)}")
        say(f"invoking {function.logical_id} ({function.handler}) in a fresh python3.13 -I -S")
        say(f"  task root {function.task_root}")
        say(f"  layer     {function.layer_root} (the x86_64 twin of the arm64 layer)")
        invocation = invoke(function, event, aws.endpoint, capture_logs=False)
    print(json.dumps(invocation.result))
    return invocation.exit_code


if __name__ == "__main__":
    sys.exit(main())
