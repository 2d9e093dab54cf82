"""The three public operations, each a few calls into the modules that do the work."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sluice.deploy import _stack
from sluice.deploy._names import StackContext, check_stack_name
from sluice.deploy._parameters import resolve_parameters
from sluice.deploy._plan import plan_stack
from sluice.deploy._results import DeployResult
from sluice.deploy._template import load_template
from sluice.deploy._transform import expand
from sluice.errors import DeployError


def deploy(
    client: Any,
    template_file: Path,
    stack_name: str,
    parameter_overrides: Mapping[str, str] | None = None,
) -> DeployResult:
    """Create or update the stack's functions from a template, as `sam deploy` would.

    Args:
        client: a boto3 Lambda client; its region is the stack's region.
        template_file: the SAM or CloudFormation template; local code paths are relative
            to its folder.
        stack_name: the stack; functions are named and tagged after it.
        parameter_overrides: values for the template's Parameters.

    Returns:
        The functions created, updated and deleted, the skipped resources and the outputs.

    Raises:
        TemplateError: the template cannot be read, transformed or resolved; nothing was
            changed on the server.
        DeployError: a bad stack name, or the server refused a function (named).
    """
    _check_stack_name(stack_name)
    template_file = Path(template_file)
    template = load_template(template_file)
    declared = resolve_parameters(template.get("Parameters", {}), parameter_overrides or {})
    functions = _stack.list_functions(client)
    members = _stack.members(client, functions, stack_name)
    stack = StackContext.new(
        stack_name,
        client.meta.region_name,
        _stack.account_id(client, functions),
        _stack.recorded_stack_id(members),
    )
    parameters = {**declared, **stack.pseudo_parameters()}
    cloudformation = expand(template, parameters, stack.region)
    existing = {m.logical_id: m.name for m in members if m.logical_id is not None}
    plan = plan_stack(cloudformation, parameters, stack, existing, template_file.parent)
    changes = _stack.apply(client, stack, plan.functions, members)
    kept = [definition.name for definition in plan.functions]
    urls = _stack.apply_urls(client, plan.urls, kept)
    values = {url.logical_id: url.url for url in urls if url.action != "deleted"}
    outputs = plan.outputs(values)
    return DeployResult(stack_name, tuple(changes), plan.skipped, outputs, tuple(urls))


def delete(client: Any, stack_name: str) -> list[str]:
    """Delete every function tagged with the stack's name, as `sam delete` would.

    Returns:
        The physical names deleted; [] when the stack has no functions.
    """
    _check_stack_name(stack_name)
    members = _stack.members(client, _stack.list_functions(client), stack_name)
    return _stack.delete_members(client, members)


def stack_functions(client: Any, stack_name: str) -> dict[str, str]:
    """The stack's functions on the server: logical id → physical name."""
    members = _stack.members(client, _stack.list_functions(client), stack_name)
    return {m.logical_id: m.name for m in members if m.logical_id is not None}


def _check_stack_name(stack_name: str) -> None:
    try:
        check_stack_name(stack_name)
    except ValueError as exc:
        raise DeployError(str(exc)) from None
