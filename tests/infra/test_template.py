"""template.yaml as SAM deploys it: routes, API keys, binary media, gateway errors, IAM, tables, lint.

Assertions run on the offline samtranslator output (see conftest.py), i.e. on what CloudFormation receives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import BASIC_EXECUTION_ROLE, REMOTE_PARAMETERS, ROOT, TEMPLATE, deployed_view

TABLES = ("RecordsTable", "BackboneTable")
FUNCTIONS = (
    "FileTokenFunction",
    "TemplateTokenFunction",
    "OwnTokenFunction",
    "TokenReadFunction",
    "TokenRevokeFunction",
    "PeerTokenFunction",
    "ServiceStatusFunction",
    "BackboneTokenFunction",
)
BATCH_FUNCTION = "TokenBatchFunction"  # bulk creation: SQS in, S3 out; tested at the end of this file
AUTHORIZER_FUNCTION = "ApiAuthorizerFunction"  # the API keys' REQUEST authorizer (SPEC §17)
AUTHORIZER_ENVIRONMENT = {"API_KEYS_SECRET", "API_KEYS_REFRESH_SECONDS", "API_KEY_HEADER"}
CONNECTOR_ROUTES = {
    (f"{prefix}{path}", method): function
    for prefix in ("/api/v2", "/api/core/v1")
    for (path, method), function in {
        ("/Files/{id}/Token", "post"): "FileTokenFunction",
        ("/RelationshipTemplates/Own/{id}/Token", "post"): "TemplateTokenFunction",
        ("/Tokens/{id}", "get"): "TokenReadFunction",
        ("/Tokens/Own", "post"): "OwnTokenFunction",
        ("/Tokens/Own", "get"): "TokenReadFunction",
        ("/Tokens/Peer", "get"): "TokenReadFunction",
        ("/Tokens/Peer", "post"): "PeerTokenFunction",
    }.items()
} | {
    ("/api/core/v1/Tokens/{id}", "delete"): "TokenRevokeFunction",
    ("/api/v2/Tokens/{id}", "delete"): "TokenReadFunction",  # Connector 6 has no revoke: it answers 405
    ("/Monitoring/Version", "get"): "ServiceStatusFunction",
}
PUBLIC_ROUTES = {("/health", "get"): "ServiceStatusFunction"}  # no API key, as the Connector's /health
BACKBONE_ROUTES = {
    ("/backbone/api/v2/Tokens/{id}", "get"): "BackboneTokenFunction",
    ("/backbone/r/{id}", "get"): "BackboneTokenFunction",
}
# Least privilege (SAM's CRUD policy templates would grant ten actions): action -> tables it may touch.
EXPECTED_PERMISSIONS = {
    "FileTokenFunction": {
        "dynamodb:GetItem": {"RecordsTable"},
        "dynamodb:PutItem": {"RecordsTable", "BackboneTable"},
    },
    "TemplateTokenFunction": {
        "dynamodb:GetItem": {"RecordsTable"},
        "dynamodb:PutItem": {"RecordsTable", "BackboneTable"},
    },
    "OwnTokenFunction": {"dynamodb:PutItem": {"RecordsTable", "BackboneTable"}},  # publishes; reads nothing
    "TokenReadFunction": {  # read-only: no write action at all
        "dynamodb:GetItem": {"RecordsTable"},
        "dynamodb:Query": {"RecordsTable/index/TokensByCreation"},
    },
    "TokenRevokeFunction": {  # the only function that deletes
        "dynamodb:GetItem": {"RecordsTable"},
        "dynamodb:DeleteItem": {"RecordsTable", "BackboneTable"},
    },
    "PeerTokenFunction": {  # reads the backbone and counts its failures; writes records only, deletes nothing
        "dynamodb:GetItem": {"RecordsTable", "BackboneTable"},
        "dynamodb:PutItem": {"RecordsTable"},
        "dynamodb:UpdateItem": {"BackboneTable"},
    },
    "ServiceStatusFunction": {"dynamodb:GetItem": {"RecordsTable", "BackboneTable"}},
    "BackboneTokenFunction": {
        "dynamodb:GetItem": {"BackboneTable"},
        "dynamodb:UpdateItem": {"BackboneTable"},
    },
}
# The item kinds each function's DynamoDB actions may touch (dynamodb:LeadingKeys): Files are FIL…, templates
# RLT…, tokens TOK…, command records command#…; the Query on the index has no leading key (the index holds tokens).
EXPECTED_LEADING_KEYS = {
    "FileTokenFunction": {"dynamodb:GetItem": ["FIL*"], "dynamodb:PutItem": ["TOK*"]},
    "TemplateTokenFunction": {"dynamodb:GetItem": ["RLT*"], "dynamodb:PutItem": ["TOK*"]},
    "OwnTokenFunction": {"dynamodb:PutItem": ["TOK*"]},
    "TokenReadFunction": {"dynamodb:GetItem": ["TOK*"], "dynamodb:Query": None},
    "TokenRevokeFunction": {"dynamodb:GetItem": ["TOK*"], "dynamodb:DeleteItem": ["TOK*"]},
    "PeerTokenFunction": {
        "dynamodb:GetItem": ["TOK*"],
        "dynamodb:PutItem": ["TOK*"],
        "dynamodb:UpdateItem": ["TOK*"],
    },
    "ServiceStatusFunction": {"dynamodb:GetItem": ["health#probe"]},
    "BackboneTokenFunction": {"dynamodb:GetItem": ["TOK*"], "dynamodb:UpdateItem": ["TOK*"]},
    BATCH_FUNCTION: {
        "dynamodb:GetItem": ["FIL*", "RLT*", "command#*"],
        "dynamodb:PutItem": ["TOK*", "command#*"],
        "dynamodb:UpdateItem": ["command#*"],
    },
}
ENVIRONMENT = {
    "SERVICE_ADDRESS",
    "SERVICE_DEVICE_ID",
    "BACKBONE_BASE_URL",
    "RECORDS_TABLE",
    "BACKBONE_TABLE",
    "BACKBONE_MODE",
    "BACKBONE_CREDENTIALS_SECRET",
    "QR_FORMAT",
    "TOKEN_RETENTION_DAYS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
}
# Only the functions that create tokens read Files and templates through from a Connector (SPEC §15).
CONNECTOR_ENVIRONMENT = {"CONNECTOR_BASE_URL", "CONNECTOR_API_KEY_SECRET_ARN", "RECORDS_CACHE_SECONDS"}
EVENT_FILES = {
    "file_token_json": ("/api/v2/Files/{id}/Token", "POST", "application/json"),
    "file_token_png": ("/api/v2/Files/{id}/Token", "POST", "image/png"),
    "template_token_json": ("/api/v2/RelationshipTemplates/Own/{id}/Token", "POST", "application/json"),
    "template_token_png": ("/api/v2/RelationshipTemplates/Own/{id}/Token", "POST", "image/png"),
    "backbone_get_token": ("/backbone/api/v2/Tokens/{id}", "GET", "application/json"),
    "backbone_get_token_password": ("/backbone/api/v2/Tokens/{id}", "GET", "application/json"),
    "backbone_r_page": ("/backbone/r/{id}", "GET", "text/html"),
}


# --- helpers ---------------------------------------------------------------------------------------------


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == resource_type}


def only(resources: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = of_type(resources, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def api_body(resources: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = resources["Api"]["Properties"]["Body"]
    return body


def operations(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, methods in body["paths"].items()
        for method, operation in methods.items()
        if method != "parameters"
    }


def integrated_function(operation: dict[str, Any]) -> str:
    """The logical id in `...functions/${XFunction.Arn}/invocations`."""
    uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    match = re.search(r"\$\{(\w+)\.Arn\}", uri)
    assert match, uri
    return match.group(1)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def table_of(resource: Any) -> str:
    """RecordsTable for {"Fn::GetAtt": ["RecordsTable", "Arn"]}, RecordsTable/index/X for one named index;
    anything broader (a "*", every index) fails."""
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"]:
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(\w+)", resource["Fn::Sub"])
        assert match, f"not one index's ARN: {resource}"
        return f"{match[1]}/index/{match[2]}"
    assert isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"], f"not a table ARN: {resource}"
    logical_id, attribute = resource["Fn::GetAtt"]
    assert attribute == "Arn", resource
    return str(logical_id)


def role_statements(resources: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role_name = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources[role_name]
    assert role["Type"] == "AWS::IAM::Role"
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


# --- API -------------------------------------------------------------------------------------------------


def test_every_accept_order_gets_png_bytes(resources: dict[str, Any]) -> None:
    """API Gateway decodes a base64 Lambda body only when the FIRST Accept value is a binary media type; only "*/*"
    makes that true for every Accept list a PNG client sends (SPEC §6). What API Gateway reads is the OpenAPI
    extension (SAM decodes "*~1*" there); the emulator of `make run` reads the same list from template.yaml."""
    assert api_body(resources)["x-amazon-apigateway-binary-media-types"] == ["*/*"]


def test_routes_map_to_their_functions(resources: dict[str, Any]) -> None:
    routes = {route: integrated_function(op) for route, op in operations(api_body(resources)).items()}
    assert routes == CONNECTOR_ROUTES | PUBLIC_ROUTES | BACKBONE_ROUTES
    for operation in operations(api_body(resources)).values():
        assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


def test_api_key_required_exactly_on_the_connector_routes(resources: dict[str, Any]) -> None:
    body = api_body(resources)
    keyed = {route for route, op in operations(body).items() if {"api_key": []} in op.get("security", [])}
    assert keyed == set(CONNECTOR_ROUTES)  # not /health (as the Connector) nor the embedded backbone (public)
    scheme = body["components"]["securitySchemes"]["api_key"]
    assert scheme == {"type": "apiKey", "name": "x-api-key", "in": "header"}


def test_one_stage_v1_with_a_usage_plan_keyed_by_the_authorizer(resources: dict[str, Any]) -> None:
    stage_id, stage = only(resources, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == "v1"
    # With swagger 2.0 SAM gives the Deployment `StageName: Stage`, a second, stray stage; OpenApiVersion stops it.
    _, deployment = only(resources, "AWS::ApiGateway::Deployment")
    assert "StageName" not in deployment["Properties"]
    assert stage["Properties"].get("TracingEnabled") is False
    plan_id, plan = only(resources, "AWS::ApiGateway::UsagePlan")
    assert plan_id == "ApiUsagePlan"  # what the UsagePlanId output refers to
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": stage_id}}]
    # The usage plan's key is the authorizer's usageIdentifierKey (each API key's SHA-256), not a header value.
    assert resources["Api"]["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    # Each API key's usage identifier is registered by the operator (README): the stack creates no API key.
    assert not of_type(resources, "AWS::ApiGateway::ApiKey")
    assert not of_type(resources, "AWS::ApiGateway::UsagePlanKey")


def _render(template: str) -> dict[str, Any]:
    """A gateway response template as API Gateway fills it in ($context.error.messageString comes quoted)."""
    values = {
        "$context.requestId": "5f0c2b7e-9a1d-4c3b-8e6f-0d1a2b3c4d5e",
        "$context.requestTime": "23/Nov/2025:12:00:00 +0000",
        "$context.error.messageString": '"Too Many Requests"',
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    assert "$context" not in template, template
    rendered: dict[str, Any] = json.loads(template)
    return rendered


@pytest.mark.parametrize(
    ("response_type", "status", "code"),
    [
        ("UNAUTHORIZED", "401", "error.connector.unauthorized"),
        ("INVALID_API_KEY", "401", "error.connector.unauthorized"),
        ("ACCESS_DENIED", "403", "error.connector.forbidden"),
        ("AUTHORIZER_FAILURE", "500", "error.connector.unexpected"),
        ("AUTHORIZER_CONFIGURATION_ERROR", "500", "error.connector.unexpected"),
        ("MISSING_AUTHENTICATION_TOKEN", "404", "error.connector.http.routeDoesNotExist"),
        ("DEFAULT_4XX", None, "error.connector.http.requestRejected"),
        ("DEFAULT_5XX", None, "error.connector.unexpected"),
    ],
)
def test_gateway_responses_use_the_error_envelope(
    resources: dict[str, Any], response_type: str, status: str | None, code: str
) -> None:
    response = api_body(resources)["x-amazon-apigateway-gateway-responses"][response_type]
    assert response.get("statusCode") == status  # None: the specific response type's own status
    error = _render(response["responseTemplates"]["application/json"])["error"]
    assert set(error) == {"code", "message", "id", "time", "docs"}
    assert error["code"] == code
    assert error["docs"] == f"https://enmeshed.eu/integrate/error-codes#{code}"
    if code == "error.connector.unauthorized":
        assert error["message"] == "Unauthorized."
    if code == "error.connector.forbidden":
        assert error["message"] == "You are not allowed to access this endpoint."


# --- API keys (SPEC §17) ------------------------------------------------------------------------------------


def test_the_key_authorizer_guards_every_keyed_route_and_no_public_one(resources: dict[str, Any]) -> None:
    from nmshd_tokens.domain.route_scopes import required_scope

    authorized = {
        route
        for route, op in operations(api_body(resources)).items()
        if {"ApiKeyAuthorizer": []} in op.get("security", [])
    }
    assert authorized == set(CONNECTOR_ROUTES)  # not /health, not the embedded backbone
    for path, _ in CONNECTOR_ROUTES:
        assert required_scope(path) is not None, f"{path} is keyed: the authorizer's policy must name its scope"
    for path, _ in {**PUBLIC_ROUTES, **BACKBONE_ROUTES}:
        assert required_scope(path) is None, path
    for route in {**PUBLIC_ROUTES, **BACKBONE_ROUTES}:
        assert operations(api_body(resources))[route].get("security") is None, route  # no authorizer, no key


def test_the_key_authorizer_is_a_cached_request_authorizer_on_the_key_header(
    resources: dict[str, Any], source_template: dict[str, Any]
) -> None:
    scheme = api_body(resources)["components"]["securitySchemes"]["ApiKeyAuthorizer"]
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    # The header is the identity source: the cache key, and a request without it is refused before any call.
    assert authorizer["identitySource"] == "method.request.header.X-API-KEY"
    assert authorizer["authorizerResultTtlInSeconds"] == 60  # ApiKeyCacheSeconds' default
    assert "ApiAuthorizerFunction" in json.dumps(authorizer["authorizerUri"])
    parameter = source_template["Parameters"]["ApiKeyCacheSeconds"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (60, 0, 3600)
    source = source_template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["ApiKeyAuthorizer"]
    assert source["Identity"]["ReauthorizeEvery"] == {"Ref": "ApiKeyCacheSeconds"}
    variables = resources[AUTHORIZER_FUNCTION]["Properties"]["Environment"]["Variables"]
    # The authorizer re-reads the secret as often as API Gateway re-asks it, and reads the identity source's header.
    assert variables["API_KEYS_REFRESH_SECONDS"] == {"Ref": "ApiKeyCacheSeconds"}
    assert variables["API_KEY_HEADER"] == "X-API-KEY" == source["Identity"]["Headers"][0]
    assert variables["API_KEYS_SECRET"] == {"Ref": "ApiKeysSecretArn"}


def test_only_the_authorizer_may_read_the_api_keys_secret(
    resources: dict[str, Any], source_template: dict[str, Any]
) -> None:
    role_name = resources[AUTHORIZER_FUNCTION]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert resources[role_name]["Properties"]["ManagedPolicyArns"] == [BASIC_EXECUTION_ROLE]
    assert role_statements(resources, AUTHORIZER_FUNCTION) == [
        {
            "Sid": "ReadApiKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "ApiKeysSecretArn"},
        }
    ]
    for function in (*FUNCTIONS, BATCH_FUNCTION):
        assert "ApiKeysSecretArn" not in json.dumps(role_statements(resources, function)), function
        assert "API_KEYS_SECRET" not in resources[function]["Properties"]["Environment"]["Variables"], function
    # Only API Gateway, for this API's authorizers, may invoke it.
    (permission,) = [
        resource
        for resource in of_type(resources, "AWS::Lambda::Permission").values()
        if resource["Properties"]["FunctionName"] == {"Fn::GetAtt": [AUTHORIZER_FUNCTION, "Arn"]}
    ]
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert permission["Properties"]["SourceArn"]["Fn::Sub"][0].endswith(":${__ApiId__}/authorizers/*")
    # The parameter is required at deploy time; its empty default serves the local tooling only.
    parameter = source_template["Parameters"]["ApiKeysSecretArn"]
    assert re.fullmatch(parameter["AllowedPattern"], "arn:aws:secretsmanager:eu-central-1:123456789012:secret:k-AbC")
    rule = source_template["Rules"]["ApiKeysNeedTheirSecret"]["Assertions"][0]["Assert"]
    assert rule == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiKeysSecretArn"}, ""]}]}


# --- functions and layer ---------------------------------------------------------------------------------


def test_every_function_runs_python313_on_arm64_with_the_shared_layer(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert set(functions) == {*FUNCTIONS, BATCH_FUNCTION, AUTHORIZER_FUNCTION}
    layer_id, layer = only(resources, "AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Handler"] == "app.lambda_handler", name
        assert properties["MemorySize"] == 1024, name
        assert properties["Timeout"] == (60 if name == BATCH_FUNCTION else 10), name
        assert properties["LoggingConfig"] == {"LogFormat": "JSON"}, name
        assert properties["Layers"] == [{"Ref": layer_id}], name
        extra = {
            BATCH_FUNCTION: {"TOKEN_OUTPUT_BUCKET"} | CONNECTOR_ENVIRONMENT,
            "FileTokenFunction": CONNECTOR_ENVIRONMENT,
            "TemplateTokenFunction": CONNECTOR_ENVIRONMENT,
            AUTHORIZER_FUNCTION: AUTHORIZER_ENVIRONMENT,
        }.get(name, set())
        assert set(properties["Environment"]["Variables"]) == ENVIRONMENT | extra, name
        assert "TracingConfig" not in properties, name


def test_code_locations_and_layer_build(source_template: dict[str, Any]) -> None:
    resources = source_template["Resources"]
    for name, folder in [
        ("FileTokenFunction", "file_token"),
        ("TemplateTokenFunction", "template_token"),
        ("BackboneTokenFunction", "backbone_token"),
        (BATCH_FUNCTION, "token_batch"),
    ]:
        assert resources[name]["Properties"]["CodeUri"] == f"functions/{folder}/"
        assert (ROOT / "functions" / folder).is_dir()
    layer = resources["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    # SAM copies ContentUri before a build: the package's folder, not the repository with its virtualenvs.
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert (layer["Metadata"]["ContextPath"], layer["Metadata"]["WorkingDirectory"]) == (".", ".")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build-SharedLayer:", makefile, re.MULTILINE), "sam build runs `make build-SharedLayer`"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_role_is_least_privilege(resources: dict[str, Any], function: str) -> None:
    role_name = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert resources[role_name]["Properties"]["ManagedPolicyArns"] == [BASIC_EXECUTION_ROLE]
    granted: dict[str, set[str]] = {}
    for statement in role_statements(resources, function):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(table_of(r) for r in as_list(statement["Resource"]))
    assert granted == EXPECTED_PERMISSIONS[function]


def _leading_keys(statement: dict[str, Any]) -> list[str] | None:
    conditions = statement.get("Condition") or {}
    for operator in ("ForAllValues:StringLike", "ForAllValues:StringEquals"):
        keys = (conditions.get(operator) or {}).get("dynamodb:LeadingKeys")
        if keys is not None:
            return list(keys)
    return None


@pytest.mark.parametrize("function", sorted(EXPECTED_LEADING_KEYS))
def test_each_function_touches_only_its_item_kinds(resources: dict[str, Any], function: str) -> None:
    """SPEC §8: IAM names the item kinds. Nothing but the import tooling may write Files or templates."""
    found: dict[str, list[str] | None] = {}
    for statement in role_statements(resources, function):
        for action in as_list(statement["Action"]):
            if action.startswith("dynamodb:"):
                assert action not in found, f"{function}: {action} in two statements"
                found[action] = _leading_keys(statement)
    assert found == EXPECTED_LEADING_KEYS[function]
    for action, keys in found.items():
        if action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert keys is not None and not {"FIL*", "RLT*"} & set(keys), f"{function} may write {keys}"


def test_the_own_token_function_publishes_tokens_and_reads_no_record(resources: dict[str, Any]) -> None:
    """POST /Tokens/Own reads nothing (the content is the caller's): one PutItem, of Token items only, on the two
    tables; both families behind the key authorizer."""
    statements = role_statements(resources, "OwnTokenFunction")
    (put,) = [statement for statement in statements if "dynamodb:PutItem" in as_list(statement["Action"])]
    assert as_list(put["Action"]) == ["dynamodb:PutItem"]
    assert {table_of(resource) for resource in as_list(put["Resource"])} == {"RecordsTable", "BackboneTable"}
    assert _leading_keys(put) == ["TOK*"]
    assert not any(
        action.startswith("dynamodb:") and action != "dynamodb:PutItem"
        for statement in statements
        for action in as_list(statement["Action"])
    )
    body = api_body(resources)
    for prefix in ("/api/v2", "/api/core/v1"):
        operation = body["paths"][f"{prefix}/Tokens/Own"]["post"]
        assert integrated_function(operation) == "OwnTokenFunction"
        assert {"api_key": []} in operation["security"]


def test_the_usage_plan_throttles_and_the_public_backbone_has_its_own_concurrency(
    resources: dict[str, Any], source_template: dict[str, Any]
) -> None:
    _, plan = only(resources, "AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "ApiRateLimit"},
        "BurstLimit": {"Ref": "ApiBurstLimit"},
    }
    parameters = source_template["Parameters"]
    assert (parameters["ApiRateLimit"]["Default"], parameters["ApiBurstLimit"]["Default"]) == (50, 100)
    reserved = resources["BackboneTokenFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {"Ref": "BackboneConcurrency"}  # SAM resolved the condition: the default reserves 20
    assert parameters["BackboneConcurrency"]["Default"] == 20
    assert "ReservedConcurrentExecutions" not in resources["FileTokenFunction"]["Properties"]


def test_records_are_retained_after_expiry_by_a_parameter(
    resources: dict[str, Any], source_template: dict[str, Any]
) -> None:
    assert source_template["Parameters"]["TokenRetentionDays"]["Default"] == 30
    for name in (*FUNCTIONS, BATCH_FUNCTION):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["TOKEN_RETENTION_DAYS"] == {"Ref": "TokenRetentionDays"}, name


@pytest.mark.parametrize("function", ["BackboneTokenFunction", "PeerTokenFunction"])
def test_backbone_may_update_only_the_failure_counter(resources: dict[str, Any], function: str) -> None:
    (update,) = [s for s in role_statements(resources, function) if "dynamodb:UpdateItem" in as_list(s["Action"])]
    condition = update["Condition"]
    assert sorted(condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]) == ["failedAttempts", "id"]
    assert "ALL_NEW" not in condition["StringEqualsIfExists"]["dynamodb:ReturnValues"]


def test_the_peer_token_function_never_writes_the_backbone(resources: dict[str, Any]) -> None:
    """It loads as a peer: published tokens are read and their failure counter counted, never put or deleted."""
    for statement in role_statements(resources, "PeerTokenFunction"):
        actions = set(as_list(statement["Action"]))
        assert not actions & {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchWriteItem"}
        if "dynamodb:PutItem" in actions:
            assert [table_of(resource) for resource in as_list(statement["Resource"])] == ["RecordsTable"]


# --- tables ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_retained_protected_and_expire_items(resources: dict[str, Any], table: str) -> None:
    resource = resources[table]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert {"AttributeName": "id", "AttributeType": "S"} in properties["AttributeDefinitions"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["DeletionProtectionEnabled"] is True


def test_kept_tokens_are_listed_from_an_index_of_tokens_only(resources: dict[str, Any]) -> None:
    """GET /Tokens/Own queries this index (never a scan); only Token items have both key attributes."""
    properties = resources["RecordsTable"]["Properties"]
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "TokensByCreation"
    assert index["KeySchema"] == [
        {"AttributeName": "type", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}  # a list needs no read per token
    defined = {
        definition["AttributeName"]: definition["AttributeType"] for definition in properties["AttributeDefinitions"]
    }
    assert defined == {"id": "S", "type": "S", "createdAt": "S"}
    assert "GlobalSecondaryIndexes" not in resources["BackboneTable"]["Properties"]


def test_outputs(transformed: dict[str, Any]) -> None:
    outputs = transformed["Outputs"]
    assert set(outputs) >= {"ApiUrl", "UsagePlanId", "RecordsTableName", "BackboneTableName", "BackboneBaseUrl"}
    assert outputs["UsagePlanId"]["Value"] == {"Ref": "ApiUsagePlan"}
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"}


# --- lint ------------------------------------------------------------------------------------------------


def test_cfn_lint_finds_nothing() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["eu-central-1", "us-east-1"]))
    assert [str(match) for match in matches] == []


# --- sample events ---------------------------------------------------------------------------------------


def _load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))
    return event


@pytest.mark.parametrize("name", sorted(EVENT_FILES))
def test_sample_events_match_the_deployed_routes(resources: dict[str, Any], name: str) -> None:
    resource, method, accept = EVENT_FILES[name]
    event = _load_event(name)
    route = (event["resource"], event["httpMethod"].lower())
    routes = CONNECTOR_ROUTES | BACKBONE_ROUTES
    assert route in routes and (resource, method) == (event["resource"], event["httpMethod"])
    assert route in operations(api_body(resources))
    path_id = event["pathParameters"]["id"]
    assert event["path"] == resource.replace("{id}", path_id)
    context = event["requestContext"]
    assert context["resourcePath"] == resource
    assert context["httpMethod"] == method
    assert context["stage"] == "v1"
    assert context["path"] == f"/v1{event['path']}"
    assert context["domainName"] == event["headers"]["Host"]
    assert event["headers"]["Accept"].startswith(accept)
    assert event["multiValueHeaders"] == {key: [value] for key, value in event["headers"].items()}
    assert ("x-api-key" in event["headers"]) == (route in CONNECTOR_ROUTES)
    assert event["isBase64Encoded"] is False
    if method == "POST":
        assert isinstance(json.loads(event["body"]), dict)
    else:
        assert event["body"] is None


def test_the_sample_events_exist() -> None:
    files = {path.stem for path in Path(ROOT / "events").glob("*.json")}
    assert set(EVENT_FILES) <= files


# --- bulk creation ---------------------------------------------------------------------------------------

QUEUE_ARN = {"Fn::GetAtt": ["TokenRequestQueue", "Arn"]}
DLQ_ARN = {"Fn::GetAtt": ["TokenRequestDeadLetterQueue", "Arn"]}
BUCKET_ARN = {"Fn::GetAtt": ["TokenOutputBucket", "Arn"]}
BUCKET_OBJECTS = {"Fn::Sub": "${TokenOutputBucket.Arn}/*"}
RECORDS_ARN = {"Fn::GetAtt": ["RecordsTable", "Arn"]}
BACKBONE_ARN = {"Fn::GetAtt": ["BackboneTable", "Arn"]}
API_BACKBONE_URL = {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/backbone"}


def granted_resources(resources: dict[str, Any], function: str) -> dict[str, list[Any]]:
    granted: dict[str, list[Any]] = {}
    for statement in role_statements(resources, function):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    return granted


def deny_insecure_transport(statement: dict[str, Any]) -> bool:
    return (
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    )


def test_token_request_queue_is_encrypted_with_a_dead_letter_queue(resources: dict[str, Any]) -> None:
    queue = resources["TokenRequestQueue"]["Properties"]
    dead_letters = resources["TokenRequestDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and dead_letters["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}
    # AWS: a Lambda consumer's queue needs a visibility timeout of at least 6 times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * resources[BATCH_FUNCTION]["Properties"]["Timeout"]
    assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = of_type(resources, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": "TokenRequestQueue"}, {"Ref": "TokenRequestDeadLetterQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny_insecure_transport(statement) and statement["Action"] == "sqs:*"
    assert statement["Resource"] == [QUEUE_ARN, DLQ_ARN]


def test_the_queue_feeds_the_batch_function_with_partial_batch_responses(resources: dict[str, Any]) -> None:
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionName"] == {"Ref": BATCH_FUNCTION}
    assert properties["EventSourceArn"] == QUEUE_ARN
    assert properties["BatchSize"] == 10
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_output_bucket_is_private_encrypted_owner_enforced_and_tls_only(resources: dict[str, Any]) -> None:
    bucket = resources["TokenOutputBucket"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (lifecycle,) = properties["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled" and lifecycle["ExpirationInDays"] == {"Ref": "TokenOutputRetentionDays"}
    (policy,) = of_type(resources, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "TokenOutputBucket"}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny_insecure_transport(statement) and statement["Action"] == "s3:*"
    assert statement["Resource"] == [BUCKET_ARN, BUCKET_OBJECTS]


def test_batch_role_has_exactly_the_actions_it_needs(resources: dict[str, Any]) -> None:
    role_name = resources[BATCH_FUNCTION]["Properties"]["Role"]["Fn::GetAtt"][0]
    # No AWSLambdaSQSQueueExecutionRole (its actions on every queue): the queue's actions are granted below.
    assert resources[role_name]["Properties"]["ManagedPolicyArns"] == [BASIC_EXECUTION_ROLE]
    assert granted_resources(resources, BATCH_FUNCTION) == {
        "sqs:ReceiveMessage": [QUEUE_ARN],
        "sqs:DeleteMessage": [QUEUE_ARN],
        "sqs:GetQueueAttributes": [QUEUE_ARN],
        "dynamodb:GetItem": [RECORDS_ARN],
        "dynamodb:PutItem": [RECORDS_ARN, BACKBONE_ARN],
        "dynamodb:UpdateItem": [RECORDS_ARN],
        "s3:PutObject": [BUCKET_OBJECTS],
    }
    (update,) = [s for s in role_statements(resources, BATCH_FUNCTION) if s["Action"] == "dynamodb:UpdateItem"]
    assert update["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["command#*"]}}


def test_batch_role_in_remote_mode(transformed_remote: dict[str, Any]) -> None:
    granted = granted_resources(transformed_remote["Resources"], BATCH_FUNCTION)
    assert granted["dynamodb:PutItem"] == [RECORDS_ARN]
    assert granted["secretsmanager:GetSecretValue"] == [{"Ref": "BackboneCredentialsSecretArn"}]


def test_backbone_base_url_of_commands(resources: dict[str, Any], transformed_raw: dict[str, Any]) -> None:
    from tests.infra.conftest import deployed_view

    # The batch function has no Api event, so it can fall back to the API's own URL without a cycle ...
    variables = resources[BATCH_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["BACKBONE_BASE_URL"] == API_BACKBONE_URL
    configured = deployed_view(transformed_raw, {"BackboneBaseUrl": "https://tokens.example.com/backbone"})
    batch = configured["Resources"][BATCH_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert batch["BACKBONE_BASE_URL"] == {"Ref": "BackboneBaseUrl"}
    # ... the token functions cannot (the API refers to them): direct invocations need the parameter set.
    for function in ("FileTokenFunction", "TemplateTokenFunction"):
        token_variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert token_variables["BACKBONE_BASE_URL"] == {"Ref": "BackboneBaseUrl"}
    assert "BACKBONE_BASE_URL" in transformed_raw["Parameters"]["BackboneBaseUrl"]["Description"]


def test_bulk_outputs(transformed: dict[str, Any]) -> None:
    outputs = transformed["Outputs"]
    assert outputs["TokenRequestQueueUrl"]["Value"] == {"Ref": "TokenRequestQueue"}
    assert outputs["TokenRequestDeadLetterQueueUrl"]["Value"] == {"Ref": "TokenRequestDeadLetterQueue"}
    assert outputs["TokenOutputBucketName"]["Value"] == {"Ref": "TokenOutputBucket"}


# --- alarms and dashboard ----------------------------------------------------------------------------------

# alarm → (namespace, metric, dimensions, statistic, comparison, threshold)
EXPECTED_ALARMS = {
    "DeadLetterQueueAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["TokenRequestDeadLetterQueue", "QueueName"]}},
        "Maximum",
        "GreaterThanThreshold",
        0,
    ),
    "Api5xxAlarm": (
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": {"Fn::Sub": "${AWS::StackName}-api"}, "Stage": "v1"},
        "Average",
        "GreaterThanThreshold",
        0.05,
    ),
    "LockoutBurstAlarm": (
        "NmshdTokens",
        "TokensLocked",
        {"service": "nmshd-tokens"},
        "Sum",
        "GreaterThanOrEqualToThreshold",
        {"Ref": "LockoutAlarmThreshold"},  # default 3 within the 15-minute period
    ),
} | {
    f"{function}{kind}Alarm": (
        "AWS/Lambda",
        kind,
        {"FunctionName": {"Ref": function}},
        "Sum",
        "GreaterThanThreshold",
        0,
    )
    for function in (*FUNCTIONS, BATCH_FUNCTION)
    for kind in ("Errors", "Throttles")
}


def test_every_alarm_watches_its_metric_with_its_threshold(
    resources: dict[str, Any], source_template: dict[str, Any]
) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(EXPECTED_ALARMS)
    for name, (namespace, metric, dimensions, statistic, comparison, threshold) in EXPECTED_ALARMS.items():
        properties = alarms[name]["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric), name
        assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == dimensions, name
        assert (properties["Statistic"], properties["ComparisonOperator"]) == (statistic, comparison), name
        assert properties["Threshold"] == threshold, name
        assert properties["TreatMissingData"] == "notBreaching", name  # no traffic is no alarm
        assert "AlarmActions" not in properties  # AlarmTopicArn's default: no topic
        source = source_template["Resources"][name]["Properties"]
        actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
        assert source["AlarmActions"] == source["OKActions"] == actions, name


def test_the_alarms_match_what_the_code_emits(resources: dict[str, Any]) -> None:
    """The lockout alarm watches the metric name, namespace and service the functions' EMF lines carry."""
    from nmshd_tokens import metrics

    properties = resources["LockoutBurstAlarm"]["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == (metrics.NAMESPACE, metrics.TOKENS_LOCKED)
    assert properties["Dimensions"] == [{"Name": "service", "Value": metrics.SERVICE}]
    assert properties["Period"] == 900
    assert resources["BackboneTokenFunctionErrorsAlarm"]["Condition"] == "IsEmbeddedBackbone"


def test_one_dashboard_graphs_the_key_metrics(resources: dict[str, Any]) -> None:
    _, dashboard = only(resources, "AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "eu-central-1"))["widgets"]
    titles = [widget["properties"]["title"] for widget in widgets]
    assert len(titles) == 8 and "Tokens created" in titles and "Refusals by error code" in titles
    from nmshd_tokens import metrics

    names = [value for key, value in vars(metrics).items() if key.isupper() and key not in ("NAMESPACE", "SERVICE")]
    assert len(names) >= 11
    for name in names:  # every metric the code records has a graph
        assert f'"{name}\\"' in body or f'"{name}"' in body, name


# --- the keyless /health, the access log, the customer-managed key --------------------------------------------

KMS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_KEY_REF = {"Ref": "KmsKeyArn"}
# What a line of the access log may hold: who, when, which route (its template), what came back. Never a query
# string, a path's values, headers, bodies or the API key's value.
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integration.latency",
    "$context.identity.apiKeyId",
    "$context.error.responseType",
}


def stage_properties(resources: dict[str, Any]) -> dict[str, Any]:
    _, stage = only(resources, "AWS::ApiGateway::Stage")
    properties: dict[str, Any] = stage["Properties"]
    return properties


def test_health_is_throttled_by_the_stage_and_has_its_own_concurrency(
    resources: dict[str, Any], source_template: dict[str, Any], transformed_raw: dict[str, Any]
) -> None:
    settings = stage_properties(resources)["MethodSettings"]
    health = [setting for setting in settings if setting["ResourcePath"].replace("~1", "/") == "//health"]
    assert health == [
        {
            "ResourcePath": "/~1health",  # a "/" in a method setting's path is spelled "~1"
            "HttpMethod": "GET",
            "ThrottlingRateLimit": {"Ref": "HealthRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "HealthBurstLimit"},
        }
    ]
    assert ("/health", "get") in operations(api_body(resources))  # the setting names a method that exists
    parameters = source_template["Parameters"]
    assert (parameters["HealthRateLimit"]["Default"], parameters["HealthBurstLimit"]["Default"]) == (10, 20)
    properties = resources["ServiceStatusFunction"]["Properties"]
    assert properties["ReservedConcurrentExecutions"] == {"Ref": "HealthConcurrency"}
    assert parameters["HealthConcurrency"]["Default"] == 5
    unreserved = deployed_view(transformed_raw, {"HealthConcurrency": "0"})["Resources"]["ServiceStatusFunction"]
    assert "ReservedConcurrentExecutions" not in unreserved["Properties"]


def test_the_access_log_holds_no_query_string_path_value_or_key(resources: dict[str, Any]) -> None:
    setting = stage_properties(resources)["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = json.loads(setting["Format"])  # one JSON object per request
    assert set(line.values()) <= ACCESS_LOG_VARIABLES, set(line.values()) - ACCESS_LOG_VARIABLES
    assert {"$context.requestId", "$context.resourcePath", "$context.status"} <= set(line.values())
    variables = set(re.findall(r"\$[\w.]+", setting["Format"]))
    assert variables == set(line.values())  # nothing outside the named fields
    assert not {"$context.path", "$context.identity.apiKey", "$context.requestOverride"} & variables
    assert not [name for name in variables if "querystring" in name.lower() or name.startswith("$input")]
    group = resources["ApiAccessLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"] == {"RetentionInDays": {"Ref": "ApiAccessLogRetentionDays"}}  # no key by default


def test_the_account_logging_role_is_created_and_kept_or_left_alone(
    resources: dict[str, Any], transformed_raw: dict[str, Any]
) -> None:
    account = resources["ApiGatewayAccount"]
    assert account["Type"] == "AWS::ApiGateway::Account" and account["DeletionPolicy"] == "Retain"
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}
    role = resources["ApiGatewayLogsRole"]
    assert role["DeletionPolicy"] == "Retain"  # the account setting outlives the stack
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    # The API (and so its stage, with the access log) is created after the account setting.
    assert resources["Api"]["DependsOn"] == "ApiGatewayLogsRoleReady"
    assert resources["ApiGatewayLogsRoleReady"]["Metadata"] == {"AccountSetting": {"Ref": "ApiGatewayAccount"}}
    existing = deployed_view(transformed_raw, {"ApiGatewayLogsRoleSetting": "existing"})["Resources"]
    assert "ApiGatewayAccount" not in existing and "ApiGatewayLogsRole" not in existing
    assert stage_properties(existing)["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }


def test_without_a_kms_key_aws_keys_encrypt_everything(resources: dict[str, Any]) -> None:
    for table in TABLES:
        assert resources[table]["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    (rule,) = resources["TokenOutputBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    for queue in ("TokenRequestQueue", "TokenRequestDeadLetterQueue"):
        properties = resources[queue]["Properties"]
        assert properties["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in properties
    assert "KmsKeyUse" not in resources and not of_type(resources, "AWS::IAM::Policy")


def _function_roles_touching_stores(resources: dict[str, Any]) -> set[str]:
    """The roles of the functions that read or write a table, the output bucket or a queue."""
    roles = set()
    for name, function in of_type(resources, "AWS::Lambda::Function").items():
        actions = {action for statement in role_statements(resources, name) for action in as_list(statement["Action"])}
        if any(action.split(":")[0] in ("dynamodb", "s3", "sqs") for action in actions):
            roles.add(function["Properties"]["Role"]["Fn::GetAtt"][0])
    return roles


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_a_kms_key_encrypts_tables_bucket_queues_and_log_and_only_storage_functions_use_it(
    transformed_raw: dict[str, Any], mode: str
) -> None:
    overrides = {"KmsKeyArn": KMS_KEY} | (REMOTE_PARAMETERS if mode == "remote" else {})
    resources = deployed_view(transformed_raw, overrides)["Resources"]
    for table in TABLES if mode == "embedded" else ("RecordsTable",):
        assert resources[table]["Properties"]["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KMS_KEY_REF,
        }
    (rule,) = resources["TokenOutputBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY_REF},
        "BucketKeyEnabled": True,
    }
    for queue in ("TokenRequestQueue", "TokenRequestDeadLetterQueue"):
        properties = resources[queue]["Properties"]
        assert properties["KmsMasterKeyId"] == KMS_KEY_REF and "SqsManagedSseEnabled" not in properties
    assert resources["ApiAccessLogGroup"]["Properties"]["KmsKeyId"] == KMS_KEY_REF

    policy = resources["KmsKeyUse"]
    assert policy["Type"] == "AWS::IAM::Policy"
    assert {role["Ref"] for role in policy["Properties"]["Roles"]} == _function_roles_touching_stores(resources)
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == KMS_KEY_REF
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    services = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert services == [
        {"Fn::Sub": f"{name}.${{AWS::Region}}.${{AWS::URLSuffix}}"} for name in ("dynamodb", "s3", "sqs")
    ]


def test_the_kms_key_parameter_takes_only_a_key_arn(source_template: dict[str, Any]) -> None:
    parameter = source_template["Parameters"]["KmsKeyArn"]
    assert parameter["Default"] == ""
    pattern = parameter["AllowedPattern"]
    assert re.fullmatch(pattern, KMS_KEY) and re.fullmatch(pattern, "")
    for wrong in ("alias/my-key", "arn:aws:kms:eu-central-1:123456789012:alias/my-key", "1234abcd-12ab-34cd"):
        assert not re.fullmatch(pattern, wrong), wrong


# --- the Connector as the source of Files and templates (SPEC §15) ---------------------------------------------

CONNECTOR_PARAMETERS = {
    "ConnectorBaseUrl": "https://connector.example.com",
    "ConnectorApiKeySecretArn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:connector-key-AbCdEf",
}
READ_THROUGH = {"FileTokenFunction": ["FIL*"], "TemplateTokenFunction": ["RLT*"], BATCH_FUNCTION: ["FIL*", "RLT*"]}


def test_without_a_connector_no_function_may_read_its_key_or_write_records(resources: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        for statement in role_statements(resources, function):
            assert statement.get("Sid") not in ("CacheConnectorRecords", "ReadConnectorApiKey"), function


def test_with_a_connector_only_the_creating_functions_cache_its_records_and_read_its_key(
    transformed_raw: dict[str, Any],
) -> None:
    from tests.infra.conftest import deployed_view

    resources = deployed_view(transformed_raw, CONNECTOR_PARAMETERS)["Resources"]
    for function in FUNCTIONS:
        statements = {statement.get("Sid"): statement for statement in role_statements(resources, function)}
        if function not in READ_THROUGH:
            assert "CacheConnectorRecords" not in statements and "ReadConnectorApiKey" not in statements, function
            continue
        cache = statements["CacheConnectorRecords"]
        assert sorted(as_list(cache["Action"])) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
        assert cache["Resource"] == RECORDS_ARN
        assert cache["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": READ_THROUGH[function]}}
        key = statements["ReadConnectorApiKey"]
        assert key["Action"] == "secretsmanager:GetSecretValue"
        assert key["Resource"] == {"Ref": "ConnectorApiKeySecretArn"}
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["CONNECTOR_BASE_URL"] == {"Ref": "ConnectorBaseUrl"}
        assert variables["RECORDS_CACHE_SECONDS"] == {"Ref": "RecordsCacheSeconds"}


def test_a_connector_needs_its_key_and_https(source_template: dict[str, Any]) -> None:
    rule = source_template["Rules"]["ConnectorNeedsItsKey"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConnectorApiKeySecretArn"}, ""]}]}
    pattern = re.compile(source_template["Parameters"]["ConnectorBaseUrl"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("https://connector.example.com/base")
    assert not pattern.fullmatch("http://connector.example.com") and not pattern.fullmatch("https://k@c.example")
    assert source_template["Parameters"]["RecordsCacheSeconds"]["Default"] == 300


def test_in_remote_mode_the_peer_token_function_reads_the_secret_and_the_records_only(
    transformed_remote: dict[str, Any], resources: dict[str, Any]
) -> None:
    """Remote mode loads from the Backbone signed in: the credentials secret; no backbone table to touch."""
    remote = transformed_remote["Resources"]
    granted: dict[str, list[Any]] = {}
    for statement in role_statements(remote, "PeerTokenFunction"):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    assert set(granted) == {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"}
    assert [table_of(resource) for resource in granted["dynamodb:GetItem"] + granted["dynamodb:PutItem"]] == [
        "RecordsTable",
        "RecordsTable",
    ]
    (secret,) = granted["secretsmanager:GetSecretValue"]
    assert secret in ({"Ref": "BackboneCredentialsSecretArn"}, REMOTE_PARAMETERS["BackboneCredentialsSecretArn"])
    embedded = {action for s in role_statements(resources, "PeerTokenFunction") for action in as_list(s["Action"])}
    assert "secretsmanager:GetSecretValue" not in embedded
