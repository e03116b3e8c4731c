"""The one way this package makes AWS clients: botocore's own, with short timeouts and standard retries.

botocore directly, not boto3: boto3's session machinery (resources, collections) costs a cold start and is not
used. Endpoints come from botocore's own configuration (`AWS_ENDPOINT_URL_<SERVICE>`, e.g.
`AWS_ENDPOINT_URL_DYNAMODB` for a local DynamoDB), so nothing here passes one by hand.
"""

from __future__ import annotations

import logging
from typing import Any

# Every AWS service the package calls. The deployed layer's botocore keeps the endpoint data of these only
# (deployment/build_layer.py, cut_down_endpoints), so a client of any other service is refused here.
SERVICES = frozenset({"dynamodb", "s3", "secretsmanager"})

_session: Any = None
# At DEBUG, botocore logs every request's parameters (a TransactWriteItems with a token's password, keys and
# hashes) and urllib3 its connections. Lambda sets the root level from AWS_LAMBDA_LOG_LEVEL, so these loggers get
# a level of their own, WARNING, whatever the root's: set here, where every AWS client of the package is made.
_QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer")


def aws_client(service: str, region: str, *, read_timeout: float = 5.0, retries: int = 3) -> Any:
    """A client of `service` in `region`; every client of the process shares one botocore session.

    `retries` are botocore's, after the first call (standard mode, jittered backoff): 3 retries, 4 calls at most.
    """
    global _session
    if service not in SERVICES:
        raise ValueError(f"{service} is not in aws_clients.SERVICES: add it there (the layer keeps its endpoints)")
    import botocore.session
    from botocore.config import Config

    if _session is None:
        for library in _QUIET_LIBRARIES:
            logging.getLogger(library).setLevel(logging.WARNING)
        _session = botocore.session.get_session()
    config = Config(
        retries={"max_attempts": retries, "mode": "standard"},
        connect_timeout=min(2.0, read_timeout),
        read_timeout=read_timeout,
        tcp_keepalive=True,
    )
    return _session.create_client(service, region_name=region, config=config)
