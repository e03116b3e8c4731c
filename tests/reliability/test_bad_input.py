"""Bad input gets a clear 4xx: over HTTP through `serve` where the server matters, and the
`nmshd-tokens load` command with malformed references and images.

Decision on Content-Type (see docs/reliability.md): the body is read as JSON whatever the Content-Type says
(absent, text/plain, form-encoded, even image/png), and anything that is not one UTF-8 JSON object is 400
invalidJsonInPayload. Express's json parser would instead skip a body whose type is not JSON and run with the
defaults, silently dropping e.g. `curl -d '{"ephemeral":false}'` (curl sends form-encoded by default).
"""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.references import Reference
from nmshd_tokens.domain.validation import MAX_PASSWORD_LENGTH, MSG_ISO, MSG_PIN
from nmshd_tokens.http.body import MAX_BODY_BYTES
from nmshd_tokens.qr import qr_png
from nmshd_tokens_local import seed
from nmshd_tokens_local.cli import main
from nmshd_tokens_local.http_server import MAX_BODY_BYTES as SERVER_MAX_BODY_BYTES

from tests.e2e.conftest import executable
from tests.reliability.conftest import API_KEY, Served, call, error_of
from tests.support import ROOT

FILE_PATH = f"/api/v2/Files/{seed.FILE_ID}/Token"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
INVALID_JSON = "error.connector.validation.invalidJsonInPayload"
INVALID_VALUE = "error.runtime.validation.invalidPropertyValue"
TOO_LARGE = "error.connector.validation.payloadTooLarge"


def post(served: Served, body: bytes | None, headers: dict[str, str] | None = None, path: str = FILE_PATH) -> Any:
    status, response_headers, raw = call(served, "POST", path, body=body, headers=headers or JSON)
    return status, response_headers, raw


def assert_error(status: int, raw: bytes, expected_status: int, code: str, message: str | None = None) -> None:
    assert status == expected_status, raw[:500]
    error = error_of(raw)
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message, error


# --- sizes ----------------------------------------------------------------------------------------------


def test_body_limit_is_64_kib_inclusive(served: Served) -> None:
    exactly = b"{}" + b" " * (MAX_BODY_BYTES - 2)
    status, _, raw = post(served, exactly)
    assert status == 201, raw
    status, _, raw = post(served, exactly + b" ")
    assert_error(status, raw, 413, TOO_LARGE, f"The request body must not exceed {MAX_BODY_BYTES} bytes.")


def test_a_megabyte_body_is_413_from_the_function(served: Served) -> None:
    status, _, raw = post(served, json.dumps({"x": "a" * 1_000_000}).encode())
    assert_error(status, raw, 413, TOO_LARGE)


def _raw_exchange(served: Served, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand; the server may answer (and close) before the body is through."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=120) as connection:
        connection.sendall(head)
        try:
            for chunk in chunks:
                connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it stopped reading: the answer is already there
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


def test_the_local_gateway_refuses_more_than_10_mb_without_reading_it(served: Served) -> None:
    head = (
        f"POST {FILE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {SERVER_MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    answer = _raw_exchange(served, head, [])
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 "), answer[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"Connection: close" in headers
    assert error_of(body)["code"] == TOO_LARGE


def test_the_local_gateway_refuses_a_chunked_body_over_10_mb(served: Served) -> None:
    head = (
        f"POST {FILE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    mebibyte = b" " * (1024 * 1024)
    chunk = f"{len(mebibyte):x}\r\n".encode() + mebibyte + b"\r\n"
    answer = _raw_exchange(served, head, [chunk] * 11 + [b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]


@pytest.mark.parametrize(
    ("length", "status"),
    [(MAX_PASSWORD_LENGTH, 201), (MAX_PASSWORD_LENGTH + 1, 400), (60_000, 400)],
)
def test_password_length_limit(served: Served, length: int, status: int) -> None:
    body = json.dumps({"passwordProtection": {"password": "p" * length}}).encode()
    got, _, raw = post(served, body)
    assert got == status, raw[:300]
    if status == 400:
        assert error_of(raw)["message"] == (
            f"passwordProtection/password must NOT have more than {MAX_PASSWORD_LENGTH} characters"
        )


def test_a_password_beyond_the_body_limit_is_413(served: Served) -> None:
    body = json.dumps({"passwordProtection": {"password": "p" * (MAX_BODY_BYTES + 1)}}).encode()
    status, _, raw = post(served, body)
    assert_error(status, raw, 413, TOO_LARGE)


# --- syntax ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"":' * 13_000 + b"1" + b"}" * 13_000,
        # Beyond the parser's depth limit on 3.11 (about 1,000) and on the 3.13 runtime (about 10,000) alike.
        b'{"passwordProtection": {"password": ' + b"[" * 30_000 + b"]" * 30_000 + b"}}",
    ],
    ids=["arrays", "objects", "inside-password-protection"],
)
def test_deeply_nested_json_is_400(served: Served, body: bytes) -> None:
    assert len(body) <= MAX_BODY_BYTES
    status, _, raw = post(served, body)
    assert_error(status, raw, 400, INVALID_JSON, "The given payload is not a valid json object.")


def test_nesting_within_the_parser_limit_is_just_a_wrong_type(served: Served) -> None:
    body = b'{"passwordProtection": {"password": ' + b"[" * 500 + b"]" * 500 + b"}}"
    status, _, raw = post(served, body)
    assert_error(status, raw, 400, INVALID_VALUE, "passwordProtection/password must be string")


@pytest.mark.parametrize(
    "body",
    [
        b'{"passwordProtection": {"password": "p\xe4ss"}}',  # Latin-1, not UTF-8
        b'{"ephemeral": false, "x": "\xff\xfe"}',
        b"\xff\xfe{\x00}\x00",  # UTF-16 with a BOM
        b"\xef\xbb\xbf{}",  # a UTF-8 BOM is not JSON
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate
        b"\x0c",  # not JSON whitespace (bytes.strip() would have taken it for an empty body)
        b"\x00",
    ],
    ids=["latin1-password", "garbage-bytes", "utf16", "utf8-bom", "encoded-surrogate", "form-feed", "nul"],
)
def test_bytes_that_are_not_utf8_json_are_400(served: Served, body: bytes) -> None:
    status, _, raw = post(served, body)
    assert_error(status, raw, 400, INVALID_JSON)


def test_the_replacement_character_is_accepted_as_an_escape(served: Served) -> None:
    status, _, raw = post(served, b'{"ephemeral": false, "note": "\\ufffd"}')
    assert status == 201, raw
    assert json.loads(raw)["result"]["isEphemeral"] is False


@pytest.mark.parametrize(
    "body",
    [
        b'{"ephemeral": true, "ephemeral": false}',
        b'{"passwordProtection": {"password": "a", "password": "b"}}',
        b'{"x": {"y": 1, "y": 1}}',
    ],
)
def test_duplicate_keys_are_400(served: Served, body: bytes) -> None:
    status, _, raw = post(served, body)
    assert_error(status, raw, 400, INVALID_JSON)


# --- Content-Type ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "image/png", "application/json; charset=utf-8"],
)
def test_a_json_body_is_read_whatever_the_content_type(served: Served, content_type: str | None) -> None:
    headers = {"Accept": "application/json"} | ({"Content-Type": content_type} if content_type else {})
    status, _, raw = post(served, b'{"ephemeral": false}', headers)
    assert status == 201, raw
    assert json.loads(raw)["result"]["isEphemeral"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"ephemeral=false&forIdentity=x"),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="ephemeral"\r\n\r\nfalse\r\n--b--',
        ),
        ("image/png", qr_png("not a request")),
        ("text/plain", b"ephemeral: false"),
        ("application/json; charset=utf-16", '{"ephemeral": false}'.encode("utf-16")),
    ],
    ids=["form", "multipart", "png-bytes", "text", "utf16"],
)
def test_a_body_that_is_not_json_is_400_whatever_the_content_type(
    served: Served, content_type: str, body: bytes
) -> None:
    status, _, raw = post(served, body, {"Content-Type": content_type, "Accept": "application/json"})
    assert_error(status, raw, 400, INVALID_JSON)


# --- values ---------------------------------------------------------------------------------------------

FOR_IDENTITY_NOT_STRING = "forIdentity must be string"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expiresAt": 1893456000}, MSG_ISO),
        ({"expiresAt": 1.8e12}, MSG_ISO),
        ({"ephemeral": 0}, "ephemeral must be boolean"),
        ({"ephemeral": "false"}, "ephemeral must be boolean"),
        ({"forIdentity": 123}, FOR_IDENTITY_NOT_STRING),
        ({"forIdentity": ["did:e:localhost:dids:0123456789abcdef012357"]}, FOR_IDENTITY_NOT_STRING),
        ({"passwordProtection": {"password": 1234}}, "passwordProtection/password must be string"),
        (
            {"passwordProtection": {"password": 1234, "passwordIsPin": True}},
            "passwordProtection/password must be string",
        ),
        (
            {"passwordProtection": {"password": "1234", "passwordIsPin": 1}},
            "passwordProtection/passwordIsPin must be equal to constant",
        ),
        ({"passwordProtection": {"password": "x", "passwordLocationIndicator": "4"}}, None),
        ({"passwordProtection": {"password": "x", "passwordLocationIndicator": 50.5}}, None),
        ({"passwordProtection": {"password": "x", "passwordLocationIndicator": 1e400}}, None),
        ({"passwordProtection": {"password": "x", "passwordLocationIndicator": True}}, None),
        ({"passwordProtection": "secret"}, "passwordProtection must be object"),
    ],
)
def test_numbers_where_strings_belong_and_the_reverse(
    served: Served, body: dict[str, Any], message: str | None
) -> None:
    raw_body = json.dumps(body).replace("Infinity", "1e400").encode()
    status, _, raw = post(served, raw_body)
    expected = message or (
        "must be a number from 50 to 99 or one of the following strings: "
        "Self, Letter, RegistrationLetter, Email, SMS, Website"
    )
    assert_error(status, raw, 400, INVALID_VALUE, expected)


def test_an_integer_literal_longer_than_pythons_limit_is_still_json(served: Served) -> None:
    status, _, raw = post(served, b'{"ephemeral": false, "unknown": ' + b"9" * 5_000 + b"}")
    assert status == 201, raw[:300]


@pytest.mark.parametrize(
    "pin",
    [
        "\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
        "\uff11\uff12\uff13\uff14",  # fullwidth digits
        "\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2",  # mathematical bold digits
        "\u00b9\u00b2\u00b3\u2074",  # superscripts
        "\u0967\u0968\u0969\u096a",  # Devanagari digits
        "123\u0664",  # one look-alike among ASCII digits
        " 1234",
        "1234\n",
    ],
)
def test_look_alike_digits_are_no_pin(served: Served, pin: str) -> None:
    body = json.dumps({"passwordProtection": {"password": pin, "passwordIsPin": True}}).encode()
    status, _, raw = post(served, body)
    assert_error(status, raw, 400, INVALID_VALUE, MSG_PIN)


@pytest.mark.parametrize(
    ("path_id", "status"),
    [
        (seed.FILE_ID + "x", 400),
        # Control characters are outside Powertools' route-parameter characters: the resolver finds no route.
        (seed.FILE_ID + "%0A", 404),
        (seed.FILE_ID + "%00", 404),
        (seed.FILE_ID + "%20", 400),
        ("%20" + seed.FILE_ID, 400),
        (seed.FILE_ID[:-1] + "%EF%BC%91", 400),  # a fullwidth 1 in place of the last digit
        (seed.FILE_ID.lower(), 400),
        (seed.FILE_ID + ";x", 400),
        (seed.FILE_ID + "%2Fx", 404),  # decodes to a path with one more segment: no such route
        (seed.FILE_ID + "%252F", 400),
    ],
)
def test_ids_with_junk_are_refused(served: Served, path_id: str, status: int) -> None:
    got, _, raw = post(served, b"{}", path=f"/api/v2/Files/{path_id}/Token")
    assert got == status, raw[:300]
    if status == 400:
        assert error_of(raw)["message"] == "fileId must match pattern FIL[A-Za-z0-9]{17}"
    else:
        assert error_of(raw)["code"] == "error.connector.http.routeDoesNotExist"


@pytest.mark.parametrize("token_id", ["TOK" + "a" * 17 + "x", "TOK" + "a" * 16 + "%0A", "%2E%2E", "TOK" + "a" * 500])
def test_backbone_ids_with_junk_are_404(served: Served, token_id: str) -> None:
    status, _, raw = call(served, "GET", f"/backbone/api/v2/Tokens/{token_id}", key=None)
    assert_error(status, raw, 404, "error.platform.recordNotFound")


def test_a_backbone_password_parameter_of_any_shape_is_just_wrong(served: Served) -> None:
    status, _, raw = post(served, json.dumps({"passwordProtection": {"password": "right"}}).encode())
    token_id = json.loads(raw)["result"]["id"]
    for password in ("%00", "a" * 5000, "%FF%FE", "====", "+/+/", ""):
        status, _, raw = call(served, "GET", f"/backbone/api/v2/Tokens/{token_id}?password={password}", key=None)
        assert_error(status, raw, 404, "error.platform.recordNotFound")


# --- `nmshd-tokens load` with malformed references and images ------------------------------------------


def _png_without_qr() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (120, 120), 1).save(buffer, format="PNG")
    return buffer.getvalue()


def _two_qr_codes() -> bytes:
    from PIL import Image

    first = Image.open(io.BytesIO(qr_png("first")))
    second = Image.open(io.BytesIO(qr_png("second")))
    canvas = Image.new("1", (first.width + second.width, max(first.height, second.height)), 1)
    canvas.paste(first, (0, 0))
    canvas.paste(second, (first.width, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds almost no pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")
    )


REFERENCE = Reference("TOKaaaaaaaaaaaaaaaa1", generate_key(), "http://127.0.0.1:9/backbone")
IMAGES: dict[str, tuple[bytes, str]] = {
    "text-file.png": (b"this is not a png", "cannot read the image"),
    "empty.png": (b"", "cannot read the image"),
    "truncated.png": (qr_png(REFERENCE.url)[:150], "cannot read the image"),
    "png-header-only.png": (b"\x89PNG\r\n\x1a\n", "cannot read the image"),
    "no-qr.png": (_png_without_qr(), "expected one QR code"),
    "two-qr.png": (_two_qr_codes(), "expected one QR code"),
    "hello.png": (qr_png("hello world"), "not a token reference"),
    "wrong-key.png": (qr_png(REFERENCE.url.rsplit("#", 1)[0] + "#M3x8fA"), "not a token reference"),
    "not-png-suffix.jpg": (b"GIF89a not really", "cannot read the image"),
    "decompression-bomb.png": (_png_header_only(200_000, 200_000), "cannot read the image"),
    "huge.png": (_png_header_only(6_000, 6_000), "larger than"),
    "big-but-empty.png": (_png_header_only(3_000, 3_000), "cannot read the image"),
}


def run_load(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["load", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_load_refuses_bad_images_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    content, message = IMAGES[name]
    image = tmp_path / name
    image.write_bytes(content)
    status, out, err = run_load(capsys, str(image))
    assert status == 2, err
    assert out == ""
    assert err.startswith("nmshd-tokens: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "nmshd://tr#",
        "nmshd://tr#!!!!",
        "https://backbone.example.com/r/TOK#",
        "https://backbone.example.com/r/TOKaaaaaaaaaaaaaaaa1#" + "A" * 5000,
        REFERENCE.truncated[:-3],
        REFERENCE.truncated + "x",
        REFERENCE.url.replace("#", "#%"),
        REFERENCE.url + "|",
        "\x00",
        "TOKaaaaaaaaaaaaaaaa1",
        "a" * 300,  # longer than a file name
        str(Path("does", "not", "exist.png")),
    ],
)
def test_load_refuses_malformed_references_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run_load(capsys, text)
    assert status == 2, err
    assert out == "" and err.startswith("nmshd-tokens: error: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_load_as_a_command_refuses_a_truncated_image_cleanly(tmp_path: Path) -> None:
    image = tmp_path / "truncated.png"
    image.write_bytes(qr_png(REFERENCE.url)[:150])
    done = subprocess.run(  # noqa: S603 - our own console script
        [*executable(), "load", str(image)], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("nmshd-tokens: error: cannot read the image") and "Traceback" not in done.stderr
