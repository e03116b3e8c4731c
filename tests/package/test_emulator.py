"""The emulated runtime itself, with probe functions: isolation, environment, context, errors, time-outs."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from deployment.lambda_emulator import (
    TWIN_LAYER,
    BuiltFunction,
    built_function,
    environment,
    invoke,
    python_command,
)
from deployment.template_values import Stack
from tests.support import ROOT

PROBE = """
import json, os, sys

def lambda_handler(event, context):
    import nmshd_tokens
    print("a line the function prints")
    return {
        "event": event,
        "path": sys.path,
        "flags": [sys.flags.isolated, sys.flags.no_site],
        "cwd": os.getcwd(),
        "package": nmshd_tokens.__file__,
        "environment": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }

def failing_handler(event, context):
    raise ValueError("the probe failed")

def slow_handler(event, context):
    import time
    time.sleep(30)
"""


@pytest.fixture
def probe(tmp_path: Path, package: Path) -> BuiltFunction:
    task_root = tmp_path / "ProbeFunction"
    task_root.mkdir()
    (task_root / "app.py").write_text(dedent(PROBE), encoding="utf-8")
    return BuiltFunction(
        logical_id="ProbeFunction",
        name="nmshd-tokens-local-ProbeFunction",
        task_root=task_root,
        layer_root=TWIN_LAYER.resolve(),
        handler="app.lambda_handler",
        memory_mb=512,
        timeout_s=5,
        variables={"FROM_THE_TEMPLATE": "yes"},
        region="eu-central-1",
        log_format="JSON",
    )


def test_only_the_task_root_the_layer_and_the_standard_library_are_importable(probe: BuiltFunction) -> None:
    answer = invoke(probe, {"hello": "probe"}, None)
    assert answer.exit_code == 0, answer.logs
    result = answer.result
    assert result["event"] == {"hello": "probe"}
    assert result["flags"] == [1, 1]
    layer = str(probe.layer_root / "python")
    assert result["path"][:3] == [str(probe.task_root), f"{layer}/lib/python3.13/site-packages", layer]
    for entry in result["path"][3:]:
        assert "site-packages" not in entry and str(ROOT) not in entry, entry
    assert result["package"].startswith(layer)
    assert result["cwd"] == str(probe.task_root)


def test_the_environment_is_lambdas_and_the_templates_only(probe: BuiltFunction) -> None:
    variables = invoke(probe, {}, "http://127.0.0.1:9").result["environment"]
    assert variables["FROM_THE_TEMPLATE"] == "yes"
    assert variables["AWS_LAMBDA_FUNCTION_NAME"] == probe.name
    assert variables["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert variables["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:9"
    assert variables["AWS_ACCESS_KEY_ID"] == "local"
    leaked = {"HOME", "VIRTUAL_ENV", "PYTHONPATH", "AWS_PROFILE", "AWS_SESSION_TOKEN", "PYTEST_CURRENT_TEST"}
    assert leaked & set(variables) == set()


def test_python_variables_cannot_reach_in(probe: BuiltFunction) -> None:
    """PYTHONPATH pointing at the source tree is ignored (isolated mode): only the layer's package is there."""
    env = environment(probe, None) | {"PYTHONPATH": str(ROOT / "shared")}
    completed = subprocess.run(python_command(probe), input=b"{}", env=env, capture_output=True, check=False)
    assert completed.returncode == 0, completed.stderr.decode()
    result = json.loads(completed.stdout)
    assert str(ROOT / "shared") not in result["path"]
    assert result["package"].startswith(str(probe.layer_root))


def test_the_context_is_lambdas(probe: BuiltFunction) -> None:
    context = invoke(probe, {}, None).result["context"]
    assert context["function_name"] == probe.name
    assert context["memory_limit_in_mb"] == "512"  # a string, as Lambda's own runtime gives it
    assert context["invoked_function_arn"] == f"arn:aws:lambda:eu-central-1:123456789012:function:{probe.name}"
    assert len(context["aws_request_id"]) == 36
    assert 0 < context["remaining_ms"] <= 5000


def test_stdout_is_the_result_and_the_log_has_lambdas_lines(probe: BuiltFunction) -> None:
    answer = invoke(probe, {}, None)
    assert "a line the function prints" in answer.logs
    assert answer.logs.startswith("START RequestId: ")
    assert "\nREPORT RequestId: " in answer.logs and "Init Duration: " in answer.logs


def test_an_unhandled_error_is_lambdas_error_object_and_a_failure(probe: BuiltFunction) -> None:
    answer = invoke(replace(probe, handler="app.failing_handler"), {}, None)
    assert answer.exit_code == 1
    assert answer.result["errorType"] == "ValueError"
    assert answer.result["errorMessage"] == "the probe failed"
    assert any("failing_handler" in frame for frame in answer.result["stackTrace"])


def test_a_missing_handler_or_module(probe: BuiltFunction) -> None:
    missing_handler = invoke(replace(probe, handler="app.nothing_here"), {}, None)
    assert (missing_handler.exit_code, missing_handler.result["errorType"]) == (1, "Runtime.HandlerNotFound")
    missing_module = invoke(replace(probe, handler="nowhere.lambda_handler"), {}, None)
    assert (missing_module.exit_code, missing_module.result["errorType"]) == (1, "Runtime.ImportModuleError")


def test_the_timeout_stops_the_function(probe: BuiltFunction) -> None:
    answer = invoke(replace(probe, handler="app.slow_handler", timeout_s=1), {}, None)
    assert answer.exit_code == 1
    assert answer.result["errorType"] == "Sandbox.Timedout"
    assert answer.seconds < 15


def test_init_only_loads_a_built_handler_and_reports_its_init_time(stack: Stack) -> None:
    function = built_function("FileTokenFunction", stack=stack)
    completed = subprocess.run(
        python_command(function, init_only=True),
        env=environment(function, "http://127.0.0.1:9"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert json.loads(completed.stdout)["initDurationMs"] > 0


def test_make_invoke_prints_the_result_and_fails_on_an_unhandled_error(package: Path) -> None:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "deployment.invoke", *arguments]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)

    answered = run("BackboneTokenFunction", "events/backbone_r_page.json")
    assert answered.returncode == 0, answered.stderr
    response: dict[str, Any] = json.loads(answered.stdout)
    assert response["statusCode"] == 200
    failed = run("FileTokenFunction", "events/file_token_command.json")  # no BackboneBaseUrl: a ConfigError
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ConfigError"
    refused = run("NoSuchFunction", "events/backbone_r_page.json")
    assert refused.returncode == 2 and "FileTokenFunction" in refused.stderr
