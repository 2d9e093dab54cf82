"""A stack's functions on the server, through the public Lambda API only.

There is no stack store: as with CloudFormation-made functions, membership is written on the
functions themselves as tags (`aws:cloudformation:stack-name`, `...:logical-id`,
`...:stack-id`), and a stack is found again with ListFunctions (every page) and ListTags.
So a deploy or delete works against any server that keeps functions, restarts included.

Applying a plan: functions still in the template are updated in place under the same
name (configuration first, then code, then tags), new ones are created (one CreateFunction
with code and tags, so a refused create leaves nothing behind), and only when all of that
has worked are the functions that left the template deleted. A refusal stops the deploy
with a DeployError naming the resource; what was applied before it stays, tagged, so the
next deploy or delete picks it up.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sluice.deploy._functions import FunctionDefinition
from sluice.deploy._names import DEFAULT_ACCOUNT_ID, StackContext
from sluice.deploy._results import FunctionChange, UrlChange
from sluice.deploy._urls import UrlDefinition
from sluice.errors import DeployError

STACK_NAME_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
STACK_ID_TAG = "aws:cloudformation:stack-id"
_ACCOUNT_IN_ARN = re.compile(r"arn:[a-z-]+:lambda:[a-z0-9-]+:(\d{12}):function:")


@dataclass(frozen=True, slots=True)
class Member:
    """A function on the server tagged as belonging to the stack."""

    name: str
    arn: str
    logical_id: str | None
    tags: Mapping[str, str]


def list_functions(client: Any) -> list[dict[str, Any]]:
    """Every function on the server (all ListFunctions pages)."""
    pages = client.get_paginator("list_functions").paginate()
    return [function for page in pages for function in page["Functions"]]


def members(client: Any, functions: Iterable[Mapping[str, Any]], stack_name: str) -> list[Member]:
    """The functions tagged with `stack_name`, in the order listed."""
    found = []
    for function in functions:
        arn = function["FunctionArn"]
        tags = client.list_tags(Resource=arn).get("Tags", {})
        if tags.get(STACK_NAME_TAG) == stack_name:
            found.append(Member(function["FunctionName"], arn, tags.get(LOGICAL_ID_TAG), tags))
    return found


def recorded_stack_id(current: Iterable[Member]) -> str | None:
    """The stack id an earlier deploy tagged the functions with: it stays across updates."""
    return next((m.tags[STACK_ID_TAG] for m in current if STACK_ID_TAG in m.tags), None)


def account_id(client: Any, functions: Sequence[Mapping[str, Any]]) -> str:
    """The server's account id, read from an ARN it returns.

    With no function to read it from, asks for a function that does not exist: the
    not-found message carries the ARN (spec 7.3). Falls back to sluice's default account.
    """
    for function in functions:
        if match := _ACCOUNT_IN_ARN.match(function["FunctionArn"]):
            return match.group(1)
    probe = f"sluice-account-probe-{uuid.uuid4().hex}"
    try:
        text = client.get_function_configuration(FunctionName=probe)["FunctionArn"]
    except ClientError as exc:
        text = exc.response.get("Error", {}).get("Message", "")
    match = _ACCOUNT_IN_ARN.search(text)
    return match.group(1) if match else DEFAULT_ACCOUNT_ID


def apply(
    client: Any,
    stack: StackContext,
    definitions: Sequence[FunctionDefinition],
    current: Sequence[Member],
) -> list[FunctionChange]:
    """Make the stack's functions on the server match `definitions`.

    Raises:
        DeployError: the server refused a create or update; names the resource.
    """
    by_logical_id = {member.logical_id: member for member in current}
    changes = []
    for definition in definitions:
        tags = {**definition.tags, **_stack_tags(stack, definition.logical_id)}
        member = by_logical_id.get(definition.logical_id)
        if member is not None and member.name == definition.name:
            with _refusal(definition.logical_id, f"update function {definition.name}"):
                _update(client, definition, member, tags)
            changes.append(FunctionChange(definition.logical_id, definition.name, "updated"))
        else:
            with _refusal(definition.logical_id, f"create function {definition.name}"):
                _create(client, definition, tags)
            changes.append(FunctionChange(definition.logical_id, definition.name, "created"))
    kept = {definition.name for definition in definitions}
    for member in current:
        if member.name not in kept:
            client.delete_function(FunctionName=member.name)
            changes.append(FunctionChange(member.logical_id or "", member.name, "deleted"))
    return changes


def apply_urls(
    client: Any, urls: Sequence[UrlDefinition], functions: Iterable[str]
) -> list[UrlChange]:
    """Give each function the URL config the template asks for, and take it away from the
    stack's other `functions` (their URL left the template).

    Raises:
        DeployError: the server refused a URL config; names the resource.
    """
    changes = []
    for url in urls:
        try:
            current = client.get_function_url_config(FunctionName=url.function_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            current = None
        verb = "create" if current is None else "update"
        with _refusal(url.logical_id, f"{verb} the URL of function {url.function_name}"):
            if current is None:
                answer = client.create_function_url_config(
                    FunctionName=url.function_name, **url.settings
                )
            else:
                settings = {"InvokeMode": "BUFFERED", "Cors": {}, **url.settings}
                answer = client.update_function_url_config(
                    FunctionName=url.function_name, **settings
                )
        action = "created" if current is None else "updated"
        changes.append(UrlChange(url.logical_id, url.function_name, answer["FunctionUrl"], action))
    served = {url.function_name for url in urls}
    for name in functions:
        if name in served:
            continue
        try:
            gone = client.get_function_url_config(FunctionName=name)["FunctionUrl"]
        except ClientError:
            continue
        client.delete_function_url_config(FunctionName=name)
        changes.append(UrlChange("", name, gone, "deleted"))
    return changes


def delete_members(client: Any, current: Iterable[Member]) -> list[str]:
    """Delete every given function; their names, in the order deleted."""
    deleted = []
    for member in current:
        client.delete_function(FunctionName=member.name)
        deleted.append(member.name)
    return deleted


def _stack_tags(stack: StackContext, logical_id: str) -> dict[str, str]:
    return {
        STACK_NAME_TAG: stack.stack_name,
        LOGICAL_ID_TAG: logical_id,
        STACK_ID_TAG: stack.stack_id,
    }


@contextmanager
def _refusal(logical_id: str, action: str) -> Iterator[None]:
    """A ClientError from the server becomes a DeployError naming the resource and what
    was refused (`action`, e.g. "create function NAME")."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise DeployError(
            f"Resource {logical_id}: the server refused to {action}: "
            f"{error.get('Code', 'Error')}: {error.get('Message', exc)}"
        ) from None


def _create(client: Any, definition: FunctionDefinition, tags: Mapping[str, str]) -> None:
    client.create_function(
        FunctionName=definition.name,
        Code={"ZipFile": definition.code},
        Tags=dict(tags),
        **definition.configuration,
    )


def _update(
    client: Any, definition: FunctionDefinition, member: Member, tags: Mapping[str, str]
) -> None:
    configuration = dict(definition.configuration)
    architectures = configuration.pop("Architectures")
    client.update_function_configuration(FunctionName=member.name, **configuration)
    client.update_function_code(
        FunctionName=member.name, ZipFile=definition.code, Architectures=architectures
    )
    stale = sorted(set(member.tags) - set(tags))
    if stale:
        client.untag_resource(Resource=member.arn, TagKeys=stale)
    if dict(member.tags) != dict(tags):
        client.tag_resource(Resource=member.arn, Tags=dict(tags))
