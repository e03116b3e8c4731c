"""Our Backbone requests against the upstream transport library's, on the wire, field by field.

The stand-in records what arrives (`record_wire=True`). For login, create, anonymous and signed-in load, delete
and the version check, the upstream library (tests/upstream/backbone_client.mjs) and our clients
(`RemoteBackbone`, and `nmshd-tokens load` for the peer's load) send the same operation, and the two requests
are compared: method, path, query bytes, body bytes (or, where the inputs are random, each field's
encoding), and headers. The headers that differ are listed in EXPLAINED with the reason each difference is
harmless; any other difference fails.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from nmshd_tokens.config import BackboneCredentials
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.crypto import derive_password_hash, encrypt_content, generate_key
from nmshd_tokens.domain.encoding import b64url_decode, b64url_encode
from nmshd_tokens.domain.files_and_templates import NEVER_EXPIRES
from nmshd_tokens.domain.ids import make_address as backbone_address
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.domain.tokens import Token, TokenDraft
from nmshd_tokens.storage.remote_backbone import RemoteBackbone
from nmshd_tokens.storage.secrets import StaticCredentials
from nmshd_tokens.usecases.ports import TokenWrite
from nmshd_tokens_local.peer import load_token
from nmshd_tokens_local.standin_backbone import Call, StandinBackbone, StandinDevice

from tests.support import token_draft
from tests.upstream_node import UpstreamClient, device_json, running_upstream

pytestmark = pytest.mark.upstream


@dataclass(frozen=True)
class Explained:
    upstream: str  # what the transport library sends (a regular expression; "" = nothing)
    ours: str  # what our clients send (likewise)
    why: str  # why the difference does not matter to the Backbone


# Every header in which the two clients differ. The patterns pin the observed values, so that a change on either
# side fails here and its explanation is looked at again.
EXPLAINED = {
    "accept": Explained(
        r"application/json, text/plain, \*/\*",
        r"application/json",
        "the Backbone has one representation, JSON, and answers both with it (errors included)",
    ),
    "user-agent": Explained(
        r"axios/[\d.]+",
        r"|Python-urllib/[\d.]+",
        "the Backbone reads a User-Agent only on its /r/ onboarding page, never on the API",
    ),
    "accept-encoding": Explained(
        r"gzip, compress, deflate, br",
        r"identity",
        "axios accepts compressed answers and we do not: only the bytes on the wire differ",
    ),
    "connection": Explained(
        r"keep-alive",
        r"|close",
        "HTTP/1.1 keeps a connection unless told otherwise: RemoteBackbone keeps it without saying so, the "
        "one-shot `load` closes its only one",
    ),
    "x-runtime-version": Explained(
        r"\d+\.\d+\.\d+",
        r"",
        "the runtime names its version in every request; nothing in the Backbone reads it (notes §1.6)",
    ),
    "x-correlation-id": Explained(
        r"[0-9a-f-]{36}",
        r"",
        "the Connector's id of the inbound request; the Backbone only echoes it (or makes one) for its logs",
    ),
}

# Credentials the form encoding must carry intact: a space (qs writes %20, urlencode's default '+'), the
# library's password specials, '&', '=', '%' and non-ASCII.
CLIENT_SECRET = "sëcret +/=&%20?#"  # noqa: S105 - a test credential
DEVICE_PASSWORD = "Pass word!?-_.:,;#+&=%äö🙂"  # noqa: S105 - a test credential


class NoRecords:
    def write_publication(self, write: TokenWrite, token: Token) -> None:
        raise AssertionError("the comparisons create ephemeral tokens only")

    def delete_token(self, token_id: str) -> None:
        raise AssertionError("the comparisons delete on the Backbone only")


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM WIRE COMPARISON")


@pytest.fixture
def standin(upstream: UpstreamClient) -> Iterator[StandinBackbone]:
    device = StandinDevice(
        client_id="standin",
        client_secret=CLIENT_SECRET,
        username="USRwireComparison01",
        password=DEVICE_PASSWORD,
        address=backbone_address(),
        device_id="DVCwireComparison01",
    )
    with StandinBackbone(device=device, record_wire=True) as backbone:
        upstream.configure(backbone)
        yield backbone


@pytest.fixture
def ours(standin: StandinBackbone) -> RemoteBackbone:
    device = standin.device
    credentials = BackboneCredentials(device.client_id, device.client_secret, device.username, device.password)
    return RemoteBackbone(standin.base_url, StaticCredentials(credentials), NoRecords())


def publish(client: RemoteBackbone, draft: TokenDraft) -> str:
    """Our create, ephemeral (no record kept)."""
    return client.publish(TokenWrite(draft)).id


def draft_of(device: StandinDevice, body: dict[str, Any]) -> TokenDraft:
    """Our draft with the field values of a create request body."""
    password = body.get("password")
    draft: TokenDraft = token_draft(
        content_cipher=body["content"],
        created_by=device.address,
        created_by_device=device.device_id,
        expires_at=datetime.fromisoformat(body["expiresAt"]),
        for_identity=body.get("forIdentity"),
        password_hash=None if password is None else base64.b64decode(password, validate=True),
    )
    return draft


def file_content() -> dict[str, Any]:
    return {
        "@type": "TokenContentFile",
        "fileId": "FILwireComparison001",
        "secretKey": {"key": b64url_encode(generate_key()), "alg": 3},
    }


def send(upstream: UpstreamClient, device: StandinDevice, expires_at: datetime, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = upstream.result(
        "sendToken",
        device=device_json(device),
        content=file_content(),
        expiresAt=format_timestamp(expires_at),
        ephemeral=True,
        **options,
    )
    return result


def calls(standin: StandinBackbone, method: str, path: str) -> list[Call]:
    return [call for call in standin.calls if call.method == method and call.path == path]


def only(standin: StandinBackbone, method: str, path: str, since: int = 0) -> Call:
    found = [call for call in standin.calls[since:] if call.method == method and call.path == path]
    assert len(found) == 1, f"expected one {method} {path}, got {len(found)}"
    return found[0]


def headers(call: Call) -> dict[str, str]:
    return {name.lower(): value for name, value in call.headers}


def assert_same_headers(theirs: Call, ours: Call) -> None:
    upstream, own = headers(theirs), headers(ours)
    unexplained = {
        name: (upstream.get(name), own.get(name))
        for name in sorted(upstream.keys() | own.keys())
        if name not in EXPLAINED and upstream.get(name) != own.get(name)
    }
    assert not unexplained, f"header differences without an explanation (upstream, ours): {unexplained}"
    for name, explained in EXPLAINED.items():
        assert re.fullmatch(explained.upstream, upstream.get(name, "")), f"upstream's {name}: {upstream.get(name)}"
        assert re.fullmatch(explained.ours, own.get(name, "")), f"our {name}: {own.get(name)}"


def same_request(theirs: Call, ours: Call) -> None:
    assert (ours.method, ours.path, ours.query, ours.body) == (theirs.method, theirs.path, theirs.query, theirs.body)
    assert_same_headers(theirs, ours)


# --- login -------------------------------------------------------------------------------------------


def test_login_form_is_byte_for_byte_the_transports(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    upstream.result("login", device=device_json(standin.device))
    assert ours.check_login()
    theirs, mine = calls(standin, "POST", "/connect/token")
    same_request(theirs, mine)
    form = parse_qsl(theirs.body.decode("ascii"), strict_parsing=True)
    assert form == [
        ("client_id", "standin"),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "password"),
        ("username", "USRwireComparison01"),
        ("password", DEVICE_PASSWORD),
    ]
    assert "%20" in theirs.body.decode("ascii") and "+" not in theirs.body.decode("ascii")
    assert standin.logins == 2


# --- create ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"lifetime": timedelta(days=1), "personalised": True, "password": "s3cret pw"}, id="all-fields"),
        pytest.param({"never_expires": True}, id="content-and-expiry-only"),
    ],
)
def test_create_body_is_byte_for_byte_the_transports_for_the_same_fields(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone, options: dict[str, Any]
) -> None:
    expires_at = NEVER_EXPIRES if options.get("never_expires") else datetime.now(UTC) + options["lifetime"]
    extra: dict[str, Any] = {}
    if options.get("personalised"):
        extra["forIdentity"] = backbone_address("example.org")
    if options.get("password"):
        extra["passwordProtection"] = {"password": options["password"], "passwordType": "pw"}
    sent = send(upstream, standin.device, expires_at, **extra)
    [theirs] = calls(standin, "POST", "/api/v2/Tokens")
    body = json.loads(theirs.body)
    assert list(body) == ["content", "expiresAt", *(["forIdentity", "password"] if extra else [])]
    if "password" in body:  # the library's hash is ours for the salt in its reference
        protection = parse_reference(sent["reference"]["url"]).password_protection
        assert protection is not None
        assert base64.b64decode(body["password"]) == derive_password_hash(options["password"], protection.salt)

    publish(ours, draft_of(standin.device, body))
    _, mine = calls(standin, "POST", "/api/v2/Tokens")
    same_request(theirs, mine)


def encodings(body: dict[str, Any]) -> dict[str, Any]:
    """What each field of a create body is, without its random bytes."""
    shape: dict[str, Any] = {"keys": list(body)}
    content = body["content"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", content), "content: base64url without padding"
    cipher = json.loads(b64url_decode(content))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", cipher[key]) for key in ("cph", "nnc"))
    shape["cipher"] = {"keys": list(cipher), "alg": cipher["alg"], "@type": cipher["@type"]}
    shape["nonce bytes"] = len(b64url_decode(cipher["nnc"]))
    shape["expiresAt"] = bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["expiresAt"]))
    shape["forIdentity"] = body.get("forIdentity")
    if "password" in body:
        assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", body["password"]), "password: standard base64, padded"
        shape["password bytes"] = len(base64.b64decode(body["password"], validate=True))
    return shape


def test_our_own_create_body_has_the_transports_encodings(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    for_identity = backbone_address("example.org")
    expires_at = datetime.now(UTC).replace(microsecond=123456) + timedelta(days=1)
    send(
        upstream,
        standin.device,
        expires_at,
        forIdentity=for_identity,
        passwordProtection={"password": "pw", "passwordType": "pw"},
    )
    content = json.dumps(file_content(), separators=(",", ":")).encode()
    draft = token_draft(
        encrypt_content(content, generate_key()),
        standin.device.address,
        standin.device.device_id,
        expires_at,
        for_identity,
        derive_password_hash("pw", generate_key()[:16]),
    )
    publish(ours, draft)
    theirs, mine = calls(standin, "POST", "/api/v2/Tokens")
    assert encodings(json.loads(mine.body)) == encodings(json.loads(theirs.body))
    assert json.loads(mine.body)["expiresAt"] == json.loads(theirs.body)["expiresAt"]  # milliseconds, Z
    assert (mine.method, mine.path, mine.query) == (theirs.method, theirs.path, theirs.query)


# --- load --------------------------------------------------------------------------------------------


def test_anonymous_load_is_the_transports_request(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    password = "p+ss/wörd="  # noqa: S105 - its hash has '+', '/' or '=' in most salts; the query must escape them
    sent = send(
        upstream,
        standin.device,
        datetime.now(UTC) + timedelta(days=1),
        passwordProtection={"password": password, "passwordType": "pw"},
    )
    path = f"/api/v2/Tokens/{sent['id']}"
    upstream.result("loadAnonymous", reference=sent["reference"]["url"], password=password)
    reference = parse_reference(sent["reference"]["url"])
    assert reference.password_protection is not None
    ours.fetch_for_peer(sent["id"], derive_password_hash(password, reference.password_protection.salt))
    load_token(reference, password)  # `nmshd-tokens load`
    theirs, mine, loaded = calls(standin, "GET", path)
    assert theirs.query.startswith("password=") and "%3D" in theirs.query  # the padding, escaped
    for call in (mine, loaded):
        same_request(theirs, call)
        assert call.bearer == "none"


def test_signed_in_load_is_the_transports_request(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    """POST /Tokens/Peer in remote mode: TokenController.loadPeerTokenByReference, signed in as our device."""
    password = "p+ss/wörd="  # noqa: S105 - as above: the query must escape its hash
    sender = standin.add_device()
    sent = send(
        upstream,
        sender,
        datetime.now(UTC) + timedelta(days=1),
        passwordProtection={"password": password, "passwordType": "pw"},
    )
    path = f"/api/v2/Tokens/{sent['id']}"
    upstream.result(
        "loadPeer", device=device_json(standin.device), reference=sent["reference"]["url"], password=password
    )
    reference = parse_reference(sent["reference"]["url"])
    assert reference.password_protection is not None
    ours.fetch_for_service(sent["id"], derive_password_hash(password, reference.password_protection.salt))
    theirs, mine = calls(standin, "GET", path)
    same_request(theirs, mine)
    assert theirs.bearer == mine.bearer == "valid" and mine.caller == standin.device.address


# --- delete and version ------------------------------------------------------------------------------


def test_delete_is_the_transports_request(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    sent = send(upstream, standin.device, datetime.now(UTC) + timedelta(days=1))
    path = f"/api/v2/Tokens/{sent['id']}"
    upstream.result("deleteToken", device=device_json(standin.device), id=sent["id"])
    ours.delete_on_backbone(sent["id"])  # already gone: the Backbone's 404 ends our revoke as well
    theirs, mine = calls(standin, "DELETE", path)
    same_request(theirs, mine)
    assert theirs.body == b"" and "content-type" not in headers(theirs)


def test_version_check_is_the_transports_request(
    standin: StandinBackbone, upstream: UpstreamClient, ours: RemoteBackbone
) -> None:
    assert upstream.result("version")["isCompatible"] is True
    assert ours.check_version()
    theirs, mine = calls(standin, "GET", "/api/v2/Version")
    same_request(theirs, mine)
