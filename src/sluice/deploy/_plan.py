"""From an expanded template to what the deploy will do: functions, skipped resources, outputs.

Order matters because values depend on names: conditions first (a resource whose condition
is false does not exist), then every function's physical name (the one the stack already
has for that logical id, the template's `FunctionName`, or a new CloudFormation-style name),
and only then the functions' properties and the outputs, which may refer to those names.
Nothing here calls the Lambda API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sluice.deploy._functions import FunctionDefinition, define_function, explicit_name, is_image
from sluice.deploy._intrinsics import NO_VALUE, Resolver, Unavailable
from sluice.deploy._names import StackContext, physical_name, random_suffix
from sluice.deploy._resources import FUNCTION, StackResources, skip_reason
from sluice.deploy._results import SkippedResource, StackOutput
from sluice.deploy._urls import URL, UrlDefinition, define_url
from sluice.errors import TemplateError


@dataclass(frozen=True, slots=True)
class Plan:
    """The functions and URLs to create or update, and what the user is told besides.

    Outputs are resolved last, by `outputs`, because a URL's `FunctionUrl` is known only
    once the server has made the URL.
    """

    functions: tuple[FunctionDefinition, ...]
    urls: tuple[UrlDefinition, ...]
    skipped: tuple[SkippedResource, ...]
    _resources: StackResources
    _resolver: Resolver
    _outputs: Mapping[str, Any]

    def outputs(self, url_values: Mapping[str, str]) -> tuple[StackOutput, ...]:
        """The template's outputs, with the URLs the deploy made (logical id → URL)."""
        resources = replace(self._resources, url_values=url_values)
        return _outputs(self._outputs, self._resolver.with_resources(resources))


def plan_stack(
    template: Mapping[str, Any],
    parameters: Mapping[str, Any],
    stack: StackContext,
    existing: Mapping[str, str],
    template_dir: Path,
) -> Plan:
    """Resolve an expanded (CloudFormation) template against a stack.

    Args:
        template: CloudFormation, SAM already expanded.
        parameters: parameter and pseudo parameter values by name.
        stack: the stack's name, region, account and id.
        existing: physical names of the stack's functions by logical id, kept on update.
        template_dir: the folder local code paths are relative to.

    Raises:
        TemplateError: naming the resource (or output) and property at fault.
    """
    resolver = Resolver(parameters, template.get("Mappings"), template.get("Conditions"))
    types: dict[str, str] = {}
    excluded: dict[str, str] = {}
    skipped: list[SkippedResource] = []
    runnable: dict[str, Mapping[str, Any]] = {}
    url_resources: dict[str, Mapping[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        condition = resource.get("Condition")
        where = f"Resource {logical_id}, property Condition"
        if condition is not None and not resolver.condition(condition, where):
            excluded[logical_id] = condition
            continue
        kind, properties = resource["Type"], resource.get("Properties", {})
        types[logical_id] = kind
        if kind == FUNCTION and not is_image(logical_id, properties, resolver):
            runnable[logical_id] = properties
        elif kind == URL:
            url_resources[logical_id] = properties
        else:
            reason = skip_reason(kind, image=kind == FUNCTION)
            skipped.append(SkippedResource(logical_id, kind, reason))
    names = {
        logical_id: explicit_name(logical_id, properties, resolver)
        or existing.get(logical_id)
        or physical_name(stack.stack_name, logical_id, random_suffix())
        for logical_id, properties in runnable.items()
    }
    arns = {logical_id: stack.function_arn(name) for logical_id, name in names.items()}
    urls = []
    plain = resolver.with_resources(StackResources(stack, types, names, excluded))
    for logical_id, properties in url_resources.items():
        url = define_url(logical_id, properties, plain, names, arns)
        if isinstance(url, str):
            skipped.append(SkippedResource(logical_id, URL, url))
        else:
            urls.append(url)
    targets = {url.logical_id: url.function_name for url in urls}
    resources = StackResources(stack, types, names, excluded, targets)
    full = resolver.with_resources(resources)
    role = stack.placeholder_role_arn()
    packages: dict[Path, bytes] = {}
    functions = tuple(
        define_function(
            logical_id, names[logical_id], properties, full, template_dir, role, packages
        )
        for logical_id, properties in runnable.items()
    )
    outputs = template.get("Outputs", {})
    plan = Plan(functions, tuple(urls), tuple(skipped), resources, resolver, outputs)
    plan.outputs({})  # template errors in outputs surface before anything is changed
    return plan


def _outputs(outputs: Mapping[str, Any], resolver: Resolver) -> tuple[StackOutput, ...]:
    """Each output whose condition holds, resolved; unavailable values say so as text."""
    result = []
    for key, output in outputs.items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(f"Output {key}, property Value: must be set")
        condition = output.get("Condition")
        where = f"Output {key}, property Condition"
        if condition is not None and not resolver.condition(condition, where):
            continue
        value = resolver.resolve(output["Value"], f"Output {key}, property Value")
        description = None
        if "Description" in output:
            where = f"Output {key}, property Description"
            description = _text(resolver.resolve(output["Description"], where), where)
        result.append(StackOutput(key, _text(value, f"Output {key}, property Value"), description))
    return tuple(result)


def _text(value: Any, where: str) -> str:
    """An output value as CloudFormation shows it; a list is joined with commas."""
    if isinstance(value, list):
        return ",".join(_text(item, where) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Unavailable):
        return str(value)
    if value is NO_VALUE:
        return ""
    raise TemplateError(f"{where}: must resolve to a string, not {value!r}")
