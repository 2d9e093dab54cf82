"""`AWS::Lambda::Url` resources (what SAM's `FunctionUrlConfig` expands to) as URL configs.

sluice serves a URL for a function of the same stack, unqualified ($LATEST: sluice has no
aliases). Its settings are passed through as the Lambda API's members, which are the
resource's own property names (AWS::Lambda::Url in the CloudFormation reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sluice.deploy._intrinsics import NO_VALUE, Resolver
from sluice.errors import TemplateError

URL = "AWS::Lambda::Url"
_SETTINGS = ("AuthType", "InvokeMode", "Cors")


@dataclass(frozen=True, slots=True)
class UrlDefinition:
    """The URL config one `AWS::Lambda::Url` asks for, on one of the stack's functions."""

    logical_id: str
    function_name: str
    settings: Mapping[str, Any]


def define_url(
    logical_id: str,
    properties: Mapping[str, Any],
    resolver: Resolver,
    functions: Mapping[str, str],
    arns: Mapping[str, str],
) -> UrlDefinition | str:
    """The URL's definition, or the reason it is skipped.

    Args:
        functions: the stack's function names by logical id.
        arns: the same functions' ARNs by logical id, which `!GetAtt F.Arn` resolves to.

    Raises:
        TemplateError: a property is missing or cannot be resolved.
    """

    def value(name: str) -> Any:
        return resolver.resolve(properties[name], f"Resource {logical_id}, property {name}")

    if "TargetFunctionArn" not in properties:
        raise TemplateError(f"Resource {logical_id}, property TargetFunctionArn: must be set")
    if "Qualifier" in properties and value("Qualifier") is not NO_VALUE:
        return "a URL for a qualifier: sluice runs $LATEST only (no versions or aliases)"
    target = value("TargetFunctionArn")
    name = next(
        (functions[key] for key in functions if target in (functions[key], arns[key])), None
    )
    if name is None:
        return f"its target {target} is not a function of this stack"
    settings = {key: value(key) for key in _SETTINGS if key in properties}
    if "AuthType" not in settings:
        raise TemplateError(f"Resource {logical_id}, property AuthType: must be set")
    return UrlDefinition(logical_id, name, {k: v for k, v in settings.items() if v is not NO_VALUE})
