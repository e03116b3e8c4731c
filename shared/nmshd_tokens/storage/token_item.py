"""A token as DynamoDB attributes: what a kept token's record and a pending command's record hold of it."""

from __future__ import annotations

import json

from ..domain.json_codec import dumps_compact
from ..domain.tokens import Token, TokenDetails, TokenPassword
from .attributes import Item, bytes_value, read_bytes, read_int, read_str, read_time, str_value, timestamp


def token_attributes(token: Token) -> Item:
    details = token.details
    item: Item = {
        "createdAt": timestamp(token.created_at),
        "expiresAt": timestamp(details.expires_at),
        "createdBy": str_value(details.created_by),
        "createdByDevice": str_value(details.created_by_device),
        "content": str_value(dumps_compact(details.content)),
        "secretKey": bytes_value(details.secret_key),
        "backboneBaseUrl": str_value(details.backbone_base_url),
        "isEphemeral": {"BOOL": details.ephemeral},
    }
    if not details.is_own:
        item["isOwn"] = {"BOOL": False}
    if details.for_identity:
        item["forIdentity"] = str_value(details.for_identity)
    if details.password:
        item |= {"password": str_value(details.password.password), "salt": bytes_value(details.password.salt)}
        if details.password.is_pin:
            item["passwordIsPin"] = {"BOOL": True}
        if details.password.location_indicator is not None:
            item["passwordLocationIndicator"] = {"N": str(details.password.location_indicator)}
    return item


def token_from_attributes(token_id: str, item: Item) -> Token:
    password = None
    if "password" in item:
        password = TokenPassword(
            password=read_str(item, "password") or "",
            salt=read_bytes(item, "salt") or b"",
            is_pin=bool(item.get("passwordIsPin", {}).get("BOOL", False)),
            location_indicator=read_int(item, "passwordLocationIndicator"),
        )
    created_at, expires_at = read_time(item, "createdAt"), read_time(item, "expiresAt")
    if created_at is None or expires_at is None:
        raise ValueError("a token item has createdAt and expiresAt")
    details = TokenDetails(
        content=json.loads(read_str(item, "content") or "{}"),
        secret_key=read_bytes(item, "secretKey") or b"",
        created_by=read_str(item, "createdBy") or "",
        created_by_device=read_str(item, "createdByDevice") or "",
        expires_at=expires_at,
        backbone_base_url=read_str(item, "backboneBaseUrl") or "",
        ephemeral=bool(item.get("isEphemeral", {}).get("BOOL", False)),
        for_identity=read_str(item, "forIdentity"),
        password=password,
        is_own=bool(item.get("isOwn", {}).get("BOOL", True)),
    )
    return Token(token_id, created_at, details)
