"""`sluice deploy` / `sluice delete`: a SAM or CloudFormation template as functions on a server.

Theory of operation
-------------------
As `sam deploy` does, in five steps, each its own module::

    _deploy      deploy, delete, stack_functions: the steps below in order
    _template    YAML (CloudFormation short-form tags) or JSON → data
    _parameters  Parameters: overrides, Default, AllowedValues and the other checks
    _transform   SAM → CloudFormation with AWS's aws-sam-translator, offline
    _plan        conditions, physical names (_names), intrinsics (_intrinsics), functions
                 (_functions, code zipped by _package), skipped resources (_resources), outputs
    _stack       the Lambda API: find the stack's functions by tags, create, update, delete

Only `AWS::Lambda::Function` (Zip) and `AWS::Lambda::Url` on those functions are run (URLs
after their functions, outputs last since they may name a URL); every other resource is
reported as skipped with a reason. The stack lives on the server as tags on its functions,
the way CloudFormation tags what it creates, so there is no local state to lose. This
package prints nothing and knows nothing of the server's internals: the caller hands it a
boto3 Lambda client pointed at the endpoint, and it raises only DeployError / TemplateError
(botocore errors other than a refused create or update propagate).
"""

from sluice.deploy._deploy import delete, deploy, stack_functions
from sluice.deploy._results import (
    DeployResult,
    FunctionChange,
    SkippedResource,
    StackOutput,
    UrlChange,
)

__all__ = [
    "DeployResult",
    "FunctionChange",
    "SkippedResource",
    "StackOutput",
    "UrlChange",
    "delete",
    "deploy",
    "stack_functions",
]
