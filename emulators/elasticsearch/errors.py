"""Elasticsearch's REST error bodies, raised as exceptions and rendered in one place.

Shape: `{"error": {"root_cause": [...], "type", "reason", <metadata>, "caused_by"?}, "status"}`.
`root_cause` is the innermost *Elasticsearch* exception of the cause chain: JVM exceptions
such as `connect_exception` show up in `caused_by` but never as a root cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "EsError",
    "PlainEsError",
    "action_request_validation_exception",
    "illegal_argument_exception",
    "parse_exception",
    "resource_not_found_exception",
    "status_exception",
    "validation_exception",
    "validation_reason",
]


class EsError(Exception):
    """An Elasticsearch exception as the REST layer renders it."""

    def __init__(
        self,
        error_type: str,
        reason: str,
        *,
        status: int = 400,
        cause: EsError | None = None,
        metadata: Mapping[str, Any] | None = None,
        auth_headers: Sequence[str] = (),
        elasticsearch: bool = True,
    ) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason
        self.status = status
        self.cause = cause
        self.metadata = dict(metadata or {})
        self.auth_headers = tuple(auth_headers)
        self.elasticsearch = elasticsearch

    def _fields(self, *, with_cause: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.error_type, "reason": self.reason}
        out.update(self.metadata)
        if self.auth_headers:
            out["header"] = {"WWW-Authenticate": list(self.auth_headers)}
        if with_cause and self.cause is not None:
            out["caused_by"] = self.cause._fields(with_cause=True)
        return out

    def root_cause(self) -> EsError:
        """The innermost Elasticsearch exception of the cause chain."""
        root, current = self, self.cause
        while current is not None:
            if current.elasticsearch:
                root = current
            current = current.cause
        return root

    def to_body(self) -> dict[str, Any]:
        """The JSON body Elasticsearch sends for this error."""
        error: dict[str, Any] = {"root_cause": [self.root_cause()._fields(with_cause=False)]}
        error.update(self._fields(with_cause=True))
        return {"error": error, "status": self.status}


class PlainEsError(Exception):
    """A REST-layer error that ES renders as a bare `{"error": "<message>", "status": N}`."""

    def __init__(self, message: str, *, status: int, allow: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.allow = tuple(allow)

    def to_body(self) -> dict[str, Any]:
        """The JSON body Elasticsearch sends for this error."""
        return {"error": self.message, "status": self.status}


def validation_reason(messages: Sequence[str]) -> str:
    """`ValidationException` text: `Validation Failed: 1: <m1>;2: <m2>;`."""
    return "Validation Failed: " + "".join(f"{i}: {m};" for i, m in enumerate(messages, 1))


def status_exception(reason: str, *, status: int = 400, cause: EsError | None = None) -> EsError:
    """`ElasticsearchStatusException`."""
    return EsError("status_exception", reason, status=status, cause=cause)


def validation_exception(messages: Sequence[str]) -> EsError:
    """`org.elasticsearch.common.ValidationException` (400)."""
    return EsError("validation_exception", validation_reason(messages))


def action_request_validation_exception(messages: Sequence[str]) -> EsError:
    """`ActionRequestValidationException` (400)."""
    return EsError("action_request_validation_exception", validation_reason(messages))


def illegal_argument_exception(reason: str) -> EsError:
    """A plain `IllegalArgumentException` (400)."""
    return EsError("illegal_argument_exception", reason)


def parse_exception(reason: str) -> EsError:
    """`ElasticsearchParseException` (400)."""
    return EsError("parse_exception", reason)


def resource_not_found_exception(reason: str) -> EsError:
    """`ResourceNotFoundException` (404)."""
    return EsError("resource_not_found_exception", reason, status=404)
