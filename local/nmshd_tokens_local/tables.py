"""Create the DynamoDB tables from their definitions in template.yaml (never repeated in code)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
_CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")


def load_template(path: Path | None = None) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # understands !Ref, !Sub, !GetAtt …

    template: dict[str, Any] = yaml_parse((path or TEMPLATE_PATH).read_text(encoding="utf-8"))
    return template


def table_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id → the template's properties of each AWS::DynamoDB::Table."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def create_tables(client: DynamoDBClient, names: dict[str, str], template: dict[str, Any] | None = None) -> list[str]:
    """Create each table named in `names` (logical id → physical name) that does not exist yet, with its TTL."""
    definitions = table_definitions(template or load_template())
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for logical_id, table_name in names.items():
        properties = definitions[logical_id]
        if table_name in existing:
            continue
        kwargs = {key: properties[key] for key in _CREATE_TABLE_KEYS if key in properties}
        client.create_table(TableName=table_name, **kwargs)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
            )
        created.append(table_name)
    return created
