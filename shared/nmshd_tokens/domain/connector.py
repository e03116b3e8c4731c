"""The two Connector generations the service answers for, and the two forms a token's QR code can encode."""

from __future__ import annotations

from enum import Enum


class QrForm(Enum):
    URL = "url"  # <backbone>/r/<id>#…: what current enmeshed apps and phone cameras open
    LEGACY = "legacy"  # nmshd://tr#<truncated reference>: the Connector 6 default


class Generation(Enum):
    """Connector 6.36 answers under /api/v2, Connector 7 under /api/core/v1; the routes and rules are shared."""

    V6 = "/api/v2"
    V7 = "/api/core/v1"

    @property
    def prefix(self) -> str:
        return self.value

    @classmethod
    def of_path(cls, path: str) -> Generation:
        return cls.V7 if path.startswith(cls.V7.prefix + "/") else cls.V6

    @property
    def has_truncated_reference_field(self) -> bool:
        """Connector 7 dropped the DTO's `truncatedReference` (it is `reference.truncated`)."""
        return self is Generation.V6

    def qr_form_for_new_token(self, new_qr_code_format: bool | None, default: QrForm) -> QrForm:
        """Connector 7 always encodes the URL; Connector 6 follows the body's `newQRCodeFormat`, else the default."""
        if self is Generation.V7:
            return QrForm.URL
        if new_qr_code_format is None:
            return default
        return QrForm.URL if new_qr_code_format else QrForm.LEGACY

    def qr_form_for_kept_token(self, new_qr_code_format: str | None) -> QrForm:
        """GET /Tokens/{id} as PNG: Connector 7 encodes the URL; Connector 6 only when `?newQRCodeFormat=true`."""
        if self is Generation.V7 or (new_qr_code_format or "").lower() == "true":
            return QrForm.URL
        return QrForm.LEGACY
