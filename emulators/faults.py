"""Fault injection for both emulated servers: scripted faults, a token bucket, dropped sockets.

A fault matches requests by method and `fnmatch` path glob. Actions:
`status` answers with a canned error and leaves state alone; `delay` sleeps, then processes the
request normally; `drop` closes the TCP connection before processing; `commit_then_drop`
processes the request and then closes the connection without answering.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn

__all__ = [
    "FAULT_ACTIONS",
    "DroppedConnection",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "TokenBucket",
    "drop_connection",
    "parse_fault",
    "proxy_error_page",
]

FAULT_ACTIONS = ("status", "delay", "drop", "commit_then_drop")

_SPEC_KEYS = {
    "method",
    "path",
    "action",
    "status",
    "retry_after",
    "body",
    "seconds",
    "times",
    "after",
}


class FaultSpecError(ValueError):
    """An admin request described a fault or rate limit that makes no sense."""


class DroppedConnection(ConnectionAbortedError):
    """Raised after a deliberate connection drop; the dev server treats it as a client hang-up."""


@dataclass
class Fault:
    """One scripted fault and how many more requests it applies to."""

    id: str
    method: str
    path: str
    action: str
    status: int = 503
    retry_after: str | None = None
    body: Any = None
    seconds: float = 0.0
    times: int = 1
    after: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is one this fault counts."""
        return self.method in ("*", method.upper()) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        """The fault as the admin API lists it."""
        out: dict[str, Any] = {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "action": self.action,
            "times": self.times,
            "after": self.after,
        }
        if self.action == "status":
            out.update(status=self.status, retry_after=self.retry_after, body=self.body)
        if self.action == "delay":
            out["seconds"] = self.seconds
        return out


def _number(spec: Mapping[str, Any], key: str, default: float, *, minimum: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise FaultSpecError(f"[{key}] must be a number >= {minimum}")
    return float(value)


def _integer(spec: Mapping[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultSpecError(f"[{key}] must be an integer >= {minimum}")
    return value


def parse_fault(spec: Any, fault_id: str) -> Fault:
    """Build a `Fault` from the admin API's JSON; raise `FaultSpecError` when it is malformed."""
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault must be a JSON object")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise FaultSpecError(f"unknown fault fields {unknown}")
    action = spec.get("action")
    if action not in FAULT_ACTIONS:
        raise FaultSpecError(f"[action] must be one of {list(FAULT_ACTIONS)}")
    method = spec.get("method", "*")
    path = spec.get("path", "*")
    if not isinstance(method, str) or not isinstance(path, str) or not method or not path:
        raise FaultSpecError("[method] and [path] must be non-empty strings")
    retry_after = spec.get("retry_after")
    if retry_after is not None and not isinstance(retry_after, str | int):
        raise FaultSpecError("[retry_after] must be a string header value")
    times = _integer(spec, "times", 1, minimum=-1)
    if times == 0:
        raise FaultSpecError("[times] must be positive, or -1 for until cleared")
    return Fault(
        id=fault_id,
        method=method.upper(),
        path=path,
        action=action,
        status=_integer(spec, "status", 503, minimum=100),
        retry_after=None if retry_after is None else str(retry_after),
        body=spec.get("body"),
        seconds=_number(spec, "seconds", 0.0, minimum=0.0),
        times=times,
        after=_integer(spec, "after", 0, minimum=0),
    )


class FaultPlan:
    """Pending faults, consulted once per non-admin request in arrival order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Any) -> Fault:
        """Validate and queue a fault; return it with its id."""
        with self._lock:
            fault = parse_fault(spec, f"fault-{self._next_id}")
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume and return the first fault that applies to this request, if any."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                return fault
            return None

    def pending(self) -> list[dict[str, Any]]:
        """The faults still queued."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()


class TokenBucket:
    """A token bucket over all non-admin requests (thread-safe)."""

    def __init__(
        self,
        requests_per_second: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_second <= 0 or burst < 1:
            raise FaultSpecError("[requests_per_second] must be > 0 and [burst] >= 1")
        self.rate = requests_per_second
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """Spend a token; return None when allowed, else whole seconds (>= 1) until one is due."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / self.rate))

    def to_json(self) -> dict[str, Any]:
        """The limit as the admin API shows it."""
        return {"requests_per_second": self.rate, "burst": self.burst}


def drop_connection(environ: Mapping[str, Any]) -> NoReturn:
    """Shut the client's TCP connection down and abort the request without a response."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise DroppedConnection("connection dropped by fault injection")


_PROXY_TITLES = {503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}


def proxy_error_page(status: int) -> str:
    """The short HTML page a reverse proxy in front of a server answers with (nginx style)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = _PROXY_TITLES.get(status, f"{status} {phrase}")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
