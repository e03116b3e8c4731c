"""The peer side of the CLI (`load`) without a network: reading references, the request URL, refusals."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from nmshd_tokens.domain.crypto import derive_password_hash, generate_key
from nmshd_tokens.domain.encoding import b64_decode
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection
from nmshd_tokens.qr import qr_png
from nmshd_tokens_local.errors import CommandError, InputError
from nmshd_tokens_local.peer import check_personalisation, load_token, read_reference, token_url

SALT = b"a16byteslongsalt"
UNREACHABLE = "http://127.0.0.1:9/backbone"  # discard port: nothing listens there


def _reference(**kwargs: object) -> Reference:
    return Reference("TOKaaaaaaaaaaaaaaaa1", generate_key(), UNREACHABLE, **kwargs)  # type: ignore[arg-type]


def test_read_reference_accepts_every_form() -> None:
    reference = _reference(password_protection=SharedPasswordProtection("pin4", SALT, 2))
    for text in (reference.url, reference.truncated, reference.legacy_qr_payload, f"  {reference.url}\n"):
        assert read_reference(text) == reference


def test_read_reference_accepts_references_longer_than_a_file_name() -> None:
    reference = Reference(
        "TOKaaaaaaaaaaaaaaaa1",
        generate_key(),
        "https://a-rather-long-backbone-host-name.example.com/with/a/rather/long/path/prefix/for/tokens",
        "2345",
        SharedPasswordProtection("pin16", SALT, 99),
    )
    assert len(reference.truncated) > 255
    assert read_reference(reference.truncated) == reference


def test_read_reference_decodes_a_qr_image(tmp_path: Path) -> None:
    reference = _reference()
    image = tmp_path / "token.png"
    image.write_bytes(qr_png(reference.url))
    assert read_reference(str(image)) == reference


@pytest.mark.parametrize("text", ["", "garbage", "http://example.com/r/TOK#!!", "nmshd://tr#abc"])
def test_read_reference_rejects_non_references(text: str) -> None:
    with pytest.raises(InputError, match="not a token reference"):
        read_reference(text)


def test_read_reference_rejects_unreadable_images(tmp_path: Path) -> None:
    not_an_image = tmp_path / "x.png"
    not_an_image.write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"^cannot read the image .*x\.png: not an image file \(PNG, JPEG, GIF …\)$"):
        read_reference(str(not_an_image))
    text = tmp_path / "notes.txt"  # an existing file of any name is read as an image
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.txt: not an image file"):
        read_reference(str(text))
    for missing in ("missing.png", "missing.JPG"):
        with pytest.raises(InputError, match=rf"^cannot read the image .*{missing}: no such file$"):
            read_reference(str(tmp_path / missing))
    with pytest.raises(InputError, match=r"cannot read the image .*folder\.png: Is a directory$"):
        (tmp_path / "folder.png").mkdir()
        read_reference(str(tmp_path / "folder.png"))
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(InputError, match="expected one QR code"):
        read_reference(str(blank))


def test_token_url_sends_the_argon2id_hash_only_for_protected_tokens() -> None:
    protected = _reference(password_protection=SharedPasswordProtection("pw", SALT))
    url = token_url(protected, "password")
    assert url.startswith(f"{UNREACHABLE}/api/v2/Tokens/TOKaaaaaaaaaaaaaaaa1?password=")
    sent = parse_qs(urlsplit(url).query)["password"][0]
    assert b64_decode(sent) == derive_password_hash("password", SALT)
    assert "password" not in urlsplit(url).path
    assert token_url(_reference(), "ignored") == f"{UNREACHABLE}/api/v2/Tokens/TOKaaaaaaaaaaaaaaaa1"
    assert token_url(_reference(), None, "http://other/bb/").startswith("http://other/bb/api/v2/Tokens/")


def test_token_url_needs_a_backbone() -> None:
    reference = Reference("TOKaaaaaaaaaaaaaaaa1", generate_key())
    with pytest.raises(InputError, match="--backbone-url"):
        token_url(reference, None)
    with pytest.raises(InputError, match="http"):
        token_url(reference, None, "ftp://x")


def test_a_protected_token_without_password_fails_before_any_request() -> None:
    reference = _reference(password_protection=SharedPasswordProtection("pin4", SALT))
    with pytest.raises(CommandError, match="error.transport.noPasswordProvided.*PIN") as caught:
        load_token(reference, None)
    assert caught.value.exit_status == 1


def test_personalisation_is_checked_against_the_given_identity() -> None:
    reference = _reference(for_identity_truncated="2357")
    check_personalisation(reference, "did:e:localhost:dids:0123456789abcdef012357")
    check_personalisation(_reference(), None)
    with pytest.raises(CommandError, match="notIntendedForYou.*not intended for you. .it is for another identity"):
        load_token(reference, identity="did:e:localhost:dids:0123456789abcdef0000e6")
    with pytest.raises(CommandError, match="notIntendedForYou.*not logged in.*pass --identity"):
        load_token(reference)  # anonymous, as the upstream anonymous loader: never intended for it


def test_an_unreachable_backbone_is_one_clear_error() -> None:
    with pytest.raises(CommandError, match="cannot reach the backbone at 127.0.0.1:9") as caught:
        load_token(_reference(), timeout=2)
    assert caught.value.exit_status == 1
