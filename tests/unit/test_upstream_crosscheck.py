"""Cross-check against the upstream enmeshed libraries (@nmshd/core-types, @nmshd/crypto, pinned in
tests/upstream/package-lock.json), through tests/upstream/crosscheck.mjs.

Both directions, field by field, for random tokens (with and without personalisation, pw, PIN, location indicator):
- upstream `Reference.from()` reads our truncated and URL references; upstream `CryptoEncryption.decrypt` reads our
  cipher with the key from the parsed reference; upstream `CryptoDerivation.deriveKeyFromPassword` (the runtime's
  Argon2id parameters) gives our password hash for the salt from the parsed reference; upstream re-serialises our
  cipher byte for byte;
- upstream `Reference.truncate()` / `toUrl()` / `toUrl(appId)` write byte for byte what we write, our parser reads
  them, and we decrypt upstream's `CryptoEncryption.encrypt` output.

One node process serves all cases. NMSHD_CROSSCHECK_SEED replays a run, NMSHD_CROSSCHECK_CASES changes the count.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import string
import subprocess
import time
from typing import Any

import pytest
from nmshd_tokens.domain import references
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash, encrypt_content
from nmshd_tokens.domain.encoding import b64_encode, b64url_decode, b64url_encode
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection, parse_reference

from tests.upstream_node import UPSTREAM_DIR, require_upstream

pytestmark = pytest.mark.upstream

SCRIPT = UPSTREAM_DIR / "crosscheck.mjs"
RANDOM_CASES = int(os.environ.get("NMSHD_CROSSCHECK_CASES", "60"))

SPEC_KEY = "lerJyX8ydJDEXowq2PMMntRXXA27wgHJYA_BjnFx55Y"
SPEC_URL = "https://backbone.example.com/r/ANID1234#M3xsZXJKeVg4eWRKREVYb3dxMlBNTW50UlhYQTI3d2dISllBX0JqbkZ4NTVZfHw"
SPEC_TRUNCATED = (
    "QU5JRDEyMzRAaHR0cHM6Ly9iYWNrYm9uZS5leGFtcGxlLmNvbXwzfGxlckp5WDh5ZEpERVhvd3EyUE1NbnRSWFhBMjd3Z0hKWUFfQmpuRng1NVl8fA"
)
SPEC_SALT_B64 = "YTE2Ynl0ZXNsb25nc2FsdA=="
SPEC_HASH = "ekuqHFfmPl4WctZWzhqJQx/m0A0aS0JeQF1vAVsbuZA="


def _require_upstream() -> None:
    require_upstream("UPSTREAM CROSS-CHECK")  # skips locally, fails in CI


def _run_node(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    completed = subprocess.run(  # noqa: S603 - fixed argv
        ["node", str(SCRIPT)],  # noqa: S607 - node from PATH
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=UPSTREAM_DIR,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"crosscheck.mjs failed ({completed.returncode}):\n{completed.stderr}"
    results = json.loads(completed.stdout)
    assert isinstance(results, list) and len(results) == len(cases), completed.stdout[:2000]
    return results


# ---------------------------------------------------------------------------------------------------------------------
# random tokens

_ALNUM = string.ascii_letters + string.digits
_PASSWORD_CHARS = string.ascii_letters + string.digits + string.punctuation + " äöüßÄÖÜéçñ€§°µ漢字Ωж🔑🙂\u200d"


def _random_base_url(rng: random.Random) -> str:
    scheme = rng.choice(["http", "https"])
    host = rng.choice(
        [
            "localhost",
            "127.0.0.1",
            "[::1]",
            ".".join(
                "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(1, 10)))
                for _ in range(rng.randint(1, 3))
            )
            + rng.choice([".com", ".eu", ".example", ".cloud"]),
        ]
    )
    default_port = 443 if scheme == "https" else 80
    port = ""
    if rng.random() < 0.4:  # upstream's URL().origin drops a default port, so only non-default ones
        candidates = (1, 3000, 8080, 8443, 65535, rng.randint(1024, 65535))
        port = f":{rng.choice([number for number in candidates if number != default_port])}"
    segments = [
        rng.choice(["r", "backbone", "api", "v2", "".join(rng.choices(_ALNUM + "-_~.", k=rng.randint(1, 12)))])
        for _ in range(rng.randint(0, 3))
    ]
    segments = [segment if segment.strip(".") else segment + "x" for segment in segments]  # no '.'/'..' segments
    path = "".join("/" + segment for segment in segments)
    if rng.random() < 0.05:
        path += "/"
    return f"{scheme}://{host}{port}{path}"


def _random_password(rng: random.Random, password_type: str) -> str:
    if password_type == "pw":
        return "".join(rng.choices(_PASSWORD_CHARS, k=rng.randint(1, 40)))
    return "".join(rng.choices(string.digits, k=int(password_type[3:])))


def _random_content(rng: random.Random) -> bytes:
    """The token content JSON of SPEC §3 (sometimes arbitrary bytes: the cipher does not care)."""
    roll = rng.random()
    if roll < 0.05:
        return b""
    if roll < 0.15:
        return rng.randbytes(rng.randint(1, 300))
    secret_key = {"key": b64url_encode(rng.randbytes(32)), "alg": 3}
    if roll < 0.55:
        content: dict[str, Any] = {
            "@type": "TokenContentFile",
            "fileId": "FIL" + "".join(rng.choices(_ALNUM, k=17)),
            "secretKey": secret_key,
        }
    else:
        content = {
            "@type": "TokenContentRelationshipTemplate",
            "templateId": "RLT" + "".join(rng.choices(_ALNUM, k=17)),
            "secretKey": secret_key,
        }
        if rng.random() < 0.5:
            content["forIdentity"] = "did:e:example.com:dids:" + "".join(rng.choices("0123456789abcdef", k=22))
        if rng.random() < 0.5:
            content["passwordProtection"] = {"passwordType": "pin5", "salt": b64url_encode(rng.randbytes(16))}
    return json.dumps(content, separators=(",", ":"), ensure_ascii=rng.random() < 0.5).encode("utf-8")


# every combination of personalisation x password kind x indicator, cycled so each run covers all of them
_COMBINATIONS = [
    (personalised, password_kind, with_indicator)
    for personalised in (False, True)
    for password_kind in ("none", "pw", "pin")
    for with_indicator in ((False,) if password_kind == "none" else (False, True))
]


def _random_case(rng: random.Random, index: int) -> dict[str, Any]:
    personalised, password_kind, with_indicator = _COMBINATIONS[index % len(_COMBINATIONS)]
    reference_id = "TOK" + "".join(rng.choices(_ALNUM, k=17)) if rng.random() < 0.9 else "ANID" + str(index)
    base_url = _random_base_url(rng) if rng.random() < 0.9 else None
    for_identity = None
    if personalised:
        address = "did:e:" + rng.choice(["localhost", "example.com"]) + ":dids:" + rng.randbytes(11).hex()
        for_identity = Reference.truncate_address(address)
    password = None
    protection = None
    if password_kind != "none":
        password_type = "pw" if password_kind == "pw" else f"pin{rng.randint(4, 16)}"
        password = _random_password(rng, password_type)
        indicator = rng.choice([0, *range(1, 7), *range(50, 100)]) if with_indicator else None
        protection = SharedPasswordProtection(password_type, rng.randbytes(16), indicator)
    reference = Reference(reference_id, rng.randbytes(32), base_url, for_identity, protection)
    plaintext = _random_content(rng)
    app_id = rng.choice([None, "eu.enmeshed.app", "".join(rng.choices(_ALNUM + ".-_", k=rng.randint(1, 20)))])
    return {
        "name": f"random-{index} base={base_url} personalised={personalised} password={password_kind} "
        f"indicator={protection.location_indicator if protection else None}",
        "reference": reference,
        "password": password,
        "plaintext": plaintext,
        "app_id": app_id,
    }


def _fields(reference: Reference) -> dict[str, Any]:
    """Our reference in the shape crosscheck.mjs reports upstream's."""
    protection = reference.password_protection
    return {
        "id": reference.id,
        "backboneBaseUrl": reference.backbone_base_url,
        "algorithm": reference.algorithm,
        "key": b64url_encode(reference.key),
        "forIdentityTruncated": reference.for_identity_truncated,
        "passwordProtection": None
        if protection is None
        else {
            "passwordType": protection.password_type,
            "salt": b64_encode(protection.salt),
            "passwordLocationIndicator": protection.location_indicator,
            "password": None,
        },
    }


def _node_input(case: dict[str, Any]) -> dict[str, Any]:
    reference: Reference = case["reference"]
    ours: dict[str, Any] = {
        "name": case["name"],
        "truncated": reference.truncated,
        "cipher": encrypt_content(case["plaintext"], reference.key),
    }
    if reference.backbone_base_url:
        ours["url"] = reference.url
    if case["password"] is not None:
        ours["password"] = case["password"]  # the salt comes from the reference upstream parsed
    fields = _fields(reference)
    protection = fields["passwordProtection"]
    ours["build"] = {
        "id": fields["id"],
        "backboneBaseUrl": fields["backboneBaseUrl"],
        "key": fields["key"],
        "forIdentityTruncated": fields["forIdentityTruncated"],
        "passwordProtection": None
        if protection is None
        else {key: protection[key] for key in ("passwordType", "salt", "passwordLocationIndicator")},
        "appId": case["app_id"],
        "plaintext": b64url_encode(case["plaintext"]),
    }
    case["ours"] = ours
    return ours


def _compare(case: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Every mismatch between upstream's result and ours, as readable lines."""
    problems: list[str] = []
    reference: Reference = case["reference"]
    ours = case["ours"]
    expected = _fields(reference)

    def check(what: str, actual: Any, wanted: Any) -> None:
        if actual != wanted:
            problems.append(f"{what}: upstream/ours gave {actual!r}, expected {wanted!r}")

    check("upstream Reference.from(our truncated)", result.get("fromTruncated"), expected)
    if "url" in ours:
        check("upstream Reference.from(our url)", result.get("fromUrl"), expected)
    check("upstream decrypt of our cipher", result.get("decrypted"), b64url_encode(case["plaintext"]))
    check("upstream CryptoCipher.fromBase64(ours).toBase64()", result.get("cipherReserialized"), ours["cipher"])
    if case["password"] is not None:
        protection = reference.password_protection
        assert protection is not None
        check(
            "upstream Argon2id hash",
            result.get("passwordHash"),
            b64_encode(derive_password_hash(case["password"], protection.salt)),
        )

    built = result.get("built")
    if not isinstance(built, dict) or "error" in built:
        problems.append(f"upstream could not build the reference: {built!r}")
        return problems
    check("upstream truncate() vs our .truncated", built.get("truncated"), reference.truncated)
    for form in ("truncated", "url", "urlWithApp"):
        if form not in built:
            continue
        try:
            check(f"our parse of upstream {form}", parse_reference(built[form]), reference)
        except references.ReferenceError as error:
            problems.append(f"our parser rejected upstream {form} {built[form]!r}: {error}")
    if reference.backbone_base_url:
        check("upstream toUrl() vs our .url", built.get("url"), reference.url)
        if case["app_id"]:
            base, _, fragment = reference.url.partition("#")
            check("upstream toUrl(appId)", built.get("urlWithApp"), f"{base}?app={case['app_id']}#{fragment}")
    try:
        check("our decrypt of upstream cipher", decrypt_content(built["cipher"], reference.key), case["plaintext"])
    except Exception as error:  # report, do not stop at the first case
        problems.append(f"our decrypt of upstream cipher raised {error!r}")
    ours_layout = json.loads(b64url_decode(ours["cipher"]))
    theirs_layout = json.loads(b64url_decode(built["cipher"]))
    check("cipher JSON keys (ours vs upstream)", list(ours_layout), list(theirs_layout))
    return problems


def test_random_tokens_agree_with_upstream_both_ways() -> None:
    _require_upstream()
    seed = int(os.environ.get("NMSHD_CROSSCHECK_SEED") or secrets.randbits(32))
    rng = random.Random(seed)
    cases = [_random_case(rng, index) for index in range(RANDOM_CASES)]
    spec_vector = {
        "name": "SPEC §5 vector",
        "reference": Reference("ANID1234", b64url_decode(SPEC_KEY), "https://backbone.example.com"),
        "password": None,
        "plaintext": b'{"@type":"TokenContentFile"}',
        "app_id": None,
    }
    cases.append(spec_vector)
    node_input = [_node_input(case) for case in cases]
    node_input.append({"name": "SPEC §5 Argon2id vector", "password": "password", "salt": SPEC_SALT_B64})

    started = time.monotonic()
    results = _run_node(node_input)
    elapsed = time.monotonic() - started

    problems: list[str] = []
    for case, result in zip(cases, results, strict=False):
        problems.extend(f"[{case['name']}] {line}" for line in _compare(case, result))
    spec_built = results[len(cases) - 1]["built"]
    if spec_built.get("truncated") != SPEC_TRUNCATED or spec_built.get("url") != SPEC_URL:
        problems.append(f"[SPEC §5 vector] upstream wrote {spec_built!r}")
    if results[-1].get("passwordHash") != SPEC_HASH:
        problems.append(f"[SPEC §5 Argon2id vector] upstream gave {results[-1]!r}")

    assert not problems, (
        f"{len(problems)} mismatches with upstream (replay with NMSHD_CROSSCHECK_SEED={seed}):\n" + "\n".join(problems)
    )
    print(f"upstream cross-check: {len(node_input)} cases (seed {seed}) in {elapsed:.1f} s of node")


# ---------------------------------------------------------------------------------------------------------------------
# forms upstream writes or wrote that we never write, but must read


def _legacy_truncated(text: str) -> str:
    return b64url_encode(text.encode("utf-8"))


LEGACY_FORMS = [
    pytest.param(
        _legacy_truncated(f"TOKabcdefghij0123456|3|{SPEC_KEY}"),
        Reference("TOKabcdefghij0123456", b64url_decode(SPEC_KEY)),
        id="three-part-truncated",
    ),
    pytest.param(
        _legacy_truncated(f"TOKabcdefghij0123456|3|{SPEC_KEY}|beef|pin8&{SPEC_SALT_B64}&77"),
        Reference(
            "TOKabcdefghij0123456",
            b64url_decode(SPEC_KEY),
            None,
            "beef",
            SharedPasswordProtection("pin8", b"a16byteslongsalt", 77),
        ),
        id="five-part-truncated-without-base",
    ),
    pytest.param(
        SPEC_URL.replace("#", "?app=eu.enmeshed.app#"),
        Reference("ANID1234", b64url_decode(SPEC_KEY), "https://backbone.example.com"),
        id="url-with-app",
    ),
    pytest.param(
        _legacy_truncated(f"ANID1234@https://backbone.example.com|3|{SPEC_KEY}||pw&{SPEC_SALT_B64}&"),
        Reference(
            "ANID1234",
            b64url_decode(SPEC_KEY),
            "https://backbone.example.com",
            None,
            SharedPasswordProtection("pw", b"a16byteslongsalt", None),
        ),
        id="trailing-ampersand",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LEGACY_FORMS)
def test_legacy_forms_read_like_upstream(text: str, expected: Reference) -> None:
    _require_upstream()
    key = "fromUrl" if text.startswith("http") else "fromTruncated"
    [result] = _run_node([{"name": "legacy", ("url" if key == "fromUrl" else "truncated"): text}])
    assert result[key] == _fields(expected), "upstream reads this form differently than this test expects"
    assert parse_reference(text) == expected
