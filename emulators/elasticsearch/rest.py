"""Elasticsearch's REST-layer rules: query parameters, request bodies, media types and auth.

- ES rejects any query parameter a handler did not consume, suggesting close matches the way
  `BaseRestHandler.unrecognized` does (Lucene Levenshtein similarity > 0.5).
- `compatible-with` media types (`RestCompatibleVersionHelper`, every version the emulator
  knows): `Accept` may ask for the node's major or the one before (8.x: 7 or 8; 9.x: 8 or 9);
  with a body, `Content-Type` must ask for the same one, and both or neither must carry it.
  A failure is 400 `media_type_header_exception` "Invalid media-type value on headers
  [Content-Type, Accept]" caused by the `status_exception` naming the rule (`RestRequest`'s
  `MediaTypeHeaderException`, elastic/elasticsearch#80253). ES prints the two header names from
  a `Set.of`, whose order changes from one JVM start to the next; the emulator always prints
  this order. A `compatible-with` that is not a number is not checked.
- A body that is not JSON: a handler that reads it with `XContentParser.map()` (PUT of an
  inference endpoint, cluster settings) reports the parser's error as it is, one that uses
  `XContentHelper.convertToMap` (`_update`, pipelines, index creation) wraps it in
  `parse_exception` "Failed to parse content to map". The parser's error is Jackson's
  `json_parse_exception` until elastic/elasticsearch#123439 (8.19.2, 9.1.2 and 9.2.0, see
  `versions.JSON_ERRORS_AS_XCONTENT`) and `x_content_parse_exception` "[line:column] …" from
  then on; that one is no `IOException`, so `convertToMap` no longer wraps it. The reason text
  is Python's JSON decoder's, not Jackson's.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from .errors import EsError, PlainEsError, illegal_argument_exception, parse_exception
from .versions import JSON_ERRORS_AS_XCONTENT, EsVersion

__all__ = [
    "GLOBAL_PARAMS",
    "Credentials",
    "authenticate",
    "check_compatible_with",
    "check_content_type",
    "check_params",
    "param_as_boolean",
    "param_as_time",
    "parse_json_map",
    "parse_json_object",
    "request_uri",
    "required_content",
]

GLOBAL_PARAMS = frozenset({"error_trace", "filter_path", "format", "human", "pretty"})
_WWW_AUTHENTICATE = ('Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', "ApiKey")
_TIME_RE = re.compile(r"^(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$")
_TIME_UNITS = {
    "nanos": 1e-9,
    "micros": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def request_uri(request: Request) -> str:
    """The request's raw URI (path and query), as ES prints it in REST-layer errors."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        return raw
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _similarity(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - _levenshtein(a, b) / longest


def check_params(
    path: str,
    args: MultiDict[str, str],
    consumed: Collection[str],
    path_params: Collection[str] = (),
) -> None:
    """Reject query parameters the handler did not consume (`illegal_argument_exception`)."""
    unknown = sorted(set(args) - set(consumed) - GLOBAL_PARAMS)
    if not unknown:
        return
    candidates = set(consumed) | GLOBAL_PARAMS | set(path_params)
    parts = []
    for name in unknown:
        scored = sorted(
            ((_similarity(name, c), c) for c in candidates if _similarity(name, c) > 0.5),
            key=lambda pair: (-pair[0], pair[1]),
        )
        part = f"[{name}]"
        if len(scored) == 1:
            part += f" -> did you mean [{scored[0][1]}]?"
        elif scored:
            part += f" -> did you mean any of [{', '.join(c for _, c in scored)}]?"
        parts.append(part)
    plural = "s" if len(unknown) > 1 else ""
    raise illegal_argument_exception(
        f"request [{path}] contains unrecognized parameter{plural}: {', '.join(parts)}"
    )


def param_as_boolean(args: MultiDict[str, str], key: str, default: bool) -> bool:
    """`RestRequest.paramAsBoolean`: empty means true; only `true`/`false` otherwise."""
    value = args.get(key)
    if value is None:
        return default
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise illegal_argument_exception(
        f"Failed to parse value [{value}] as only [true] or [false] are allowed."
    )


def param_as_time(args: MultiDict[str, str], key: str) -> float | None:
    """An ES time value in seconds; None when absent or `-1` (no timeout)."""
    value = args.get(key)
    if value is None:
        return None
    text = value.strip().lower()
    if text == "-1":
        return None
    if text == "0":
        return 0.0
    match = _TIME_RE.match(text)
    if match is None:
        raise parse_exception(
            f"failed to parse setting [{key}] with value [{value}] as a time value:"
            " unit is missing or unrecognized"
        )
    amount = float(match[1])
    if amount < 0:
        raise parse_exception(
            f"failed to parse setting [{key}] with value [{value}] as a time value:"
            " negative durations are not supported"
        )
    return amount * _TIME_UNITS[match[2]]


def required_content(request: Request) -> bytes:
    """`RestRequest.requiredContent`: the body, or `parse_exception` when there is none."""
    data = request.get_data(cache=True)
    if not data.strip():
        raise parse_exception("request body is required")
    return data


def _json_error(exc: json.JSONDecodeError, version: EsVersion) -> EsError:
    if JSON_ERRORS_AS_XCONTENT(version):
        return EsError("x_content_parse_exception", f"[{exc.lineno}:{exc.colno}] {exc.msg}")
    return EsError("json_parse_exception", str(exc), elasticsearch=False)


def _not_an_object() -> EsError:
    return EsError(
        "parse_exception",
        "Failed to parse content to map",
        cause=EsError("x_content_parse_exception", "[1:1] Unexpected token: expected START_OBJECT"),
    )


def parse_json_map(data: bytes, version: EsVersion) -> dict[str, Any]:
    """`XContentParser.map()`: a JSON object; the parser's own error when it is not JSON."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise _json_error(exc, version) from exc
    if not isinstance(value, dict):
        raise _not_an_object()
    return value


def parse_json_object(data: bytes, version: EsVersion) -> dict[str, Any]:
    """`XContentHelper.convertToMap`: a JSON object, else `parse_exception`."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        error = _json_error(exc, version)
        if error.error_type == "x_content_parse_exception":
            raise error from exc
        raise EsError("parse_exception", "Failed to parse content to map", cause=error) from exc
    if not isinstance(value, dict):
        raise _not_an_object()
    return value


def check_compatible_with(request: Request, version: EsVersion) -> None:
    """`RestCompatibleVersionHelper.getCompatibleVersion`: raise ES's 400 on a bad combination."""
    accept = request.headers.get("Accept")
    content_type = request.headers.get("Content-Type")
    asked_accept = _compatible_with(accept)
    asked_content = _compatible_with(content_type)
    if asked_accept is None and asked_content is None:
        return
    current, previous = version.major, version.major - 1
    accept_version = current if asked_accept is None else asked_accept
    content_version = current if asked_content is None else asked_content
    reason = None
    if accept_version not in (current, previous):
        reason = (
            f"Accept version must be either version {current} or {previous}, but found"
            f" {accept_version}. Accept={accept}"
        )
    elif request.get_data(cache=True):
        both = f"Accept={accept}, Content-Type={content_type}"
        if content_version not in (current, previous):
            reason = (
                f"Content-Type version must be either version {current} or {previous}, but"
                f" found {content_version}. Content-Type={content_type}"
            )
        elif content_version != accept_version:
            reason = (
                "A compatible version is required on both Content-Type and Accept headers if"
                " either one has requested a compatible version and the compatible versions"
                f" must match. {both}"
            )
        elif (asked_accept is None) != (asked_content is None):
            reason = (
                "A compatible version is required on both Content-Type and Accept headers if"
                f" either one has requested a compatible version. {both}"
            )
    if reason is not None:
        raise EsError(
            "media_type_header_exception",
            "Invalid media-type value on headers [Content-Type, Accept]",
            # Not an ElasticsearchException: ES names the wrapper as the root cause.
            cause=EsError("status_exception", reason, elasticsearch=False),
        )


def _compatible_with(header: str | None) -> int | None:
    for parameter in (header or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "compatible-with" and value.strip().isdigit():
            return int(value.strip())
    return None


def check_content_type(request: Request) -> None:
    """ES answers 406 for a body whose Content-Type is not JSON-compatible."""
    if not request.get_data(cache=True):
        return
    content_type = request.headers.get("Content-Type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if (
        mime
        and mime not in ("application/json", "application/x-ndjson")
        and not mime.endswith("+json")
    ):
        raise PlainEsError(f"Content-Type header [{content_type}] is not supported", status=406)


@dataclass(frozen=True)
class Credentials:
    """The credentials a cluster accepts; none configured means security is off."""

    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None

    @property
    def configured(self) -> bool:
        """Whether requests must authenticate."""
        return any((self.api_key, self.username, self.bearer_token))


def _same(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(reason: str) -> EsError:
    return EsError("security_exception", reason, status=401, auth_headers=_WWW_AUTHENTICATE)


def authenticate(request: Request, credentials: Credentials) -> None:
    """Check the `Authorization` header; raise ES's 401 `security_exception` when it fails."""
    if not credentials.configured:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    uri = request_uri(request)
    if not header:
        raise _unauthorized(f"missing authentication credentials for REST request [{uri}]")
    if scheme == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:
            user, password = "", ""
        if _same(user, credentials.username) and _same(password, credentials.password):
            return
        raise _unauthorized(f"unable to authenticate user [{user}] for REST request [{uri}]")
    if (scheme == "apikey" and _same(value, credentials.api_key)) or (
        scheme == "bearer" and _same(value, credentials.bearer_token)
    ):
        return
    raise _unauthorized(
        "unable to authenticate with provided credentials and anonymous access is not allowed"
        " for this request"
    )
