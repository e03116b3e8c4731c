"""API Gateway Lambda REQUEST authorizer of the keyed routes: the API keys of one Secrets Manager secret (SPEC §17).

Only the standard library, botocore and two domain modules: no Powertools, no pydantic (see entry_points/authorizer.py).
"""

from __future__ import annotations

import os

from nmshd_tokens.entry_points.authorizer import create_handler
from nmshd_tokens.storage.api_keys_secret import SECRET_VARIABLE, SecretApiKeys
from nmshd_tokens.storage.aws_clients import aws_client

REGION = os.environ.get("AWS_REGION", "eu-central-1")
keys = SecretApiKeys(
    os.environ[SECRET_VARIABLE],
    lambda: aws_client("secretsmanager", REGION, read_timeout=2.0, retries=2),
    # As long as API Gateway caches an answer, but at least 10 s: no cache must not mean a read per request.
    refresh_seconds=max(10.0, float(os.environ.get("API_KEYS_REFRESH_SECONDS", "60"))),
    header_name=os.environ.get("API_KEY_HEADER", "X-API-KEY"),
)
keys.client()  # botocore's client at init (a full vCPU), the secret itself on the first request
lambda_handler = create_handler(keys.get)
