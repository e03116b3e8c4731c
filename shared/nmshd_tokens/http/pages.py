"""The page a phone camera opens at <backbone>/r/<id> (the #fragment with the key never reaches us)."""

from __future__ import annotations

import base64
import hashlib

_STYLE = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p>{text}</p>
</body>
</html>
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")

# Nothing but the one inline style may load or run; no page may frame this one (clickjacking), no browser may
# guess another type. Not stored: the answer says whether a token exists, which a revoke or an expiry changes, and
# a cached "found" would outlive it (the page is opened once per scan: a cache would save next to nothing).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def open_in_app_page(found: bool) -> str:
    if found:
        return _PAGE.format(
            title="Open this link with an enmeshed app",
            text="This link holds an enmeshed token. Open it with the enmeshed app on this device, "
            "or scan the QR code with the app's scanner.",
            style=_STYLE,
        )
    return _PAGE.format(title="Token not found", text="This token does not exist or has expired.", style=_STYLE)
