"""The two Connector generations the service answers for, and the two forms a token's QR code can encode."""

from __future__ import annotations

from enum import Enum


class QrForm(Enum):
    URL = "url"  # <backbone>/r/<id>#…: what current enmeshed apps and phone cameras open
    LEGACY = "legacy"  # nmshd://tr#<truncated reference>: the Connector 6 default


class Generation(Enum):
    """The route families: Connector 6.36 answers under /api/v2, Connector 7 under /api/core/v1; the routes and
    rules are shared."""

    API_V2 = "/api/v2"
    CORE_V1 = "/api/core/v1"

    @property
    def prefix(self) -> str:
        return self.value

    @classmethod
    def of_path(cls, path: str) -> Generation:
        return cls.CORE_V1 if path.startswith(cls.CORE_V1.prefix + "/") else cls.API_V2

    @property
    def metric_name(self) -> str:
        return "v2" if self is Generation.API_V2 else "core-v1"

    @property
    def has_truncated_reference_field(self) -> bool:
        """Connector 7 dropped the DTO's `truncatedReference` (it is `reference.truncated`)."""
        return self is Generation.API_V2

    def qr_form(self, new_qr_code_format: bool | None, default: QrForm) -> QrForm:
        """The form a QR code encodes, at creation and on a read (SPEC §6, §13).

        Connector 7 always encodes the URL; Connector 6 follows `newQRCodeFormat` (true: the URL, false: legacy),
        else the default (QR_FORMAT).
        """
        if self is Generation.CORE_V1:
            return QrForm.URL
        if new_qr_code_format is None:
            return default
        return QrForm.URL if new_qr_code_format else QrForm.LEGACY
