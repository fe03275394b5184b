"""State one provider process shares between lifecycle calls to the same cluster. Never pickled.

The engine runs one provider process per operation and calls it from up to four threads, once
per resource, so this is where per-resource calls share work:

- one pooled client per connection (keep-alive across a thousand endpoints);
- the cluster version, read once;
- for refresh, one ``GET _inference/_all`` shared by every read (a single flight, refetched when
  stale or after a write of ours), with a per-id GET as the fallback;
- the ids a replacement deleted, so a failed re-create can say the endpoint is gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from providers.client import ElasticsearchClient
from providers.connection import ConnectionSettings
from providers.errors import ElasticsearchError, ElasticsearchUnreachable
from providers.versions import Version

__all__ = ["Session", "session_for"]

SNAPSHOT_TTL = 10.0


class Session:
    """A client plus the cached facts about one cluster."""

    def __init__(
        self, settings: ConnectionSettings, on_retry: Callable[[str], None] | None = None
    ) -> None:
        self.client = ElasticsearchClient(settings, on_retry=on_retry)
        self._lock = threading.Lock()
        self._version: Version | None = None
        self._snapshot: dict[str, dict[str, Any]] | None = None
        self._snapshot_at = 0.0
        self._list_unsupported = False

    def version(self) -> Version:
        """The cluster's version (one ``GET /`` per process)."""
        with self._lock:
            if self._version is None:
                self._version = self.client.get_cluster_version()
            return self._version

    def invalidate(self) -> None:
        """Forget the endpoint list after a write of ours."""
        with self._lock:
            self._snapshot = None

    def lookup(self, task_type: str, inference_id: str) -> dict[str, Any] | None:
        """The live endpoint, from the shared list when fresh, else one GET; None when gone."""
        with self._lock:
            stale = time.monotonic() - self._snapshot_at > SNAPSHOT_TTL
            if not self._list_unsupported and (self._snapshot is None or stale):
                try:
                    listed = self.client.get_inference_endpoints()
                except ElasticsearchUnreachable:
                    raise
                except ElasticsearchError as exc:
                    # A cluster or proxy that refuses the list call (4xx): read each endpoint from
                    # now on. A transient failure (retries exhausted): this read only.
                    status = exc.status or 0
                    self._list_unsupported = 400 <= status < 500 and status != 429
                else:
                    self._snapshot = {str(e.get("inference_id")): e for e in listed}
                    self._snapshot_at = time.monotonic()
            found = None if self._snapshot is None else self._snapshot.get(inference_id)
        if found is not None:
            return found
        # Not in the list: created since, or really gone. Ask for this one id.
        return self.client.get_inference_endpoint(task_type, inference_id)

    def mark_deleted(self, inference_id: str) -> None:
        """Record that this process deleted ``inference_id``."""
        with _SESSIONS_LOCK:
            _DELETED.add(inference_id)

    def deleted_here(self, inference_id: str) -> bool:
        """Whether this process deleted ``inference_id`` (e.g. the first half of a replacement)."""
        with _SESSIONS_LOCK:
            return inference_id in _DELETED


_SESSIONS: dict[ConnectionSettings, Session] = {}
_SESSIONS_LOCK = threading.Lock()
_DELETED: set[str] = set()


def session_for(
    settings: ConnectionSettings, on_retry: Callable[[str], None] | None = None
) -> Session:
    """The process's session for these settings (created on first use)."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(settings)
        if session is None:
            session = _SESSIONS[settings] = Session(settings, on_retry)
        return session
