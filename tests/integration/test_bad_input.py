"""Bad input, table-driven: every Lambda API operation sluice serves, sent malformed.

`BAD` is the one table of refused requests: invalid JSON, wrong types, unknown and missing
members, oversized bodies and heads, invalid names, ARNs and qualifiers, unknown runtimes,
handlers that leave the code folder, and hostile zips. Each row names the operation, how the
request is sent (raw `http.client` or a raw socket for what boto3 would refuse to send, boto3
where it can send the bad value) and the answer: status, AWS error code (`x-amzn-ErrorType`)
and message. `test_bad_input` sends one row to a real `sluice serve`, checks the answer's
format (`{"Type": "User", "<message member>": ...}`, the member named as botocore's Lambda
model names it; botocore parses the same code and message), then that the server still
answers and that nothing was stored: the functions, their configuration, code, tags and URLs,
and the code folder in the data directory are exactly as before.

Rows marked `xfail(strict=True)` are bugs outside the files this table's author could change;
each reason says where the bug lives. When one is fixed its row starts passing, and strict
xfail turns that into a failure: drop the mark.

Messages are AWS's where AWS's are recorded (the source is cited where sluice emits them);
the others are sluice's own, in AWS's format.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import re
import socket
import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import REGION, RunningServer, client_for, make_zip, start_server

ACCOUNT = "000000000000"
RAW_REGION = "us-east-1"  # the region of an unsigned request
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
SEED = "seed"  # a function with tags and a URL; refused changes must leave it as it is
BARE = "bare"  # a function without a URL
HANDLER = {"app.py": "def handler(event, context):\n    return event\n"}
MODEL = botocore.session.get_session().get_service_model("lambda")
MAX_HEAD = 1024 * 1024  # sluice's limit on the request line and headers together
SYNC_LIMIT = 6_291_456
ASYNC_LIMIT = 1_048_576
ZIP_REQUEST_LIMIT = 69_905_067

UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
UNZIPPED_SIZE = "Unzipped size must be smaller than 262144000 bytes"
BAD_JSON = re.compile(r"Could not parse request body into json: .+")
BAD_PAYLOAD = re.compile(r"Could not parse request body into json: Could not parse payload .+")
PATH_NAME = (
    r"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)"
    r"(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
CREATE_NAME = (
    "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ "
    "and have length less than or equal to 64"
)
QUALIFIER = "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
URL_QUALIFIER = r"Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)"
TAGGABLE = (
    "Member must satisfy regular expression pattern: "
    + MODEL.shape_for("TaggableResource").metadata["pattern"]
)
TAG_TEXT = (
    "Member must satisfy regular expression pattern: "
    + MODEL.shape_for("TagKey").metadata["pattern"]
)
ENV_KEY = (
    "1 validation error detected: Value at 'environment.variables' failed to satisfy "
    "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
    "pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
)
ENV_PREFIX = (
    "Lambda was unable to configure your environment variables because the environment "
    "variables you have provided "
)
NO_URL_FUNCTION = "Function does not exist"
NO_RESOURCE = "The resource you requested does not exist."


def violation(value: str, member: str, constraint: str) -> str:
    """AWS's constraint message; `value` as shown (`'x'`, or `null`)."""
    return (
        f"1 validation error detected: Value {value} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def not_found(name: str, region: str = REGION, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return f"Function not found: {arn}:{qualifier}" if qualifier else f"Function not found: {arn}"


def too_large(limit: int, operation: str = "InvokeFunction") -> str:
    return f"Request must be smaller than {limit} bytes for the {operation} operation"


# -- the server under test -----------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What came back: `status` None when the connection ended without an answer."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    sdk_error: tuple[str, str] | None = None  # botocore's parsed (Code, Message)


@dataclass
class Env:
    server: RunningServer
    client: Any  # boto3, validating parameters as a user's client does
    loose: Any  # botocore without parameter validation, for values boto3 would refuse
    last_response: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)


def _get(server: RunningServer, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def stored_state(server: RunningServer) -> dict[str, Any]:
    """Everything a refused request must leave alone, as the API and the data dir show it."""
    status, listing = _get(server, "/2015-03-31/functions")
    assert status == 200, listing
    names = sorted(item["FunctionName"] for item in listing["Functions"])
    return {
        "names": names,
        "functions": {name: _get(server, f"/2015-03-31/functions/{name}") for name in names},
        "urls": {name: _get(server, f"/2021-10-31/functions/{name}/url") for name in names},
        "code": sorted(path.name for path in (server.data_dir / "code").iterdir()),
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    server = start_server(tmp_path_factory.mktemp("bad-input"), "--idle-timeout", "10")
    try:
        client = client_for(server.url)
        loose = botocore.session.get_session().create_client(
            "lambda",
            endpoint_url=server.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        )
        setup = Env(server, client, loose)

        def keep(response_dict: dict[str, Any], **_: Any) -> None:
            setup.last_response.clear()
            setup.last_response.update(response_dict)

        for each in (client, loose):
            each.meta.events.register("before-parse.lambda", keep)
        for name, tags in ((SEED, {"team": "a"}), (BARE, {})):
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": make_zip(HANDLER)},
                Tags=tags,
            )
        client.create_function_url_config(FunctionName=SEED, AuthType="NONE")
        setup.baseline = stored_state(server)
        yield setup
    finally:
        assert server.stop() == 0


# -- how a row is sent ---------------------------------------------------------------------

Send = Callable[[Env], Reply]
Body = bytes | str | dict[str, Any] | list[Any] | Callable[[], bytes] | None


def _encode(body: Body) -> bytes | None:
    if callable(body):
        body = body()
    if isinstance(body, dict | list):
        return json.dumps(body).encode()
    if isinstance(body, str):
        return body.encode()
    return body


def raw(method: str, path: str, body: Body = None, headers: dict[str, str] | None = None) -> Send:
    """One request through http.client, sent exactly as given (built when sent)."""

    def send(env: Env) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=60)
        try:
            conn.request(method, path, body=_encode(body), headers=headers or {})
            response = conn.getresponse()
            lowered = {name.lower(): value for name, value in response.getheaders()}
            return Reply(response.status, lowered, response.read())
        finally:
            conn.close()

    return send


def sdk(operation: str, params: dict[str, Any] | Callable[[], dict[str, Any]], *, loose=False):
    """One call through boto3 (`loose`: without botocore's parameter validation)."""

    def send(env: Env) -> Reply:
        client = env.loose if loose else env.client
        env.last_response.clear()
        try:
            getattr(client, operation)(**(params() if callable(params) else params))
        except ClientError as exc:
            error = exc.response["Error"]
            sdk_error = (error["Code"], error["Message"])
        else:
            sdk_error = None
        got = env.last_response
        lowered = {name.lower(): value for name, value in got["headers"].items()}
        body = got["body"] if isinstance(got["body"], bytes) else b""
        return Reply(got["status_code"], lowered, body, sdk_error)

    return send


def wire(data: bytes | Callable[[], bytes], timeout: float = 10) -> Send:
    """Bytes straight onto a socket, for requests that are not well-formed HTTP."""

    def send(env: Env) -> Reply:
        with socket.create_connection(("127.0.0.1", env.server.port), timeout=timeout) as sock:
            # The server may answer and close before reading it all; the answer is still there.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data() if callable(data) else data)
            response = http.client.HTTPResponse(sock)
            try:
                response.begin()
            except (http.client.RemoteDisconnected, ConnectionResetError, TimeoutError):
                return Reply(None)
            lowered = {name.lower(): value for name, value in response.getheaders()}
            return Reply(response.status, lowered, response.read())

    return send


# -- request bodies and code ---------------------------------------------------------------

DROP = object()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_doc(name: str, **override: Any) -> dict[str, Any]:
    """A CreateFunction body that is valid but for `override` (DROP removes a member)."""
    doc: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": b64(make_zip(HANDLER))},
    }
    for key, value in override.items():
        if value is DROP:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def zip_of(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _patch_first(data: bytes, local: int, central: int, value: int) -> bytes:
    """Overwrite one field of the first member in its local and central headers."""
    patched = bytearray(data)
    directory = patched.find(b"PK\x01\x02")
    width = "<H" if local == 6 else "<I"
    struct.pack_into(width, patched, local, value)
    struct.pack_into(width, patched, directory + central, value)
    return bytes(patched)


def symlink_zip() -> bytes:
    link = zipfile.ZipInfo("app.py")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return zip_of((link, b"/etc/passwd"))


def duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", b"1")
        archive.writestr("app.py", b"2")
    return buffer.getvalue()


def ratio_bomb() -> bytes:
    """32 MiB of zeros in ~32 KiB: a compression ratio no deployment package has."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros", "w") as member,
    ):
        for _ in range(32):
            member.write(bytes(1 << 20))
    return buffer.getvalue()


def declared_bomb() -> bytes:
    """A one-byte member whose headers claim more than Lambda's 250 MiB unzipped."""
    return _patch_first(zip_of(("app.py", b"x")), 22, 24, 262_144_001)


def lying_small() -> bytes:
    """Headers claim 10 bytes for a 10,000-byte member."""
    return _patch_first(zip_of(("app.py", b"x" * 10_000)), 22, 24, 10)


def encrypted_zip() -> bytes:
    return _patch_first(zip_of(("app.py", b"secret")), 6, 8, 0x1)


def many_entries() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(20_001):
            archive.writestr(f"f{index}", b"")
    return buffer.getvalue()


def head_over_limit(kind: str) -> bytes:
    """An unfinished request head of exactly 1 MiB + 1 byte: the server refuses it only once
    it has read every byte, so it closes with nothing unread (no RST eating the answer)."""
    if kind == "target":
        head = b"GET /"
    else:
        head = b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
        if kind == "many-headers":
            line = b"X-Many: 0123456789abcdef\r\n"
            head += line * ((MAX_HEAD - len(head) - 64) // len(line))
        head += b"X-Last: "
    return head + b"a" * (MAX_HEAD + 1 - len(head))


# -- the table ----------------------------------------------------------------------------

# (status, x-amzn-ErrorType) of each answer; None as the code: refused as HTTP, before any
# operation (the HTTP layer's status, a plain-text body), and a None status: no answer at all.
V = (400, "ValidationException")
IRC = (400, "InvalidRequestContentException")
IPV = (400, "InvalidParameterValueException")
RNF = (404, "ResourceNotFoundException")
CONFLICT = (409, "ResourceConflictException")
TOO_LARGE = (413, "RequestEntityTooLargeException")
HTTP_400 = (400, None)
HTTP_431 = (431, None)


@dataclass(frozen=True)
class Case:
    operation: str
    send: Send
    status: int | None
    code: str | None
    message: str | re.Pattern[str]  # exact, or a pattern the whole message must match
    creates: str | None = None  # a function name the request tried to create


def row(operation, label, send, answer, message, *, creates=None, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    case = Case(operation, send, *answer, message, creates)
    return pytest.param(case, id=f"{operation}-{label}", marks=marks)


def json_error(detail: str) -> str:
    return f"Could not parse request body into json: {detail}"


def create_raw(label, answer, message, *, xfail=None, **override):
    """CreateFunction through http.client, valid but for `override`."""
    name = f"bad-{label}"
    send = raw("POST", FN, lambda: _encode(create_doc(name, **override)))
    return row("CreateFunction", label, send, answer, message, creates=name, xfail=xfail)


def create_sdk(label, answer, message, *, loose=False, code=None, **config):
    """CreateFunction through boto3, valid but for `config` (and `code`, the zip's builder)."""
    name = config.pop("FunctionName", f"bad-{label}")

    def params() -> dict[str, Any]:
        zipped = code() if code else make_zip(HANDLER)
        return {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "app.handler",
            "Code": {"ZipFile": zipped},
            **config,
        }

    send = sdk("create_function", params, loose=loose)
    creates = None if name == SEED else name  # SEED exists: the row must leave it as it is
    return row("CreateFunction", label, send, answer, message, creates=creates)


def bad_zip(label: str, build: Callable[[], bytes], message: str = UNZIP):
    return create_sdk(label, IPV, message, code=build)


def code_sdk(label, answer, message, **params):
    """UpdateFunctionCode of SEED through boto3; a callable `ZipFile` is built when sent."""

    def resolved() -> dict[str, Any]:
        zipped = params.get("ZipFile")
        return {
            "FunctionName": SEED,
            **params,
            **({"ZipFile": zipped()} if callable(zipped) else {}),
        }

    return row("UpdateFunctionCode", label, sdk("update_function_code", resolved), answer, message)


def config_sdk(label, answer, message, **params):
    """UpdateFunctionConfiguration of SEED through boto3."""
    send = sdk("update_function_configuration", {"FunctionName": SEED, **params})
    return row("UpdateFunctionConfiguration", label, send, answer, message)


FN = "/2015-03-31/functions"
SEED_PATH = f"{FN}/{SEED}"
SEED_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{SEED}"
RAW_SEED_ARN = f"arn:aws:lambda:{RAW_REGION}:{ACCOUNT}:function:{SEED}"
TAGS = f"/2017-03-31/tags/{RAW_SEED_ARN}"
URL = f"/2021-10-31/functions/{SEED}/url"
BARE_URL = f"/2021-10-31/functions/{BARE}/url"
INVOKE = f"{SEED_PATH}/invocations"
STREAM = f"/2021-11-15/functions/{SEED}/response-streaming-invocations"
NESTED = "[" * 100_000
EXPECTED_OBJECT = json_error("expected an object")
ENV_NOT_MAP = json_error("Environment.Variables must map strings to strings")
TAGS_NOT_MAP = json_error("Tags must map strings to strings")
ARCHITECTURES = (
    "1 validation error detected: Value at 'architectures' failed to satisfy constraint: "
    "Member must satisfy enum value set: [x86_64, arm64]"
)
OUTSIDE = "is not valid: it must name a file inside the code folder"
RESERVED = (
    f"{ENV_PREFIX}contains reserved keys that are currently not supported for modification. "
    "Reserved keys used in this request: "
)
NUL_ENV = (
    f"{ENV_PREFIX}contain a NUL character, which sluice cannot pass to a process. "
    "Variables with one: "
)
BIG_ENV = {"BIG": "v" * 4094}  # 3 + 4094 bytes


def http_request(head: str, body: str = "") -> bytes:
    return f"{head}\r\nHost: x\r\n".encode() + body.encode()


BAD = [
    # CreateFunction: bodies that are not the JSON it needs ---------------------------------
    row("CreateFunction", "invalid-json", raw("POST", FN, '{"FunctionName": '), IRC, BAD_JSON),
    row("CreateFunction", "json-array", raw("POST", FN, '["x"]'), IRC, EXPECTED_OBJECT),
    row("CreateFunction", "json-null", raw("POST", FN, "null"), IRC, EXPECTED_OBJECT),
    row("CreateFunction", "not-utf8", raw("POST", FN, b'{"a": "\xff\xfe"}'), IRC, BAD_JSON),
    row(
        "CreateFunction",
        "deep-nesting",
        raw("POST", FN, NESTED),
        IRC,
        BAD_JSON,
    ),
    row(
        "CreateFunction",
        "empty-body",
        raw("POST", FN, b""),
        V,
        violation("null", "functionName", "Member must not be null"),
    ),
    # ... members of the wrong JSON type
    create_raw("name-number", IRC, json_error("functionName must be a string"), FunctionName=5),
    create_raw("timeout-string", IRC, json_error("timeout must be an integer"), Timeout="10"),
    create_raw("timeout-boolean", IRC, json_error("timeout must be an integer"), Timeout=True),
    create_raw("memory-float", IRC, json_error("memorySize must be an integer"), MemorySize=1.5),
    create_raw("runtime-list", IRC, json_error("runtime must be a string"), Runtime=["x"]),
    create_raw("handler-number", IRC, json_error("handler must be a string"), Handler=5),
    create_raw("role-object", IRC, json_error("role must be a string"), Role={"Arn": ROLE}),
    create_raw(
        "description-number", IRC, json_error("description must be a string"), Description=5
    ),
    create_raw("code-string", IRC, json_error("Code must be an object"), Code="UEsFBg=="),
    create_raw(
        "zipfile-number", IRC, json_error("ZipFile must be a base64 string"), Code={"ZipFile": 5}
    ),
    create_raw(
        "zipfile-not-base64",
        IRC,
        json_error("ZipFile is not valid base64"),
        Code={"ZipFile": "!!not base64!!"},
    ),
    create_raw("environment-string", IRC, ENV_NOT_MAP, Environment="A=1"),
    create_raw("environment-value-number", IRC, ENV_NOT_MAP, Environment={"Variables": {"N": 1}}),
    create_raw("tags-list", IRC, TAGS_NOT_MAP, Tags=[{"Key": "a", "Value": "b"}]),
    create_raw(
        "architectures-string",
        IRC,
        json_error("architectures must be a list of strings"),
        Architectures="x86_64",
    ),
    create_raw(
        "package-type-number", IRC, json_error("packageType must be a string"), PackageType=1
    ),
    # ... unknown members are ignored, as AWS ignores them: they neither stand in for a real
    # member (names are case-sensitive) nor hide another member's error
    create_raw(
        "unknown-lowercase-name",
        V,
        violation("null", "functionName", "Member must not be null"),
        FunctionName=DROP,
        functionName="bad-unknown-lowercase-name",
    ),
    create_raw(
        "unknown-member-beside-bad-timeout",
        V,
        violation("'0'", "timeout", "Member must have value greater than or equal to 1"),
        Timeout=0,
        TimeoutSeconds=3,
        Bogus={"nested": [1, 2]},
    ),
    # ... missing members
    create_raw(
        "missing-name",
        V,
        violation("null", "functionName", "Member must not be null"),
        FunctionName=DROP,
    ),
    create_raw("missing-role", V, violation("null", "role", "Member must not be null"), Role=DROP),
    create_raw("missing-code", IRC, json_error("Code must be an object"), Code=DROP),
    create_raw(
        "missing-runtime",
        IPV,
        "Runtime must be set for a function whose PackageType is Zip",
        Runtime=DROP,
    ),
    create_raw(
        "missing-handler",
        IPV,
        "Handler must be set for a function whose PackageType is Zip",
        Handler=DROP,
    ),
    create_raw(
        "zipfile-empty", IPV, "Please provide a source for function code.", Code={"ZipFile": ""}
    ),
    create_sdk(
        "code-from-s3",
        IPV,
        "sluice accepts function code only as ZipFile",
        Code={"S3Bucket": "bucket", "S3Key": "code.zip"},
    ),
    # ... names
    create_sdk(
        "name-invalid-characters",
        V,
        violation("'bad name!'", "functionName", CREATE_NAME),
        FunctionName="bad name!",
    ),
    create_sdk(
        "name-65-characters",
        V,
        violation(f"'{'x' * 65}'", "functionName", CREATE_NAME),
        FunctionName="x" * 65,
    ),
    create_raw("name-empty", V, violation("''", "functionName", CREATE_NAME), FunctionName=""),
    create_sdk(
        "name-taken",
        CONFLICT,
        f"Function already exist: {SEED}",
        FunctionName=SEED,
        code=lambda: make_zip({"app.py": "def handler(event, context):\n    return 2\n"}),
    ),
    # ... runtimes and handlers
    create_sdk(
        "runtime-unknown",
        V,
        re.compile(
            r"1 validation error detected: Value 'cobol85' at 'runtime' failed to satisfy "
            r"constraint: Member must satisfy enum value set: \[.*python3\.12.*\]"
        ),
        Runtime="cobol85",
    ),
    create_sdk(
        "runtime-not-run-by-sluice",
        IPV,
        re.compile(
            r"The runtime parameter of java21 is not supported by sluice\. "
            r"Supported runtimes: .*python3\.12.*"
        ),
        Runtime="java21",
    ),
    create_sdk(
        "handler-dotdot", IPV, f"Handler '../evil.handler' {OUTSIDE}", Handler="../evil.handler"
    ),
    create_sdk(
        "handler-inner-dotdot", IPV, f"Handler 'a/../../x.h' {OUTSIDE}", Handler="a/../../x.h"
    ),
    create_sdk("handler-backslash-dotdot", IPV, f"Handler '..\\x.h' {OUTSIDE}", Handler="..\\x.h"),
    create_sdk(
        "handler-absolute", IPV, f"Handler '/etc/passwd.x' {OUTSIDE}", Handler="/etc/passwd.x"
    ),
    create_sdk(
        "handler-nul",
        IPV,
        "Handler 'app.hand\\x00ler' is not valid: it must not contain a NUL character",
        Handler="app.hand\x00ler",
    ),
    create_sdk(
        "handler-space",
        V,
        violation("'app x'", "handler", r"Member must satisfy regular expression pattern: [^\s]+"),
        Handler="app x",
    ),
    create_sdk(
        "handler-129-characters",
        V,
        violation(f"'{'h' * 129}'", "handler", "Member must have length less than or equal to 128"),
        Handler="h" * 129,
    ),
    # ... other members outside the model's constraints
    create_sdk(
        "role-not-an-arn",
        V,
        violation(
            "'not-a-role'",
            "role",
            r"Member must satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        ),
        Role="not-a-role",
    ),
    create_sdk(
        "timeout-901",
        V,
        violation("'901'", "timeout", "Member must have value less than or equal to 900"),
        Timeout=901,
    ),
    create_sdk(
        "timeout-0",
        V,
        violation("'0'", "timeout", "Member must have value greater than or equal to 1"),
        Timeout=0,
        loose=True,
    ),
    create_sdk(
        "memory-20000",
        V,
        violation("'20000'", "memorySize", "Member must have value less than or equal to 10240"),
        MemorySize=20000,
    ),
    create_sdk(
        "memory-64",
        V,
        violation("'64'", "memorySize", "Member must have value greater than or equal to 128"),
        MemorySize=64,
        loose=True,
    ),
    create_sdk(
        "description-257-characters",
        V,
        violation(
            f"'{'d' * 257}'", "description", "Member must have length less than or equal to 256"
        ),
        Description="d" * 257,
    ),
    create_sdk(
        "environment-reserved-key",
        IPV,
        f"{RESERVED}AWS_REGION",
        Environment={"Variables": {"AWS_REGION": "x"}},
    ),
    create_sdk("environment-key-pattern", V, ENV_KEY, Environment={"Variables": {"1ST": "x"}}),
    create_sdk("environment-key-one-letter", V, ENV_KEY, Environment={"Variables": {"A": "x"}}),
    create_sdk(
        "environment-value-nul",
        IPV,
        f"{NUL_ENV}GREETING",
        Environment={"Variables": {"GREETING": "hi\x00there"}},
    ),
    create_sdk(
        "environment-over-4kb",
        IPV,
        f"{ENV_PREFIX}exceeded the 4KB limit. String measured: 4097",
        Environment={"Variables": BIG_ENV},
    ),
    create_sdk(
        "tag-key-129-characters",
        V,
        violation(f"'{'k' * 129}'", "tags", "Member must have length between 1 and 128"),
        Tags={"k" * 129: "v"},
    ),
    create_sdk(
        "tag-value-257-characters",
        V,
        violation(f"'{'v' * 257}'", "tags", "Member must have length less than or equal to 256"),
        Tags={"k": "v" * 257},
    ),
    create_sdk("tag-key-pattern", V, violation("'<b>'", "tags", TAG_TEXT), Tags={"<b>": "v"}),
    create_sdk("architecture-unknown", V, ARCHITECTURES, Architectures=["sparc"]),
    create_sdk("architectures-two", V, ARCHITECTURES, Architectures=["x86_64", "arm64"]),
    create_sdk(
        "package-type-image",
        IPV,
        "sluice runs Zip functions only; PackageType Image is not supported",
        PackageType="Image",
    ),
    create_sdk(
        "package-type-unknown",
        V,
        violation("'Jar'", "packageType", "Member must satisfy enum value set: [Zip, Image]"),
        PackageType="Jar",
    ),
    # ... code that is not a safe, readable zip
    bad_zip("zip-not-a-zip", lambda: b"not a zip"),
    bad_zip("zip-truncated", lambda: make_zip(HANDLER)[:-30]),
    bad_zip("zip-entry-dotdot", lambda: zip_of(("../escape.py", b"x"))),
    bad_zip("zip-entry-inner-dotdot", lambda: zip_of(("lib/../../escape.py", b"x"))),
    bad_zip("zip-entry-backslash-dotdot", lambda: zip_of(("..\\escape.py", b"x"))),
    bad_zip("zip-entry-absolute", lambda: zip_of(("/etc/cron.d/evil", b"x"))),
    bad_zip("zip-entry-drive-letter", lambda: zip_of(("C:/evil.py", b"x"))),
    bad_zip("zip-symlink", symlink_zip),
    bad_zip("zip-duplicate-entry", duplicate_zip),
    bad_zip("zip-encrypted", encrypted_zip),
    bad_zip("zip-size-header-lies", lying_small),
    bad_zip("zip-20001-entries", many_entries),
    bad_zip("zip-bomb-ratio", ratio_bomb),
    bad_zip("zip-bomb-declared-size", declared_bomb, UNZIPPED_SIZE),
    # ... oversized bodies
    row(
        "CreateFunction",
        "zip-over-50mb",
        raw("POST", FN, lambda: _encode(create_doc("bad-zip", Code={"ZipFile": "A" * 69_905_072}))),
        TOO_LARGE,
        too_large(ZIP_REQUEST_LIMIT, "CreateFunction"),
        creates="bad-zip",
    ),
    row(
        "CreateFunction",
        "body-over-the-limit",
        raw("POST", FN, lambda: b" " * (ZIP_REQUEST_LIMIT + 1)),
        TOO_LARGE,
        too_large(ZIP_REQUEST_LIMIT, "CreateFunction"),
    ),
    # ListFunctions ---------------------------------------------------------------------------
    row(
        "ListFunctions",
        "max-items-0",
        sdk("list_functions", {"MaxItems": 0}, loose=True),
        V,
        violation("'0'", "maxItems", "Member must have value greater than or equal to 1"),
    ),
    row(
        "ListFunctions",
        "max-items-10001",
        sdk("list_functions", {"MaxItems": 10001}),
        V,
        violation("'10001'", "maxItems", "Member must have value less than or equal to 10000"),
    ),
    row(
        "ListFunctions",
        "max-items-not-a-number",
        raw("GET", f"{FN}?MaxItems=ten"),
        V,
        "MaxItems must be an integer",
    ),
    row(
        "ListFunctions",
        "marker-garbage",
        sdk("list_functions", {"Marker": "!!!"}),
        IPV,
        "Invalid marker",
    ),
    row(
        "ListFunctions", "marker-bad-percent", raw("GET", f"{FN}?Marker=%ZZ"), IPV, "Invalid marker"
    ),
    row(
        "ListFunctions",
        "function-version-unknown",
        sdk("list_functions", {"FunctionVersion": "7"}),
        V,
        violation("'7'", "functionVersion", "Member must satisfy enum value set: [ALL]"),
    ),
    # GetFunction: names, ARNs, qualifiers, percent-encoding ---------------------------------
    row(
        "GetFunction",
        "name-invalid-characters",
        raw("GET", f"{FN}/bad!name"),
        V,
        violation("'bad!name'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "name-65-characters",
        sdk("get_function", {"FunctionName": "n" * 65}),
        V,
        violation(f"'{'n' * 65}'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "arn-over-256-characters",
        sdk("get_function", {"FunctionName": f"{SEED_ARN}{'n' * 220}"}),
        V,
        violation(f"'{SEED_ARN}{'n' * 220}'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "arn-too-many-parts",
        sdk("get_function", {"FunctionName": f"{SEED_ARN}:1:2"}),
        V,
        violation(f"'{SEED_ARN}:1:2'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "arn-not-lambda",
        sdk("get_function", {"FunctionName": f"arn:aws:s3:::{SEED}"}),
        V,
        violation(f"'arn:aws:s3:::{SEED}'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "arn-other-account",
        sdk("get_function", {"FunctionName": f"arn:aws:lambda:{REGION}:111111111111:function:x"}),
        RNF,
        re.compile(rf"Function not found: arn:aws:lambda:{REGION}:\d{{12}}:function:x"),
    ),
    row(
        "GetFunction",
        "percent-encoding-invalid",
        raw("GET", f"{FN}/%ZZ"),
        V,
        violation("'%ZZ'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "percent-encoding-not-utf8",
        raw("GET", f"{FN}/%C3%28"),
        V,
        violation("'\ufffd('", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "percent-encoded-slash",
        raw("GET", f"{FN}/a%2F..%2Fb"),
        V,
        violation("'a/../b'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "percent-encoded-nul",
        raw("GET", f"{FN}/{SEED}%00"),
        V,
        violation(f"'{SEED}\x00'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunction",
        "unknown-function",
        sdk("get_function", {"FunctionName": "never-created"}),
        RNF,
        not_found("never-created"),
    ),
    row(
        "GetFunction",
        "qualifier-unknown-version",
        sdk("get_function", {"FunctionName": SEED, "Qualifier": "7"}),
        RNF,
        not_found(SEED, qualifier="7"),
    ),
    row(
        "GetFunction",
        "qualifier-pattern",
        raw("GET", f"{SEED_PATH}?Qualifier=bad!"),
        V,
        violation("'bad!'", "qualifier", QUALIFIER),
    ),
    row(
        "GetFunction",
        "qualifier-129-characters",
        raw("GET", f"{SEED_PATH}?Qualifier={'q' * 129}"),
        V,
        violation(f"'{'q' * 129}'", "qualifier", QUALIFIER),
    ),
    # GetFunctionConfiguration -----------------------------------------------------------------
    row(
        "GetFunctionConfiguration",
        "name-invalid-characters",
        sdk("get_function_configuration", {"FunctionName": "bad name"}),
        V,
        violation("'bad name'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunctionConfiguration",
        "qualifier-nul",
        raw("GET", f"{SEED_PATH}/configuration?Qualifier=%00"),
        V,
        violation("'\x00'", "qualifier", QUALIFIER),
    ),
    row(
        "GetFunctionConfiguration",
        "unknown-function",
        raw("GET", f"{FN}/never-created/configuration"),
        RNF,
        not_found("never-created", RAW_REGION),
    ),
    # DeleteFunction: refused, and the function is still there -------------------------------
    row(
        "DeleteFunction",
        "name-invalid-characters",
        sdk("delete_function", {"FunctionName": "bad*name"}),
        V,
        violation("'bad*name'", "functionName", PATH_NAME),
    ),
    row(
        "DeleteFunction",
        "qualifier-unknown-version",
        sdk("delete_function", {"FunctionName": SEED, "Qualifier": "3"}),
        RNF,
        not_found(SEED, qualifier="3"),
    ),
    row(
        "DeleteFunction",
        "unknown-function",
        sdk("delete_function", {"FunctionName": "never-created"}),
        RNF,
        not_found("never-created"),
    ),
    # UpdateFunctionConfiguration: refused, and the function keeps its configuration ---------
    row(
        "UpdateFunctionConfiguration",
        "invalid-json",
        raw("PUT", f"{SEED_PATH}/configuration", "{Timeout: 5}"),
        IRC,
        BAD_JSON,
    ),
    row(
        "UpdateFunctionConfiguration",
        "json-string",
        raw("PUT", f"{SEED_PATH}/configuration", '"Timeout"'),
        IRC,
        EXPECTED_OBJECT,
    ),
    row(
        "UpdateFunctionConfiguration",
        "timeout-string",
        raw("PUT", f"{SEED_PATH}/configuration", {"Timeout": "5"}),
        IRC,
        json_error("timeout must be an integer"),
    ),
    row(
        "UpdateFunctionConfiguration",
        "environment-list",
        raw("PUT", f"{SEED_PATH}/configuration", {"Environment": [{"A": "1"}]}),
        IRC,
        ENV_NOT_MAP,
    ),
    row(
        "UpdateFunctionConfiguration",
        "unknown-member-beside-bad-memory",
        raw("PUT", f"{SEED_PATH}/configuration", {"Memory": 256, "MemorySize": 100000}),
        V,
        violation("'100000'", "memorySize", "Member must have value less than or equal to 10240"),
    ),
    config_sdk(
        "timeout-901",
        V,
        violation("'901'", "timeout", "Member must have value less than or equal to 900"),
        Timeout=901,
    ),
    config_sdk(
        "runtime-unknown",
        V,
        re.compile(r"1 validation error detected: Value 'python2\.0' at 'runtime' .+"),
        Runtime="python2.0",
    ),
    config_sdk("handler-absolute", IPV, f"Handler '/tmp/x.h' {OUTSIDE}", Handler="/tmp/x.h"),
    config_sdk("handler-dotdot", IPV, f"Handler '../../x.h' {OUTSIDE}", Handler="../../x.h"),
    config_sdk(
        "role-not-an-arn",
        V,
        re.compile(r"1 validation error detected: Value 'admin' at 'role' .+"),
        Role="admin",
    ),
    config_sdk(
        "environment-reserved-key",
        IPV,
        f"{RESERVED}AWS_LAMBDA_FUNCTION_NAME",
        Environment={"Variables": {"AWS_LAMBDA_FUNCTION_NAME": "other"}},
    ),
    config_sdk(
        "environment-value-nul",
        IPV,
        f"{NUL_ENV}PATHS",
        Environment={"Variables": {"PATHS": "a\x00b"}},
    ),
    row(
        "UpdateFunctionConfiguration",
        "unknown-function",
        sdk("update_function_configuration", {"FunctionName": "never-created", "Timeout": 5}),
        RNF,
        not_found("never-created"),
    ),
    row(
        "UpdateFunctionConfiguration",
        "qualifier-in-name",
        sdk("update_function_configuration", {"FunctionName": f"{SEED}:7", "Timeout": 5}),
        RNF,
        not_found(SEED, qualifier="7"),
    ),
    # UpdateFunctionCode: refused, and the function keeps its code ---------------------------
    row(
        "UpdateFunctionCode",
        "invalid-json",
        raw("PUT", f"{SEED_PATH}/code", b"{\x00}"),
        IRC,
        BAD_JSON,
    ),
    row(
        "UpdateFunctionCode",
        "no-code",
        raw("PUT", f"{SEED_PATH}/code", {}),
        IPV,
        "Please provide a source for function code.",
    ),
    row(
        "UpdateFunctionCode",
        "zipfile-number",
        raw("PUT", f"{SEED_PATH}/code", {"ZipFile": 1}),
        IRC,
        json_error("ZipFile must be a base64 string"),
    ),
    row(
        "UpdateFunctionCode",
        "zipfile-not-base64",
        raw("PUT", f"{SEED_PATH}/code", {"ZipFile": "PK\x03\x04"}),
        IRC,
        json_error("ZipFile is not valid base64"),
    ),
    code_sdk(
        "code-from-s3",
        IPV,
        "sluice accepts function code only as ZipFile",
        S3Bucket="bucket",
        S3Key="k",
    ),
    code_sdk(
        "architecture-unknown",
        V,
        ARCHITECTURES,
        ZipFile=lambda: make_zip(HANDLER),
        Architectures=["ppc64"],
    ),
    code_sdk("zip-not-a-zip", IPV, UNZIP, ZipFile=b"PK\x05\x06broken"),
    code_sdk("zip-entry-dotdot", IPV, UNZIP, ZipFile=lambda: zip_of(("../../x", b"x"))),
    code_sdk("zip-symlink", IPV, UNZIP, ZipFile=symlink_zip),
    code_sdk("zip-bomb-ratio", IPV, UNZIP, ZipFile=ratio_bomb),
    code_sdk("zip-bomb-declared-size", IPV, UNZIPPED_SIZE, ZipFile=declared_bomb),
    row(
        "UpdateFunctionCode",
        "zip-over-50mb",
        raw(
            "PUT",
            f"{SEED_PATH}/code",
            lambda: b'{"ZipFile": "%s"}' % (b"A" * (ZIP_REQUEST_LIMIT + 3)),
        ),
        TOO_LARGE,
        too_large(ZIP_REQUEST_LIMIT, "UpdateFunctionCode"),
    ),
    row(
        "UpdateFunctionCode",
        "unknown-function",
        sdk(
            "update_function_code", {"FunctionName": "never-created", "ZipFile": make_zip(HANDLER)}
        ),
        RNF,
        not_found("never-created"),
    ),
    # TagResource, UntagResource, ListTags ------------------------------------------------------
    row("TagResource", "invalid-json", raw("POST", TAGS, "{'Tags': {}}"), IRC, BAD_JSON),
    row(
        "TagResource",
        "tags-missing",
        raw("POST", TAGS, {}),
        V,
        violation("null", "tags", "Member must not be null"),
    ),
    row("TagResource", "tags-list", raw("POST", TAGS, {"Tags": ["a"]}), IRC, TAGS_NOT_MAP),
    row(
        "TagResource", "tag-value-number", raw("POST", TAGS, {"Tags": {"a": 1}}), IRC, TAGS_NOT_MAP
    ),
    row(
        "TagResource",
        "tag-key-empty",
        sdk("tag_resource", {"Resource": SEED_ARN, "Tags": {"": "v"}}, loose=True),
        V,
        violation("''", "tags", "Member must have length between 1 and 128"),
    ),
    row(
        "TagResource",
        "tag-value-257-characters",
        sdk("tag_resource", {"Resource": SEED_ARN, "Tags": {"team": "b" * 257}}),
        V,
        violation(f"'{'b' * 257}'", "tags", "Member must have length less than or equal to 256"),
    ),
    row(
        "TagResource",
        "tag-value-pattern",
        sdk("tag_resource", {"Resource": SEED_ARN, "Tags": {"team": "a;b"}}),
        V,
        violation("'a;b'", "tags", TAG_TEXT),
    ),
    row(
        "TagResource",
        "resource-a-name",
        sdk("tag_resource", {"Resource": SEED, "Tags": {"team": "b"}}),
        V,
        violation(f"'{SEED}'", "resource", TAGGABLE),
    ),
    row(
        "TagResource",
        "resource-partial-arn",
        sdk("tag_resource", {"Resource": f"{ACCOUNT}:function:{SEED}", "Tags": {"team": "b"}}),
        V,
        violation(f"'{ACCOUNT}:function:{SEED}'", "resource", TAGGABLE),
    ),
    row(
        "TagResource",
        "resource-s3-arn",
        sdk("tag_resource", {"Resource": "arn:aws:s3:::bucket", "Tags": {"team": "b"}}),
        V,
        violation("'arn:aws:s3:::bucket'", "resource", TAGGABLE),
    ),
    row(
        "TagResource",
        "resource-unknown-function",
        sdk("tag_resource", {"Resource": f"{SEED_ARN}-gone", "Tags": {"team": "b"}}),
        RNF,
        not_found(f"{SEED}-gone"),
    ),
    row(
        "TagResource",
        "resource-qualified-arn",
        sdk("tag_resource", {"Resource": f"{SEED_ARN}:7", "Tags": {"team": "b"}}),
        RNF,
        not_found(SEED, qualifier="7"),
    ),
    row(
        "TagResource",
        "resource-event-source-mapping",
        sdk(
            "tag_resource",
            {
                "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:"
                "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "Tags": {"team": "b"},
            },
        ),
        RNF,
        NO_RESOURCE,
    ),
    row(
        "UntagResource",
        "tag-keys-missing",
        raw("DELETE", TAGS),
        V,
        violation("null", "tagKeys", "Member must not be null"),
    ),
    row(
        "UntagResource",
        "tag-key-129-characters",
        sdk("untag_resource", {"Resource": SEED_ARN, "TagKeys": ["k" * 129]}),
        V,
        violation(f"'{'k' * 129}'", "tagKeys.member", "Member must have length between 1 and 128"),
    ),
    row(
        "UntagResource",
        "resource-a-name",
        sdk("untag_resource", {"Resource": SEED, "TagKeys": ["team"]}),
        V,
        violation(f"'{SEED}'", "resource", TAGGABLE),
    ),
    row(
        "ListTags",
        "resource-bad-percent-encoding",
        raw("GET", f"/2017-03-31/tags/{RAW_SEED_ARN}%ZZ"),
        V,
        violation(f"'{RAW_SEED_ARN}%ZZ'", "resource", TAGGABLE),
    ),
    row(
        "ListTags",
        "resource-unknown-function",
        sdk("list_tags", {"Resource": f"{SEED_ARN}x"}),
        RNF,
        not_found(f"{SEED}x"),
    ),
    # Function URL configs ----------------------------------------------------------------------
    row(
        "CreateFunctionUrlConfig",
        "invalid-json",
        raw("POST", BARE_URL, "{AuthType}"),
        IRC,
        BAD_JSON,
    ),
    row(
        "CreateFunctionUrlConfig",
        "auth-type-missing",
        raw("POST", BARE_URL, {"InvokeMode": "BUFFERED"}),
        V,
        violation("null", "authType", "Member must not be null"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "auth-type-number",
        raw("POST", BARE_URL, {"AuthType": 0}),
        IRC,
        json_error("authType must be a string"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "auth-type-unknown",
        sdk("create_function_url_config", {"FunctionName": BARE, "AuthType": "OPEN"}),
        V,
        violation("'OPEN'", "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "invoke-mode-unknown",
        sdk(
            "create_function_url_config",
            {"FunctionName": BARE, "AuthType": "NONE", "InvokeMode": "STREAM"},
        ),
        V,
        violation(
            "'STREAM'",
            "invokeMode",
            "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]",
        ),
    ),
    row(
        "CreateFunctionUrlConfig",
        "cors-list",
        raw("POST", BARE_URL, {"AuthType": "NONE", "Cors": []}),
        IRC,
        json_error("Cors must be an object"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "cors-credentials-string",
        raw("POST", BARE_URL, {"AuthType": "NONE", "Cors": {"AllowCredentials": "true"}}),
        IRC,
        json_error("AllowCredentials must be a boolean"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "cors-max-age-over-a-day",
        sdk(
            "create_function_url_config",
            {"FunctionName": BARE, "AuthType": "NONE", "Cors": {"MaxAge": 86401}},
        ),
        V,
        violation("'86401'", "cors.maxAge", "Member must have value less than or equal to 86400"),
    ),
    row(
        "CreateFunctionUrlConfig",
        "qualifier-latest",
        sdk(
            "create_function_url_config",
            {"FunctionName": BARE, "AuthType": "NONE", "Qualifier": "$LATEST"},
        ),
        V,
        violation("'$LATEST'", "qualifier", URL_QUALIFIER),
    ),
    row(
        "CreateFunctionUrlConfig",
        "name-invalid-characters",
        raw("POST", "/2021-10-31/functions/bad!/url", {"AuthType": "NONE"}),
        V,
        violation("'bad!'", "functionName", PATH_NAME),
    ),
    row(
        "CreateFunctionUrlConfig",
        "unknown-function",
        sdk("create_function_url_config", {"FunctionName": "never-created", "AuthType": "NONE"}),
        RNF,
        NO_URL_FUNCTION,
    ),
    row(
        "CreateFunctionUrlConfig",
        "url-exists",
        sdk("create_function_url_config", {"FunctionName": SEED, "AuthType": "AWS_IAM"}),
        CONFLICT,
        f"Failed to create function url config for [functionArn = {SEED_ARN}]. Error message:  "
        "FunctionUrlConfig exists for this Lambda function",
    ),
    row(
        "GetFunctionUrlConfig",
        "qualifier-version",
        sdk("get_function_url_config", {"FunctionName": SEED, "Qualifier": "1"}),
        V,
        violation("'1'", "qualifier", URL_QUALIFIER),
    ),
    row(
        "GetFunctionUrlConfig",
        "name-65-characters",
        sdk("get_function_url_config", {"FunctionName": "u" * 65}),
        V,
        violation(f"'{'u' * 65}'", "functionName", PATH_NAME),
    ),
    row(
        "GetFunctionUrlConfig",
        "no-url",
        sdk("get_function_url_config", {"FunctionName": BARE}),
        RNF,
        NO_RESOURCE,
    ),
    row("UpdateFunctionUrlConfig", "invalid-json", raw("PUT", URL, "{"), IRC, BAD_JSON),
    row(
        "UpdateFunctionUrlConfig",
        "auth-type-unknown",
        sdk("update_function_url_config", {"FunctionName": SEED, "AuthType": "PUBLIC"}),
        V,
        violation("'PUBLIC'", "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]"),
    ),
    row(
        "UpdateFunctionUrlConfig",
        "cors-too-many-methods",
        sdk(
            "update_function_url_config",
            {"FunctionName": SEED, "Cors": {"AllowMethods": ["GET"] * 7}},
        ),
        V,
        violation(
            "'[GET, GET, GET, GET, GET, GET, GET]'",
            "cors.allowMethods",
            "Member must have length less than or equal to 6",
        ),
    ),
    row(
        "UpdateFunctionUrlConfig",
        "qualifier-mismatch",
        sdk(
            "update_function_url_config",
            {"FunctionName": f"{SEED}:live", "Qualifier": "prod", "AuthType": "NONE"},
        ),
        IPV,
        "The derived qualifier from the function name does not match the specified qualifier.",
    ),
    row(
        "UpdateFunctionUrlConfig",
        "no-url",
        sdk("update_function_url_config", {"FunctionName": BARE, "AuthType": "NONE"}),
        RNF,
        NO_RESOURCE,
    ),
    row(
        "UpdateFunctionUrlConfig",
        "unknown-function",
        sdk("update_function_url_config", {"FunctionName": "never-created", "AuthType": "NONE"}),
        RNF,
        NO_URL_FUNCTION,
    ),
    row(
        "DeleteFunctionUrlConfig",
        "qualifier-latest",
        raw("DELETE", f"{URL}?Qualifier=%24LATEST"),
        V,
        violation("'$LATEST'", "qualifier", URL_QUALIFIER),
    ),
    row(
        "DeleteFunctionUrlConfig",
        "alias-in-name",
        sdk("delete_function_url_config", {"FunctionName": f"{SEED}:live"}),
        RNF,
        NO_RESOURCE,
    ),
    row(
        "DeleteFunctionUrlConfig",
        "no-url",
        sdk("delete_function_url_config", {"FunctionName": BARE}),
        RNF,
        NO_RESOURCE,
    ),
    row(
        "ListFunctionUrlConfigs",
        "max-items-51",
        sdk("list_function_url_configs", {"FunctionName": SEED, "MaxItems": 51}),
        V,
        violation("'51'", "maxItems", "Member must have value less than or equal to 50"),
    ),
    row(
        "ListFunctionUrlConfigs",
        "max-items-0",
        sdk("list_function_url_configs", {"FunctionName": SEED, "MaxItems": 0}, loose=True),
        V,
        violation("'0'", "maxItems", "Member must have value greater than or equal to 1"),
    ),
    row(
        "ListFunctionUrlConfigs",
        "marker-garbage",
        sdk("list_function_url_configs", {"FunctionName": SEED, "Marker": "%%%"}),
        IPV,
        "Invalid marker",
    ),
    row(
        "ListFunctionUrlConfigs",
        "unknown-function",
        sdk("list_function_url_configs", {"FunctionName": "never-created"}),
        RNF,
        NO_URL_FUNCTION,
    ),
    # Invoke: refused before anything runs -----------------------------------------------------
    row(
        "Invoke",
        "payload-invalid-json",
        sdk("invoke", {"FunctionName": SEED, "Payload": b"{not json"}),
        IRC,
        BAD_PAYLOAD,
    ),
    row(
        "Invoke",
        "payload-not-utf8",
        sdk("invoke", {"FunctionName": SEED, "Payload": b'"\xff"'}),
        IRC,
        BAD_PAYLOAD,
    ),
    row(
        "Invoke",
        "payload-deep-nesting",
        raw("POST", INVOKE, NESTED),
        IRC,
        BAD_PAYLOAD,
    ),
    row(
        "Invoke",
        "invocation-type-unknown",
        sdk("invoke", {"FunctionName": SEED, "InvocationType": "Later"}),
        V,
        violation(
            "'Later'",
            "invocationType",
            "Member must satisfy enum value set: [RequestResponse, Event, DryRun]",
        ),
    ),
    row(
        "Invoke",
        "log-type-unknown",
        sdk("invoke", {"FunctionName": SEED, "LogType": "Everything"}),
        V,
        violation("'Everything'", "logType", "Member must satisfy enum value set: [None, Tail]"),
    ),
    row(
        "Invoke",
        "client-context-not-base64",
        sdk("invoke", {"FunctionName": SEED, "ClientContext": "{not base64}"}),
        IRC,
        "Client context must be a valid Base64-encoded JSON object.",
    ),
    row(
        "Invoke",
        "client-context-too-long",
        sdk("invoke", {"FunctionName": SEED, "ClientContext": b64(b"{}" * 1800)}),
        IRC,
        "Client context must be less than 3583 bytes",
    ),
    row(
        "Invoke",
        "tenant-id-pattern",
        sdk("invoke", {"FunctionName": SEED, "TenantId": "<tenant>"}),
        V,
        re.compile(r"1 validation error detected: Value '<tenant>' at 'tenantId' .+"),
    ),
    row(
        "Invoke",
        "payload-over-6mb",
        sdk("invoke", lambda: {"FunctionName": SEED, "Payload": b"1" * (SYNC_LIMIT + 1)}),
        TOO_LARGE,
        too_large(SYNC_LIMIT),
    ),
    row(
        "Invoke",
        "event-payload-over-1mb",
        sdk(
            "invoke",
            lambda: {
                "FunctionName": SEED,
                "InvocationType": "Event",
                "Payload": b"1" * (ASYNC_LIMIT + 1),
            },
        ),
        TOO_LARGE,
        too_large(ASYNC_LIMIT),
    ),
    row(
        "Invoke",
        "content-length-over-6mb-body-not-sent",
        wire(
            http_request(f"POST {INVOKE} HTTP/1.1", f"Content-Length: {SYNC_LIMIT + 1}\r\n\r\n{{"),
            timeout=1,
        ),
        TOO_LARGE,
        too_large(SYNC_LIMIT),
    ),
    row(
        "Invoke",
        "name-invalid",
        sdk("invoke", {"FunctionName": "bad:name:x:y:z"}),
        V,
        violation("'bad:name:x:y:z'", "functionName", PATH_NAME),
    ),
    row(
        "Invoke",
        "unknown-function",
        sdk("invoke", {"FunctionName": "never-created"}),
        RNF,
        not_found("never-created"),
    ),
    row(
        "Invoke",
        "qualifier-unknown-version",
        sdk("invoke", {"FunctionName": SEED, "Qualifier": "7"}),
        RNF,
        not_found(SEED, qualifier="7"),
    ),
    row(
        "Invoke",
        "qualifier-pattern",
        raw("POST", f"{INVOKE}?Qualifier=%24LATEST%00", "{}"),
        V,
        violation("'$LATEST\x00'", "qualifier", QUALIFIER),
    ),
    # InvokeWithResponseStream ---------------------------------------------------------------
    row(
        "InvokeWithResponseStream",
        "invocation-type-event",
        sdk("invoke_with_response_stream", {"FunctionName": SEED, "InvocationType": "Event"}),
        V,
        violation(
            "'Event'",
            "invocationType",
            "Member must satisfy enum value set: [RequestResponse, DryRun]",
        ),
    ),
    row(
        "InvokeWithResponseStream",
        "payload-invalid-json",
        raw("POST", STREAM, "{'single': 'quotes'}"),
        IRC,
        BAD_PAYLOAD,
    ),
    row(
        "InvokeWithResponseStream",
        "log-type-unknown",
        raw("POST", STREAM, "{}", {"X-Amz-Log-Type": "tail"}),
        V,
        violation("'tail'", "logType", "Member must satisfy enum value set: [None, Tail]"),
    ),
    row(
        "InvokeWithResponseStream",
        "payload-over-6mb",
        raw("POST", STREAM, lambda: b"2" * (SYNC_LIMIT + 1)),
        TOO_LARGE,
        too_large(SYNC_LIMIT),
    ),
    row(
        "InvokeWithResponseStream",
        "unknown-function",
        sdk("invoke_with_response_stream", {"FunctionName": "never-created"}),
        RNF,
        not_found("never-created"),
    ),
    row(
        "InvokeWithResponseStream",
        "name-invalid",
        sdk("invoke_with_response_stream", {"FunctionName": "bad:name:x:y:z"}),
        V,
        violation("'bad:name:x:y:z'", "functionName", PATH_NAME),
    ),
    row(
        "InvokeWithResponseStream",
        "name-percent-encoded-space",
        raw("POST", "/2021-11-15/functions/no%20spaces/response-streaming-invocations", "{}"),
        V,
        violation("'no spaces'", "functionName", PATH_NAME),
    ),
    # sluice's own routes ------------------------------------------------------------------------
    row(
        "sluice-code-download",
        "unknown-digest",
        raw("GET", f"/_sluice/code/{'0' * 64}.zip"),
        RNF,
        NO_RESOURCE,
    ),
    row(
        "sluice-code-download",
        "path-traversal",
        raw("GET", "/_sluice/code/..%2F..%2Fsluice.db"),
        RNF,
        "No Lambda API operation at GET /_sluice/code/..%2F..%2Fsluice.db",
    ),
    row(
        "sluice-logs",
        "path-traversal",
        raw("GET", "/_sluice/logs/..%2F..%2Fsluice.db"),
        V,
        violation("'../../sluice.db'", "functionName", PATH_NAME),
    ),
    row(
        "sluice-logs",
        "unknown-function",
        raw("GET", "/_sluice/logs/never-created"),
        RNF,
        not_found("never-created", RAW_REGION),
    ),
    # Routes and methods sluice does not serve ---------------------------------------------
    row(
        "routing",
        "unknown-path",
        raw("POST", "/2015-03-31/nothing-here"),
        RNF,
        "No Lambda API operation at POST /2015-03-31/nothing-here",
    ),
    row("routing", "root", raw("GET", "/"), RNF, "No Lambda API operation at GET /"),
    row(
        "routing",
        "wrong-method-functions",
        raw("PATCH", FN, "{}"),
        RNF,
        f"No Lambda API operation at PATCH {FN}",
    ),
    row(
        "routing",
        "wrong-method-function",
        raw("POST", SEED_PATH, lambda: _encode(create_doc(SEED))),
        RNF,
        f"No Lambda API operation at POST {SEED_PATH}",
    ),
    row(
        "routing",
        "unserved-invoke-async",
        sdk("invoke_async", {"FunctionName": SEED, "InvokeArgs": b"{}"}),
        RNF,
        f"No Lambda API operation at POST /2014-11-13/functions/{SEED}/invoke-async",
    ),
    row(
        "routing",
        "unserved-put-function-concurrency",
        sdk("put_function_concurrency", {"FunctionName": SEED, "ReservedConcurrentExecutions": 1}),
        RNF,
        f"No Lambda API operation at PUT /2017-10-31/functions/{SEED}/concurrency",
    ),
    # HTTP that the HTTP layer refuses before any operation ------------------------------
    row(
        "http",
        "one-header-over-1mib",
        wire(lambda: head_over_limit("one-header")),
        HTTP_431,
        "Bad request\n",
    ),
    row(
        "http",
        "headers-over-1mib",
        wire(lambda: head_over_limit("many-headers")),
        HTTP_431,
        "Bad request\n",
    ),
    row(
        "http",
        "target-over-1mib",
        wire(lambda: head_over_limit("target")),
        HTTP_431,
        "Bad request\n",
    ),
    row("http", "not-http", wire(b"HELLO LAMBDA\r\n\r\n"), HTTP_400, "Bad request\n"),
    row("http", "no-host", wire(b"GET / HTTP/1.1\r\n\r\n"), HTTP_400, "Bad request\n"),
    row(
        "http",
        "non-ascii-target",
        wire(b"GET /2015-03-31/functions/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"),
        HTTP_400,
        "Bad request\n",
    ),
    row(
        "http",
        "content-length-not-a-number",
        wire(http_request(f"POST {FN} HTTP/1.1", "Content-Length: ten\r\n\r\n{}")),
        HTTP_400,
        "Bad request\n",
    ),
    row(
        "http",
        "content-length-twice",
        wire(
            http_request(f"POST {FN} HTTP/1.1", "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        ),
        HTTP_400,
        "Bad request\n",
    ),
    row(
        "http",
        "chunked-framing-broken",
        wire(http_request(f"POST {FN} HTTP/1.1", "Transfer-Encoding: chunked\r\n\r\nzz\r\n")),
        HTTP_400,
        "Bad request\n",
    ),
]


def _message_member(code: str) -> str:
    """`message` or `Message`, as botocore's Lambda model spells the error shape's member."""
    shape = MODEL.shape_for_error_code(code)
    if shape is None:  # ValidationException, RequestEntityTooLargeException: not modelled
        return "message"
    return next(name for name in shape.members if name.lower() == "message")


def _matches(expected: str | re.Pattern[str], actual: str) -> bool:
    if isinstance(expected, re.Pattern):
        return expected.fullmatch(actual) is not None
    return expected == actual


@pytest.mark.parametrize("case", BAD)
def test_bad_input(env: Env, case: Case) -> None:
    reply = case.send(env)

    assert reply.status == case.status, (reply.status, reply.headers, reply.body[:500])
    if case.code is None:
        if case.status is not None:
            assert reply.headers.get("content-type") == "text/plain"
            assert reply.body.decode() == case.message
    else:
        assert reply.headers["x-amzn-errortype"] == case.code
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["x-amzn-requestid"]
        document = json.loads(reply.body)
        member = _message_member(case.code)
        assert set(document) == {"Type", member}, document
        assert document["Type"] == "User"
        message = document[member]
        assert _matches(case.message, message), message
        if reply.sdk_error is not None:  # what an SDK user sees
            assert reply.sdk_error == (case.code, message)

    # The server still answers, and nothing was stored.
    assert env.server.process.poll() is None
    assert stored_state(env.server) == env.baseline
    if case.creates is not None and re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", case.creates):
        status, body = _get(env.server, f"/2015-03-31/functions/{case.creates}")
        assert status == 404 and body["Message"].startswith("Function not found: "), body


def test_unknown_members_alone_are_ignored_as_aws_ignores_them(env: Env) -> None:
    """Not a refusal: AWS's JSON protocol skips members it does not know (so newer clients
    work against older services); sluice does the same and stores none of them."""
    name = "unknown-members"
    doc = create_doc(name, Layers=[], Bogus={"x": 1}, timeout=900)
    reply = raw("POST", "/2015-03-31/functions", doc)(env)
    try:
        assert reply.status == 201, reply.body
        created = json.loads(reply.body)
        assert created["Timeout"] == 3 and "Bogus" not in created and "Layers" not in created
    finally:
        env.client.delete_function(FunctionName=name)
    assert stored_state(env.server) == env.baseline


def test_the_seed_still_invokes(env: Env) -> None:
    """After every row above, the function the refused requests aimed at still runs."""
    reply = env.client.invoke(FunctionName=SEED, Payload=b'{"ok": 1}')
    assert "FunctionError" not in reply
    assert json.load(reply["Payload"]) == {"ok": 1}
