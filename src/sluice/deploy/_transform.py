"""SAM to CloudFormation with AWS's own translator (aws-sam-translator), offline.

`sam deploy` first uploads local code to S3 (`sam package`) and CloudFormation then runs the
SAM transform, which accepts only S3 locations. Here no S3 exists, so each local path the
packager would upload (`CodeUri`, and the paths of resources sluice skips anyway) is swapped
for a placeholder `s3://sluice-local-code/<hex of the path>` before the translator runs, and
`local_code_path` turns the generated `Code` back into the path. A function with no
`CodeUri` gets the template's folder, as `sam package` gives it.

The translator is run as SAM CLI runs it locally: parameter values including pseudo
parameters, a boto3 session that only carries the region (it calls nothing), and a managed
policy loader that returns no extra policies (the translator's bundled map already covers
AWS's managed policy names), so no IAM call is made. `AWS::Serverless::Application` is taken
out first: the translator would fetch nested applications from the Serverless Application
Repository; it is put back afterwards, untranslated, and reported as skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sluice.errors import TemplateError

SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"
LOCAL_CODE_BUCKET = "sluice-local-code"
_APPLICATION = "AWS::Serverless::Application"
# Properties `sam package` uploads from a local path, by SAM resource type.
_PACKAGED = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


def expand(template: dict[str, Any], parameters: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The CloudFormation template: a copy of `template` with SAM expanded, if it uses SAM.

    Args:
        template: as loaded; not modified.
        parameters: template parameter values and pseudo parameters by name.
        region: the region the translator generates ARNs and partitions for.

    Raises:
        TemplateError: another transform, code in S3, or whatever the translator refuses.
    """
    transforms = template.get("Transform", [])
    transforms = [transforms] if isinstance(transforms, str) else transforms
    if not isinstance(transforms, list) or any(t != SERVERLESS_TRANSFORM for t in transforms):
        raise TemplateError(
            f"Template, property Transform: sluice runs only {SERVERLESS_TRANSFORM}, "
            f"not {transforms!r}"
        )
    if not transforms:
        return copy.deepcopy(template)
    sam = copy.deepcopy(template)
    applications = {
        logical_id: sam["Resources"].pop(logical_id)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == _APPLICATION
    }
    _replace_local_paths(sam)
    result = _translate(sam, dict(parameters), region) if sam["Resources"] else sam
    for sam_only in ("Transform", "Globals"):
        result.pop(sam_only, None)
    result["Resources"].update(applications)
    return result


def local_code_path(code: Mapping[str, Any]) -> str | None:
    """The local path a placeholder `Code` stands for, or None for real S3 code."""
    if code.get("S3Bucket") != LOCAL_CODE_BUCKET or not isinstance(code.get("S3Key"), str):
        return None
    return bytes.fromhex(code["S3Key"]).decode()


def _placeholder(path: str) -> str:
    return f"s3://{LOCAL_CODE_BUCKET}/{path.encode().hex()}"


def _is_remote(value: object) -> bool:
    """An S3 location: `s3://` or an S3 URL, or SAM's `{Bucket, Key}` form."""
    if isinstance(value, dict):
        return "Bucket" in value
    return isinstance(value, str) and value.startswith(("s3://", "https://", "http://"))


def _replace_local_paths(sam: dict[str, Any]) -> None:
    """Swap local paths for placeholders; refuse S3 code, which sluice cannot fetch."""
    function_globals = sam.get("Globals", {}).get("Function")
    if not isinstance(function_globals, dict):
        function_globals = {}  # absent; anything else malformed is the translator's to report
    global_code = function_globals.get("CodeUri")
    if global_code is not None:
        _refuse_s3_code(global_code, "Globals Function, property CodeUri")
        function_globals["CodeUri"] = _placeholder(global_code)
    for logical_id, resource in sam["Resources"].items():
        prop = _PACKAGED.get(resource["Type"])
        properties = resource.setdefault("Properties", {})
        if prop is None:
            continue
        value = properties.get(prop)
        if resource["Type"] == "AWS::Serverless::Function":
            if value is None and not _has_other_code(properties, function_globals):
                value = "."
            if value is not None:
                _refuse_s3_code(value, f"Resource {logical_id}, property CodeUri")
        if isinstance(value, str) and not _is_remote(value):
            properties[prop] = _placeholder(value)


def _has_other_code(properties: Mapping[str, Any], function_globals: Mapping[str, Any]) -> bool:
    """Whether a function gets code elsewhere: inline, an image, or the Globals' CodeUri."""
    package_type = properties.get("PackageType", function_globals.get("PackageType"))
    return (
        "InlineCode" in properties
        or "ImageUri" in properties
        or package_type == "Image"
        or "CodeUri" in function_globals
    )


def _refuse_s3_code(value: object, where: str) -> None:
    if _is_remote(value):
        raise TemplateError(
            f"{where}: sluice cannot fetch code from S3 ({value!r}); "
            "point it at a local folder or file"
        )
    if not isinstance(value, str):
        raise TemplateError(f"{where}: must be a local path written out (not {value!r})")


def _translate(sam: dict[str, Any], parameters: dict[str, Any], region: str) -> dict[str, Any]:
    # Imported here: the translator (and pydantic) take a noticeable time to import, and only
    # deploys need them, not `sluice serve`.
    import boto3
    from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    try:
        return translator.translate(sam, parameters, get_managed_policy_map=dict)
    except InvalidDocumentException as exc:
        messages = [cause.message for cause in exc.causes] or [exc.message]
        raise TemplateError("SAM transform failed: " + " ".join(messages)) from None
    except ExceptionWithMessage as exc:
        raise TemplateError(f"SAM transform failed: {exc.message}") from None
    finally:
        # The translator times itself into an in-memory metrics cache that warns on stderr
        # when collected unpublished; its default publisher discards them.
        translator.metrics.publish()
