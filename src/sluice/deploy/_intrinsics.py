"""CloudFormation intrinsic functions and conditions, evaluated the way a deploy needs them.

Values are resolved lazily, only where a function or an output uses them, so an `Fn::If`
branch not taken may name a resource that does not exist, as in CloudFormation. What a
resource's `Ref` or `Fn::GetAtt` gives is asked of a `ResourceLookup` (the stack's
resources); a resource sluice does not run answers with `Unavailable`, which spreads through
`Fn::Sub`, `Fn::Join` and friends so an output can say "not available" instead of failing
the deploy. Every error names where it happened: the caller passes the resource and
property, and the message says what inside it could not be resolved.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sluice.errors import TemplateError


class IntrinsicError(Exception):
    """A value that cannot be resolved; becomes a TemplateError with its location."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The value of a resource sluice does not run; shown as text where a string is needed."""

    reason: str

    def __str__(self) -> str:
        return f"(not available: {self.reason})"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()  # `Ref AWS::NoValue`: the property or list item is left out


class ResourceLookup(Protocol):
    """What `Ref` and `Fn::GetAtt` give for the stack's resources; IntrinsicError if unknown."""

    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


class Resolver:
    """Resolves template values against parameters, mappings, conditions and resources.

    Args:
        parameters: template parameters and pseudo parameters (`AWS::Region`, ...) by name.
        mappings: the template's `Mappings`.
        conditions: the template's `Conditions`, evaluated on first use and remembered.
        resources: the stack's resources; None where only parameters may be used.
    """

    def __init__(
        self,
        parameters: Mapping[str, Any],
        mappings: Mapping[str, Any] | None = None,
        conditions: Mapping[str, Any] | None = None,
        resources: ResourceLookup | None = None,
    ) -> None:
        self._parameters = parameters
        self._mappings = mappings or {}
        self._conditions = conditions or {}
        self._resources = resources
        self._condition_values: dict[str, bool | None] = {}  # None: being evaluated
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Fn::Not": self._not,
            "Fn::FindInMap": self._find_in_map,
            "Fn::GetAZs": self._get_azs,
            "Fn::Base64": self._base64,
        }

    def with_resources(self, resources: ResourceLookup) -> Resolver:
        """The same parameters and conditions, now able to refer to the stack's resources."""
        resolver = Resolver(self._parameters, self._mappings, self._conditions, resources)
        resolver._condition_values = self._condition_values
        return resolver

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic function evaluated (NO_VALUE if it resolves to none).

        Raises:
            TemplateError: "`where`: what could not be resolved".
        """
        try:
            return self._resolve(value)
        except IntrinsicError as exc:
            raise TemplateError(f"{where}: {exc}") from None

    def condition(self, name: object, where: str) -> bool:
        """The truth of a named condition, for a resource's or an output's `Condition`.

        Raises:
            TemplateError: unknown, circular or unresolvable condition, naming `where`.
        """
        try:
            if not isinstance(name, str):
                raise IntrinsicError("Condition must name a condition")
            return self._condition(name)
        except IntrinsicError as exc:
            raise TemplateError(f"{where}: {exc}") from None

    # Walking values -------------------------------------------------------------------

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if key == "Ref" or key.startswith("Fn::"):
                    function = self._functions.get(key)
                    if function is None:
                        raise IntrinsicError(f"{key} is not supported by sluice")
                    return function(value[key])
            resolved = {k: self._resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self._resolve, value) if item is not NO_VALUE]
        return value

    def _text(self, value: Any, function: str) -> str:
        """A scalar as the string CloudFormation would splice in."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise IntrinsicError(f"{function} needs a string here, not {_describe(value)}")

    def _args(self, arg: Any, function: str, count: int) -> list[Any]:
        if not isinstance(arg, list) or len(arg) != count:
            raise IntrinsicError(f"{function} takes a list of {count} values")
        return arg

    def _list(self, value: Any, function: str) -> list[Any]:
        resolved = self._resolve(value)
        if not isinstance(resolved, list):
            raise IntrinsicError(f"{function} needs a list, not {_describe(resolved)}")
        return resolved

    # References -----------------------------------------------------------------------

    def _ref(self, arg: Any) -> Any:
        if not isinstance(arg, str):
            raise IntrinsicError("Ref takes the name of a parameter or resource")
        if arg == "AWS::NoValue":
            return NO_VALUE
        if arg in self._parameters:
            return self._parameters[arg]
        if arg.startswith("AWS::"):
            raise IntrinsicError(f"Ref {arg}: not a pseudo parameter sluice knows")
        if self._resources is None:
            raise IntrinsicError(f"Ref {arg}: no parameter of that name")
        return self._resources.ref(arg)

    def _get_att(self, arg: Any) -> Any:
        if isinstance(arg, str) and "." in arg:
            arg = arg.split(".", 1)
        logical_id, attribute = self._args(arg, "Fn::GetAtt", 2)
        attribute = self._resolve(attribute)
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            raise IntrinsicError("Fn::GetAtt takes a resource name and an attribute name")
        return self._attribute(logical_id, attribute)

    def _attribute(self, logical_id: str, attribute: str) -> Any:
        if self._resources is None:
            raise IntrinsicError(f"Fn::GetAtt {logical_id}.{attribute}: resources are not allowed")
        return self._resources.get_att(logical_id, attribute)

    def _sub(self, arg: Any) -> Any:
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            text, variables = arg[0], {k: self._resolve(v) for k, v in arg[1].items()}
        else:
            raise IntrinsicError("Fn::Sub takes a string, or a string and a map of variables")
        if not isinstance(text, str):
            raise IntrinsicError("Fn::Sub takes a string, or a string and a map of variables")
        missing: list[Unavailable] = []

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name:
                value = self._attribute(*name.split(".", 1))
            else:
                value = self._ref(name)
            if isinstance(value, Unavailable):
                missing.append(value)
                return ""
            return self._text(value, "Fn::Sub")

        result = re.sub(r"\$\{([^}]*)\}", substitute, text)
        return missing[0] if missing else result

    # Strings and lists ----------------------------------------------------------------

    def _join(self, arg: Any) -> Any:
        delimiter, items = self._args(arg, "Fn::Join", 2)
        values = self._list(items, "Fn::Join")
        missing = [value for value in values if isinstance(value, Unavailable)]
        if missing:
            return missing[0]
        return self._text(delimiter, "Fn::Join").join(self._text(v, "Fn::Join") for v in values)

    def _select(self, arg: Any) -> Any:
        index, items = self._args(arg, "Fn::Select", 2)
        values = self._list(items, "Fn::Select")
        try:
            return values[int(self._text(self._resolve(index), "Fn::Select"))]
        except (ValueError, IndexError):
            raise IntrinsicError(
                f"Fn::Select: index {index!r} is not within a list of {len(values)}"
            ) from None

    def _split(self, arg: Any) -> Any:
        delimiter, source = self._args(arg, "Fn::Split", 2)
        value = self._resolve(source)
        if isinstance(value, Unavailable):
            return value
        return self._text(value, "Fn::Split").split(self._text(delimiter, "Fn::Split"))

    def _find_in_map(self, arg: Any) -> Any:
        args = self._args(arg, "Fn::FindInMap", 3)
        keys = [self._text(self._resolve(key), "Fn::FindInMap") for key in args]
        found: Any = self._mappings
        for key in keys:
            if not isinstance(found, dict) or key not in found:
                raise IntrinsicError(f"Fn::FindInMap: no entry {'/'.join(keys)} in Mappings")
            found = found[key]
        return found

    def _get_azs(self, arg: Any) -> list[str]:
        region = self._text(self._resolve(arg), "Fn::GetAZs") or self._parameters["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _base64(self, arg: Any) -> Any:
        value = self._resolve(arg)
        if isinstance(value, Unavailable):
            return value
        return base64.b64encode(self._text(value, "Fn::Base64").encode()).decode()

    # Conditions -----------------------------------------------------------------------

    def _condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise IntrinsicError(f"no condition named {name} in Conditions")
        if name in self._condition_values:
            value = self._condition_values[name]
            if value is None:
                raise IntrinsicError(f"condition {name} refers to itself")
            return value
        self._condition_values[name] = None
        try:
            value = self._truth(self._conditions[name])
        except IntrinsicError as exc:
            del self._condition_values[name]
            raise IntrinsicError(f"condition {name}: {exc}") from None
        self._condition_values[name] = value
        return value

    def _truth(self, operand: Any) -> bool:
        """A condition operand: `{"Condition": name}` or a value resolving to a boolean."""
        if isinstance(operand, dict) and list(operand) == ["Condition"]:
            return self._condition(self._text(operand["Condition"], "Condition"))
        value = self._resolve(operand)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise IntrinsicError(f"a condition must be true or false, not {_describe(value)}")

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = self._args(arg, "Fn::If", 3)
        chosen = when_true if self._condition(self._text(name, "Fn::If")) else when_false
        return self._resolve(chosen)

    def _equals(self, arg: Any) -> bool:
        left, right = (self._resolve(value) for value in self._args(arg, "Fn::Equals", 2))
        return _comparable(left) == _comparable(right)

    def _and(self, arg: Any) -> bool:
        return all([self._truth(operand) for operand in self._operands(arg, "Fn::And")])

    def _or(self, arg: Any) -> bool:
        return any([self._truth(operand) for operand in self._operands(arg, "Fn::Or")])

    def _not(self, arg: Any) -> bool:
        return not self._truth(self._args(arg, "Fn::Not", 1)[0])

    def _operands(self, arg: Any, function: str) -> list[Any]:
        if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
            raise IntrinsicError(f"{function} takes a list of 2 to 10 conditions")
        return arg


def _comparable(value: Any) -> Any:
    """`Fn::Equals` compares what CloudFormation sees: YAML `10` equals the string "10"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _describe(value: Any) -> str:
    if isinstance(value, Unavailable):
        return str(value)
    if value is NO_VALUE:
        return "AWS::NoValue"
    return f"a {type(value).__name__} ({value!r})"[:120]
