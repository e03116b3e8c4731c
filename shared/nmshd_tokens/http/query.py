"""The query string of an API Gateway request as the query language reads it: each key with all its values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent


def query_of(event: APIGatewayProxyEvent) -> dict[str, list[str]]:
    """Every query parameter with all its values (a repeated key has several), as API Gateway decoded them."""
    return query_from_event_parameters(event.multi_value_query_string_parameters)


def query_from_event_parameters(parameters: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """API Gateway's multiValueQueryStringParameters as key → values (an absent query is {}, `?a` is a: [""])."""
    return {str(key): [str(value) for value in values or [""]] for key, values in (parameters or {}).items()}
