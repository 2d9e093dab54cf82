"""`sluice.protocol.function_url`: public surface, purity, URL ids, URLs and Host headers.

The other parts have their own files: test_function_url_event.py (request → event),
test_function_url_buffered.py, test_function_url_stream.py, test_function_url_cors.py.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import types
from pathlib import Path

import pytest

from sluice.protocol import function_url as fu
from sluice.protocol.function_url import (
    DEFAULT_HOST_SUFFIX,
    URL_ID_LENGTH,
    domain_name,
    function_url,
    new_url_id,
    parse_host,
)

PACKAGE_DIR = Path(fu.__file__).parent
MODULES = sorted(PACKAGE_DIR.glob("*.py"))
URL_ID = "j635an2edqmaoyggrqy4sritge0qlsqf"  # a real one (a 2023 us-east-2 event)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_all_is_the_public_surface():
    assert len(fu.__all__) == len(set(fu.__all__))
    assert [name for name in fu.__all__ if not hasattr(fu, name)] == []
    public = {
        name
        for name, value in vars(fu).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(fu.__all__)


def test_implementation_modules_are_private():
    names = [info.name for info in pkgutil.iter_modules([str(PACKAGE_DIR)])]
    assert names and all(name.startswith("_") for name in names)


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_sans_io(path):
    """No sockets or event loops, and nothing of sluice beyond errors and this package."""
    imports = _imports(path)
    forbidden = {"asyncio", "socket", "selectors", "ssl", "threading", "subprocess", "h11"}
    assert not {name.split(".")[0] for name in imports} & forbidden
    for name in imports:
        if name.startswith("sluice"):
            assert name == "sluice.errors" or name.startswith("sluice.protocol.function_url")


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) < 300


def test_errors_are_in_the_tree():
    from sluice.errors import CodecError, SluiceError

    assert issubclass(fu.MalformedResponse, CodecError)
    assert issubclass(fu.MalformedResponse, SluiceError)


# --- URL ids and URLs ---------------------------------------------------------------------


def test_new_url_id_has_aws_shape():
    ids = {new_url_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[a-z0-9]{32}", url_id) for url_id in ids)
    assert URL_ID_LENGTH == 32


def test_new_url_id_uses_the_whole_alphabet():
    seen = set("".join(new_url_id() for _ in range(200)))
    assert seen == set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_function_url():
    url = function_url(URL_ID, "eu-west-1", DEFAULT_HOST_SUFFIX, 3001)
    assert url == f"http://{URL_ID}.lambda-url.eu-west-1.localhost:3001/"


def test_function_url_fits_the_model():
    """`FunctionUrl` is 40 to 100 characters in the Lambda model."""
    url = function_url(URL_ID, "ap-southeast-2", DEFAULT_HOST_SUFFIX, 65535)
    assert 40 <= len(url) <= 100


def test_domain_name_is_the_aws_one():
    assert domain_name(URL_ID, "us-east-2") == f"{URL_ID}.lambda-url.us-east-2.on.aws"


@pytest.mark.parametrize(
    ("host", "suffix", "expected"),
    [
        (f"{URL_ID}.lambda-url.eu-west-1.localhost:3001", None, (URL_ID, "eu-west-1")),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost", None, (URL_ID, "eu-west-1")),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost.:3001", None, (URL_ID, "eu-west-1")),
        (f"{URL_ID.upper()}.LAMBDA-URL.EU-WEST-1.LOCALHOST", None, (URL_ID, "eu-west-1")),
        (f"{URL_ID}.lambda-url.us-east-2.on.aws", None, (URL_ID, "us-east-2")),
        (f"{URL_ID}.lambda-url.us-gov-west-1.on.aws", "on.aws", (URL_ID, "us-gov-west-1")),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost:3001", "localhost", (URL_ID, "eu-west-1")),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost:3001", "LOCALHOST", (URL_ID, "eu-west-1")),
        (f"  {URL_ID}.lambda-url.eu-west-1.localhost  ", None, (URL_ID, "eu-west-1")),
    ],
)
def test_parse_host(host, suffix, expected):
    assert parse_host(host, suffix) == expected


@pytest.mark.parametrize(
    ("host", "suffix"),
    [
        ("127.0.0.1:3001", None),
        ("localhost:3001", None),
        ("[::1]:3001", None),
        ("", None),
        (f"{URL_ID}.lambda-url.eu-west-1", None),  # no suffix
        (f"{URL_ID}.lambda-url.eu-west-1.", None),
        (f"{URL_ID}.lambda.eu-west-1.localhost", None),
        (f"{URL_ID}x.lambda-url.eu-west-1.localhost", None),  # 33 characters
        (f"{URL_ID[:-1]}.lambda-url.eu-west-1.localhost", None),  # 31 characters
        (f"{URL_ID[:-1]}_.lambda-url.eu-west-1.localhost", None),
        (f"{URL_ID}.lambda-url.europe.localhost", None),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost:30x1", None),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost:", None),
        (f"{URL_ID}.lambda-url.eu-west-1.localhost", "on.aws"),
        (f"{URL_ID}.lambda-url.eu-west-1.example.localhost", "localhost"),
        (f"x.{URL_ID}.lambda-url.eu-west-1.localhost", None),
    ],
)
def test_parse_host_refuses(host, suffix):
    assert parse_host(host, suffix) is None


def test_parse_host_reads_what_function_url_writes():
    url_id = new_url_id()
    url = function_url(url_id, "sa-east-1", DEFAULT_HOST_SUFFIX, 8080)
    host = url.removeprefix("http://").removesuffix("/")
    assert parse_host(host, DEFAULT_HOST_SUFFIX) == (url_id, "sa-east-1")


def test_every_module_is_imported_by_the_package():
    for info in pkgutil.iter_modules([str(PACKAGE_DIR)]):
        module = importlib.import_module(f"{fu.__name__}.{info.name}")
        assert module.__doc__, f"{info.name} needs a docstring (theory of operation)"
