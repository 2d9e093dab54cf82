"""A function URL's `Cors` settings → preflight answers and the headers of actual responses.

AWS's documented behaviour ("Cross-origin resource sharing (CORS)" in
https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors): each `Cors`
member maps to one header (AllowOrigins → Access-Control-Allow-Origin, AllowMethods → -Allow-
Methods, AllowHeaders → -Allow-Headers, ExposeHeaders → -Expose-Headers, AllowCredentials →
-Allow-Credentials, MaxAge → -Max-Age), and "Lambda automatically adds the CORS headers to all
responses through the function URL". The members and limits are the Lambda model's `Cors`
shape (botocore lambda service-2.json; MaxAge 0-86400, default 0 = "the browser doesn't cache").

Details no Lambda page states, taken from elsewhere (inferred):

* Function URL CORS behaves like API Gateway HTTP API CORS, whose page says: CORS headers are
  returned only to a request with an `Origin` header, and a preflight is an OPTIONS request with
  `Origin` and `Access-Control-Request-Method`, answered by the gateway without the backend
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html). sluice
  answers it with 200 and no body, whether or not the origin is allowed (a disallowed origin
  gets no CORS headers, so the browser refuses).
* The allowed origin is echoed, also when AllowOrigins is `*`: with `AllowOrigins: ["*"]`, a
  function URL answered `http://127.0.0.1:5500` to that origin (the browser error quoted in
  aws-powertools/powertools-lambda-python issue #4163). Echoing is also what makes
  AllowCredentials usable, since browsers refuse `*` with credentials. Because the answer
  depends on Origin, every response of a URL with `Cors` says `Vary: Origin` (RFC 9110 12.5.5).
* The same issue shows AWS adds its headers next to the function's own CORS headers instead of
  replacing them (the browser saw two values), although the page says the configured ones
  "take precedence". `cors_headers` only computes sluice's lines; the server appends them.
* Methods and headers are sent as configured (`*` included); the browser does the matching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sluice.protocol.function_url._shapes import Headers, HttpReply, header_values

PREFLIGHT_STATUS = 200
_MAX_AGE_LIMIT = 86400


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """A function URL's `Cors` settings (the Lambda API's `Cors` structure)."""

    allow_credentials: bool = False
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None

    @classmethod
    def from_api(cls, cors: Mapping[str, Any]) -> CorsConfig:
        """From the API's JSON (`{"AllowOrigins": [...], "MaxAge": 300, ...}`).

        Raises:
            ValueError: a member has the wrong type, or MaxAge is outside 0-86400. (The
                server's input checks word the error for the caller; this is the last guard.)
        """
        max_age = cors.get("MaxAge")
        if max_age is not None and (
            isinstance(max_age, bool)
            or not isinstance(max_age, int)
            or not 0 <= max_age <= _MAX_AGE_LIMIT
        ):
            raise ValueError(f"MaxAge must be an integer from 0 to {_MAX_AGE_LIMIT}")
        credentials = cors.get("AllowCredentials", False)
        if not isinstance(credentials, bool):
            raise ValueError("AllowCredentials must be a boolean")
        return cls(
            allow_credentials=credentials,
            allow_headers=_strings(cors, "AllowHeaders"),
            allow_methods=_strings(cors, "AllowMethods"),
            allow_origins=_strings(cors, "AllowOrigins"),
            expose_headers=_strings(cors, "ExposeHeaders"),
            max_age=max_age,
        )

    def allows_origin(self, origin: str) -> bool:
        """Whether `origin` may read responses: listed (case-insensitive) or `*` is listed."""
        wanted = origin.lower()
        return any(allowed == "*" or allowed.lower() == wanted for allowed in self.allow_origins)


def is_preflight(method: str, headers: Sequence[tuple[str, str]]) -> bool:
    """Whether a request is a CORS preflight: OPTIONS with Origin and the method it asks about."""
    return (
        method.upper() == "OPTIONS"
        and bool(header_values(headers, "origin"))
        and bool(header_values(headers, "access-control-request-method"))
    )


def cors_headers(cors: CorsConfig, headers: Sequence[tuple[str, str]]) -> Headers:
    """The CORS header lines for a response to a request with these headers.

    Only a request whose Origin is allowed gets Access-Control-* lines; every request gets
    `vary: Origin`. Lines are lower-case, lists joined with ",", unset members left out.
    """
    origins = header_values(headers, "origin")
    if not origins or not cors.allows_origin(origins[0]):
        return (("vary", "Origin"),)
    lines = [("access-control-allow-origin", origins[0])]
    if cors.allow_credentials:
        lines.append(("access-control-allow-credentials", "true"))
    for name, values in (
        ("access-control-allow-methods", cors.allow_methods),
        ("access-control-allow-headers", cors.allow_headers),
        ("access-control-expose-headers", cors.expose_headers),
    ):
        if values:
            lines.append((name, ",".join(values)))
    if cors.max_age is not None:
        lines.append(("access-control-max-age", str(cors.max_age)))
    lines.append(("vary", "Origin"))
    return tuple(lines)


def preflight_reply(cors: CorsConfig, headers: Sequence[tuple[str, str]]) -> HttpReply:
    """The answer to a preflight (`is_preflight`) of a URL with `Cors`; the function never runs."""
    return HttpReply(PREFLIGHT_STATUS, cors_headers(cors, headers), b"")


def _strings(cors: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = cors.get(key)
    if values is None:
        return ()
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(values)
