"""The kept tokens through the real handlers on moto (SPEC §13): read one, its QR code, list and query, revoke.

Both route families: /api/v2 (Connector 6 shapes) and /api/core/v1 (Connector 7 shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.clock import epoch_seconds
from nmshd_tokens.domain.references import parse_reference

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import (
    ROUTES,
    V7,
    Functions,
    api_event,
    decode_qr,
    future,
    header,
    iso,
    json_body,
    png_bytes,
)

Factory = Callable[..., Any]
V6 = "/api/v2"
NOT_FOUND = "Token not found. Make sure the ID exists and the record is not expired."
INVALID = "error.runtime.validation.invalidPropertyValue"


def create(functions: Functions, file_id: str, body: dict[str, Any] | None = None, prefix: str = V6) -> dict[str, Any]:
    """A kept (non-ephemeral) token for the File, created through the file token function."""
    event = api_event(f"{prefix}/Files/{{id}}/Token", file_id, body={"ephemeral": False, **(body or {})})
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 201, response["body"]
    dto: dict[str, Any] = json_body(response)["result"]
    return dto


def get(
    functions: Functions, token_id: str, prefix: str = V6, accept: str | None = None, **options: Any
) -> dict[str, Any]:
    event = api_event(f"{prefix}/Tokens/{{id}}", token_id, method="GET", accept=accept, **options)
    return functions.invoke("token_read", event)


def own(functions: Functions, prefix: str = V6, route: str = "Own", **query: str | list[str]) -> dict[str, Any]:
    multi = {key: value if isinstance(value, list) else [value] for key, value in query.items()}
    event = api_event(f"{prefix}/Tokens/{route}", None, method="GET", multi_query=multi or None)
    return functions.invoke("token_read", event)


def ids(response: dict[str, Any]) -> list[str]:
    assert response["statusCode"] == 200, response["body"]
    return [dto["id"] for dto in json_body(response)["result"]]


def revoke(functions: Functions, token_id: str, prefix: str = V7) -> dict[str, Any]:
    return functions.invoke("token_revoke", api_event(f"{prefix}/Tokens/{{id}}", token_id, method="DELETE"))


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = json_body(response)["error"]
    return error


# --- GET one --------------------------------------------------------------------------------------------


def test_a_kept_token_reads_back_as_created_in_either_family(functions: Functions, make_file: Factory) -> None:
    dto = create(functions, make_file(future()).id)
    response = get(functions, dto["id"])
    assert response["statusCode"] == 200
    assert json_body(response)["result"] == dto  # the reference rebuilt from stored data is identical
    assert header(response, "Cache-Control") == "no-store"
    v7 = json_body(get(functions, dto["id"], V7))["result"]
    assert "truncatedReference" not in v7 and v7 == {k: v for k, v in dto.items() if k != "truncatedReference"}


def test_a_token_created_under_connector_7_is_read_under_connector_6(functions: Functions, make_file: Factory) -> None:
    body = {"passwordProtection": {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": 60}}
    dto = create(functions, make_file(future()).id, body, prefix=V7)
    assert "truncatedReference" not in dto
    v6 = json_body(get(functions, dto["id"]))["result"]
    assert v6["truncatedReference"] == dto["reference"]["truncated"]
    assert v6["passwordProtection"] == {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": 60}


@pytest.mark.parametrize(
    ("prefix", "query", "legacy"),
    [
        (V7, None, False),
        (V7, {"newQRCodeFormat": "false"}, False),  # Connector 7 always encodes the URL
        (V6, None, True),  # Connector 6.36: the URL only with ?newQRCodeFormat=true
        (V6, {"newQRCodeFormat": "TRUE"}, False),
        (V6, {"newQRCodeFormat": "yes"}, True),
    ],
)
def test_the_qr_code_of_a_kept_token(
    functions: Functions, make_file: Factory, prefix: str, query: dict[str, str] | None, legacy: bool
) -> None:
    dto = create(functions, make_file(future()).id)
    response = get(functions, dto["id"], prefix, accept="image/png", query=query)
    assert response["statusCode"] == 200  # not 201: nothing is created
    assert header(response, "Content-Type") == "image/png"
    assert header(response, "Content-Disposition") == f"attachment;filename={dto['id']}.png"
    assert header(response, "Cache-Control") == "no-store"
    expected = "nmshd://tr#" + dto["reference"]["truncated"] if legacy else dto["reference"]["url"]
    assert decode_qr(png_bytes(response)) == expected


def test_unknown_ephemeral_and_malformed_ids(functions: Functions, make_file: Factory) -> None:
    ephemeral = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id)))
    for token_id in ("TOKunknown0000000000", ephemeral["result"]["id"]):
        response = get(functions, token_id)
        assert response["statusCode"] == 404
        assert error_of(response)["code"] == "error.runtime.recordNotFound"
        assert error_of(response)["message"] == NOT_FOUND
    malformed = get(functions, "TOKshort")
    assert malformed["statusCode"] == 400
    assert error_of(malformed) | {"id": "", "time": ""} == error_of(malformed) | {
        "code": INVALID,
        "message": "id must match pattern TOK[A-Za-z0-9]{17}",
        "id": "",
        "time": "",
    }


def test_not_acceptable_comes_before_the_id(functions: Functions) -> None:
    response = get(functions, "TOKshort", accept="text/html")
    assert response["statusCode"] == 406 and error_of(response)["code"] == "error.connector.http.notAcceptable"


def test_an_expired_token_stays_readable_until_its_retention_ends(
    functions: Functions, aws: Any, make_file: Factory
) -> None:
    dto = create(functions, make_file(future()).id, {"expiresAt": iso(datetime.now(UTC) + timedelta(seconds=5))})
    past = datetime.now(UTC) - timedelta(days=1)
    aws.update_item(  # as if it had expired a day ago: the record is retained for 30 days after expiry
        TableName=RECORDS_TABLE,
        Key={"id": {"S": dto["id"]}},
        UpdateExpression="SET expiresAt = :at, #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":at": {"S": iso(past)}, ":ttl": {"N": str(epoch_seconds(past, 30))}},
    )
    assert get(functions, dto["id"])["statusCode"] == 200
    assert ids(own(functions, expiresAt=f"<{iso(datetime.now(UTC))}")) == [dto["id"]]
    aws.update_item(  # retention over (TTL deletes lag): gone for readers all the same
        TableName=RECORDS_TABLE,
        Key={"id": {"S": dto["id"]}},
        UpdateExpression="SET #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":ttl": {"N": str(epoch_seconds(datetime.now(UTC)) - 1)}},
    )
    assert get(functions, dto["id"])["statusCode"] == 404
    assert ids(own(functions)) == []


# --- list and query ------------------------------------------------------------------------------------


@pytest.fixture
def three(functions: Functions, make_file: Factory) -> dict[str, dict[str, Any]]:
    """Three kept tokens, oldest first: plain, personalised with a password, PIN-protected."""
    file = make_file(future(400))
    address = "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"
    made = {
        "plain": create(functions, file.id, {"expiresAt": "2031-01-01T00:00:00.000Z"}),
        "personal": create(
            functions,
            file.id,
            {
                "expiresAt": "2032-01-01T00:00:00.000Z",
                "forIdentity": address,
                "passwordProtection": {"password": "secret", "passwordLocationIndicator": "Letter"},
            },
        ),
        "pin": create(
            functions,
            file.id,
            {
                "expiresAt": "2033-01-01T00:00:00.000Z",
                "passwordProtection": {"password": "0042", "passwordIsPin": True},
            },
        ),
    }
    functions.invoke("file_token", api_event(ROUTES["file_token"][1], file.id))  # an ephemeral one: never listed
    return made


def test_every_kept_token_oldest_first(functions: Functions, three: dict[str, dict[str, Any]]) -> None:
    for prefix in (V6, V7):
        response = own(functions, prefix)
        dtos = json_body(response)["result"]
        assert [dto["id"] for dto in dtos] == [three[name]["id"] for name in ("plain", "personal", "pin")]
        assert header(response, "Cache-Control") == "no-store"
        assert all(dto["isEphemeral"] is False for dto in dtos)
        assert all(("truncatedReference" in dto) is (prefix == V6) for dto in dtos)
    assert ids(own(functions, isOwn="false")) == ids(own(functions))  # accepted and overridden


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"expiresAt": "2032-01-01T00:00:00.000Z"}, ["personal"]),
        ({"expiresAt": ">2031-06-01"}, ["personal", "pin"]),
        ({"expiresAt": ">=2032-01-01T00:00:00.000Z"}, ["personal", "pin"]),
        ({"expiresAt": "<2032-01-01T00:00:00.000Z"}, ["plain"]),
        ({"expiresAt": "<=2032-01-01T00:00:00.000Z"}, ["plain", "personal"]),
        ({"expiresAt": [">2031-06-01", "<2032-06-01"]}, ["personal"]),  # operators combine: a range
        ({"expiresAt": ["2031-01-01T00:00:00.000Z", "2033-01-01T00:00:00.000Z"]}, ["plain", "pin"]),  # OR
        ({"expiresAt": "!2031-01-01T00:00:00.000Z"}, ["personal", "pin"]),
        ({"expiresAt": ["!2031-01-01T00:00:00.000Z", "!2033-01-01T00:00:00.000Z"]}, ["personal"]),  # none of
        ({"forIdentity": ""}, ["personal"]),  # present
        ({"forIdentity": "!"}, ["plain", "pin"]),  # absent
        ({"forIdentity": "^DID:E:PILOT"}, ["personal"]),  # prefix, case-insensitive
        ({"forIdentity": "$0123A8"}, ["personal"]),  # suffix
        ({"forIdentity": "~enmeshed\\.eu"}, ["personal"]),  # regular expression
        ({"forIdentity": "~(A8)+$"}, ["personal"]),  # a repeated group, case-insensitive
        ({"createdBy": "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"}, ["plain", "personal", "pin"]),
        ({"createdByDevice": "DVCsomeoneElse000001"}, []),
        ({"passwordProtection": ""}, ["personal", "pin"]),
        ({"passwordProtection": "!"}, ["plain"]),
        ({"passwordProtection.password": "secret"}, ["personal"]),
        ({"passwordProtection.password": ["secret", "0042"]}, ["personal", "pin"]),
        ({"passwordProtection.passwordIsPin": "true"}, ["pin"]),
        ({"passwordProtection.passwordIsPin": "!"}, ["personal"]),  # a password, not "unprotected"
        ({"passwordProtection.passwordLocationIndicator": "Letter"}, ["personal"]),
        ({"passwordProtection.passwordLocationIndicator": "2"}, ["personal"]),  # the name matches its number
        ({"passwordProtection.passwordLocationIndicator": "nonsense"}, []),
    ],
)
def test_the_query_language(
    functions: Functions, three: dict[str, dict[str, Any]], query: dict[str, str | list[str]], expected: list[str]
) -> None:
    assert ids(own(functions, **query)) == [three[name]["id"] for name in expected]
    assert ids(own(functions, V7, **query)) == [three[name]["id"] for name in expected]


def test_created_at_narrows_the_search(functions: Functions, three: dict[str, dict[str, Any]]) -> None:
    created = [three[name]["createdAt"] for name in ("plain", "personal", "pin")]
    assert ids(own(functions, createdAt=f">={created[1]}")) == [three["personal"]["id"], three["pin"]["id"]]
    assert ids(own(functions, createdAt=[f">{created[0]}", f"<{created[2]}"])) == [three["personal"]["id"]]
    assert ids(own(functions, createdAt=[f">{created[2]}", f"<{created[0]}"])) == []  # an empty range


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ([">"], ["plain", "personal", "pin"]),  # above the empty text: everything
        ([">="], ["plain", "personal", "pin"]),
        (["<"], []),  # below the empty text: nothing
        (["<="], []),
        (["\x00"], []),
        ([">\x00", "<\U0010ffff"], ["plain", "personal", "pin"]),
        (["<\x00"], []),
        ([">\U0010ffff"], []),
    ],
)
def test_created_at_bounds_at_the_edges_of_text(
    functions: Functions, three: dict[str, dict[str, Any]], bounds: list[str], expected: list[str]
) -> None:
    """Bounds at the edges of text are answered: DynamoDB refuses an empty key bound, so none is passed on."""
    for prefix in (V6, V7):
        assert ids(own(functions, prefix, createdAt=bounds)) == [three[name]["id"] for name in expected]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"id": "TOKx"}, "query must NOT have additional properties"),
        ({"createdAt[]": "x"}, "query must NOT have additional properties"),
        ({"passwordProtection": "x"}, "query/passwordProtection must be equal to one of the allowed values"),
        (
            {"passwordProtection.passwordIsPin": "false"},
            "query/passwordProtection.passwordIsPin must be equal to one of the allowed values",
        ),
        ({"forIdentity": "~("}, "query/forIdentity must be a valid regular expression"),
        ({"createdBy": "~a(?=b)"}, "query/createdBy must be a valid regular expression"),  # no lookaround
    ],
)
def test_query_errors(functions: Functions, query: dict[str, str], message: str) -> None:
    for route in ("Own", "Peer"):
        response = own(functions, route=route, **query)
        assert response["statusCode"] == 400
        assert error_of(response)["code"] == INVALID
        assert error_of(response)["message"].startswith(message)


def test_own_tokens_are_no_peer_tokens(functions: Functions, three: dict[str, dict[str, Any]]) -> None:
    assert ids(own(functions, route="Peer")) == [] and ids(own(functions, V7, route="Peer", createdAt=">2000")) == []


def test_lists_are_json_only(functions: Functions) -> None:
    event = api_event(f"{V7}/Tokens/Own", None, method="GET", accept="image/png")
    assert functions.invoke("token_read", event)["statusCode"] == 406


def test_a_list_too_big_for_one_response_is_a_clear_400(
    functions: Functions, three: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nmshd_tokens.http import token_response

    monkeypatch.setattr(token_response, "MAX_LIST_BYTES", 2000)  # two DTOs do not fit
    response = own(functions)
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "error.connector.validation.queryTooBroad"
    assert "narrow it" in error_of(response)["message"]
    assert ids(own(functions, passwordProtection="!")) == [three["plain"]["id"]]  # narrowed, it fits


def test_a_query_that_must_look_at_too_many_tokens_is_a_clear_400(
    functions: Functions, three: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nmshd_tokens.usecases import kept_tokens

    monkeypatch.setattr(kept_tokens, "MAX_TOKENS_EXAMINED", 2)  # more would outlast the function's timeout
    response = own(functions, passwordProtection="!")
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "error.connector.validation.queryTooBroad"
    # Narrowed by createdAt, the index is searched for two tokens only.
    narrowed = own(functions, createdAt=f">={three['personal']['createdAt']}", passwordProtection="")
    assert ids(narrowed) == [three["personal"]["id"], three["pin"]["id"]]


# --- revoke ---------------------------------------------------------------------------------------------


def test_revoke_removes_the_token_everywhere(functions: Functions, aws: Any, make_file: Factory) -> None:
    dto = create(functions, make_file(future()).id)
    response = revoke(functions, dto["id"])
    assert response["statusCode"] == 204 and not response["body"]
    assert aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": dto["id"]}}).get("Item") is None
    assert get(functions, dto["id"])["statusCode"] == 404
    assert ids(own(functions)) == []
    peer = functions.invoke("backbone_token", api_event(ROUTES["backbone_token"][1], dto["id"], method="GET"))
    assert peer["statusCode"] == 404 and error_of(peer)["code"] == "error.platform.recordNotFound"
    again = revoke(functions, dto["id"])
    assert again["statusCode"] == 404 and error_of(again)["message"] == NOT_FOUND


def test_an_ephemeral_token_cannot_be_revoked(functions: Functions, aws: Any, make_file: Factory) -> None:
    """As upstream: it was never kept, so there is no record to revoke (it expires on the backbone)."""
    ephemeral = json_body(functions.invoke("file_token", api_event(ROUTES["file_token"][1], make_file(future()).id)))
    response = revoke(functions, ephemeral["result"]["id"])
    assert response["statusCode"] == 404
    token_id = ephemeral["result"]["id"]
    assert aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": token_id}}).get("Item") is not None


def test_revoke_refuses_a_malformed_id(functions: Functions) -> None:
    response = revoke(functions, "nope")
    assert response["statusCode"] == 400
    assert error_of(response)["message"] == "tokenId must match pattern TOK[A-Za-z0-9]{17}"


def test_connector_6_has_no_revoke(functions: Functions, make_file: Factory) -> None:
    dto = create(functions, make_file(future()).id)
    response = functions.invoke("token_read", api_event(f"{V6}/Tokens/{{id}}", dto["id"], method="DELETE"))
    assert response["statusCode"] == 405 and header(response, "Allow") == "GET"
    assert error_of(response)["code"] == "error.connector.http.methodNotAllowed"
    assert error_of(response)["message"] == "The request method is not supported for the requested resource."
    assert get(functions, dto["id"])["statusCode"] == 200


def test_a_revoked_token_is_no_longer_loadable_by_its_reference(functions: Functions, make_file: Factory) -> None:
    dto = create(functions, make_file(future()).id, {"passwordProtection": {"password": "pw"}})
    reference = parse_reference(dto["reference"]["url"])
    assert reference.id == dto["id"]
    assert revoke(functions, dto["id"])["statusCode"] == 204
    peer = functions.invoke("backbone_token", api_event(ROUTES["backbone_token"][1], dto["id"], method="GET"))
    assert peer["statusCode"] == 404
