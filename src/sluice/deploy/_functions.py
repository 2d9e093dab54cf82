"""An `AWS::Lambda::Function` resource as the Lambda API calls that create or update it.

Only the properties sluice runs are resolved: `FunctionName`, `Handler`, `Runtime`,
`Timeout`, `MemorySize`, `Description`, `Environment`, `Role`, `Architectures`, `Tags`,
`Code` and `PackageType`; others (VPC, layers, tracing, ...) are left alone. Values are
turned into what the API takes, as CloudFormation's resource schema does: `Timeout: "10"`
from a parameter becomes 10, a YAML `true` in an environment variable becomes "true".
Properties the template leaves out get Lambda's defaults, so that an update also resets a
property removed from the template, as CloudFormation's would.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.deploy._intrinsics import NO_VALUE, Resolver, Unavailable
from sluice.deploy._package import package_inline, package_path
from sluice.deploy._transform import local_code_path
from sluice.errors import TemplateError

_DEFAULTS: dict[str, Any] = {
    "Timeout": 3,
    "MemorySize": 128,
    "Description": "",
    "Environment": {"Variables": {}},
    "Architectures": ["x86_64"],
}


@dataclass(frozen=True, slots=True)
class FunctionDefinition:
    """One function to create or update.

    `configuration` holds CreateFunction members besides the name, code and tags;
    `tags` are the template's own (CloudFormation's are added when applying).
    """

    logical_id: str
    name: str
    configuration: Mapping[str, Any]
    tags: Mapping[str, str]
    code: bytes


def is_image(logical_id: str, properties: Mapping[str, Any], resolver: Resolver) -> bool:
    """Whether the function is a container image, which sluice does not run."""
    package_type = resolver.resolve(
        properties.get("PackageType", "Zip"), f"Resource {logical_id}, property PackageType"
    )
    code = properties.get("Code")
    return package_type == "Image" or (isinstance(code, dict) and "ImageUri" in code)


def explicit_name(logical_id: str, properties: Mapping[str, Any], resolver: Resolver) -> str | None:
    """The `FunctionName` the template sets, or None when CloudFormation would make one up."""
    where = f"Resource {logical_id}, property FunctionName"
    value = resolver.resolve(properties.get("FunctionName", NO_VALUE), where)
    return None if value is NO_VALUE else _text(value, where)


def define_function(
    logical_id: str,
    name: str,
    properties: Mapping[str, Any],
    resolver: Resolver,
    template_dir: Path,
    default_role: str,
    packages: MutableMapping[Path, bytes],
) -> FunctionDefinition:
    """Resolve what the Lambda API needs for one function and package its code.

    `packages` caches zips by folder for one deploy: functions sharing a `CodeUri` (the
    template's folder, for all of the seed pattern's) are zipped once.

    Raises:
        TemplateError: naming the resource and property that cannot be resolved or used.
    """

    def where(prop: str) -> str:
        return f"Resource {logical_id}, property {prop}"

    def get(prop: str) -> Any:
        return resolver.resolve(properties.get(prop, NO_VALUE), where(prop))

    config: dict[str, Any] = dict(_DEFAULTS, Role=default_role)
    for prop in ("Handler", "Runtime", "Description", "Role"):
        if (value := get(prop)) is not NO_VALUE:
            config[prop] = _text(value, where(prop))
    for prop in ("Timeout", "MemorySize"):
        if (value := get(prop)) is not NO_VALUE:
            config[prop] = _integer(value, where(prop))
    if (value := get("Environment")) is not NO_VALUE:
        config["Environment"] = {"Variables": _variables(value, where("Environment"))}
    if (value := get("Architectures")) is not NO_VALUE:
        config["Architectures"] = _strings(value, where("Architectures"))
    tags = _tags(get("Tags"), where("Tags"))
    code = get("Code")
    local = _local_path(code)
    if local is None:
        zipped = _inline_code(code, config.get("Runtime", ""), where("Code"))
    else:
        path = (template_dir / local[0]).resolve()
        if path not in packages:
            packages[path] = package_path(path, where(local[1]))
        zipped = packages[path]
    return FunctionDefinition(logical_id, name, config, tags, zipped)


def _local_path(code: Any) -> tuple[str, str] | None:
    """(path, the property that named it) when `Code` is local code, else None."""
    if isinstance(code, str):  # a plain CloudFormation template naming a local path
        return code, "Code"
    local = local_code_path(code) if isinstance(code, dict) else None
    return None if local is None else (local, "CodeUri")


def _inline_code(code: Any, runtime: str, where: str) -> bytes:
    """The zip for `Code.ZipFile`; anything else left is code sluice cannot get."""
    if not isinstance(code, dict):
        raise TemplateError(f"{where}: must be set (ZipFile, or a local path as CodeUri)")
    if "ZipFile" in code:
        return package_inline(_text(code["ZipFile"], f"{where}.ZipFile"), runtime, where)
    raise TemplateError(
        f"{where}: sluice cannot fetch code from S3 ({code!r}); point it at a local folder"
    )


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Unavailable):
        return str(value)
    raise TemplateError(f"{where}: must be a string, not {type(value).__name__} {value!r}")


def _integer(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TemplateError(f"{where}: must be a whole number, not {value!r}")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise TemplateError(f"{where}: must be a list of strings, not {value!r}")
    return [_text(item, where) for item in value]


def _variables(value: Any, where: str) -> dict[str, str]:
    variables = value.get("Variables", {}) if isinstance(value, dict) else None
    if not isinstance(variables, dict):
        raise TemplateError(f"{where}: must be a mapping with a Variables mapping")
    return {key: _text(item, f"{where}.Variables.{key}") for key, item in variables.items()}


def _tags(value: Any, where: str) -> dict[str, str]:
    """`Tags` as CloudFormation writes them, a list of `{Key, Value}`, as a mapping."""
    if value is NO_VALUE:
        return {}
    if not isinstance(value, list) or not all(
        isinstance(tag, dict) and "Key" in tag and "Value" in tag for tag in value
    ):
        raise TemplateError(f"{where}: must be a list of {{Key, Value}} pairs")
    return {_text(tag["Key"], where): _text(tag["Value"], where) for tag in value}
