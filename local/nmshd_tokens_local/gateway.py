"""What API Gateway (REST, Lambda proxy, payload v1) does around a function: the event in, the response out.

Pure functions on plain values, so the binary rules can be tested without sockets. API Gateway's rules for the
binary media types of template.yaml (AWS's documentation; the details as LocalStack's tests recorded them on AWS):
- a request body whose Content-Type (application/json when absent) matches a binary media type reaches the
  function base64-encoded; with `*/*` that is every request body;
- an `isBase64Encoded` response body is decoded to bytes only when the request's FIRST Accept value matches a
  binary media type; otherwise (also without Accept) the client gets the base64 text. The response's
  Content-Type plays no part.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from nmshd_tokens.domain.api_keys import ApiKey
from nmshd_tokens.domain.errors import ErrorKind, error_envelope
from nmshd_tokens.entry_points.authorizer import authorizer_context

from .routes import RouteMatch

# API Gateway adds and manages these itself; a function cannot set them.
_HOP_BY_HOP = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})


class MalformedLambdaResponse(ValueError):
    """The function returned something API Gateway cannot turn into a response (it answers 502)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # the request target as sent: path and query, still percent-encoded
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path) or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), as API Gateway reads Accept and x-api-key."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def media_type(value: str | None) -> str:
    """`Image/PNG; q=0.9` → `image/png`."""
    return (value or "").split(";", 1)[0].strip().lower()


def first_accept(value: str | None) -> str:
    """API Gateway looks only at the first media type of the Accept header."""
    return media_type((value or "").split(",", 1)[0])


# A request that names no Content-Type is treated as JSON (API Gateway's documented default).
DEFAULT_CONTENT_TYPE = "application/json"


def is_binary(value: str, binary_media_types: Iterable[str]) -> bool:
    """Whether a request's media type matches a configured binary media type.

    The request's value is taken literally: a client's `image/*` or `*/*` is no wildcard and matches only the very
    same configured text. On the configured side `*/*` matches every media type and `image/*` every image
    subtype; a configured `*/png` matches nothing (AWS supports no wildcard on the left alone).
    """
    kind, slash, subtype = media_type(value).partition("/")
    if not kind or not slash or not subtype or "/" in subtype:
        return False
    for pattern in binary_media_types:
        pattern_kind, _, pattern_subtype = media_type(pattern).partition("/")
        if (pattern_kind, pattern_subtype) == ("*", "*"):
            return True
        if pattern_kind == kind and pattern_subtype in ("*", subtype):
            return True
    return False


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views: the last value of each name, and every value in order (None when empty)."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _event_body(request: HttpRequest, binary_media_types: Iterable[str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_binary(request.header("content-type") or DEFAULT_CONTENT_TYPE, binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", errors="replace"), False


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    binary_media_types: Iterable[str],
    *,
    stage: str,
    request_id: str,
    caller: ApiKey | None = None,
) -> dict[str, Any]:
    """The REST v1 proxy event API Gateway would send for `request` on `match.route`.

    `caller`: the API key the authorizer accepted. As on AWS (API key source AUTHORIZER), its context is
    `requestContext.authorizer` and its usage identifier (never the key) `requestContext.identity.apiKey`.
    """
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    body, is_base64 = _event_body(request, binary_media_types)
    now = time.time()
    authorizer = None if caller is None else {"principalId": caller.id, **authorizer_context(caller)}
    return {
        "resource": match.route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": match.route.path,
            "resourceId": "local",
            "httpMethod": request.method,
            "path": request.path,
            "stage": stage,
            "domainName": request.header("host") or "127.0.0.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent"),
                "apiKey": None if caller is None else caller.usage_identifier,
            },
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _response_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    """multiValueHeaders win over headers for the same name, as API Gateway merges them."""
    merged: list[tuple[str, str]] = []
    seen: set[str] = set()
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise MalformedLambdaResponse("headers must be objects")
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            merged.append((str(name), str(value)))
        seen.add(str(name).lower())
    merged.extend((str(name), str(value)) for name, value in single.items() if str(name).lower() not in seen)
    return [(name, value) for name, value in merged if name.lower() not in _HOP_BY_HOP]


def render_response(
    result: object, accept: str | None, binary_media_types: Iterable[str], request_id: str
) -> HttpResponse:
    """Turn a Lambda proxy result into the HTTP response the client receives."""
    if not isinstance(result, dict) or type(result.get("statusCode")) is not int:
        raise MalformedLambdaResponse("statusCode must be an integer")
    status: int = result["statusCode"]
    if not 100 <= status <= 599:
        raise MalformedLambdaResponse("statusCode out of range")
    body = result.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise MalformedLambdaResponse("body must be a string")
    if result.get("isBase64Encoded") is True and is_binary(first_accept(accept), binary_media_types):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedLambdaResponse("body is not base64") from exc
    else:
        data = body.encode("utf-8")
    headers = [*_response_headers(result), ("x-amzn-RequestId", request_id)]
    return HttpResponse(status, headers, data)


def envelope_response(
    kind: ErrorKind, *, status: int | None = None, headers: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    """An error in the Connector's envelope, as the API's gateway responses answer it."""
    body = json.dumps(error_envelope(kind.code, kind.value.message), separators=(",", ":")).encode("utf-8")
    return HttpResponse(
        status or kind.status,
        [("Content-Type", "application/json; charset=utf-8"), *headers],
        body,
    )
