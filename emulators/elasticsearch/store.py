"""The emulated cluster's state: one object, one lock, snapshot and restore.

It holds what a cluster keeps: user inference endpoints, the preconfigured ones (fixed by the
version), persistent and transient cluster settings, ingest pipelines and indexes, and the
cluster UUID. REST handlers read and change it under `store.lock`; persistence saves a
`snapshot()` and starts from a `restore()`.

Records are replaced, never edited in place (an update stores a new `StoredEndpoint`, a PUT of
a pipeline a new dict), so a snapshot is a set of shallow copies taken under the lock and stays
true after the lock is released.
"""

from __future__ import annotations

import copy
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .endpoints import StoredEndpoint
from .java_format import java_hash_order
from .resources import mapping_inference_ids, pipeline_model_ids

__all__ = ["SKIP_VALIDATION_SETTING", "ClusterSnapshot", "ClusterStore"]

SKIP_VALIDATION_SETTING = "xpack.inference.skip_validate_and_start"


@dataclass
class ClusterSnapshot:
    """What survives a full cluster restart: transient settings and defaults do not."""

    cluster_uuid: str
    endpoints: dict[str, StoredEndpoint] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)
    persistent_settings: dict[str, str] = field(default_factory=dict)


class ClusterStore:
    """The cluster's state behind one reentrant lock; handlers hold `lock` while they use it."""

    def __init__(self, defaults: dict[str, dict[str, Any]]) -> None:
        self.lock = threading.RLock()
        self.defaults = defaults
        self.cluster_uuid = secrets.token_urlsafe(16)[:22]
        self.endpoints: dict[str, StoredEndpoint] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, dict[str, str]] = {"persistent": {}, "transient": {}}

    def snapshot(self) -> ClusterSnapshot:
        """The persistent state as of now."""
        with self.lock:
            return ClusterSnapshot(
                cluster_uuid=self.cluster_uuid,
                endpoints=dict(self.endpoints),
                pipelines=dict(self.pipelines),
                indexes=dict(self.indexes),
                persistent_settings=dict(self.settings["persistent"]),
            )

    def restore(self, snapshot: ClusterSnapshot) -> None:
        """Replace the state with `snapshot`'s; transient settings start empty."""
        with self.lock:
            self.cluster_uuid = snapshot.cluster_uuid
            self.endpoints = dict(snapshot.endpoints)
            self.pipelines = dict(snapshot.pipelines)
            self.indexes = dict(snapshot.indexes)
            self.settings = {"persistent": dict(snapshot.persistent_settings), "transient": {}}

    def reset(self) -> None:
        """Forget endpoints, pipelines, indexes and cluster settings (the UUID stays)."""
        self.restore(ClusterSnapshot(self.cluster_uuid))

    def lookup(self, inference_id: str) -> dict[str, Any] | None:
        """The endpoint as GET shows it (a preconfigured one included), or None."""
        with self.lock:
            if inference_id in self.defaults:
                return copy.deepcopy(self.defaults[inference_id])
            stored = self.endpoints.get(inference_id)
            return stored.public() if stored else None

    def all_endpoints(self) -> list[dict[str, Any]]:
        """Every endpoint as GET shows it, preconfigured ones first."""
        with self.lock:
            return [copy.deepcopy(d) for d in self.defaults.values()] + [
                e.public() for e in self.endpoints.values()
            ]

    @property
    def skip_validation(self) -> bool:
        """Whether `xpack.inference.skip_validate_and_start` is set (transient wins)."""
        with self.lock:
            value = self.settings["transient"].get(
                SKIP_VALIDATION_SETTING, self.settings["persistent"].get(SKIP_VALIDATION_SETTING)
            )
        return value == "true"

    def references(self, inference_id: str) -> tuple[list[str], list[str]]:
        """Pipelines and indexes that use `inference_id`, in Java set order."""
        with self.lock:
            pipelines = [
                p for p, body in self.pipelines.items() if inference_id in pipeline_model_ids(body)
            ]
            indexes = [
                i
                for i, body in self.indexes.items()
                if inference_id in mapping_inference_ids(body["mappings"])
            ]
        return java_hash_order(pipelines), java_hash_order(indexes)
