"""What the API key authorizer's init imports, in a fresh interpreter: the standard library, botocore and two
domain modules, so that its cold start (the price of every refused and every first request of a key) stays small."""

from __future__ import annotations

import os

from tests.support import ROOT, fresh_interpreter_state

_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("authorizer_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"client": type(module.keys.client()).__name__, "modules": sorted(sys.modules)}))
"""
NOT_IMPORTED = (
    "aws_lambda_powertools",  # its resolver, logger and metrics: most of an API function's init
    "pydantic",
    "boto3",
    "nacl",
    "segno",
    "nmshd_tokens.container",
    "nmshd_tokens.http",
    "nmshd_tokens.usecases",
    "nmshd_tokens.storage.records_table",
    "moto",
)


def test_the_authorizer_imports_neither_powertools_nor_the_api_code() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "API_KEY"))}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-central-1",
        "API_KEYS_SECRET": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:keys-AbCdEf",
    }
    state = fresh_interpreter_state(_CHILD, ROOT / "functions" / "api_authorizer" / "app.py", env)
    assert state["client"] == "SecretsManager"  # built at init, on the full vCPU Lambda gives init
    imported = [name for name in state["modules"] if name.split(".")[0] in {p.split(".")[0] for p in NOT_IMPORTED}]
    assert not [
        name for name in imported if any(name == prefix or name.startswith(prefix + ".") for prefix in NOT_IMPORTED)
    ]
