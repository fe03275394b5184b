"""Elasticsearch's `RestController`: check the request, route it, render the answer.

Each rule below holds on every version the emulator knows; the sources are
`server/src/main/java/org/elasticsearch/rest/RestController.java` (`dispatchRequest`,
`tryAllHandlers`, `handleNoHandlerFound`, `handleUnsupportedHttpMethod`, `handleOptionsRequest`,
`handleBadRequest`), `http/DefaultRestChannel.java` and netty4's `Netty4HttpRequest`.
- Every response carries `X-elastic-product: Elasticsearch` (`dispatchRequest` and
  `dispatchBadRequest` add it); elasticsearch-py refuses a server without it.
- `compatible-with` media types are checked before anything else (see `rest.py`).
- A path no route matches is 400 "no handler found for uri [<uri>] and method [<method>]".
- A known path with a method it lacks is 405 "Incorrect HTTP method for uri [<uri>] and method
  [<method>], allowed: [<methods>]" with an `Allow` header. HEAD is a method of its own: only
  the routes ES registers it for (`GET /`, `GET /{index}`) answer it; elsewhere it gets that
  405. ES lists the methods from a `HashSet`, in no fixed order; the emulator uses the order of
  `RestRequest.Method`.
- OPTIONS is 200 with an empty `text/plain` body and, for a known path, `Allow`.
- A method outside `RestRequest.Method` is 405 "Unexpected http method: <method>", followed by
  ", allowed: [...]" and an `Allow` header when the path is known.
- A HEAD answer has the status and headers (its `Content-Length` included) of the answer to
  the same request as GET, and no body (`DefaultRestChannel.sendResponse`; `serve.py` drops it).
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
from .rest import Credentials, authenticate, check_compatible_with, check_content_type, request_uri

__all__ = ["PRODUCT_HEADER", "RestController", "render"]

PRODUCT_HEADER = ("X-elastic-product", "Elasticsearch")
# `RestRequest.Method`, in declaration order.
METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT")


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
            check_compatible_with(request, self.cluster.version)
            authenticate(request, self.credentials)
            matched = self._match(request)
            if isinstance(matched, Response):
                return matched
            route, args = matched
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

    def _match(self, request: Request) -> tuple[Route, Mapping[str, Any]] | Response:
        adapter = self.routes.bind_to_environ(request.environ)
        method = request.method
        try:
            route, args = adapter.match()
        except MethodNotAllowed as exc:
            allowed = [m for m in METHODS if m in (exc.valid_methods or ())]
            return self._no_handler(request, allowed)
        except NotFound as exc:
            if method not in METHODS or method == "OPTIONS":
                return self._no_handler(request, [])
            raise PlainEsError(
                f"no handler found for uri [{request_uri(request)}] and method [{method}]",
                status=400,
            ) from exc
        assert isinstance(route, Route)
        return route, args

    def _no_handler(self, request: Request, allowed: list[str]) -> Response:
        method = request.method
        allow = [("Allow", ",".join(allowed))] if allowed else []
        if method == "OPTIONS":
            response = Response(b"", 200, allow, content_type="text/plain; charset=UTF-8")
            response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
            return response
        if method in METHODS:
            message = (
                f"Incorrect HTTP method for uri [{request_uri(request)}] and method [{method}]"
            )
        else:
            message = f"Unexpected http method: {method}"
        if allowed:
            message += f", allowed: [{', '.join(allowed)}]"
        raise PlainEsError(message, status=405, allow=allowed)
