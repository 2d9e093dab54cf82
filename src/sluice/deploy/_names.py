"""Physical names and ARNs as CloudFormation makes them (spec section 7.4).

A function without `FunctionName` is called `{stack}-{logicalId}-{12 random alphanumerics}`
with the stack and logical parts cut to 49 characters together (63 in all), so clients that
find functions by prefix, like the seed pattern's, work unchanged. IAM roles are not created,
but a function's `Role` and outputs may name one, so roles get the same shape with their own
budget (50) and a suffix derived from the stack id: stable across redeploys, as a role
CloudFormation keeps would be.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import uuid
from dataclasses import dataclass

SUFFIX_LENGTH = 12
FUNCTION_NAME_BUDGET = 49  # stack part + logical part; + 2 hyphens + suffix = 63
ROLE_NAME_BUDGET = 50  # IAM roles: 64 in all (spec 7.4: do not reuse the function rule)
MIN_LOGICAL_PART = 24
DEFAULT_ACCOUNT_ID = "000000000000"  # sluice serve's default --account-id
_ALPHANUMERICS = string.ascii_letters + string.digits
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


def random_suffix() -> str:
    """12 characters from [A-Za-z0-9], as current CloudFormation names end."""
    return "".join(secrets.choice(_ALPHANUMERICS) for _ in range(SUFFIX_LENGTH))


def stable_suffix(seed: str) -> str:
    """A suffix of the same shape derived from `seed`, for names that must not change."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(SUFFIX_LENGTH):
        number, index = divmod(number, len(_ALPHANUMERICS))
        chars.append(_ALPHANUMERICS[index])
    return "".join(chars)


def physical_name(
    stack: str, logical_id: str, suffix: str, budget: int = FUNCTION_NAME_BUDGET
) -> str:
    """`{stack}-{logical}-{suffix}` with the truncation rule inferred in spec 7.4.

    If both parts are long, the logical part keeps 24 characters and the stack the rest of
    the budget; otherwise the shorter part is kept whole and the other fills the budget.
    """
    logical_part = logical_id[: max(MIN_LOGICAL_PART, budget - len(stack))]
    stack_part = stack[: budget - len(logical_part)]
    return f"{stack_part}-{logical_part}-{suffix}"


def check_stack_name(stack: str) -> None:
    """CloudFormation's rule: a letter, then letters, digits and hyphens, at most 128.

    Raises:
        ValueError: with the reason, for the caller to word.
    """
    if not _STACK_NAME.match(stack):
        raise ValueError(
            f"stack name {stack!r} must start with a letter and contain only letters, digits "
            "and hyphens (at most 128 characters)"
        )


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True, slots=True)
class StackContext:
    """Where a stack lives: what pseudo parameters and ARNs are made of."""

    stack_name: str
    region: str
    account_id: str
    stack_id: str

    @classmethod
    def new(
        cls, stack_name: str, region: str, account_id: str, stack_id: str | None
    ) -> StackContext:
        """Keep the stack id an earlier deploy recorded, or make one as CloudFormation does."""
        partition = partition_of(region)
        stack_id = stack_id or (
            f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid4()}"
        )
        return cls(stack_name, region, account_id, stack_id)

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def function_arn(self, name: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"

    def role_name(self, logical_id: str) -> str:
        suffix = stable_suffix(f"{self.stack_id}/{logical_id}")
        return physical_name(self.stack_name, logical_id, suffix, ROLE_NAME_BUDGET)

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"

    def placeholder_role_arn(self) -> str:
        """For a function whose template gives no `Role`: sluice never checks it."""
        return self.role_arn(f"{self.stack_name}-sluice-placeholder-role"[:64])

    def pseudo_parameters(self) -> dict[str, object]:
        """Values of `Ref AWS::...`; `AWS::NoValue` is handled by the resolver."""
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
        }
