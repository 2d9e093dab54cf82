"""Template `Parameters`: a value for each one, checked as CloudFormation checks it.

A value comes from the caller's overrides, else from `Default`; a parameter with neither is
an error, as is an override for a parameter the template does not declare. The checks are
the ones CloudFormation makes before it creates anything (`AllowedValues`, `AllowedPattern`,
`MinLength`/`MaxLength`, `MinValue`/`MaxValue`, numbers for `Number`). List types become
lists, everything else stays the string CloudFormation would pass to `Ref`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sluice.errors import TemplateError

_LIST_TYPES = ("CommaDelimitedList", "List<")
_LENGTH_BOUNDS = (
    ("MinLength", float.__ge__, "shorter than"),
    ("MaxLength", float.__le__, "longer than"),
)
_VALUE_BOUNDS = (
    ("MinValue", float.__ge__, "less than"),
    ("MaxValue", float.__le__, "greater than"),
)


def resolve_parameters(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """The value of every declared parameter.

    Raises:
        TemplateError: naming the parameter: no value, a failed check, an unknown override,
            or a type sluice cannot resolve (SSM parameter types).
    """
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(
            f"Parameter {unknown[0]}: given as an override but not declared in the template's "
            "Parameters"
        )
    return {name: _value(name, spec, overrides) for name, spec in declared.items()}


def _value(name: str, spec: object, overrides: Mapping[str, str]) -> Any:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("Type"), str):
        raise TemplateError(f"Parameter {name}, property Type: must be a string")
    kind = spec["Type"]
    if kind.startswith("AWS::SSM::Parameter"):
        raise TemplateError(
            f"Parameter {name}, property Type: sluice cannot read SSM parameters ({kind}); "
            "give the value as an override with a String parameter instead"
        )
    if name in overrides:
        raw = overrides[name]
    elif "Default" in spec:
        raw = _text(spec["Default"])
    else:
        raise TemplateError(f"Parameter {name}: no value given and the template sets no Default")
    if kind.startswith(_LIST_TYPES):
        items = [item.strip() for item in raw.split(",")] if raw else []
        for item in items:
            _check(name, spec, item, numeric=kind == "List<Number>")
        return items
    _check(name, spec, raw, numeric=kind == "Number")
    return raw


def _text(value: object) -> str:
    """A Default as CloudFormation reads it: YAML numbers and booleans as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)


def _check(name: str, spec: Mapping[str, Any], value: str, *, numeric: bool) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_text(item) for item in allowed]:
        choices = ", ".join(_text(item) for item in allowed)
        raise TemplateError(
            f"Parameter {name}, property AllowedValues: value {value!r} is not one of {choices}"
        )
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not _matches(name, str(pattern), value):
        raise TemplateError(
            f"Parameter {name}, property AllowedPattern: value {value!r} does not match {pattern}"
        )
    for prop, test, words in _LENGTH_BOUNDS:
        if prop in spec and not test(float(len(value)), _bound(name, spec, prop)):
            raise TemplateError(
                f"Parameter {name}, property {prop}: value {value!r} is {words} {spec[prop]}"
            )
    if numeric or "MinValue" in spec or "MaxValue" in spec:
        _check_number(name, spec, value)


def _matches(name: str, pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error as exc:
        raise TemplateError(
            f"Parameter {name}, property AllowedPattern: not a valid pattern: {exc}"
        ) from None


def _check_number(name: str, spec: Mapping[str, Any], value: str) -> None:
    try:
        number = float(value)
    except ValueError:
        raise TemplateError(
            f"Parameter {name}, property Type: value {value!r} is not a number"
        ) from None
    for prop, test, words in _VALUE_BOUNDS:
        if prop in spec and not test(number, _bound(name, spec, prop)):
            raise TemplateError(
                f"Parameter {name}, property {prop}: value {value!r} is {words} {spec[prop]}"
            )


def _bound(name: str, spec: Mapping[str, Any], prop: str) -> float:
    try:
        return float(spec[prop])
    except (TypeError, ValueError):
        raise TemplateError(f"Parameter {name}, property {prop}: must be a number") from None
