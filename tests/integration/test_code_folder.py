"""A function's extracted code folder removed while the server runs (by hand, or by a tmp
cleaner when the data dir is under /tmp) is extracted again from the stored zip when the next
environment starts: the server caches what it runs per function version, and that cache must
not outlive the folder."""

from __future__ import annotations

import base64
import json
import shutil

from tests.conftest import create_function, unique

APP = """
import os


def handler(event, context):
    if event.get("exit"):
        os._exit(3)  # the environment dies: the next call starts a new one
    return {"ok": True}
"""


def _invoke(client, name: str, event: dict) -> dict:
    return client.invoke(FunctionName=name, Payload=json.dumps(event).encode())


def test_a_removed_code_folder_is_extracted_again_for_the_next_environment(lambda_client, server):
    name = unique("code-folder")
    created = create_function(lambda_client, name, {"app.py": APP})
    folder = server.data_dir / "code" / base64.b64decode(created["CodeSha256"]).hex()
    assert json.load(_invoke(lambda_client, name, {})["Payload"]) == {"ok": True}
    assert _invoke(lambda_client, name, {"exit": True})["FunctionError"] == "Unhandled"

    shutil.rmtree(folder)
    answer = _invoke(lambda_client, name, {})

    assert "FunctionError" not in answer
    assert json.load(answer["Payload"]) == {"ok": True}
    assert (folder / "app.py").is_file()
