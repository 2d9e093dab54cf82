"""The pattern's SDK client in Python: what index.mjs does, with boto3.

Against AWS:    python client.py
Against sluice: AWS_ENDPOINT_URL=http://127.0.0.1:3001 python client.py
Nothing else changes: boto3 reads AWS_ENDPOINT_URL itself.
"""

from __future__ import annotations

import base64
import sys

import boto3

REGION = "eu-west-1"
STACK = "lambda-streaming-sdk-sam"

lambda_client = boto3.client("lambda", region_name=REGION)


def find_function_arn(name: str) -> str | None:
    """Like the pattern: the first page only, the first name with the prefix."""
    prefix = f"{STACK}-{name}"
    pages = lambda_client.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 50}
    )
    for page in pages:
        for function in page["Functions"]:
            if function["FunctionName"].startswith(prefix):
                return function["FunctionArn"]
        return None
    return None


def run(name: str) -> bool:
    arn = find_function_arn(name)
    if arn is None:
        print(f"Could not find {STACK}-{name}. Have you deployed the stack yet?")
        return False
    response = lambda_client.invoke_with_response_stream(FunctionName=arn, LogType="Tail")
    for event in response["EventStream"]:
        print(event, flush=True)
        if "PayloadChunk" in event:
            print(event["PayloadChunk"]["Payload"].decode("utf-8"), flush=True)
        if "InvokeComplete" in event:
            complete = event["InvokeComplete"]
            if complete.get("ErrorCode"):
                print("Error Code:", complete["ErrorCode"])
                print("Details:", complete.get("ErrorDetails"))
            if complete.get("LogResult"):
                print("Logs:", base64.b64decode(complete["LogResult"]).decode("utf-8"))
    return True


if __name__ == "__main__":
    found = True
    for title, name in (
        ("Happy path streaming example", "HappyPath"),
        ("Midstream error example", "MidstreamError"),
        ("Timeout example", "Timeout"),
    ):
        print(title, flush=True)
        found = run(name) and found
    sys.exit(0 if found else 1)
