"""State one provider process shares between lifecycle calls to the same cluster. Never pickled.

The engine runs one provider process per operation and calls it from up to four threads, once
per resource, so this is where per-resource calls share work:

- one pooled client per connection (keep-alive across a thousand endpoints);
- the cluster version, read once;
- for refresh, one ``GET _inference/_all`` shared by every read (a single flight, refetched when
  stale or after a write of ours), with a per-id GET as the fallback;
- the ids a replacement deleted, by cluster, so a failed re-create can say the endpoint is gone;
- the stack file's ``force`` flags, parsed once per version of the file;
- TLS contexts, built once per URL and CA setting;
- one outage breaker per cluster: once a request got no response for its whole retry deadline,
  every later request to that cluster fails at once with the same message, so an outage costs
  a run one deadline, not one per endpoint (the engine calls from four threads, and the version
  and list calls hold the session lock through their retries).

All of it is one ``ProcessState``; ``reset`` forgets it (for tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from providers.client import ElasticsearchClient, OutageBreaker, TlsContexts
from providers.connection import ConnectionSettings
from providers.errors import ElasticsearchError, ElasticsearchUnreachable
from providers.versions import Version

__all__ = ["ProcessState", "Session", "reset", "session_for"]

SNAPSHOT_TTL = 10.0
_T = TypeVar("_T")


class Session:
    """A client plus the cached facts about one cluster."""

    def __init__(
        self,
        settings: ConnectionSettings,
        on_retry: Callable[[str], None] | None = None,
        process: ProcessState | None = None,
    ) -> None:
        self._process = process or ProcessState()
        self.client = ElasticsearchClient(
            settings,
            on_retry=on_retry,
            tls=self._process.tls,
            breaker=self._process.breaker_for(settings.endpoints),
        )
        # A cluster is the set of nodes it is reached at, whatever the credentials.
        self.cluster = frozenset(settings.endpoints)
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
        """Record that this process deleted ``inference_id`` on this cluster."""
        self._process.mark_deleted(self.cluster, inference_id)

    def deleted_here(self, inference_id: str) -> bool:
        """Whether this process deleted ``inference_id`` on this cluster (e.g. a replacement's
        first half)."""
        return self._process.deleted_here(self.cluster, inference_id)

    def remember(self, key: Hashable, version: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per ``version`` of ``key``, shared by every session of the process."""
        return self._process.remember(key, version, compute)


class ProcessState:
    """Everything one provider process keeps between lifecycle calls. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tls = TlsContexts()
        self._sessions: dict[ConnectionSettings, Session] = {}
        self._deleted: set[tuple[frozenset[str], str]] = set()
        self._memo: dict[Hashable, tuple[Hashable, Any]] = {}
        self._memo_lock = threading.Lock()
        self._breakers: dict[tuple[str, ...], OutageBreaker] = {}
        self._breakers_lock = threading.Lock()
        # The last settings object asked for and its session: a provider asks with the same
        # object while nothing it read has changed (connection.RememberedConnection), so most
        # calls skip the lock and hashing and comparing every field of the settings.
        self._last: tuple[ConnectionSettings, Session] | None = None

    def session_for(
        self, settings: ConnectionSettings, on_retry: Callable[[str], None] | None = None
    ) -> Session:
        """The session for these settings (created on first use)."""
        last = self._last
        if last is not None and last[0] is settings:
            return last[1]
        with self._lock:
            session = self._sessions.get(settings)
            if session is None:
                session = self._sessions[settings] = Session(settings, on_retry, self)
            self._last = (settings, session)
            return session

    def breaker_for(self, endpoints: tuple[str, ...]) -> OutageBreaker:
        """The outage breaker of the cluster at ``endpoints`` (shared by its sessions)."""
        with self._breakers_lock:
            return self._breakers.setdefault(endpoints, OutageBreaker())

    def mark_deleted(self, cluster: frozenset[str], inference_id: str) -> None:
        """Record that this process deleted ``inference_id`` on ``cluster``."""
        with self._lock:
            self._deleted.add((cluster, inference_id))

    def deleted_here(self, cluster: frozenset[str], inference_id: str) -> bool:
        """Whether this process deleted ``inference_id`` on ``cluster``."""
        with self._lock:
            return (cluster, inference_id) in self._deleted

    def remember(self, key: Hashable, version: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per ``version`` of ``key``; other threads wait for that one."""
        with self._memo_lock:
            found = self._memo.get(key)
            if found is None or found[0] != version:
                found = self._memo[key] = (version, compute())
            value: _T = found[1]
            return value

    def close(self) -> None:
        """Close every session's connections."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
            self._last = None
        for session in sessions:
            session.client.close()


_PROCESS = ProcessState()


def session_for(
    settings: ConnectionSettings, on_retry: Callable[[str], None] | None = None
) -> Session:
    """The process's session for these settings (created on first use)."""
    return _PROCESS.session_for(settings, on_retry)


def reset() -> None:
    """Forget every session, deleted id, memo, TLS context and breaker (for tests)."""
    global _PROCESS
    previous, _PROCESS = _PROCESS, ProcessState()
    previous.close()
