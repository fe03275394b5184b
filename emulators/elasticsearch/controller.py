"""Elasticsearch's `RestController`: authenticate, route, check the request, render the answer.

Routing follows `RestController.dispatchRequest`/`handleNoHandlerFound`/`handleBadRequest`: an
unknown path is 400 "no handler found…"; a known path with another method is 405 "Incorrect
HTTP method…" with an `Allow` header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from .api.context import Cluster, Route
from .errors import EsError, PlainEsError
from .rest import Credentials, authenticate, check_content_type, request_uri

__all__ = ["PRODUCT_HEADER", "RestController", "render"]

PRODUCT_HEADER = ("X-elastic-product", "Elasticsearch")


def render(
    request: Request, payload: Any, status: int, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response as ES sends it (`?pretty` honoured, the product header set)."""
    pretty = request.args.get("pretty") in ("", "true")
    text = (
        json.dumps(payload, indent=2, separators=(",", " : "))
        if pretty
        else json.dumps(payload, separators=(",", ":"))
    )
    accept = request.headers.get("Accept", "")
    content_type = "application/json"
    if "compatible-with=" in accept:
        version = accept.split("compatible-with=", 1)[1].split(";")[0].strip()
        content_type = f"application/vnd.elasticsearch+json;compatible-with={version}"
    response = Response(text, status=status, content_type=content_type, headers=headers or [])
    response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
    return response


class RestController:
    """Dispatches REST requests to the route table's handlers."""

    def __init__(self, cluster: Cluster, routes: Map, credentials: Credentials) -> None:
        self.cluster = cluster
        self.routes = routes
        self.credentials = credentials

    def dispatch(self, request: Request) -> Response:
        """Answer one REST request with ES's bodies, statuses and headers."""
        try:
            authenticate(request, self.credentials)
            route, args = self._match(request)
            check_content_type(request)
            payload, status = route.handler(self.cluster, request, **args)
            if isinstance(payload, Response):  # a stream the handler rendered itself
                return payload
            return render(request, payload, status)
        except EsError as exc:
            headers = [("WWW-Authenticate", h) for h in exc.auth_headers]
            return render(request, exc.to_body(), exc.status, headers)
        except PlainEsError as exc:
            headers = [("Allow", ",".join(exc.allow))] if exc.allow else []
            return render(request, exc.to_body(), exc.status, headers)

    def _match(self, request: Request) -> tuple[Route, Mapping[str, Any]]:
        adapter = self.routes.bind_to_environ(request.environ)
        try:
            route, args = adapter.match()
        except MethodNotAllowed as exc:
            allowed = [
                m for m in ("GET", "POST", "PUT", "DELETE") if m in (exc.valid_methods or ())
            ]
            raise PlainEsError(
                f"Incorrect HTTP method for uri [{request_uri(request)}] and method"
                f" [{request.method}], allowed: [{', '.join(allowed)}]",
                status=405,
                allow=allowed,
            ) from exc
        except NotFound as exc:
            raise PlainEsError(
                f"no handler found for uri [{request_uri(request)}] and method [{request.method}]",
                status=400,
            ) from exc
        assert isinstance(route, Route)
        return route, args
