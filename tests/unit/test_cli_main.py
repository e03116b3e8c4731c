"""`nmshd-tokens` argument handling: exit statuses and one-line errors, before anything is started."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from nmshd_tokens_local.cli import build_parser, main


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The commands point boto3 at their endpoint through os.environ; later tests must not see that."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nmshd-tokens: error: ")
    return lines[0]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    description = out.split("\n\n", 2)[1]
    subcommands = next(action for action in build_parser()._actions if action.dest == "command")
    assert subcommands.choices
    for command in subcommands.choices:  # every command the parser has
        assert f"`{command}` " in description, description
    assert description.rstrip().endswith(".")  # a sentence, not a line cut off after a comma


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve", "--port", "0"],
        ["serve", "--port", "http"],
        ["serve", "--dynamodb-port", "70000"],
        ["records"],
        ["records", "add-template", "--password", "a", "--pin", "1234"],
        ["records", "list", "--aws", "--dynamodb-endpoint", "http://x"],
        ["load"],
    ],
)
def test_argparse_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["records", "add-template", "--pin", "12"], "--pin"),
        (["records", "add-template", "--indicator", "Self"], "--indicator needs"),
        (["records", "add-file", "--expires-at", "tomorrow"], "--expires-at"),
        (["records", "add-file", "--id", "FIL"], "--id must match"),
        (["records", "import", "/nonexistent/dto.json"], "cannot read /nonexistent/dto.json"),
        (["load", "not-a-reference"], "not a token reference"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert message in _error_line(capsys)


def test_import_of_a_file_that_is_not_json_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dto = tmp_path / "dto.json"
    dto.write_text("{nope", encoding="utf-8")
    assert main(["records", "import", str(dto)]) == 2
    assert "is not JSON" in _error_line(capsys)


def test_invalid_port_variable_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert main(["serve"]) == 2
    assert "PORT" in _error_line(capsys)


def test_unreachable_dynamodb_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # discard port: nothing listens
    assert main(["records", "list"]) == 1
    line = _error_line(capsys)
    assert "cannot reach DynamoDB" in line and "127.0.0.1:9" in line


def test_records_parser_defaults() -> None:
    args = build_parser().parse_args(["records", "add-template"])
    assert (args.peer, args.for_identity, args.password, args.pin, args.indicator) == (False, None, None, None, None)
    assert (args.dynamodb_endpoint, args.aws, args.id, args.expires_at) == (None, False, None, None)


@pytest.mark.parametrize("host", ["localhost", "pilot.enmeshed.eu"])
def test_address_prints_one_the_backbone_accepts(capsys: pytest.CaptureFixture[str], host: str) -> None:
    from nmshd_tokens.domain.ids import is_address, is_backbone_address

    assert main(["address", "--host", host]) == 0
    address = capsys.readouterr().out.strip()
    assert address.startswith(f"did:e:{host}:dids:")
    assert is_backbone_address(address) and is_address(address)  # the Backbone's check and the runtime's pattern


def test_address_refuses_a_host_the_backbone_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["address", "--host", "Not_A_Host"]) == 2
    assert "not a host name the Backbone accepts" in capsys.readouterr().err
