"""Our own OpenAPI document, generated from the code: the wire models below, the error table and the
routes of template.yaml. `make openapi` writes docs/openapi.json; a test fails when the file drifts."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema, models_json_schema

from ..domain.errors import ErrorKind
from ..domain.ids import ADDRESS_PATTERN, DEVICE_ID_PATTERN, FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, TOKEN_ID_PATTERN
from ..domain.password_protection import MAX_PASSWORD_LENGTH
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


class CreateTokenBody(BaseModel):
    """Every field is optional; unknown top-level keys are ignored, as the Connector does."""

    model_config = ConfigDict(extra="allow", title="CreateTokenRequest")

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
    newQRCodeFormat: bool | SkipJsonSchema[None] = Field(  # noqa: N815
        default=None,
        description="image/png only: true = URL payload, false = legacy nmshd://tr# payload, absent = configured.",
    )


class PasswordProtectionDTO(BaseModel):
    model_config = ConfigDict(title="PasswordProtectionDTO")

    password: str
    passwordIsPin: Literal[True] | SkipJsonSchema[None] = None  # noqa: N815
    passwordLocationIndicator: IndicatorName | IndicatorNumber | SkipJsonSchema[None] = None  # noqa: N815


class ObjectReference(BaseModel):
    truncated: str
    url: str


class TokenDTO(BaseModel):
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
    truncatedReference: str  # noqa: N815
    isEphemeral: bool  # noqa: N815


class TokenResult(BaseModel):
    result: TokenDTO


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


_MODELS: list[type[BaseModel]] = [CreateTokenBody, TokenResult, BackboneTokenResult, ErrorContent]
_REF = "#/components/schemas/{model}"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorContent")}}},
    }


def _token_operation(operation_id: str, summary: str, id_description: str, id_pattern: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"ApiKeyAuth": []}],
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{id_pattern}$"},
                "description": id_description,
            }
        ],
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=CreateTokenBody.__name__)}}},
        },
        "responses": {
            "201": {
                "description": "The token (application/json) or its QR code (image/png).",
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="TokenResult")}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "400": _error("Invalid JSON, validation or rule error (first failure only)."),
            "401": _error(ErrorKind.UNAUTHORIZED.value.message),
            "404": _error("Record not found (missing or expired), or unknown route."),
            "405": _error(ErrorKind.METHOD_NOT_ALLOWED.value.message),
            "406": _error("Neither application/json nor image/png is acceptable."),
            "413": _error(f"The body exceeds {MAX_BODY_BYTES} bytes."),
            "500": _error(ErrorKind.UNEXPECTED.value.message),
            "503": _error("Storage throttled or unavailable after retries."),
        },
    }


def build_openapi() -> dict[str, Any]:
    _, definitions = models_json_schema([(model, "validation") for model in _MODELS], ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nmshd-tokens",
            "version": "2.0",
            "description": "The enmeshed Connector's token routes as AWS Lambda functions, "
            "plus the embedded backbone's peer route. Generated from the code; do not edit.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": {
            "/api/v2/Files/{id}/Token": {
                "post": _token_operation(
                    "createTokenForFile",
                    "Create a Token (or Token QR code) for a File",
                    "FIL + 17 letters or digits",
                    FILE_ID_PATTERN,
                )
            },
            "/api/v2/RelationshipTemplates/Own/{id}/Token": {
                "post": _token_operation(
                    "createTokenForOwnRelationshipTemplate",
                    "Create a Token (or Token QR code) for an own RelationshipTemplate",
                    "RLT + 17 letters or digits",
                    TEMPLATE_ID_PATTERN,
                )
            },
            "/backbone/api/v2/Tokens/{id}": {
                "get": {
                    "operationId": "getBackboneToken",
                    "summary": "The embedded backbone: load a published token as an anonymous peer",
                    "security": [],
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "password",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "base64 of the Argon2id hash of the password with the reference's salt.",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The published (encrypted) token.",
                            "content": {
                                "application/json": {"schema": {"$ref": _REF.format(model="BackboneTokenResult")}}
                            },
                        },
                        "400": _error(ErrorKind.TOKEN_LOCKED.value.message),
                        "404": _error(ErrorKind.TOKEN_NOT_FOUND.value.message),
                        "405": _error(ErrorKind.METHOD_NOT_ALLOWED.value.message),
                        "500": _error(ErrorKind.UNEXPECTED.value.message),
                        "503": _error("Storage throttled or unavailable after retries."),
                    },
                }
            },
        },
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
