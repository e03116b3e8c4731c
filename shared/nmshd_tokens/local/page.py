"""GET / on the local server: a self-contained page that lists the records and creates token QR codes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib.resources import files

from .records import OwnRecord, record_summary
from .routes import FILE_TOKEN_PATH, TEMPLATE_TOKEN_PATH


def _script_safe_json(value: object) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(records: Iterable[OwnRecord], api_key: str) -> str:
    """The page with its data inlined: the records (no keys, no passwords) and the local API key."""
    template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    config = {
        "apiKey": api_key,
        "paths": {"File": FILE_TOKEN_PATH, "RelationshipTemplate": TEMPLATE_TOKEN_PATH},
        "records": [record_summary(record) for record in records],
    }
    return template.replace("__CONFIG__", _script_safe_json(config))
