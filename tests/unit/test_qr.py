"""qr_png: decodable by zxing-cpp, EC level M, quiet zone, 1-bit greyscale PNG, small."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
import zxingcpp
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection
from nmshd_tokens.qr import qr_png
from PIL import Image

BASE_URL = "https://pilot.enmeshed.eu"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def enmeshed_payloads(seed: int = 20261123, base_url: str = BASE_URL) -> dict[str, str]:
    """The three QR payload forms of a token reference: plain URL, personalised + PIN + indicator URL, legacy."""
    rng = random.Random(seed)
    token_id = "TOK" + "".join(rng.choice(_ALNUM) for _ in range(17))
    key = rng.randbytes(32)
    plain = Reference(token_id, key, base_url)
    protected = Reference(token_id, key, base_url, "ab12", SharedPasswordProtection("pin6", rng.randbytes(16), 2))
    password = Reference(token_id, key, base_url, "9f3c", SharedPasswordProtection("pw", rng.randbytes(16), 57))
    return {
        "plain_url": plain.url,
        "personalised_pin_url": protected.url,
        "personalised_password_url": password.url,
        "legacy": plain.legacy_qr_payload,
        "legacy_personalised_pin": protected.legacy_qr_payload,
    }


PAYLOADS = enmeshed_payloads()


def png_header(png: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the IHDR chunk, which must come first."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, depth, colour, _, _, _ = struct.unpack(">2I5B", png[16:29])
    assert zlib.crc32(png[12:29]) == struct.unpack(">I", png[29:33])[0]
    return width, height, depth, colour


def png_modules(png: bytes, scale: int, border: int) -> list[str]:
    """The module rows ('1' = dark) read back from the pixels; every pixel of a module must agree."""
    image = Image.open(io.BytesIO(png))
    assert image.mode == "1"
    width, height = image.size
    assert width == height and width % scale == 0
    pixels = image.load()
    assert pixels is not None
    count = width // scale
    rows = []
    for i in range(count):
        row = ""
        for j in range(count):
            values = {pixels[j * scale + x, i * scale + y] for x in range(scale) for y in range(scale)}
            assert len(values) == 1, f"module ({i}, {j}) is not one colour"
            row += "1" if values == {0} else "0"
        rows.append(row)
    size = count - 2 * border
    assert all(row == "0" * count for row in rows[:border] + rows[count - border :]), "quiet zone rows not light"
    assert all(row[:border] == row[count - border :] == "0" * border for row in rows), "quiet zone columns not light"
    return [row[border : border + size] for row in rows[border : border + size]]


def decode(png: bytes) -> zxingcpp.Barcode:
    """The one QR code zxing-cpp finds in the PNG.

    Scanning for all formats, zxing-cpp now and then also reports a short 1-D code (ITF) inside a QR code's
    modules; only QR code results count.
    """
    results = [
        r for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png))) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert len(results) == 1
    return results[0]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_enmeshed_payloads_decode_exactly_at_level_m(name: str) -> None:
    text = PAYLOADS[name]
    png = qr_png(text)
    result = decode(png)
    assert result.valid
    assert result.text == text
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "M"
    assert result.extra["ECLevel"] == "M"
    assert len(png) <= 800


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_png_is_1_bit_greyscale_with_quiet_zone_of_4_modules_at_4_px(name: str) -> None:
    png = qr_png(PAYLOADS[name])
    width, height, depth, colour = png_header(png)
    assert (depth, colour) == (1, 0)
    version = int(decode(png).extra["Version"])
    size = 4 * version + 17
    assert width == height == (size + 2 * 4) * 4
    modules = png_modules(png, scale=4, border=4)  # also checks the quiet zone is light
    # finder patterns right inside the quiet zone
    assert modules[0][:7] == modules[0][size - 7 :] == modules[size - 1][:7] == "1111111"
    assert modules[2][:7] == "1011101"


def test_sizes_of_the_usual_references() -> None:
    # versions 7 / 9 / 8 at level M, as measured in the performance notes
    assert int(decode(qr_png(PAYLOADS["plain_url"])).extra["Version"]) == 7
    assert int(decode(qr_png(PAYLOADS["personalised_pin_url"])).extra["Version"]) == 9
    assert int(decode(qr_png(PAYLOADS["legacy"])).extra["Version"]) == 8


@pytest.mark.parametrize(("scale", "border"), [(1, 4), (2, 0), (2, 1), (3, 4), (4, 2), (5, 4), (8, 4), (12, 3)])
def test_scale_and_border(scale: int, border: int) -> None:
    text = PAYLOADS["personalised_pin_url"]
    png = qr_png(text, scale=scale, border=border)
    width, _, depth, colour = png_header(png)
    assert (depth, colour) == (1, 0)
    modules = png_modules(png, scale, border)
    assert width == (len(modules) + 2 * border) * scale
    assert modules == png_modules(qr_png(text), 4, 4)  # the same symbol at any scale
    if scale >= 2 and border >= 1:
        assert decode(png).text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "0123456789" * 7,  # numeric mode
        "HTTPS://EXAMPLE.COM/ABC-123 $%*+./:",  # alphanumeric mode
        "grüße, 東京 ✓",  # UTF-8 bytes
        "x" * 2331,  # fills version 40-M exactly
    ],
)
def test_other_texts_decode_exactly(text: str) -> None:
    png = qr_png(text, scale=2 if len(text) > 1000 else 4)
    if text:  # zxing-cpp returns no result for an empty symbol
        result = decode(png)
        assert result.text == text
        assert result.ec_level == "M"
    else:
        png_modules(png, 4, 4)


def test_error_level_is_never_boosted() -> None:
    # 10 digits fit version 1 even at level H; segno.make would boost M to H by default
    assert decode(qr_png("0123456789")).ec_level == "M"


def test_too_long_text_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="(?i)too large"):
        qr_png("x" * 2332)


@pytest.mark.parametrize(("scale", "border"), [(0, 4), (-1, 4), (4, -1)])
def test_invalid_scale_or_border(scale: int, border: int) -> None:
    with pytest.raises(ValueError):
        qr_png("x", scale=scale, border=border)


def test_many_random_references_decode_and_stay_small() -> None:
    rng = random.Random(7)
    hosts = ["https://pilot.enmeshed.eu", "https://prod.enmeshed.eu", "http://localhost:8080"]
    for seed in range(40):
        payloads = enmeshed_payloads(seed, rng.choice(hosts))
        for text in payloads.values():
            png = qr_png(text)
            assert len(png) <= 800
            assert decode(png).text == text
