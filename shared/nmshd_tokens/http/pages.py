"""The page a phone camera opens at <backbone>/r/<id> (the #fragment with the key never reaches us)."""

from __future__ import annotations

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}</style>
</head>
<body>
<h1>{title}</h1>
<p>{text}</p>
</body>
</html>
"""


def open_in_app_page(found: bool) -> str:
    if found:
        return _PAGE.format(
            title="Open this link with an enmeshed app",
            text="This link holds an enmeshed token. Open it with the enmeshed app on this device, "
            "or scan the QR code with the app's scanner.",
        )
    return _PAGE.format(title="Token not found", text="This token does not exist or has expired.")
