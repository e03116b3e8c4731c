"""Every error the service answers with: code, default message and HTTP status in one table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .clock import format_timestamp, utc_now
from .ids import new_error_id

DOCS_BASE_URL = "https://enmeshed.eu/integrate/error-codes#"


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    message: str


class ErrorKind(Enum):
    INVALID_PROPERTY_VALUE = ErrorSpec("error.runtime.validation.invalidPropertyValue", 400, "")
    INVALID_JSON = ErrorSpec(
        "error.connector.validation.invalidJsonInPayload", 400, "The given payload is not a valid json object."
    )
    UNAUTHORIZED = ErrorSpec("error.connector.unauthorized", 401, "Unauthorized.")
    FORBIDDEN = ErrorSpec("error.connector.forbidden", 403, "You are not allowed to access this endpoint.")
    ROUTE_NOT_FOUND = ErrorSpec("error.connector.http.routeDoesNotExist", 404, "The requested route does not exist.")
    METHOD_NOT_ALLOWED = ErrorSpec(
        "error.connector.http.methodNotAllowed", 405, "The request method is not supported for the requested resource."
    )
    NOT_ACCEPTABLE = ErrorSpec(
        "error.connector.http.notAcceptable",
        406,
        "The requested resource is capable of generating only content not acceptable according to the Accept headers"
        " sent in the request.",
    )
    PAYLOAD_TOO_LARGE = ErrorSpec("error.connector.validation.payloadTooLarge", 413, "The request body is too large.")
    FILE_NOT_FOUND = ErrorSpec(
        "error.runtime.recordNotFound", 404, "File not found. Make sure the ID exists and the record is not expired."
    )
    TEMPLATE_NOT_FOUND = ErrorSpec(
        "error.runtime.recordNotFound",
        404,
        "RelationshipTemplate not found. Make sure the ID exists and the record is not expired.",
    )
    PEER_TEMPLATE = ErrorSpec(
        "error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate",
        400,
        "You cannot create a Token for a peer RelationshipTemplate.",
    )
    PERSONALIZATION_MUST_BE_INHERITED = ErrorSpec(
        "error.runtime.relationshipTemplates.personalizationMustBeInherited",
        400,
        "If a RelationshipTemplate is personalized, Tokens created from it must have the same personalization.",
    )
    PASSWORD_PROTECTION_MUST_BE_INHERITED = ErrorSpec(
        "error.runtime.relationshipTemplates.passwordProtectionMustBeInherited",
        400,
        "If a RelationshipTemplate has password protection, "
        "Tokens created from it must have the same password protection.",
    )
    INVALID_TOKEN_CONTENT = ErrorSpec(
        "error.runtime.invalidTokenContent", 400, "The given Token has an invalid content for this route."
    )
    TOKEN_RECORD_NOT_FOUND = ErrorSpec(
        "error.runtime.recordNotFound", 404, "Token not found. Make sure the ID exists and the record is not expired."
    )
    QUERY_TOO_BROAD = ErrorSpec(
        "error.connector.validation.queryTooBroad",
        400,
        "The query matches more tokens than one response can carry; narrow it, e.g. with "
        "createdAt=>2026-01-01T00:00:00.000Z and createdAt=<2026-02-01T00:00:00.000Z.",
    )
    TOKEN_NOT_FOUND = ErrorSpec(
        "error.platform.recordNotFound",
        404,
        "Token not found. Make sure the ID exists and the record is not expired. "
        "If a password is required to fetch the record, make sure you passed the correct one.",
    )
    TOKEN_LOCKED = ErrorSpec(
        "error.platform.token.tooManyFailedPasswordAttempts",
        400,
        "Too many wrong password attempts, the token is locked.",
    )
    # Loading a peer token (POST /Tokens/Peer): the transport library's errors, and the Backbone's 404 as the
    # runtime maps it (its code, the Backbone's message). `{id}`: the token's id.
    NO_PASSWORD_PROVIDED = ErrorSpec(
        "error.transport.noPasswordProvided", 400, "You need to provide a password to perform this operation."
    )
    NOT_INTENDED_FOR_YOU = ErrorSpec(
        "error.transport.general.notIntendedForYou",
        400,
        "You tried to access personalized content '{id}'. You are either not logged in or the content is not "
        "intended for you.",
    )
    INVALID_PEER_TOKEN_CONTENT = ErrorSpec(
        "error.transport.tokens.invalidTokenContent", 400, "The content of Token '{id}' is not of type TokenContent."
    )
    EMPTY_PEER_TOKEN = ErrorSpec(
        "error.transport.tokens.emptyToken",
        400,
        "The content, createdBy and/or createdByDevice of the Token '{id}' are empty.",
    )
    # Ours: a peer token too large for a record (DynamoDB's 400 KB item) or for one Lambda response (6 MB).
    PEER_TOKEN_TOO_LARGE = ErrorSpec(
        "error.connector.validation.tokenContentTooLarge",
        400,
        "The token's content is {size} bytes: too large to {what} here (at most {limit} bytes).",
    )
    PEER_TOKEN_NOT_FOUND = ErrorSpec(
        "error.runtime.recordNotFound",
        404,
        "Token not found. Make sure the ID exists and the record is not expired. "
        "If a password is required to fetch the record, make sure you passed the correct one.",
    )
    # The Backbone's refusals pass through with its own code and message (remote mode; the embedded backbone's own).
    BACKBONE_VALIDATION = ErrorSpec(
        "error.platform.validation.invalidPropertyValue", 400, "The Backbone refused the token as invalid."
    )
    QUOTA_EXHAUSTED = ErrorSpec(
        "error.platform.quotaExhausted",
        429,
        "The identity's quota for Tokens is exhausted. Please try again later.",
    )
    SERVICE_UNAVAILABLE = ErrorSpec(
        "error.connector.serviceUnavailable",
        503,
        "A service this request depends on is unavailable. Please try again later.",
    )
    UNEXPECTED = ErrorSpec("error.connector.unexpected", 500, "An unexpected error occurred.")
    # A remote Backbone's refusal passed through as it came (BackboneRefusal); the defaults are never shown.
    BACKBONE_REFUSAL = ErrorSpec("error.platform.unexpected", 502, "The Backbone refused the request.")

    @property
    def code(self) -> str:
        return self.value.code

    @property
    def status(self) -> int:
        return self.value.status


class DomainError(Exception):
    """An error the caller should see, with its code, message and HTTP status.

    `code`, `message` and `status` default to the kind's; a refusal of the remote Backbone passes its own through.
    """

    def __init__(
        self, kind: ErrorKind, message: str | None = None, *, code: str | None = None, status: int | None = None
    ) -> None:
        self.kind = kind
        self.code = code or kind.value.code
        self.message = message or kind.value.message
        self.status = status or kind.value.status
        super().__init__(self.code)

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.code, self.message)


def validation_error(message: str) -> DomainError:
    return DomainError(ErrorKind.INVALID_PROPERTY_VALUE, message)


def error_envelope(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "id": new_error_id(),
            "time": format_timestamp(utc_now()),
            "docs": DOCS_BASE_URL + code,
        }
    }


class BackboneRefusal(DomainError):
    """A remote Backbone's refusal with its own status, code and message (e.g. 403 error.platform.forbidden)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(ErrorKind.BACKBONE_REFUSAL, message, code=code, status=status)
