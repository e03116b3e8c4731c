"""What a handler's cold start does, checked in a fresh interpreter (no timings: benchmarks/run.py measures those).

The API functions build their DynamoDB client at init with the cyclic GC paused and then freeze the init heap
(entry_points/cold_start.py build_in_init). These tests pin the structure of that: the GC runs again afterwards, the
client exists, and nothing that only local tooling, tests or the remote Backbone mode need is imported.
"""

from __future__ import annotations

import os

import pytest

from tests.support import ROOT, fresh_interpreter_state

HANDLERS = (
    "file_token",
    "template_token",
    "token_read",
    "token_revoke",
    "own_token",
    "peer_token",
    "service_status",
    "backbone_token",
)

# Never imported by an API function's init (embedded Backbone mode).
NOT_AT_INIT = (
    "moto",  # tests only
    "samtranslator",  # local tooling reads template.yaml with it
    "nmshd_tokens_local",  # local tooling; not even shipped in the layer
    "nmshd_tokens_local.cli",
    "nmshd_tokens.storage.remote_backbone",  # BACKBONE_MODE=remote only (the container imports it there)
    "nmshd_tokens.usecases.batch",  # the batch function only
    "nmshd_tokens.storage.command_log",  # bulk creation only: a publication loads it for a command's record
    "pydantic",  # no function validates with it: its import alone costs a quarter of the floor (benchmarks/)
    "boto3",  # botocore's own clients (storage/aws_clients.py): boto3's session machinery is not used
    "nmshd_tokens.qr",  # loaded by the first QR code: JSON requests never pay for its tables
    "segno",
    "re2",  # loaded by the first regular expression of a token query (domain/token_query.py)
    "nmshd_tokens.storage.connector_client",  # CONNECTOR_BASE_URL only (SPEC §15)
    "nmshd_tokens.usecases.read_through",
    "nmshd_tokens.domain.connector_dtos",
)
# The embedded backbone's function never encrypts, hashes or renders a QR code.
NOT_AT_BACKBONE_INIT = ("nacl", "nmshd_tokens.domain.crypto", "nmshd_tokens.usecases.create_token")

_CHILD = """
import gc, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
container = module.container
print(json.dumps({
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "records_client": type(container.records.client).__name__,
    "one_client": container.backbone.client is container.records.client,
    "modules": sorted(sys.modules),
}))
"""


def _child_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BACKBONE_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-central-1",
            "RECORDS_TABLE": "t-records",
            "BACKBONE_TABLE": "t-backbone",
        }
    )
    return env


@pytest.fixture(scope="module", params=HANDLERS)
def init_state(request: pytest.FixtureRequest) -> dict[str, object]:
    state = _init_state(request.param)
    state["handler"] = request.param
    return state


def _init_state(handler: str) -> dict[str, object]:
    return fresh_interpreter_state(_CHILD, ROOT / "functions" / handler / "app.py", _child_environment())


def test_the_cyclic_gc_runs_again_after_init(init_state: dict[str, object]) -> None:
    assert init_state["gc_enabled"] is True


def test_init_freezes_its_heap(init_state: dict[str, object]) -> None:
    assert isinstance(init_state["frozen"], int) and init_state["frozen"] > 10_000  # about 95,000 objects here


def test_init_builds_the_one_dynamodb_client(init_state: dict[str, object]) -> None:
    assert init_state["records_client"] == "DynamoDB"
    assert init_state["one_client"] is True


@pytest.mark.parametrize("prefix", NOT_AT_INIT)
def test_init_does_not_import(init_state: dict[str, object], prefix: str) -> None:
    modules = init_state["modules"]
    assert isinstance(modules, list)
    assert not [name for name in modules if name == prefix or name.startswith(prefix + ".")]


@pytest.mark.parametrize("prefix", NOT_AT_BACKBONE_INIT)
def test_the_backbone_function_loads_no_crypto(prefix: str) -> None:
    modules = _init_state("backbone_token")["modules"]
    assert isinstance(modules, list)
    assert not [name for name in modules if name == prefix or name.startswith(prefix + ".")]
