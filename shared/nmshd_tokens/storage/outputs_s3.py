"""Where bulk creation writes its results: one S3 bucket (issue #6)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from ..domain.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# S3's "try again" answers (besides HTTP 5xx): throttling and timeouts.
_TRANSIENT_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"})


@lru_cache(maxsize=4)
def s3_client(endpoint_url: str | None = None) -> S3Client:
    """One client per process, standard retries, as for DynamoDB."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=10)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


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

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = s3_client(os.environ.get("AWS_ENDPOINT_URL_S3"))
        return self._client

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        with _s3_errors():
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata)
            )
