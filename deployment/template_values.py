"""What CloudFormation would make of a template's values for one local stack: parameters, conditions, Ref, Sub, If.

Enough of CloudFormation's intrinsic functions to resolve the functions' environment variables as a deployed stack
would see them, with made-up but well-formed physical names for the stack's own resources. Anything else
(GetAtt, imports, …) is refused with a message that names it, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_STACK = "nmshd-tokens-local"
LOCAL_REGION = "eu-central-1"
LOCAL_ACCOUNT = "123456789012"
# A REST API id as API Gateway makes them (10 lower-case letters and digits); the sample events' Host names it.
LOCAL_API_ID = "a1b2c3d4e5"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateValueError(ValueError):
    """The template uses something this resolver does not know; the message says what."""


class _NoValue:
    """AWS::NoValue: the property (here: the environment variable) is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def load_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # short (!Ref) and long (Ref:) forms alike

    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


def physical_name(logical_id: str, resource_type: str, stack: str = LOCAL_STACK) -> str:
    """A name like the one CloudFormation generates: stack name and logical id (S3 wants lower case)."""
    if resource_type == "AWS::Serverless::Api":
        return LOCAL_API_ID
    name = f"{stack}-{logical_id}"
    return name.lower() if resource_type == "AWS::S3::Bucket" else name


@dataclass(frozen=True)
class Stack:
    """One local "deployment" of a template: its parameter values, conditions and resource names."""

    template: dict[str, Any]
    parameters: dict[str, str]
    region: str = LOCAL_REGION
    name: str = LOCAL_STACK
    conditions: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        template: dict[str, Any],
        overrides: dict[str, str] | None = None,
        *,
        region: str = LOCAL_REGION,
        name: str = LOCAL_STACK,
    ) -> Stack:
        """Parameters at their defaults, except those overridden (as `sam deploy --parameter-overrides`)."""
        declared = template.get("Parameters") or {}
        unknown = sorted(set(overrides or {}) - set(declared))
        if unknown:
            raise TemplateValueError(f"unknown parameter(s) {', '.join(unknown)}; the template has {sorted(declared)}")
        parameters: dict[str, str] = {}
        for key, spec in declared.items():
            if overrides and key in overrides:
                parameters[key] = overrides[key]
            elif "Default" in spec:
                parameters[key] = _as_text(spec["Default"])
            else:
                raise TemplateValueError(f"parameter {key} has no default: give it with --parameter-overrides")
        stack = cls(template, parameters, region, name)
        for condition in template.get("Conditions") or {}:
            stack.condition(condition)
        return stack

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.get("Resources") or {}
        return resources

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise TemplateValueError(f"unknown condition {name}")
            self.conditions[name] = bool(self.resolve(definitions[name]))
        return self.conditions[name]

    def exists(self, logical_id: str) -> bool:
        """Whether the resource is part of this stack (its Condition, if any, holds)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resources_of_type(self, resource_type: str) -> dict[str, str]:
        """Logical id → physical name of each resource of that type that the stack has."""
        return {
            logical_id: physical_name(logical_id, resource_type, self.name)
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type and self.exists(logical_id)
        }

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            if not self.exists(name):
                raise TemplateValueError(f"Ref to {name}, which this stack does not create (its condition is false)")
            return physical_name(name, self.resources[name].get("Type", ""), self.name)
        raise TemplateValueError(f"Ref to unknown name {name}")

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function replaced by what CloudFormation would put there."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        return {key: item for key, item in ((k, self.resolve(v)) for k, v in value.items()) if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Fn::Equals":
            left, right = (_as_text(self.resolve(item)) for item in argument)
            return left == right
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if name == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(_as_text(item) for item in self.resolve(items))
        if name == "Fn::Sub":
            return self._sub(argument)
        raise TemplateValueError(f"{name} is not supported by the local resolver")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved = {key: _as_text(self.resolve(item)) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return resolved[name]
            if "." in name and not name.startswith("AWS::"):
                raise TemplateValueError(f"${{{name}}} (an attribute) is not supported by the local resolver")
            return _as_text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _as_text(value: Any) -> str:
    """CloudFormation passes every scalar on as a string; booleans as `true` / `false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateValueError(f"expected a text value, got {value!r}")


def function_environment(stack: Stack, logical_id: str) -> dict[str, str]:
    """The function's environment variables: Globals' merged with its own (its own win), resolved."""
    globals_function = (stack.template.get("Globals") or {}).get("Function") or {}
    properties = stack.resources[logical_id].get("Properties") or {}
    variables = {
        **((globals_function.get("Environment") or {}).get("Variables") or {}),
        **((properties.get("Environment") or {}).get("Variables") or {}),
    }
    resolved = {key: stack.resolve(value) for key, value in variables.items()}
    return {key: _as_text(value) for key, value in resolved.items() if value is not NO_VALUE}
