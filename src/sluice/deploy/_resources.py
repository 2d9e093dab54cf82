"""The stack's resources as `Ref` and `Fn::GetAtt` see them, and why sluice skips some.

sluice runs `AWS::Lambda::Function` (Zip) and `AWS::Lambda::Url` on those functions. Every
other resource is skipped with a reason the user sees, never dropped silently, and answers
references with `Unavailable`, except IAM roles: functions name them in `Role` and outputs
print their ARNs, so a role resolves to the name and ARN CloudFormation would have given it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sluice.deploy._intrinsics import IntrinsicError, Unavailable
from sluice.deploy._names import StackContext

FUNCTION = "AWS::Lambda::Function"
ROLE = "AWS::IAM::Role"
_IMAGE_REASON = "PackageType Image: sluice runs Zip functions only"
_NOT_RUN = "not run by sluice"
_NO_VERSIONS = f"{_NOT_RUN}, which runs $LATEST only (no versions or aliases)"
_NO_IAM = f"{_NOT_RUN}, which checks no permissions"
_REASONS = {
    ROLE: f"{_NO_IAM}; functions get the name and ARN it would have",
    "AWS::IAM::Policy": _NO_IAM,
    "AWS::IAM::ManagedPolicy": _NO_IAM,
    "AWS::Lambda::Permission": f"{_NO_IAM}: any caller may invoke",
    "AWS::Lambda::Version": _NO_VERSIONS,
    "AWS::Lambda::Alias": _NO_VERSIONS,
    "AWS::Lambda::EventSourceMapping": f"{_NOT_RUN}, which has no event sources",
    "AWS::Serverless::Application": f"{_NOT_RUN}: nested applications are not deployed",
}


def skip_reason(resource_type: str, *, image: bool = False) -> str:
    """Why sluice does not run a resource (shown next to its type, so not repeating it)."""
    if image:
        return _IMAGE_REASON
    if resource_type.startswith("AWS::ApiGateway"):
        return f"{_NOT_RUN}, which has no API Gateway; invoke the function instead"
    return _REASONS.get(resource_type, _NOT_RUN)


@dataclass(frozen=True, slots=True)
class StackResources:
    """Answers `Ref` and `Fn::GetAtt` for every resource of the (expanded) template.

    Args:
        stack: where the stack lives, for ARNs and role names.
        types: every resource's type by logical id, including skipped ones.
        functions: the physical name of each function sluice runs, by logical id.
        excluded: resources left out because their condition is false, with that condition.
        url_targets: the function name each served URL belongs to, by the URL's logical id.
        url_values: each URL's `FunctionUrl`, known once the deploy has created it.
    """

    stack: StackContext
    types: Mapping[str, str]
    functions: Mapping[str, str]
    excluded: Mapping[str, str]
    url_targets: Mapping[str, str] = field(default_factory=dict)
    url_values: Mapping[str, str] = field(default_factory=dict)

    def ref(self, logical_id: str) -> Any:
        self._check(logical_id, f"Ref {logical_id}")
        if logical_id in self.functions:
            return self.functions[logical_id]
        if logical_id in self.url_targets:  # Ref of a URL is its function's ARN
            return self.stack.function_arn(self.url_targets[logical_id])
        if self.types[logical_id] == ROLE:
            return self.stack.role_name(logical_id)
        return self._unavailable(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        self._check(logical_id, f"Fn::GetAtt {logical_id}.{attribute}")
        if logical_id in self.functions:
            if attribute != "Arn":
                raise IntrinsicError(
                    f"Fn::GetAtt {logical_id}.{attribute}: sluice gives only Arn of a function"
                )
            return self.stack.function_arn(self.functions[logical_id])
        if logical_id in self.url_targets:
            return self._url_attribute(logical_id, attribute)
        if self.types[logical_id] == ROLE and attribute == "Arn":
            return self.stack.role_arn(self.stack.role_name(logical_id))
        return self._unavailable(logical_id)

    def _url_attribute(self, logical_id: str, attribute: str) -> Any:
        if attribute == "FunctionArn":
            return self.stack.function_arn(self.url_targets[logical_id])
        if attribute != "FunctionUrl":
            raise IntrinsicError(
                f"Fn::GetAtt {logical_id}.{attribute}: a URL has FunctionUrl and FunctionArn"
            )
        if logical_id not in self.url_values:
            return Unavailable("the URL is known once it is deployed")
        return self.url_values[logical_id]

    def _check(self, logical_id: str, what: str) -> None:
        if logical_id in self.excluded:
            raise IntrinsicError(
                f"{what}: the resource is not created, its condition "
                f"{self.excluded[logical_id]} is false"
            )
        if logical_id not in self.types:
            raise IntrinsicError(f"{what}: no parameter or resource of that name")

    def _unavailable(self, logical_id: str) -> Unavailable:
        resource_type = self.types[logical_id]
        if resource_type == FUNCTION:
            return Unavailable(f"{logical_id} has {_IMAGE_REASON}")
        return Unavailable(f"{resource_type} is {_NOT_RUN}")
