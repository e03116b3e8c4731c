"""Remote-backbone mode (BackboneMode=remote): no backbone table or function, the secret readable, nothing more."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import REMOTE_PARAMETERS


def role_actions(resources: dict[str, Any], function_id: str) -> dict[str, list[Any]]:
    role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: dict[str, list[Any]] = {}
    for policy in resources[role_id]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
                resource = statement["Resource"]
                actions.setdefault(action, []).extend(resource if isinstance(resource, list) else [resource])
    return actions


def test_remote_mode_creates_no_backbone_table_or_function(transformed_remote: dict[str, Any]) -> None:
    resources = transformed_remote["Resources"]
    assert "BackboneTable" not in resources
    assert "BackboneTokenFunction" not in resources
    assert "BackboneTableName" not in transformed_remote["Outputs"]
    assert "RecordsTable" in resources and "FileTokenFunction" in resources


def test_remote_mode_reads_exactly_one_secret(transformed_remote: dict[str, Any], transformed: dict[str, Any]) -> None:
    secret = REMOTE_PARAMETERS["BackboneCredentialsSecretArn"]
    for function_id in ("FileTokenFunction", "TemplateTokenFunction", "OwnTokenFunction"):
        remote = role_actions(transformed_remote["Resources"], function_id)
        assert remote["secretsmanager:GetSecretValue"] == [{"Ref": "BackboneCredentialsSecretArn"}] or remote[
            "secretsmanager:GetSecretValue"
        ] == [secret]
        assert remote["dynamodb:PutItem"] == [{"Fn::GetAtt": ["RecordsTable", "Arn"]}]
        embedded = role_actions(transformed["Resources"], function_id)
        assert "secretsmanager:GetSecretValue" not in embedded


def test_remote_mode_environment(transformed_remote: dict[str, Any]) -> None:
    variables = transformed_remote["Resources"]["FileTokenFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["BACKBONE_MODE"] == {"Ref": "BackboneMode"}
    assert variables["BACKBONE_TABLE"] == ""
    assert variables["BACKBONE_CREDENTIALS_SECRET"] == {"Ref": "BackboneCredentialsSecretArn"}
