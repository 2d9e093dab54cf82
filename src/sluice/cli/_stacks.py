"""`sluice deploy` and `sluice delete`: SAM stacks through the Lambda API, like `sam`."""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path
from typing import Any

import click

from sluice import client
from sluice.cli._common import endpoint_option, fail, talking_to

_CFN_STYLE = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)")


def _parameter_overrides(values: tuple[str, ...]) -> dict[str, str]:
    """`K=V` pairs (or CloudFormation's `ParameterKey=K,ParameterValue=V`), one per option
    or space-separated in one, the forms `sam deploy` takes."""
    overrides = {}
    for pair in (item for value in values for item in shlex.split(value)):
        cfn = _CFN_STYLE.fullmatch(pair)
        key, sep, val = (cfn.group(1), "=", cfn.group(2)) if cfn else pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r} is not KEY=VALUE", param_hint="--parameter-overrides"
            )
        overrides[key] = val
    return overrides


def _default_template() -> Path:
    """What `sam deploy` picks: the output of `sam build` first, then the source template."""
    for name in (".aws-sam/build/template.yaml", "template.yaml", "template.yml", "template.json"):
        if Path(name).is_file():
            return Path(name)
    return Path("template.yaml")


@click.command()
@click.option("--stack-name", required=True, help="Name of the stack to create or update.")
@click.option(
    "--template-file",
    "-t",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SAM or CloudFormation template (default: .aws-sam/build/template.yaml, else "
    "template.yaml here).",
)
@click.option(
    "--parameter-overrides",
    multiple=True,
    metavar="KEY=VALUE ...",
    help="Template parameter values, space-separated or repeated.",
)
@endpoint_option
def deploy(
    stack_name: str,
    template_file: Path | None,
    parameter_overrides: tuple[str, ...],
    endpoint_url: str | None,
) -> None:
    """Create or update a stack's functions from a SAM template, like `sam deploy`."""
    from sluice import deploy as stacks

    # The translator logs notes meant for SAM CLI's own output; its errors reach us raised.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    template = template_file or _default_template()
    if not template.is_file():
        fail(f"template file {template} not found (give one with --template-file)")
    overrides = _parameter_overrides(parameter_overrides)
    endpoint = client.endpoint_url(endpoint_url)
    click.echo(f"Deploying stack {stack_name} from {template} to {endpoint}")
    with talking_to(endpoint):
        result = stacks.deploy(client.lambda_client(endpoint), template, stack_name, overrides)
    _print_deploy(result)


def _print_deploy(result: Any) -> None:
    styles = {"created": "green", "updated": "yellow", "deleted": "red"}
    for change in result.functions:
        action = click.style(f"{change.action:<8}", fg=styles.get(change.action))
        click.echo(f"  {action} {change.logical_id:<32} {change.physical_name}")
    for url in result.urls:
        action = click.style(f"{url.action:<8}", fg=styles.get(url.action))
        click.echo(f"  {action} {url.logical_id or '(URL)':<32} {url.url}")
    for skipped in result.skipped:
        action = click.style(f"{'skipped':<8}", dim=True)
        click.echo(f"  {action} {skipped.logical_id:<32} {skipped.resource_type}: {skipped.reason}")
    if result.outputs:
        click.echo("\nOutputs")
        for output in result.outputs:
            click.echo(f"  {output.key}: {output.value}")
            if output.description:
                click.echo(click.style(f"    {output.description}", dim=True))
    click.echo(f"\nSuccessfully created/updated stack - {result.stack_name}")


@click.command()
@click.option("--stack-name", required=True, help="Name of the stack to delete.")
@click.option("--no-prompts", is_flag=True, help="Delete without asking for confirmation.")
@endpoint_option
def delete(stack_name: str, no_prompts: bool, endpoint_url: str | None) -> None:
    """Delete every function of a stack, like `sam delete`."""
    from sluice import deploy as stacks

    endpoint = client.endpoint_url(endpoint_url)
    with talking_to(endpoint):
        lambda_client = client.lambda_client(endpoint)
        functions = stacks.stack_functions(lambda_client, stack_name)
        if not functions:
            click.echo(f"Stack {stack_name} has no functions at {endpoint}; nothing to delete")
            return
        if not no_prompts:
            for logical_id, name in sorted(functions.items()):
                click.echo(f"  {logical_id:<32} {name}")
            if not click.confirm(
                f"Are you sure you want to delete the stack {stack_name} at {endpoint}?"
            ):
                return
        deleted = stacks.delete(lambda_client, stack_name)
    for name in deleted:
        click.echo(f"  {click.style('deleted ', fg='red')} {name}")
    click.echo("\nDeleted successfully")


COMMANDS = (deploy, delete)
