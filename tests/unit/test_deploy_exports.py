"""The shape of `sluice.deploy`'s public API, which the CLI and the demo call."""

from __future__ import annotations

import dataclasses
import inspect

import sluice.deploy


def test_public_api_shape():
    assert sorted(sluice.deploy.__all__) == [
        "DeployResult",
        "FunctionChange",
        "SkippedResource",
        "StackOutput",
        "UrlChange",
        "delete",
        "deploy",
        "stack_functions",
    ]
    assert list(inspect.signature(sluice.deploy.deploy).parameters) == [
        "client",
        "template_file",
        "stack_name",
        "parameter_overrides",
    ]
    for name in ("DeployResult", "FunctionChange", "SkippedResource", "StackOutput"):
        cls = getattr(sluice.deploy, name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
