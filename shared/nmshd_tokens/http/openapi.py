"""Our own OpenAPI document, generated from the code: the wire models below, the error table and one Operation per
route of template.yaml. `make openapi` writes docs/openapi.json; tests fail when the file drifts from the code or
from the template's routes, and when a handler's answer does not fit its model.

pydantic earns its cost here, at build time: no function imports this module (nor pydantic) at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema, models_json_schema

from ..domain.errors import ErrorKind
from ..domain.ids import ADDRESS_PATTERN, DEVICE_ID_PATTERN, FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, TOKEN_ID_PATTERN
from ..domain.password_protection import MAX_PASSWORD_LENGTH
from ..version import VERSION
from .body import MAX_BODY_BYTES

IndicatorName = Literal["Self", "Letter", "RegistrationLetter", "Email", "SMS", "Website"]
IndicatorNumber = Annotated[int, Field(ge=50, le=99)]
Address = Annotated[str, Field(pattern=f"^{ADDRESS_PATTERN}$")]
# A PIN (passwordIsPin: true) is 4 to 16 ASCII digits (SPEC §2.1); JSON Schema says so with if/then.
_PIN_RULE: dict[str, Any] = {
    "if": {"required": ["passwordIsPin"]},
    "then": {"properties": {"password": {"pattern": "^[0-9]{4,16}$"}}},
}


class PasswordProtectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", title="PasswordProtection", json_schema_extra=_PIN_RULE)

    password: str = Field(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description="The password or PIN peers must enter. Never stored in clear.",
    )
    passwordIsPin: Literal[True] | SkipJsonSchema[None] = Field(  # noqa: N815 - wire name
        default=None, description="Only `true` or absent: the password is a PIN of 4 to 16 digits."
    )
    passwordLocationIndicator: IndicatorName | IndicatorNumber | SkipJsonSchema[None] = Field(  # noqa: N815
        default=None, description="Where the peer finds the password: a name, or a number from 50 to 99."
    )


class CreateTokenBodyConnector7(BaseModel):
    """Every field is optional; unknown top-level keys are ignored, as the Connector does."""

    model_config = ConfigDict(extra="allow", title="CreateTokenRequestCoreV1")

    expiresAt: str | SkipJsonSchema[None] = Field(  # noqa: N815
        default=None,
        json_schema_extra={"format": "date-time"},
        description="ISO 8601 date-time in the future; default: the expiry of the File or template.",
    )
    ephemeral: bool | SkipJsonSchema[None] = Field(
        default=None, description="Default true. Ignored (always true) when a QR code (image/png) is requested."
    )
    forIdentity: Address | SkipJsonSchema[None] = Field(  # noqa: N815
        default=None, description="The only identity that may load the token."
    )
    passwordProtection: PasswordProtectionBody | SkipJsonSchema[None] = None  # noqa: N815


class CreateTokenBody(CreateTokenBodyConnector7):
    """Connector 6.36's body: `newQRCodeFormat` chooses the QR code's payload."""

    model_config = ConfigDict(extra="allow", title="CreateTokenRequest")

    newQRCodeFormat: bool | SkipJsonSchema[None] = Field(  # noqa: N815
        default=None,
        description="image/png only: true = URL payload, false = legacy nmshd://tr# payload, absent or null = "
        "configured.",
    )


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
    isOwn: Literal[True]  # noqa: N815
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


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


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
    body: type[BaseModel] | None = None
    api_key: bool = True

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
            operation["requestBody"] = {"required": False, "content": _json(self.body)}
        status, description, content = self.success
        responses: dict[str, Any] = {str(status): {"description": description}}
        if content:
            responses[str(status)]["content"] = content
        if self.api_key:
            responses["401"] = _error(ErrorKind.UNAUTHORIZED.value.message)
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


_GENERIC = (
    "`v` equal; `` (empty) present; `!` absent; `!v` not equal; `>v` `>=v` `<v` `<=v` compared as text; "
    "`^v` `$v` `~regex` case-insensitive prefix, suffix, regular expression. Repeated: plain values OR, `!v` none "
    "of, operators combined."
)
TOKEN_QUERY = (
    *(
        _query_parameter(name, _GENERIC)
        for name in ("createdAt", "createdBy", "createdByDevice", "expiresAt", "forIdentity", "isOwn")
    ),
    _query_parameter("passwordProtection", "`` protected, `!` unprotected.", ["", "!"]),
    _query_parameter("passwordProtection.password", "Equal to one of the values."),
    _query_parameter("passwordProtection.passwordIsPin", "`true` a PIN, `!` a password.", ["true", "!"]),
    _query_parameter(
        "passwordProtection.passwordLocationIndicator", "A number, or a name (Self … Website) for its number."
    ),
)
_VALIDATION = "Validation or rule error (first failure only)."
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
        (CreateTokenBody, TokenResult, TokenList)
        if v6
        else (CreateTokenBodyConnector7, TokenResultConnector7, TokenListConnector7)
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
            (FILE_ID_PATTERN, "FIL + 17 letters or digits"),
            body=body,
        ),
        Operation(
            "post",
            f"{prefix}/RelationshipTemplates/Own/{{id}}/Token",
            f"createTokenForOwnRelationshipTemplate{suffix}",
            "Create a Token (or Token QR code) for an own RelationshipTemplate",
            created,
            _CREATE_ERRORS,
            (TEMPLATE_ID_PATTERN, "RLT + 17 letters or digits"),
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
    for route, summary in (("Own", "Own kept tokens, oldest first"), ("Peer", "Peer tokens: always empty")):
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
                query=TOKEN_QUERY,
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


_MODELS: list[type[BaseModel]] = [
    CreateTokenBody,
    CreateTokenBodyConnector7,
    TokenResult,
    TokenResultConnector7,
    TokenList,
    TokenListConnector7,
    BackboneTokenResult,
    ErrorContent,
    HealthReport,
    VersionReport,
]


def build_openapi() -> dict[str, Any]:
    _, definitions = models_json_schema([(model, "validation") for model in _MODELS], ref_template=_REF)
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
            "code (nmshd_tokens/http/openapi.py); do not edit.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
    }


def render_openapi() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=False) + "\n"


def main() -> None:
    print(render_openapi(), end="")


if __name__ == "__main__":
    main()
