"""The one AWS client factory: clients of the services the layer keeps endpoints for, and of no other."""

from __future__ import annotations

import pytest
from nmshd_tokens.storage.aws_clients import SERVICES, aws_client


def test_a_client_of_each_service_the_package_calls() -> None:
    for service in SERVICES:
        client = aws_client(service, "eu-central-1")
        assert client.meta.service_model.service_name == service
        assert client.meta.region_name == "eu-central-1"


def test_any_other_service_is_refused_before_botocore_is_asked() -> None:
    """The deployed layer's endpoints.json knows only SERVICES (deployment/build_layer.py, cut_down_endpoints)."""
    with pytest.raises(ValueError, match="sqs is not in aws_clients.SERVICES"):
        aws_client("sqs", "eu-central-1")
