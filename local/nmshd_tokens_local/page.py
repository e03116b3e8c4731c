"""GET / on the local server: a self-contained page that lists the records and creates token QR codes, lists
the kept tokens with their QR codes and a Revoke button, and loads peer tokens by reference and lists them.

The page carries the live API key, so it is served with headers that keep it to itself: never cached, never
framed, and allowed to run only its own inline script and to call only its own origin.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable
from importlib.resources import files

from .record_forms import OwnRecord, record_summary
from .routes import FILE_TOKEN_PATH, KEPT_TOKEN_PATH, OWN_TOKENS_PATH, TEMPLATE_TOKEN_PATH

PEER_TOKENS_PATH = "/api/core/v1/Tokens/Peer"  # noqa: S105 - a path, not a secret (POST loads, GET lists)
# The local server's own route (no Lambda function): the text of the QR code in an uploaded image.
QR_IMAGE_PATH = "/local/qr-reference"

_TEMPLATE = files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def _script_safe_json(value: object) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_hashes(element: str) -> str:
    """CSP source expressions for the page's own inline <script>/<style> elements (not its JSON data block)."""
    bodies = re.findall(rf"<{element}>(.*?)</{element}>", _TEMPLATE, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") for body in bodies)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        f"script-src {_inline_hashes('script')}",
        f"style-src {_inline_hashes('style')}",
        "img-src blob: data:",  # the QR code arrives as a blob URL; the favicon is an empty data: URL
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),  # it holds the API key
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate it: no clickjacking of the buttons
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


def render_page(records: Iterable[OwnRecord], api_key: str, program: str = "nmshd-tokens") -> str:
    """The page with its data inlined: the records (no keys, no passwords), the local API key, and how to call the
    CLI (`.venv/bin/nmshd-tokens`, as `serve` was called) in the commands it shows."""
    config = {
        "apiKey": api_key,
        "program": program,
        "paths": {
            "File": FILE_TOKEN_PATH,
            "RelationshipTemplate": TEMPLATE_TOKEN_PATH,
            "ownTokens": OWN_TOKENS_PATH,
            "keptToken": KEPT_TOKEN_PATH,
            "peerTokens": PEER_TOKENS_PATH,
            "qrImage": QR_IMAGE_PATH,
        },
        "records": [record_summary(record) for record in records],
    }
    page = _TEMPLATE.replace("__PROGRAM__", html.escape(program))
    return page.replace("__CONFIG__", _script_safe_json(config))
