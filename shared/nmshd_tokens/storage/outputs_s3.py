"""Where bulk creation writes its results: one S3 bucket."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..domain.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# S3's "try again" answers (besides HTTP 5xx): throttling and timeouts.
_TRANSIENT_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"})


@contextmanager
def _s3_errors() -> Iterator[None]:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if error.get("Code") in _TRANSIENT_CODES or status >= 500:
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc
        raise
    except (ConnectionError, HTTPClientError) as exc:
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc


class S3OutputStore:
    """OutputStore on one bucket; the bucket's default encryption applies (template.yaml)."""

    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self.client = client

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        with _s3_errors():
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata)
            )
