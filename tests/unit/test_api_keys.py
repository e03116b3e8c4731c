"""The API key model (SPEC §17): the Connector's configuration shape, its start-up refusals, the check of a
presented key and scope matching, as Connector 7.4.6 and typescript-rest's role matching have them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.api_keys import (
    DUPLICATE_KEYS,
    NO_VALID_KEY,
    NOT_ENABLED,
    ApiKeyConfigError,
    ApiKeys,
    parse_api_keys,
    scope_covers,
    stored_form,
)
from nmshd_tokens.domain.route_scopes import required_scope, scope_resources

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def strong(name: str) -> str:
    """A key the Connector's rule accepts: 30+ characters, 2 upper, 2 lower, 2 digits, 1 special."""
    return f"{name}-KEY-0123456789-abcdefghijklmnop!"


def config(**keys: dict[str, Any]) -> dict[str, Any]:
    return {"headerName": "X-API-KEY", "keys": keys}


def test_the_connector_shape_is_read_with_its_defaults() -> None:
    keys = parse_api_keys({"keys": {"website": {"key": strong("web"), "scopes": ["core:files"]}}}, NOW)
    assert keys.header_name == "X-API-KEY"
    (key,) = keys.keys
    assert (key.id, key.scopes, key.expires_at, key.description) == ("website", ("core:files",), None, "")
    assert keys.authenticate(strong("web"), NOW) == key


def test_a_whole_connector_configuration_is_read_too() -> None:
    document = {
        "infrastructure": {
            "httpServer": {"authentication": {"apiKey": {"headerName": "X-Token", "keys": {"a": {"key": strong("a")}}}}}
        }
    }
    keys = parse_api_keys(document, NOW)
    assert keys.header_name == "X-Token"
    assert keys.authenticate(strong("a"), NOW) is not None


def test_only_a_hash_of_each_key_is_kept() -> None:
    keys = parse_api_keys(config(a={"key": strong("a")}), NOW)
    assert strong("a") not in repr(keys)
    assert keys.keys[0].digest == hashlib.sha256(strong("a").encode()).digest()
    assert keys.keys[0].usage_identifier == hashlib.sha256(strong("a").encode()).hexdigest()


def test_the_stored_form_keeps_hashes_and_accepts_the_same_keys() -> None:
    document = config(a={"key": strong("a"), "scopes": ["core:tokens"]}, b={"key": strong("b"), "enabled": False})
    stored = stored_form(document)
    assert "key" not in stored["keys"]["a"] and strong("a") not in str(stored)
    assert stored["keys"]["a"]["keySha256"] == hashlib.sha256(strong("a").encode()).hexdigest()
    keys = parse_api_keys(stored, NOW)
    found = keys.authenticate(strong("a"), NOW)
    assert found is not None and found.scopes == ("core:tokens",)
    assert keys.authenticate(strong("b"), NOW) is None  # disabled stays disabled


# --- the Connector's start-up refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"keys": {}}, NOT_ENABLED),  # no keys: API key authentication is off, and nothing else could be on
        ({"enabled": False, "keys": {"a": {"key": strong("a")}}}, NOT_ENABLED),
        ({"enabled": True, "keys": {}}, NO_VALID_KEY),
        (config(a={"key": strong("a"), "enabled": False}), NO_VALID_KEY),
        (config(a={"key": strong("a"), "expiresAt": "2026-12-07T08:59:59Z"}), NO_VALID_KEY),
        (config(a={"key": strong("a")}, b={"key": strong("a"), "enabled": False}), DUPLICATE_KEYS),
        (
            config(a={"key": strong("a")}, b={"keySha256": hashlib.sha256(strong("a").encode()).hexdigest()}),
            DUPLICATE_KEYS,
        ),
    ],
)
def test_the_connector_refuses_to_start(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiKeyConfigError) as refused:
        parse_api_keys(document, NOW)
    assert str(refused.value) == message


def test_weak_keys_are_refused_by_id_with_the_connector_message() -> None:
    document = config(ok={"key": strong("ok")}, short={"key": "Aa1!Bb2@"}, lower={"key": strong("x").lower()})
    with pytest.raises(ApiKeyConfigError) as refused:
        parse_api_keys(document, NOW)
    assert str(refused.value) == (
        "The API keys with the following key(s) does not meet the requirements: short, lower. They must be at "
        "least 30 characters long and contain at least 2 digits, 2 uppercase letters, 2 lowercase letters and 1 "
        "special character (!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~)."
    )


def test_a_weak_key_that_is_disabled_or_expired_is_not_checked() -> None:
    document = config(ok={"key": strong("ok")}, old={"key": "weak", "enabled": False})
    assert [key.id for key in parse_api_keys(document, NOW).keys] == ["ok"]


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        ("AB12!cd" + "x" * 23, True),  # exactly 30
        ("AB12!cd" + "x" * 22, False),  # 29
        ("Ab12!cd" + "x" * 30, False),  # one upper case letter
        ("AB1x!cd" + "x" * 30, False),  # one digit
        ("AB12cd" + "x" * 30, False),  # no special character
        ("AB12 cd" + "x" * 30, False),  # a space is not special
        ("AB12~CD" + "X" * 23 + "a", False),  # one lower case letter
        ("AB12`cd" + "x" * 23, True),
        ("AB12!cd" + "x" * 23 + "\n", False),  # a trailing newline is not a character of the key rule
    ],
)
def test_the_key_rule(key: str, accepted: bool) -> None:
    document = config(only={"key": key})
    if accepted:
        assert parse_api_keys(document, NOW).authenticate(key, NOW) is not None
    else:
        with pytest.raises(ApiKeyConfigError, match="does not meet the requirements: only"):
            parse_api_keys(document, NOW)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({}, "keys.a needs exactly one of key and keySha256"),
        ({"key": 5}, "keys.a.key must be a string"),
        ({"keySha256": "ABC"}, "keys.a.keySha256 must be 64 lower-case hex digits"),
        ({"key": strong("a"), "enabled": "yes"}, "keys.a.enabled must be true or false"),
        ({"key": strong("a"), "expiresAt": "soon"}, "keys.a.expiresAt must be an ISO 8601 date and time"),
        ({"key": strong("a"), "scopes": "core:tokens"}, "keys.a.scopes must be a list of strings"),
        ({"key": strong("a"), "roles": []}, "keys.a has unknown members: roles"),
    ],
)
def test_a_malformed_entry_is_named(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiKeyConfigError) as refused:
        parse_api_keys(config(a=entry), NOW)
    assert str(refused.value) == message


def test_a_malformed_document_is_named() -> None:
    for document, message in [
        ([], "the API key configuration must be a JSON object"),
        ({"keys": []}, "keys must be an object of key id → key"),
        ({"headerName": "X API", "keys": {"a": {"key": strong("a")}}}, "headerName must be an HTTP header name"),
    ]:
        with pytest.raises(ApiKeyConfigError) as refused:
            parse_api_keys(document, NOW)
        assert str(refused.value) == message


# --- per request ---------------------------------------------------------------------------------------------


def test_unknown_missing_and_disabled_keys_are_refused_alike() -> None:
    keys = parse_api_keys(config(on={"key": strong("on")}, off={"key": strong("off"), "enabled": False}), NOW)
    assert keys.authenticate(strong("on"), NOW) is not None
    for presented in (None, "", strong("off"), strong("unknown"), strong("on") + " ", "\ud800", "\x00"):
        assert keys.authenticate(presented, NOW) is None


def test_a_key_that_expires_after_start_is_refused_from_then_on() -> None:
    expires = NOW + timedelta(hours=1)
    keys = parse_api_keys(config(a={"key": strong("a"), "expiresAt": "2026-12-07T10:00:00Z"}), NOW)
    assert keys.authenticate(strong("a"), expires) is not None  # the Connector's isExpired: strictly before now
    assert keys.authenticate(strong("a"), expires + timedelta(milliseconds=1)) is None


def test_two_keys_are_valid_at_once_for_a_rotation() -> None:
    keys = parse_api_keys(
        config(old={"key": strong("old"), "expiresAt": "2026-12-08T00:00:00Z"}, new={"key": strong("new")}), NOW
    )
    assert keys.authenticate(strong("old"), NOW).id == "old"  # type: ignore[union-attr]
    assert keys.authenticate(strong("new"), NOW).id == "new"  # type: ignore[union-attr]


def test_the_generated_key_of_serve_is_an_admin() -> None:
    keys = ApiKeys.single("generated")
    key = keys.authenticate("generated", NOW)
    assert key is not None and key.scopes is None and key.allows("monitoring:version")


# --- scopes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "required", "covered"),
    [
        ("core:tokens", "core:tokens", True),
        ("core:tokens", "core:files", False),
        ("core:token", "core:tokens", False),
        ("core:*", "core:tokens", True),
        ("core:*", "core:relationshipTemplates", True),
        ("core:*", "core:requests:incoming", False),  # one segment only
        ("core:*", "monitoring:version", False),
        ("core:**", "core:requests:incoming", True),
        ("core:**", "core", False),
        ("**", "monitoring:version", True),
        ("**", "core:files", True),
        ("*", "core:files", False),
        ("*:version", "monitoring:version", True),
        ("core:tok*", "core:tokens", True),  # typescript-rest replaces `*` wherever it stands
        ("core.tokens", "core:tokens", False),  # a literal role, not a regular expression
    ],
)
def test_scope_matching(granted: str, required: str, covered: bool) -> None:
    assert scope_covers(granted, required) is covered


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (None, {"core:files", "core:relationshipTemplates", "core:tokens", "monitoring:version"}),
        ([], set()),
        (["core:*"], {"core:files", "core:relationshipTemplates", "core:tokens"}),
        (["core:files", "monitoring:version"], {"core:files", "monitoring:version"}),
    ],
)
def test_a_key_allows_what_its_scopes_cover(scopes: list[str] | None, allowed: set[str]) -> None:
    entry: dict[str, Any] = {"key": strong("a")} | ({} if scopes is None else {"scopes": scopes})
    (key,) = parse_api_keys(config(a=entry), NOW).keys
    every = {"core:files", "core:relationshipTemplates", "core:tokens", "monitoring:version"}
    assert {scope for scope in every if key.allows(scope)} == allowed


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/api/v2/Files/{id}/Token", "core:files"),
        ("/api/core/v1/Files/FILabc/Token", "core:files"),
        ("/api/v2/RelationshipTemplates/Own/{id}/Token", "core:relationshipTemplates"),
        ("/api/core/v1/RelationshipTemplates/Own/RLTx/Token", "core:relationshipTemplates"),
        ("/api/v2/Tokens/{id}", "core:tokens"),
        ("/api/core/v1/Tokens/Own", "core:tokens"),
        ("/api/core/v1/Tokens/Peer", "core:tokens"),
        ("/Monitoring/Version", "monitoring:version"),
        ("/health", None),
        ("/backbone/api/v2/Tokens/{id}", None),
        ("/backbone/r/{id}", None),
    ],
)
def test_route_scopes(path: str, scope: str | None) -> None:
    assert required_scope(path) == scope


def test_policy_resources_name_methods_explicitly_and_cover_both_families() -> None:
    resources = scope_resources("core:files")
    assert "POST/api/v2/Files/*" in resources and "POST/api/core/v1/Files/*" in resources
    assert all(not tail.startswith("*") for tail in resources)
    assert scope_resources("monitoring:version") == ["GET/Monitoring/Version"]
