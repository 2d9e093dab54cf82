"""`sluice deploy` and `sluice delete` as a user runs them, in a project folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_sluice, unique

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Word:
    Type: String
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Environment:
        Variables:
          WORD: !Ref Word
  EchoFunctionUrl:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !GetAtt EchoFunction.Arn
      AuthType: NONE
Outputs:
  EchoArn:
    Description: the function
    Value: !GetAtt EchoFunction.Arn
  EchoUrl:
    Value: !GetAtt EchoFunctionUrl.FunctionUrl
"""

APP = "import os\n\ndef handler(event, context):\n    return os.environ['WORD']\n"


def sluice(
    project: Path, *args: str, url: str | None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_sluice(*args, url=url, cwd=project, stdin=stdin)


def project(tmp_path: Path, template: str = TEMPLATE) -> Path:
    (tmp_path / "template.yaml").write_text(template)
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def test_deploy_reports_functions_skipped_resources_and_outputs(server, lambda_client, tmp_path):
    stack = unique("clistack")
    folder = project(tmp_path)
    result = sluice(
        folder, "deploy", "--stack-name", stack, "--parameter-overrides", "Word=hi", url=server.url
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Deploying stack {stack} from template.yaml to {server.url}"
    created = next(line for line in lines if "EchoFunction " in line).split()
    assert created[0] == "created"
    name = created[2]
    assert name.startswith(f"{stack}-EchoFunction-")
    assert any(line.split()[:2] == ["created", "EchoFunctionUrl"] for line in lines)
    assert f"  EchoArn: arn:aws:lambda:us-east-1:000000000000:function:{name}" in lines
    assert "    the function" in lines
    url_id = lambda_client.get_function_url_config(FunctionName=name)["FunctionUrl"][7:39]
    # The deploy ran in the default region: the URL's host names it, as ARNs do.
    assert f"  EchoUrl: http://{url_id}.lambda-url.us-east-1.localhost:" in result.stdout
    assert lines[-1] == f"Successfully created/updated stack - {stack}"
    assert lambda_client.invoke(FunctionName=name)["Payload"].read() == b'"hi"'

    again = sluice(
        folder,
        "deploy",
        "--stack-name",
        stack,
        "--parameter-overrides",
        "ParameterKey=Word,ParameterValue=yo",
        url=server.url,
    )
    assert again.returncode == 0, again.stderr
    assert "updated  EchoFunction" in again.stdout and name in again.stdout
    assert lambda_client.invoke(FunctionName=name)["Payload"].read() == b'"yo"'

    declined = sluice(folder, "delete", "--stack-name", stack, url=server.url, stdin="n\n")
    assert declined.returncode == 0
    assert "Are you sure you want to delete the stack" in declined.stdout
    assert lambda_client.get_function(FunctionName=name)

    deleted = sluice(folder, "delete", "--stack-name", stack, url=server.url, stdin="y\n")
    assert deleted.returncode == 0, deleted.stderr
    assert name in deleted.stdout and "Deleted successfully" in deleted.stdout
    names = [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]
    assert name not in names

    nothing = sluice(folder, "delete", "--stack-name", stack, "--no-prompts", url=server.url)
    assert nothing.returncode == 0
    assert "has no functions" in nothing.stdout


def test_template_errors_name_the_resource_and_property(server, tmp_path):
    folder = project(tmp_path, TEMPLATE.replace("Handler: app.handler", "Handler: !Ref Nowhere"))
    result = sluice(
        folder,
        "deploy",
        "--stack-name",
        unique("bad"),
        "--parameter-overrides",
        "Word=x",
        url=server.url,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("sluice: Resource EchoFunction, property Handler")
    assert "Nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_parameter_is_named(server, tmp_path):
    result = sluice(project(tmp_path), "deploy", "--stack-name", unique("noparam"), url=server.url)
    assert result.returncode == 1
    assert "Word" in result.stderr


def test_missing_template_and_bad_overrides(server, tmp_path):
    missing = sluice(tmp_path, "deploy", "--stack-name", "s", url=server.url)
    assert missing.returncode == 1
    assert "template file template.yaml not found" in missing.stderr
    bad = sluice(
        project(tmp_path),
        "deploy",
        "--stack-name",
        "s",
        "--parameter-overrides",
        "Word",
        url=server.url,
    )
    assert bad.returncode == 2
    assert "'Word' is not KEY=VALUE" in bad.stderr


def test_deploy_without_a_server_says_how_to_start_one(tmp_path):
    result = sluice(
        project(tmp_path),
        "deploy",
        "--stack-name",
        "s",
        "--parameter-overrides",
        "Word=x",
        "--endpoint-url",
        "http://127.0.0.1:9",
        url=None,
    )
    assert result.returncode == 1
    assert "no Lambda endpoint answers at http://127.0.0.1:9" in result.stderr
    assert "sluice serve" in result.stderr
