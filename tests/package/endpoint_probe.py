"""Print, as JSON, the URL every AWS client of the package would call, in every region botocore knows.

    python endpoint_probe.py SERVICE[,SERVICE…]

Run by tests/package/test_layer.py in the emulated runtime (the layer's botocore) and in the dev virtualenv (the
same botocore, endpoints.json as released). Nothing is sent: the first request is stopped before it leaves.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import botocore.session
from botocore.config import Config

# One call per service, as the package makes them (S3 with a bucket name: its host depends on it).
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("get_item", {"TableName": "records", "Key": {"id": {"S": "FILx"}}}),
    "s3": ("put_object", {"Bucket": "token-outputs-123456789012", "Key": "batch/TOKx.png", "Body": b"x"}),
    "secretsmanager": ("get_secret_value", {"SecretId": "backbone-credentials"}),
}
VARIANTS = {"plain": {}, "fips": {"use_fips_endpoint": True}, "dualstack": {"use_dualstack_endpoint": True}}


class Stop(Exception):
    """Raised before sending: the URL is all we want."""


def url_of(session: Any, service: str, region: str, options: dict[str, bool]) -> str:
    seen: list[str] = []

    def stop(request: Any, **_: Any) -> None:
        seen.append(request.url)
        raise Stop

    config = Config(retries={"max_attempts": 1}, **options)  # type: ignore[arg-type]
    try:
        client = session.create_client(
            service, region_name=region, aws_access_key_id="probe", aws_secret_access_key="probe", config=config
        )
        client.meta.events.register("before-send", stop)
        operation, parameters = CALLS[service]
        getattr(client, operation)(**parameters)
    except Stop:
        return seen[0]
    except Exception as exc:  # an endpoint that cannot be resolved is an answer too
        return f"{type(exc).__name__}"
    return "sent"  # never: before-send stops every request


def main() -> None:
    services = sys.argv[1].split(",")
    session = botocore.session.get_session()
    endpoints = session.get_component("data_loader").load_data("endpoints")
    regions = sorted({region for partition in endpoints["partitions"] for region in partition["regions"]})
    found = {
        f"{service} {region} {variant}": url_of(session, service, region, options)
        for service in services
        for region in regions
        for variant, options in VARIANTS.items()
    }
    print(json.dumps({"botocore": botocore.__version__, "urls": found}))


if __name__ == "__main__":
    main()
