"""The content of an own token against upstream's `Serializable.fromUnknown` (@js-soft/ts-serval, run in node by
tests/upstream/serval_content.mjs): on every content of the table, the same refusal, the same plaintext to
encrypt and the same DTO content.

Where we deliberately differ (README "Known differences") the table says so: lone surrogates (upstream accepts
them, we cannot store them), nesting deeper than 100 levels, and the Connector's own content classes (ts-serval
alone knows none of them, so they are not in this table).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.token_content import MSG_CONTENT_NOT_UNICODE, javascript_json, own_token_content

from tests.upstream_node import UPSTREAM_DIR, require_upstream

INVALID_CONTENT = "error.runtime.invalidTokenContent"

# JSON texts, as a request body carries them.
TABLE = [
    # plain objects
    '{"a":1}',
    "{}",
    '{"b":{"c":[1,2]},"a":"x"}',
    '{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7}',  # array-index keys first, as JavaScript
    '{"x":[{"b":1,"0":2}]}',
    '{"a":null,"b":true,"c":false,"d":"ü€\\n\\u0000"}',
    '{"@context":"c","a":1}',
    '{"constructor":1,"toJSON":2,"value":3}',
    '{"__proto__":{"x":1},"a":1}',  # the top-level __proto__ is lost in upstream's deep clone
    '{"x":{"__proto__":null}}',
    '{"hasOwnProperty":1}',  # value.hasOwnProperty is not a function
    '{"x":{"hasOwnProperty":1}}',
    # arrays, strings, numbers, booleans, null: wrapped as {...value}
    "[1,2]",
    "[]",
    '[{"@type":"Unknown"},null]',
    '"abc"',
    '""',
    '"\\u00fc"',
    "5",
    "0",
    "-1.5",
    "true",
    "false",
    "null",
    # numbers as doubles
    '{"a":1.0,"b":-0,"c":12345678901234567890,"d":1e-7,"e":0.00001,"f":1e21,"g":123e-20,"h":0.1}',
    '{"a":1e400,"b":-1e400,"c":9007199254740993,"d":[2.50,100]}',
    # @type and @version
    '{"@type":"JSONWrapper","a":1}',
    '{"@type":"JSONWrapper","value":{"@type":"X"}}',
    '{"@type":"JSONWrapper"}',
    '{"@type":"JSONWrapper","@version":1,"a":1}',
    '{"@type":"JSONWrapper","@version":"1"}',
    '{"@type":"JSONWrapper","@version":"0x1"}',
    '{"@type":"JSONWrapper","@version":" 1x"}',
    '{"@type":"JSONWrapper","@version":1.9}',
    '{"@type":"JSONWrapper","@version":1e-7}',
    '{"@type":"JSONWrapper","@version":[1]}',
    '{"@type":"JSONWrapper","@version":0}',
    '{"@type":"JSONWrapper","@version":""}',
    '{"@type":"JSONWrapper","@version":null}',
    '{"@type":"JSONWrapper","@version":false}',
    '{"@type":"JSONWrapper","@version":2}',
    '{"@type":"JSONWrapper","@version":"2"}',
    '{"@type":"JSONWrapper","@version":true}',
    '{"@type":"JSONWrapper","@version":{}}',
    '{"@type":"JSONWrapper","@version":[]}',
    '{"@type":"JSONWrapper","@version":-1}',
    '{"@version":2,"a":1}',
    '{"@version":"x"}',
    '{"@type":"Unknown","a":1}',
    '{"@type":"TokenContentFile","fileId":"FILxxxxxxxxxxxxxxxxx"}',
    '{"@type":"RelationshipTemplateContent"}',
    '{"@type":"jsonwrapper"}',
    '{"@type":""}',
    '{"@type":5}',
    '{"@type":null}',
    '{"@type":["JSONWrapper"]}',
    # nested
    '{"x":{"@type":"Unknown"}}',
    '{"x":{"@type":"JSONWrapper","@version":2}}',
    '{"a":{"b":{"c":{"d":[[[{"e":[]}]]]}}}}',
]
# Upstream accepts these; we refuse them with a 400 (README "Known differences").
LONE_SURROGATES = ['{"a":"\\ud800"}', '{"\\udc00":1}', '"😀"']


def _run_ts_serval(texts: list[str]) -> list[dict[str, str]]:
    require_upstream("ts-serval content cross-check")
    completed = subprocess.run(  # noqa: S603 - fixed argv
        ["node", str(UPSTREAM_DIR / "serval_content.mjs")],  # noqa: S607 - node from PATH
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=UPSTREAM_DIR,
        timeout=120,
        check=True,
    )
    answers: list[dict[str, str]] = json.loads(completed.stdout)
    return answers


@pytest.fixture(scope="module")
def upstream() -> dict[str, dict[str, str]]:
    texts = TABLE + LONE_SURROGATES
    return dict(zip(texts, _run_ts_serval(texts), strict=True))


def ours(text: str) -> dict[str, Any]:
    try:
        content = own_token_content(json.loads(text))
    except DomainError as error:
        return {"refused": error.code, "message": error.message}
    return {"serialized": javascript_json(content), "json": json.dumps(content, separators=(",", ":"))}


@pytest.mark.upstream
@pytest.mark.parametrize("text", TABLE)
def test_the_content_is_what_ts_serval_makes_of_it(upstream: dict[str, dict[str, str]], text: str) -> None:
    theirs, mine = upstream[text], ours(text)
    if "refused" in theirs:
        assert mine.get("refused") == INVALID_CONTENT, f"ts-serval: {theirs['refused']}; we: {mine}"
        return
    assert mine.get("serialized") == theirs["serialized"]  # byte for byte the plaintext upstream encrypts
    # The DTO's content as a JSON reader sees it (numbers as doubles: we may write a big integer's digits exactly).
    assert json.loads(mine["json"], parse_int=float) == json.loads(theirs["json"], parse_int=float)


@pytest.mark.upstream
@pytest.mark.parametrize("text", LONE_SURROGATES)
def test_lone_surrogates_are_refused_where_upstream_accepts_them(
    upstream: dict[str, dict[str, str]], text: str
) -> None:
    assert "serialized" in upstream[text]
    assert ours(text) == {
        "refused": "error.runtime.validation.invalidPropertyValue",
        "message": MSG_CONTENT_NOT_UNICODE,
    }


def test_content_nested_deeper_than_the_limit_is_refused() -> None:
    deep: Any = {}
    for _ in range(101):
        deep = {"a": deep}
    assert ours(json.dumps(deep))["refused"] == "error.runtime.validation.invalidPropertyValue"
    shallow: Any = {}
    for _ in range(99):
        shallow = {"a": shallow}
    assert "serialized" in ours(json.dumps(shallow))
