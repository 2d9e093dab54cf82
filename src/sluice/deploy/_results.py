"""What a deploy did, as plain frozen values for the CLI to print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["created", "updated", "deleted"]


@dataclass(frozen=True, slots=True)
class FunctionChange:
    """One function the deploy created, updated in place, or deleted."""

    logical_id: str
    physical_name: str
    action: Action


@dataclass(frozen=True, slots=True)
class UrlChange:
    """One function URL the deploy created, updated or deleted, and its address."""

    logical_id: str
    function_name: str
    url: str
    action: Action


@dataclass(frozen=True, slots=True)
class SkippedResource:
    """A resource of the template that sluice does not run, and why."""

    logical_id: str
    resource_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class StackOutput:
    """One of the template's `Outputs`, resolved; `description` is None when it has none."""

    key: str
    value: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DeployResult:
    """Everything `deploy` did, in template order (deletions last)."""

    stack_name: str
    functions: tuple[FunctionChange, ...]
    skipped: tuple[SkippedResource, ...]
    outputs: tuple[StackOutput, ...]
    urls: tuple[UrlChange, ...] = ()
