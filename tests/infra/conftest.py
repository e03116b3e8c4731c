"""template.yaml, raw and transformed offline by aws-sam-translator (no AWS account, no network)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-central-1"
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class StubPolicyLoader:
    """Stands in for SAM's IAM managed-policy loader, which would call iam:ListPolicies."""

    def load(self) -> dict[str, str]:
        return {"AWSLambdaBasicExecutionRole": BASIC_EXECUTION_ROLE}


def parse_template(path: Path = TEMPLATE) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # CloudFormation-aware: !Ref, !Sub, !GetAtt, !If ...

    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


def transform_template(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy, as `sam deploy` gets it after `sam build`/`package`."""
    from samtranslator.translator.transform import transform

    source = copy.deepcopy(template)
    # The raw translator accepts only s3:// locations; `sam package` uploads local folders and puts these in.
    for logical_id, resource in source["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://local-artifacts/{logical_id}.zip"
    # The translator needs a region (ARNs, partitions); the environment is the only way to give it one.
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}):
        transformed: dict[str, Any] = transform(source, {}, StubPolicyLoader())
    return transformed


_NO_VALUE = object()


def _evaluate(expression: Any, parameters: dict[str, str], conditions: dict[str, bool]) -> Any:
    """Evaluate the condition functions CloudFormation supports (Equals, Not, And, Or, Condition, Ref)."""
    if isinstance(expression, dict) and len(expression) == 1:
        ((name, argument),) = expression.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Fn::Equals":
            return _evaluate(argument[0], parameters, conditions) == _evaluate(argument[1], parameters, conditions)
        if name == "Fn::Not":
            return not _evaluate(argument[0], parameters, conditions)
        if name == "Fn::And":
            return all(_evaluate(item, parameters, conditions) for item in argument)
        if name == "Fn::Or":
            return any(_evaluate(item, parameters, conditions) for item in argument)
        if name == "Condition":
            return conditions[argument]
    return expression


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """Replace every Fn::If by its chosen branch and drop AWS::NoValue, as CloudFormation does at deploy time."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return _resolve(when_true if conditions[name] else when_false, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        resolved = {key: _resolve(value, conditions) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}
    if isinstance(node, list):
        return [item for item in (_resolve(value, conditions) for value in node) if item is not _NO_VALUE]
    return node


def deployed_view(transformed: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The stack CloudFormation would create for these parameter values: conditions applied everywhere."""
    parameters = {name: str(spec.get("Default", "")) for name, spec in transformed.get("Parameters", {}).items()}
    parameters |= overrides or {}
    conditions: dict[str, bool] = {}
    for name, expression in transformed.get("Conditions", {}).items():
        conditions[name] = bool(_evaluate(expression, parameters, conditions))
    view = copy.deepcopy(transformed)
    for section in ("Resources", "Outputs"):
        view[section] = {
            key: value for key, value in view.get(section, {}).items() if conditions.get(value.get("Condition"), True)
        }
    resolved: dict[str, Any] = _resolve(view, conditions)
    return resolved


@pytest.fixture(scope="session")
def source_template() -> dict[str, Any]:
    return parse_template()


@pytest.fixture(scope="session")
def transformed_raw(source_template: dict[str, Any]) -> dict[str, Any]:
    """SAM's output with Conditions and Fn::If still in place."""
    return transform_template(source_template)


@pytest.fixture(scope="session")
def transformed(transformed_raw: dict[str, Any]) -> dict[str, Any]:
    """The default deployment (embedded backbone), conditions resolved."""
    return deployed_view(transformed_raw)


REMOTE_PARAMETERS = {
    "BackboneMode": "remote",
    "BackboneBaseUrl": "https://pilot.enmeshed.eu",
    "BackboneCredentialsSecretArn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:nmshd-device-AbCdEf",
}


@pytest.fixture(scope="session")
def transformed_remote(transformed_raw: dict[str, Any]) -> dict[str, Any]:
    return deployed_view(transformed_raw, REMOTE_PARAMETERS)


@pytest.fixture(scope="session")
def resources(transformed: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = transformed["Resources"]
    return result
