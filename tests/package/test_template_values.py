"""The functions' environment as a deployed stack would see it, resolved from template.yaml (no build needed)."""

from __future__ import annotations

from typing import Any

import pytest

from deployment.template_values import Stack, TemplateValueError, function_environment, load_template
from tests.support import ROOT

API_BACKBONE = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/v1/backbone"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def test_globals_and_parameter_defaults(template: dict[str, Any]) -> None:
    variables = function_environment(Stack.of(template), "FileTokenFunction")
    assert variables["RECORDS_TABLE"] == "nmshd-tokens-local-RecordsTable"
    assert variables["BACKBONE_TABLE"] == "nmshd-tokens-local-BackboneTable"  # !If IsEmbeddedBackbone
    assert variables["BACKBONE_MODE"] == "embedded"
    assert variables["BACKBONE_BASE_URL"] == ""  # empty: derived from each request
    assert variables["SERVICE_ADDRESS"] == template["Parameters"]["ServiceAddress"]["Default"]
    assert "TOKEN_OUTPUT_BUCKET" not in variables


def test_a_functions_own_variables_win_over_the_globals(template: dict[str, Any]) -> None:
    variables = function_environment(Stack.of(template), "TokenBatchFunction")
    assert variables["TOKEN_OUTPUT_BUCKET"] == "nmshd-tokens-local-tokenoutputbucket"  # S3 names are lower case
    assert variables["BACKBONE_BASE_URL"] == API_BACKBONE  # its own !If/!Sub, not the global empty value
    assert variables["RECORDS_TABLE"] == "nmshd-tokens-local-RecordsTable"


def test_overridden_parameters_and_conditions(template: dict[str, Any]) -> None:
    stack = Stack.of(template, {"BackboneBaseUrl": "https://backbone.example.com", "QrFormat": "legacy"})
    assert function_environment(stack, "TokenBatchFunction")["BACKBONE_BASE_URL"] == "https://backbone.example.com"
    assert function_environment(stack, "FileTokenFunction")["QR_FORMAT"] == "legacy"


def test_remote_mode_has_no_backbone_table(template: dict[str, Any]) -> None:
    secret = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:backbone-AbCdEf"
    stack = Stack.of(
        template,
        {
            "BackboneMode": "remote",
            "BackboneBaseUrl": "https://pilot.example.com",
            "BackboneCredentialsSecretArn": secret,
        },
    )
    assert "BackboneTable" not in stack.resources_of_type("AWS::DynamoDB::Table")
    assert "BackboneTokenFunction" not in stack.resources_of_type("AWS::Serverless::Function")
    variables = function_environment(stack, "FileTokenFunction")
    assert (variables["BACKBONE_TABLE"], variables["BACKBONE_CREDENTIALS_SECRET"]) == ("", secret)


def test_an_unknown_parameter_is_refused(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateValueError, match="NoSuchParameter"):
        Stack.of(template, {"NoSuchParameter": "x"})


def test_what_cannot_be_resolved_locally_is_named() -> None:
    template = {
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}},
        "Globals": {"Function": {"Environment": {"Variables": {"ARN": {"Fn::GetAtt": ["Fn", "Arn"]}}}}},
    }
    with pytest.raises(TemplateValueError, match="Fn::GetAtt"):
        function_environment(Stack.of(template), "Fn")


def test_no_value_leaves_the_variable_out() -> None:
    template = {
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}},
        "Globals": {"Function": {"Environment": {"Variables": {"GONE": {"Ref": "AWS::NoValue"}, "KEPT": 7}}}},
    }
    assert function_environment(Stack.of(template), "Fn") == {"KEPT": "7"}
