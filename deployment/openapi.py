"""Our own OpenAPI document, generated from the code: the request rules the runtime checks
(nmshd_tokens/domain/request_rules.py), the query keys it accepts (domain/token_query.py), the wire models of its
answers below, the error table and one Operation per route of template.yaml. `make openapi` writes
docs/openapi.json; tests fail when the file drifts from the code or from the template's routes, and when a
handler's answer does not fit its model.

A build step: pydantic earns its cost here (for the answers' models), and no function imports this module.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from nmshd_tokens.domain import request_rules, token_query
from nmshd_tokens.domain.errors import ErrorKind
from nmshd_tokens.domain.ids import ADDRESS_PATTERN, DEVICE_ID_PATTERN, TOKEN_ID_PATTERN
from nmshd_tokens.domain.password_protection import MAX_NUMBERED_INDICATOR, MIN_NUMBERED_INDICATOR
from nmshd_tokens.http.body import MAX_BODY_BYTES
from nmshd_tokens.version import VERSION
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema, models_json_schema

IndicatorName = Literal["Self", "Letter", "RegistrationLetter", "Email", "SMS", "Website"]
IndicatorNumber = Annotated[int, Field(ge=MIN_NUMBERED_INDICATOR, le=MAX_NUMBERED_INDICATOR)]


class PasswordProtectionDTO(BaseModel):
    model_config = ConfigDict(title="PasswordProtectionDTO")

    password: str
    passwordIsPin: Literal[True] | SkipJsonSchema[None] = None  # noqa: N815
    passwordLocationIndicator: IndicatorName | IndicatorNumber | SkipJsonSchema[None] = None  # noqa: N815


class ObjectReference(BaseModel):
    truncated: str
    url: str


class TokenDTOConnector7(BaseModel):
    """Connector 7's TokenDTO (/api/core/v1): no `truncatedReference`."""

    model_config = ConfigDict(title="Token")

    id: str = Field(pattern=f"^{TOKEN_ID_PATTERN}$")
    isOwn: bool  # noqa: N815 - false for a peer's token (POST /Tokens/Peer)
    createdBy: str = Field(pattern=f"^{ADDRESS_PATTERN}$")  # noqa: N815
    createdByDevice: str = Field(pattern=f"^{DEVICE_ID_PATTERN}$")  # noqa: N815
    content: dict[str, Any]
    createdAt: str = Field(json_schema_extra={"format": "date-time"})  # noqa: N815
    expiresAt: str = Field(json_schema_extra={"format": "date-time"})  # noqa: N815
    forIdentity: str | SkipJsonSchema[None] = None  # noqa: N815
    passwordProtection: PasswordProtectionDTO | SkipJsonSchema[None] = None  # noqa: N815
    reference: ObjectReference
    isEphemeral: bool  # noqa: N815


class TokenDTO(TokenDTOConnector7):
    """Connector 6.36's TokenDTO (/api/v2): `truncatedReference` as well (= `reference.truncated`)."""

    model_config = ConfigDict(title="TokenV2")

    truncatedReference: str  # noqa: N815


class TokenResult(BaseModel):
    result: TokenDTO


class TokenResultConnector7(BaseModel):
    result: TokenDTOConnector7


class TokenList(BaseModel):
    result: list[TokenDTO]


class TokenListConnector7(BaseModel):
    result: list[TokenDTOConnector7]


class BackboneToken(BaseModel):
    id: str
    createdBy: str  # noqa: N815
    createdByDevice: str  # noqa: N815
    content: str = Field(description="base64url of the CryptoCipher JSON (XChaCha20-Poly1305).")
    createdAt: str  # noqa: N815
    expiresAt: str  # noqa: N815
    forIdentity: str | SkipJsonSchema[None] = None  # noqa: N815


class BackboneTokenResult(BaseModel):
    result: BackboneToken


class ErrorDetail(BaseModel):
    code: str
    message: str
    id: str = Field(pattern="^ERR[A-Z0-9]{17}$")
    time: str = Field(json_schema_extra={"format": "date-time"})
    docs: str


class ErrorContent(BaseModel):
    error: ErrorDetail


ServiceState = Literal["healthy", "unhealthy"]


class HealthServices(BaseModel):
    database: ServiceState
    backboneConnection: ServiceState  # noqa: N815
    backboneAuthentication: ServiceState  # noqa: N815


class HealthReport(BaseModel):
    """The Connector's health report: no envelope; 200 when healthy, else 500."""

    isHealthy: bool  # noqa: N815
    services: HealthServices


class VersionReport(BaseModel):
    version: str
    build: str
    date: str
    commit: str
    runtimeVersion: str  # noqa: N815
    modules: dict[str, Any]


# --- operations --------------------------------------------------------------------------------------------

_REF = "#/components/schemas/{model}"
PNG_CONTENT = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
_STORAGE_DOWN = "Storage or the Backbone throttled or unavailable after retries."


def _json(model: type[BaseModel] | str) -> dict[str, Any]:
    """JSON content of a model, or of a component named so."""
    name = model if isinstance(model, str) else model.__name__
    return {"application/json": {"schema": {"$ref": _REF.format(model=name)}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json(ErrorContent)}


@dataclass(frozen=True)
class Operation:
    """One route as the template declares it: what it takes and what it answers."""

    method: str
    path: str
    operation_id: str
    summary: str
    success: tuple[int, str, dict[str, Any]]  # status, description, content
    errors: dict[int, str]
    id_parameter: tuple[str | None, str] | None = None  # pattern (None: any string), description
    query: tuple[dict[str, Any], ...] = ()
    body: str | None = None  # the name of the request body's component
    api_key: bool = True
    body_required: bool = False

    def render(self) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "security": [{"ApiKeyAuth": []}] if self.api_key else [],
        }
        parameters = list(self.query)
        if self.id_parameter is not None:
            pattern, description = self.id_parameter
            schema = {"type": "string"} if pattern is None else {"type": "string", "pattern": f"^{pattern}$"}
            parameters.insert(
                0, {"name": "id", "in": "path", "required": True, "schema": schema, "description": description}
            )
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            operation["requestBody"] = {"required": self.body_required, "content": _json(self.body)}
        status, description, content = self.success
        responses: dict[str, Any] = {str(status): {"description": description}}
        if content:
            responses[str(status)]["content"] = content
        if self.api_key:
            responses["401"] = _error(ErrorKind.UNAUTHORIZED.value.message)
            responses["403"] = _error(f"{ErrorKind.FORBIDDEN.value.message} (the API key lacks the route's scope)")
            responses["403"] = _error(f"{ErrorKind.FORBIDDEN.value.message} (the API key lacks the route's scope)")
        responses |= {str(code): _error(text) for code, text in sorted(self.errors.items())}
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def _query_parameter(name: str, description: str, values: list[str] | None = None) -> dict[str, Any]:
    """A query key that may repeat (`a=1&a=2`), as Express reads it; `values` enumerates the allowed ones."""
    item: dict[str, Any] = {"type": "string"} if values is None else {"type": "string", "enum": values}
    schema: dict[str, Any] = {"type": "array", "items": item} if values is None else item
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "style": "form",
        "explode": True,
        "description": description,
    }


def _runtime_query_keys() -> dict[str, tuple[str, ...] | None]:
    """Every query key the runtime accepts (its one table, token_query.QUERY_KEYS), in a stable order, with its
    allowed values (None: any text)."""
    table = token_query.QUERY_KEYS
    return {
        key: table[key].values if table[key].kind is token_query.QueryKind.ENUMERATED else None for key in sorted(table)
    }


_GENERIC = (
    "`v` equal; `` (empty) present; `!` absent; `!v` not equal; `>v` `>=v` `<v` `<=v` compared as text; "
    "`^v` `$v` `~regex` case-insensitive prefix, suffix, regular expression. Repeated: plain values OR, `!v` none "
    "of, operators combined."
)
# The keys with a language of their own; every other key takes the generic operators.
_CUSTOM_QUERY_DESCRIPTIONS = {
    "passwordProtection": "`` protected, `!` unprotected.",
    "passwordProtection.password": "Equal to one of the values.",
    "passwordProtection.passwordIsPin": "`true` a PIN, `!` a password.",
    "passwordProtection.passwordLocationIndicator": "A number, or a name (Self … Website) for its number.",
}


def token_query_parameters() -> tuple[dict[str, Any], ...]:
    keys = _runtime_query_keys()
    unknown = set(_CUSTOM_QUERY_DESCRIPTIONS) - set(keys)
    if unknown:
        raise ValueError(f"described query keys the runtime does not accept: {sorted(unknown)}")
    return tuple(
        _query_parameter(key, _CUSTOM_QUERY_DESCRIPTIONS.get(key, _GENERIC), None if values is None else list(values))
        for key, values in keys.items()
    )


_CREATE_ERRORS = {
    400: "Invalid JSON, validation or rule error (first failure only).",
    404: "Record not found (missing or expired).",
    406: "Neither application/json nor image/png is acceptable.",
    413: f"The body exceeds {MAX_BODY_BYTES} bytes.",
    500: ErrorKind.UNEXPECTED.value.message,
    503: _STORAGE_DOWN,
}


def _connector_operations(prefix: str, suffix: str) -> list[Operation]:
    """The Connector routes of one generation; `suffix` tells their operation ids apart."""
    v6 = prefix == "/api/v2"
    body, token, tokens = (
        (_V6_BODY, TokenResult, TokenList) if v6 else (_V7_BODY, TokenResultConnector7, TokenListConnector7)
    )
    created = (201, "The token (application/json) or its QR code (image/png).", _json(token) | PNG_CONTENT)
    qr_rule = "`?newQRCodeFormat=true`: the URL form; else the legacy form." if v6 else "Always the URL form."
    operations = [
        Operation(
            "post",
            f"{prefix}/Files/{{id}}/Token",
            f"createTokenForFile{suffix}",
            "Create a Token (or Token QR code) for a File",
            created,
            _CREATE_ERRORS,
            (request_rules.ID_PATTERNS["fileId"], "FIL + 17 letters or digits"),
            body=body,
        ),
        Operation(
            "post",
            f"{prefix}/RelationshipTemplates/Own/{{id}}/Token",
            f"createTokenForOwnRelationshipTemplate{suffix}",
            "Create a Token (or Token QR code) for an own RelationshipTemplate",
            created,
            _CREATE_ERRORS,
            (request_rules.ID_PATTERNS["templateId"], "RLT + 17 letters or digits"),
            body=body,
        ),
        Operation(
            "get",
            f"{prefix}/Tokens/{{id}}",
            f"getToken{suffix}",
            f"A kept token (JSON) or its QR code (PNG). {qr_rule}",
            (200, "The token or its QR code.", _json(token) | PNG_CONTENT),
            {
                400: "The id is not a token id.",
                404: ErrorKind.TOKEN_RECORD_NOT_FOUND.value.message,
                406: "Neither application/json nor image/png is acceptable.",
                500: ErrorKind.UNEXPECTED.value.message,
                503: _STORAGE_DOWN,
            },
            (TOKEN_ID_PATTERN, "TOK + 17 letters or digits"),
            query=(_query_parameter("newQRCodeFormat", "image/png: `true` for the URL form.", None),) if v6 else (),
        ),
    ]
    operations.append(
        Operation(
            "post",
            f"{prefix}/Tokens/Peer",
            f"loadPeerToken{suffix}",
            "Load a peer's token by its reference (from the configured backbone) and keep it unless ephemeral",
            (201, "The loaded token, `isOwn: false` (or the kept token of that id, as stored).", _json(token)),
            {
                400: "`token reference invalid`, a password missing, not intended for this identity, content that "
                "is no token content, or the Backbone's lock (error.platform.token.tooManyFailedPasswordAttempts).",
                404: ErrorKind.PEER_TOKEN_NOT_FOUND.value.message,
                406: "application/json is not acceptable.",
                413: f"The body exceeds {MAX_BODY_BYTES} bytes.",
                500: ErrorKind.UNEXPECTED.value.message,
                503: _STORAGE_DOWN,
            },
            body=_PEER_BODY,
            body_required=True,
        )
    )
    for route, summary in (("Own", "Own kept tokens, oldest first"), ("Peer", "Kept peer tokens, oldest first")):
        operations.append(
            Operation(
                "get",
                f"{prefix}/Tokens/{route}",
                f"get{route}Tokens{suffix}",
                f"{summary}; the Connector's query language",
                (200, "The matching tokens.", _json(tokens)),
                {
                    400: "Query error, or a query that must be narrowed to fit one response.",
                    406: "application/json is not acceptable.",
                    500: ErrorKind.UNEXPECTED.value.message,
                    503: _STORAGE_DOWN,
                },
                query=token_query_parameters(),
            )
        )
    operations.append(
        Operation(
            "post",
            f"{prefix}/Tokens/Own",
            f"createOwnToken{suffix}",
            "Create an own Token with any content (JSON only); kept unless `ephemeral` is true",
            (201, "The token.", _json(token)),
            {
                400: "Invalid JSON, validation error (first failure only), or a content upstream cannot read "
                f"({ErrorKind.INVALID_TOKEN_CONTENT.code}).",
                406: "application/json is not acceptable.",
                413: f"The body exceeds {MAX_BODY_BYTES} bytes.",
                500: ErrorKind.UNEXPECTED.value.message,
                503: _STORAGE_DOWN,
            },
            body=_OWN_BODY,
            body_required=True,
        )
    )
    if v6:
        operations.append(
            Operation(
                "delete",
                f"{prefix}/Tokens/{{id}}",
                "deleteTokenV2",
                "Connector 6 has no revoke: always 405 with `Allow: GET`",
                (405, ErrorKind.METHOD_NOT_ALLOWED.value.message, _json(ErrorContent)),
                {404: "An id that is no path segment of a route (e.g. control characters)."},
                (TOKEN_ID_PATTERN, "TOK + 17 letters or digits"),
            )
        )
    else:
        operations.append(
            Operation(
                "delete",
                f"{prefix}/Tokens/{{id}}",
                f"deleteToken{suffix}",
                "Revoke a kept token: on the backbone first, then its record",
                (204, "Revoked; no body.", {}),
                {
                    400: "The id is not a token id, or the Backbone refused it.",
                    403: "The Backbone refused: not the token's creator (remote mode).",
                    404: ErrorKind.TOKEN_RECORD_NOT_FOUND.value.message,
                    500: ErrorKind.UNEXPECTED.value.message,
                    503: _STORAGE_DOWN,
                },
                (TOKEN_ID_PATTERN, "TOK + 17 letters or digits"),
            )
        )
    return operations


def operations() -> list[Operation]:
    backbone_token = Operation(
        "get",
        "/backbone/api/v2/Tokens/{id}",
        "getBackboneToken",
        "The embedded backbone: load a published token as an anonymous peer",
        (200, "The published (encrypted) token.", _json(BackboneTokenResult)),
        {
            400: ErrorKind.TOKEN_LOCKED.value.message,
            404: ErrorKind.TOKEN_NOT_FOUND.value.message,
            500: ErrorKind.UNEXPECTED.value.message,
            503: _STORAGE_DOWN,
        },
        id_parameter=(None, "The token's id (anything else is not found)."),
        api_key=False,
        query=(
            {
                "name": "password",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "base64 of the Argon2id hash of the password with the reference's salt.",
            },
        ),
    )
    return [
        *_connector_operations("/api/v2", ""),
        *_connector_operations("/api/core/v1", "CoreV1"),
        backbone_token,
        Operation(
            "get",
            "/health",
            "getHealth",
            "Health of the service and what it depends on (no API key)",
            (200, "Healthy.", _json(HealthReport)),
            {},
            api_key=False,
        ),
        Operation(
            "get",
            "/Monitoring/Version",
            "getVersion",
            "The service's version",
            (200, "The version.", _json(VersionReport)),
            {},
        ),
    ]


# --- the request bodies: request_rules.py's schemas, as published ---------------------------------------------

_V6_BODY = "CreateTokenBody"
_V7_BODY = "CreateTokenBodyConnector7"
_PROTECTION_BODY = "PasswordProtectionBody"
_OWN_BODY = "CreateOwnTokenBody"
_PEER_BODY = "LoadPeerTokenBody"


def _published(schema: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A schema as the document states it: patterns anchored (the runtime matches whole values), keywords
    sorted, properties in their order."""

    def publish(value: Any, in_properties: bool = False) -> Any:
        if isinstance(value, list):
            return [publish(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if in_properties:
            return {name: publish(item) for name, item in value.items()}
        return {
            key: f"^{item}$" if key == "pattern" else publish(item, in_properties=key == "properties")
            for key, item in sorted(value.items())
        }

    published: dict[str, Any] = publish({**copy.deepcopy(dict(schema)), **extra})
    return published


def request_schemas() -> dict[str, dict[str, Any]]:
    """The request bodies' components: Connector 7's body, Connector 6's (`newQRCodeFormat` too), and the
    password protection both refer to."""
    body = {**request_rules.BODY["properties"], "passwordProtection": {"$ref": _REF.format(model=_PROTECTION_BODY)}}
    return {
        _V6_BODY: _published(
            request_rules.BODY,
            properties={**body, "newQRCodeFormat": request_rules.NEW_QR_CODE_FORMAT},
            title="CreateTokenRequest",
            description="Connector 6.36's body: `newQRCodeFormat` chooses the QR code's payload.",
        ),
        _V7_BODY: _published(
            request_rules.BODY,
            properties=body,
            title="CreateTokenRequestCoreV1",
            description="Every field is optional; unknown top-level keys are ignored, as the Connector does.",
        ),
        _PROTECTION_BODY: _published(request_rules.PASSWORD_PROTECTION, title="PasswordProtection"),
        _OWN_BODY: _published(
            request_rules.OWN_TOKEN_BODY,
            properties={
                **request_rules.OWN_TOKEN_BODY["properties"],
                "passwordProtection": {"$ref": _REF.format(model=_PROTECTION_BODY)},
            },
            title="CreateOwnTokenRequest",
            description="Both families: no other property; `content` and `expiresAt` are required.",
        ),
        _PEER_BODY: _published(
            request_rules.LOAD_PEER_TOKEN_BODY,
            title="LoadPeerTokenRequest",
            description="The runtime's LoadPeerTokenRequest: any failure is `token reference invalid`.",
        ),
    }


_MODELS: list[type[BaseModel]] = [
    TokenResult,
    TokenResultConnector7,
    TokenList,
    TokenListConnector7,
    BackboneTokenResult,
    ErrorContent,
    HealthReport,
    VersionReport,
]


def _without_null_defaults(schema: Any) -> Any:
    """pydantic writes `"default": null` for a field that is left out when absent: null is no value of the
    field's type (and OpenAPI validators refuse such a default), so the document says nothing."""
    if isinstance(schema, list):
        return [_without_null_defaults(item) for item in schema]
    if isinstance(schema, dict):
        return {
            key: _without_null_defaults(item) for key, item in schema.items() if not (key == "default" and item is None)
        }
    return schema


def build_openapi() -> dict[str, Any]:
    _, definitions = models_json_schema([(model, "validation") for model in _MODELS], ref_template=_REF)
    schemas = dict(sorted((_without_null_defaults(definitions["$defs"]) | request_schemas()).items()))
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations():
        paths.setdefault(operation.path, {})[operation.method] = operation.render()
    paths["/health"]["get"]["responses"]["500"] = {"description": "Not healthy.", "content": _json(HealthReport)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nmshd-tokens",
            "version": VERSION,
            "description": "The enmeshed Connector's token routes (Connector 6 under /api/v2, Connector 7 under "
            "/api/core/v1) as AWS Lambda functions, plus the embedded backbone's peer route. Generated from the "
            "code (deployment/openapi.py); do not edit.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
    }


def render_openapi() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=False) + "\n"


def main() -> None:
    print(render_openapi(), end="")


if __name__ == "__main__":
    main()
