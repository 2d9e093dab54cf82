"""Who is asking and about which function: request ids, regions, ARNs and names.

Any credentials are accepted; the region is read from the SigV4 credential scope of the
request so ARNs match what the caller's SDK expects.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from sluice.errors import FunctionNotFound, ValidationFailed

DEFAULT_REGION = "us-east-1"
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/lambda/aws4_request")
# The service model's NamespacedFunctionName pattern, anchored, with groups we use.
_FUNCTION_NAME = re.compile(
    r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)
_QUALIFIER = re.compile(r"^(\$LATEST|[a-zA-Z0-9-_$]{1,128})$")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Per-request facts every operation needs."""

    region: str
    account_id: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def not_found(self, name: str, qualifier: str | None = None) -> FunctionNotFound:
        """AWS's wording (spec 7.3): `Function not found: <arn>`."""
        return FunctionNotFound(f"Function not found: {self.function_arn(name, qualifier)}")


def region_of(authorization: str | None) -> str:
    """The region in a SigV4 Authorization header, or the default for unsigned calls."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else DEFAULT_REGION


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A FunctionName from a path, split into its name and optional qualifier."""

    name: str
    qualifier: str | None


def parse_function_name(raw: str, ctx: RequestContext, qualifier: str | None = None) -> FunctionRef:
    """Accept a name, a partial ARN or a full ARN, optionally with `:qualifier`.

    Raises:
        ValidationFailed: the value does not match the service model's pattern.
        FunctionNotFound: an ARN for another account or region (no such function here).
    """
    match = _FUNCTION_NAME.match(raw) if len(raw) <= 256 else None
    if match is None or len(match["name"]) > 64:
        raise ValidationFailed(
            f"1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
            "(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    inline = match["qualifier"]
    if qualifier is not None and inline is not None and qualifier != inline:
        raise ValidationFailed(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    if qualifier is not None and not _QUALIFIER.match(qualifier):
        raise ValidationFailed(
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(|[a-zA-Z0-9$_-]+)"
        )
    wanted = qualifier or inline
    if (match["account"] and match["account"] != ctx.account_id) or (
        match["region"] and match["region"] != ctx.region
    ):
        raise ctx.not_found(match["name"], wanted)
    return FunctionRef(match["name"], wanted)
