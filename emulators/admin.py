"""The base WSGI app of both emulated servers: admin API, request log, faults and rate limiting.

Everything under `/_emulator/` is the admin API (no auth, never logged, never faulted). Every
other request is logged, may be hit by a scripted fault or the token bucket, and is otherwise
passed to the subclass's `handle`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import Fault, FaultPlan, FaultSpecError, TokenBucket, drop_connection

__all__ = [
    "ADMIN_PREFIX",
    "AdminHandler",
    "EmulatorApp",
    "RequestLog",
    "json_response",
    "mark_mutated",
]

ADMIN_PREFIX = "/_emulator"
_MUTATED = "emulator.mutated"
_log = logging.getLogger(__name__)

AdminHandler = Callable[..., Response]


def mark_mutated(request: Request) -> None:
    """Record that this request changed the server's state (shown as `mutated` in the log)."""
    request.environ[_MUTATED] = True


def json_response(
    body: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    """A JSON response."""
    return Response(
        json.dumps(body), status=status, headers=list(headers), content_type="application/json"
    )


class RequestLog:
    """Every non-admin request in arrival order, with its status and whether it mutated state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._seq = 0

    def start(self, request: Request, extra: dict[str, Any]) -> dict[str, Any]:
        """Append an entry for a request that just arrived."""
        with self._lock:
            self._seq += 1
            entry: dict[str, Any] = {
                "seq": self._seq,
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(flat=True),
                "status": None,
                "mutated": False,
                **extra,
            }
            self._entries.append(entry)
            return entry

    def finish(self, entry: dict[str, Any], status: int | None, mutated: bool) -> None:
        """Complete an entry; `status` is None when the connection was dropped."""
        with self._lock:
            entry["status"] = status
            entry["mutated"] = mutated

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of all entries."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        """Forget all entries (sequence numbers keep counting)."""
        with self._lock:
            self._entries.clear()


class EmulatorApp:
    """Base WSGI app: the `/_emulator/` admin API around a subclass's `handle(request)`."""

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self._bucket: TokenBucket | None = None
        self._bucket_lock = threading.Lock()
        routes: list[tuple[Rule, AdminHandler]] = [
            (Rule("/requests", methods=["GET"]), self._get_requests),
            (Rule("/requests", methods=["DELETE"]), self._clear_requests),
            (Rule("/faults", methods=["GET"]), self._get_faults),
            (Rule("/faults", methods=["POST"]), self._add_fault),
            (Rule("/faults", methods=["DELETE"]), self._clear_faults),
            (Rule("/rate_limit", methods=["GET"]), self._get_rate_limit),
            (Rule("/rate_limit", methods=["PUT"]), self._set_rate_limit),
            (Rule("/rate_limit", methods=["DELETE"]), self._clear_rate_limit),
            (Rule("/reset", methods=["POST"]), self._reset),
            *self.admin_routes(),
        ]
        self._admin_handlers: dict[str, AdminHandler] = {}
        rules = []
        for index, (rule, handler) in enumerate(routes):
            rule.endpoint = f"admin-{index}"
            self._admin_handlers[rule.endpoint] = handler
            rules.append(rule)
        self._admin_map = Map(rules, strict_slashes=False)

    # Hooks for subclasses.

    def handle(self, request: Request) -> Response:
        """Serve one non-admin request."""
        raise NotImplementedError

    def admin_routes(self) -> list[tuple[Rule, AdminHandler]]:
        """Extra admin routes, relative to `/_emulator`."""
        return []

    def reset_state(self) -> None:
        """Clear the subclass's own state (called by `POST /_emulator/reset`)."""

    def state_changed(self) -> None:
        """Called after a request, an admin edit or a reset changed the subclass's state."""

    def log_extras(self, request: Request) -> dict[str, Any]:
        """Extra fields for this request's log entry."""
        del request
        return {}

    def fault_response(self, fault: Fault) -> Response:
        """The canned answer of a `status` fault."""
        headers = [("Retry-After", fault.retry_after)] if fault.retry_after is not None else []
        if fault.body is None:
            return json_response({"error": "injected fault"}, fault.status, headers)
        if isinstance(fault.body, str):
            return Response(fault.body, fault.status, headers, content_type="text/plain")
        return json_response(fault.body, fault.status, headers)

    def rate_limited_response(self, retry_after: int) -> Response:
        """The answer when the token bucket is empty."""
        return json_response({"error": "rate limited"}, 429, [("Retry-After", str(retry_after))])

    def internal_error_response(self) -> Response:
        """The answer when `handle` raised unexpectedly."""
        return json_response({"error": "internal server error"}, 500)

    # The pipeline.

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            response = self._admin(request)
            return response(environ, start_response)
        entry = self.requests.start(request, self.log_extras(request))
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.action == "drop":
            self.requests.finish(entry, None, False)
            drop_connection(environ)
        if fault is not None and fault.action == "status":
            response = self.fault_response(fault)
        else:
            if fault is not None and fault.action == "delay":
                time.sleep(fault.seconds)
            response = self._limited(request)
        mutated = bool(environ.get(_MUTATED))
        if mutated:
            try:
                self.state_changed()
            except Exception:
                _log.exception("cannot save the state after %s %s", request.method, request.path)
                response.close()
                response = self.internal_error_response()
        if fault is not None and fault.action == "commit_then_drop":
            self.requests.finish(entry, None, mutated)
            response.close()
            drop_connection(environ)
        self.requests.finish(entry, response.status_code, mutated)
        return response(environ, start_response)

    def _limited(self, request: Request) -> Response:
        with self._bucket_lock:
            bucket = self._bucket
        wait = bucket.take() if bucket is not None else None
        if wait is not None:
            return self.rate_limited_response(wait)
        try:
            return self.handle(request)
        except Exception:
            _log.exception("unexpected error serving %s %s", request.method, request.path)
            return self.internal_error_response()

    def _admin(self, request: Request) -> Response:
        adapter = self._admin_map.bind_to_environ(request.environ)
        path = request.path[len(ADMIN_PREFIX) :] or "/"
        try:
            endpoint, args = adapter.match(path, request.method)
        except HTTPException as exc:
            return json_response(
                {"error": f"{request.method} {request.path}: {exc.name}"}, exc.code or 400
            )
        try:
            return self._admin_handlers[str(endpoint)](request, **args)
        except FaultSpecError as exc:
            return json_response({"error": str(exc)}, 400)

    @staticmethod
    def admin_json(request: Request) -> Any:
        """The admin request's JSON body; raise `FaultSpecError` when it is not JSON."""
        try:
            return json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise FaultSpecError(f"request body is not JSON: {exc}") from exc

    def _get_requests(self, request: Request) -> Response:
        return json_response({"requests": self.requests.snapshot()})

    def _clear_requests(self, request: Request) -> Response:
        self.requests.clear()
        return json_response({"acknowledged": True})

    def _get_faults(self, request: Request) -> Response:
        return json_response({"faults": self.faults.pending()})

    def _add_fault(self, request: Request) -> Response:
        fault = self.faults.add(self.admin_json(request))
        return json_response({"id": fault.id})

    def _clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return json_response({"acknowledged": True})

    def _get_rate_limit(self, request: Request) -> Response:
        with self._bucket_lock:
            bucket = self._bucket
        return json_response({"rate_limit": bucket.to_json() if bucket else None})

    def _set_rate_limit(self, request: Request) -> Response:
        spec = self.admin_json(request)
        if not isinstance(spec, dict):
            raise FaultSpecError("a rate limit must be a JSON object")
        rate, burst = spec.get("requests_per_second"), spec.get("burst", 1)
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise FaultSpecError("[requests_per_second] must be a number")
        if isinstance(burst, bool) or not isinstance(burst, int):
            raise FaultSpecError("[burst] must be an integer")
        bucket = TokenBucket(float(rate), burst)
        with self._bucket_lock:
            self._bucket = bucket
        return json_response({"rate_limit": bucket.to_json()})

    def _clear_rate_limit(self, request: Request) -> Response:
        with self._bucket_lock:
            self._bucket = None
        return json_response({"acknowledged": True})

    def _reset(self, request: Request) -> Response:
        self.faults.clear()
        self.requests.clear()
        with self._bucket_lock:
            self._bucket = None
        self.reset_state()
        self.state_changed()
        return json_response({"acknowledged": True})
