"""Reading an API Gateway request: the route family, Accept negotiation, the body and query, the backbone URL."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ..config import Settings
from ..domain.connector import Generation, QrForm
from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.references import is_backbone_base_url
from ..domain.validation import IdField, TokenRequest, parse_token_request
from .accept import JSON, PNG, negotiate
from .body import parse_json_body
from .query import query_of as query_of  # the query string: http/query.py


def generation_of(event: APIGatewayProxyEvent) -> Generation:
    """/api/v2/… is Connector 6, /api/core/v1/… Connector 7: same routes, a few differences in shape."""
    return Generation.of_path(event.path)


def wants_png(event: APIGatewayProxyEvent) -> bool:
    """Accept negotiation (SPEC §7): PNG or JSON, or 406 when neither is acceptable."""
    representation = negotiate(_accept(event))
    if representation is None:
        raise DomainError(ErrorKind.NOT_ACCEPTABLE)
    return representation == PNG


def require_json(event: APIGatewayProxyEvent) -> None:
    """A JSON-only route (lists): 406 unless JSON is acceptable."""
    if negotiate(_accept(event), (JSON,)) is None:
        raise DomainError(ErrorKind.NOT_ACCEPTABLE)


def read_json_only_body(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """The body of a JSON-only route (POST /Tokens/Own, /Tokens/Peer): 406, then invalid JSON (SPEC §7)."""
    require_json(event)
    return parse_json_body(event.body, bool(event.is_base64_encoded))


def _accept(event: APIGatewayProxyEvent) -> str | None:
    return event.headers.get("accept") if event.headers else None


def read_token_request(
    event: APIGatewayProxyEvent, id_field: IdField, path_id: str, settings: Settings
) -> TokenRequest:
    """Checks in the Connector's order: 406, then invalid JSON, then validation (SPEC §7)."""
    png = wants_png(event)
    body = parse_json_body(event.body, bool(event.is_base64_encoded))
    return parse_token_request(
        id_field,
        {**body, id_field: path_id},
        wants_png=png,
        generation=generation_of(event),
        default_qr_form=settings.qr_form,
    )


def read_kept_token_qr_form(event: APIGatewayProxyEvent, settings: Settings) -> QrForm | None:
    """GET one kept token: None for JSON, else the QR code's form by the rule of creation (Generation.qr_form).

    `?newQRCodeFormat` is read as Connector 6.36 reads it: "true" in any case is true, anything else (absent too)
    false, so QR_FORMAT, the default for an absent flag, never applies to a read (SPEC §13).
    """
    if not wants_png(event):
        return None
    flag = (event.get_query_string_value("newQRCodeFormat") or "").lower() == "true"
    return generation_of(event).qr_form(flag, settings.qr_form)


def backbone_base_url_for(event: APIGatewayProxyEvent, settings: Settings) -> str:
    """BACKBONE_BASE_URL, else the API's own base URL + /backbone (the embedded backbone of this deployment)."""
    if settings.backbone_base_url:
        return settings.backbone_base_url
    context: dict[str, Any] = event.raw_event.get("requestContext") or {}
    domain = context.get("domainName") or (event.headers or {}).get("host") or "localhost"
    stage = context.get("stage") or ""
    scheme = "http" if domain.startswith(("127.0.0.1", "localhost")) else "https"
    # Execute-api hostnames carry the stage in the path; custom domains map it away.
    prefix = f"/{stage}" if stage and domain.endswith(".amazonaws.com") else ""
    base_url = f"{scheme}://{domain}{prefix}/backbone"
    # API Gateway's domainName is always sound; a local Host header is the caller's, checked before anything is
    # published (a reference cannot be built on it).
    if not is_backbone_base_url(base_url):
        raise validation_error("the Host header must be a host name, optionally with a port")
    return base_url
