"""Reading a template file (YAML with CloudFormation's short-form tags, or JSON) into data.

The result is the same dict a JSON template would give, so nothing after this module knows
which syntax the user wrote: `!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes
`{"Fn::GetAtt": ["A", "B"]}`, any other `!Name v` becomes `{"Fn::Name": v}`. YAML is read
the way CloudFormation reads it, not as YAML 1.1 would: dates such as
`AWSTemplateFormatVersion: 2010-09-09` stay strings, and mapping keys stay the text written
(an account id `123456789012:` in `Mappings` is a string key, `true:` is "true"). A key
written twice keeps the last value, as `sam deploy` does (the seed pattern's own template
repeats an output).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sluice.errors import TemplateError


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's tags; a subclass, so PyYAML's globals stay untouched."""


def _short_form(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


def _mapping(loader: _CfnLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain string", key_node.start_mark
            )
        result[key_node.value] = loader.construct_object(value_node, deep=True)
    return result


def _timestamp_as_text(loader: _CfnLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_CfnLoader.add_multi_constructor("!", _short_form)
_CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_template(text: str, source: str = "template") -> dict[str, Any]:
    """Parse template text; JSON when it starts with `{`, YAML otherwise.

    Raises:
        TemplateError: the text is not valid JSON/YAML, or not a mapping with `Resources`.
    """
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass: no Python objects
    except json.JSONDecodeError as exc:
        raise TemplateError(f"Template {source}: not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"Template {source}: not valid YAML: {exc}") from None
    return _checked(data, source)


def load_template(path: Path) -> dict[str, Any]:
    """Read and parse the template file at `path`.

    Raises:
        TemplateError: the file cannot be read or parsed (see `parse_template`).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"Template {path}: cannot read it: {exc}") from None
    return parse_template(text, str(path))


def _checked(data: object, source: str) -> dict[str, Any]:
    """The structure every later step relies on, checked once here; empty sections become {}."""
    if not isinstance(data, dict):
        raise TemplateError(f"Template {source}: the top level must be a mapping")
    for section in ("Parameters", "Conditions", "Mappings", "Outputs", "Globals", "Resources"):
        if data.get(section, {}) is None:
            data[section] = {}
        if not isinstance(data.get(section, {}), dict):
            raise TemplateError(f"Template {source}: '{section}' must be a mapping")
    if not data.get("Resources"):
        raise TemplateError(f"Template {source}: 'Resources' must name at least one resource")
    for logical_id, resource in data["Resources"].items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(f"Resource {logical_id}, property Type: must be a string")
        if resource.get("Properties", {}) is None:
            resource["Properties"] = {}
        if not isinstance(resource.get("Properties", {}), dict):
            raise TemplateError(f"Resource {logical_id}, property Properties: must be a mapping")
    return data
