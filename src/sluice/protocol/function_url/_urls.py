"""URL ids, the URL sluice serves for them, and reading the id back from a Host header.

AWS's form is `https://<url-id>.lambda-url.<region>.on.aws` (urls-invocation.html), with a
32-character id of lower-case letters and digits (every recorded id, e.g.
`j635an2edqmaoyggrqy4sritge0qlsqf`). sluice serves `http://<url-id>.lambda-url.<region>.
localhost:<port>/`: browsers and curl resolve every `*.localhost` name to the loopback address
(RFC 6761 section 6.3), so the AWS-shaped host works with no DNS set-up. The event still names
the AWS domain (`domain_name`), as a function deployed to AWS would see it.
"""

from __future__ import annotations

import re
import secrets
import string

URL_ID_LENGTH = 32
URL_ID_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_HOST_SUFFIX = "localhost"
AWS_DOMAIN_SUFFIX = "on.aws"

_URL_ID = re.compile(r"[a-z0-9]{32}")
# The region part of the Lambda model's FunctionArn pattern (botocore lambda service-2.json).
_REGION = re.compile(r"(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]")


def new_url_id() -> str:
    """A fresh URL id: 32 random lower-case letters and digits, like AWS's.

    AWS derives its ids from the account among other things (urls-invocation.html); sluice's
    are random, so an id never leaks anything and a deleted URL's id does not come back.
    """
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


def function_url(url_id: str, region: str, host_suffix: str, port: int) -> str:
    """`http://<url-id>.lambda-url.<region>.<host_suffix>:<port>/`, what `FunctionUrl` says."""
    return f"http://{url_id}.lambda-url.{region}.{host_suffix}:{port}/"


def domain_name(url_id: str, region: str) -> str:
    """The AWS host name of a URL, as `requestContext.domainName` carries it."""
    return f"{url_id}.lambda-url.{region}.{AWS_DOMAIN_SUFFIX}"


def parse_host(host: str, host_suffix: str | None = None) -> tuple[str, str] | None:
    """(url_id, region) from a Host header naming a function URL, else None.

    Host names are case-insensitive (RFC 9110 section 4.2.3), so the id is matched lower-case.
    A port and a trailing dot are allowed. With `host_suffix`, what follows the region must be
    exactly that suffix; without it, any non-empty suffix is accepted (`localhost`, `on.aws`).

    Args:
        host: the Host header value, e.g. `abc...xyz.lambda-url.eu-west-1.localhost:3001`.
        host_suffix: the domain the server answers for, or None for any.
    """
    name = _without_port(host.strip().lower())
    if name is None:
        return None
    labels = name.removesuffix(".").split(".")
    if len(labels) < 4 or labels[1] != "lambda-url":
        return None
    url_id, region, suffix = labels[0], labels[2], ".".join(labels[3:])
    if not _URL_ID.fullmatch(url_id) or not _REGION.fullmatch(region) or not suffix:
        return None
    if host_suffix is not None and suffix != host_suffix.lower().removesuffix("."):
        return None
    return url_id, region


def _without_port(host: str) -> str | None:
    """The name part of `name[:port]`; None for an IP literal or a port that is not digits."""
    if host.startswith("["):
        return None
    name, colon, port = host.partition(":")
    if colon and not (port.isascii() and port.isdigit()):
        return None
    return name
