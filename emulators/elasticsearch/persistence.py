"""Optional persistence of the emulated cluster's state in `<data_dir>/state.json`.

The file holds what a real cluster keeps across a full restart: user endpoints (with their
secrets, as ES keeps them), ingest pipelines, indexes, persistent cluster settings and the
cluster UUID. Transient settings are not kept: a full cluster restart clears them. The request
log, faults and rate limits are test controls, not cluster state, and are never saved.

The file carries a `format` number; `es_version` records the version that wrote it and is
informational only, so a state written while impersonating one ES version loads under another.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulators.state_files import write_atomically

from .endpoints import StoredEndpoint
from .services.base import EndpointConfig
from .store import ClusterSnapshot

__all__ = [
    "FORMAT_VERSION",
    "STATE_FILE",
    "StateEncoder",
    "StateFile",
    "decode_state",
]

STATE_FILE = "state.json"
FORMAT_VERSION = 1
_TEMP_PREFIX, _TEMP_SUFFIX = ".state-", ".tmp"


class _Malformed(Exception):
    """A state document whose shape is wrong at `where`."""


def _encode_endpoint(endpoint: StoredEndpoint) -> str:
    config = endpoint.config
    secrets = config.secret_settings
    # Format 1 stored a lone `api_key`; services with other secrets add `secret_settings`.
    secret_part = (
        {"api_key": secrets["api_key"]}
        if set(secrets) == {"api_key"}
        else {"secret_settings": secrets}
    )
    return json.dumps(
        {
            "inference_id": endpoint.inference_id,
            "service": endpoint.service,
            "task_type": config.task_type,
            "service_settings": config.service_settings,
            **secret_part,
            "task_settings": config.task_settings,
            "chunking_settings": config.chunking_settings,
        },
        separators=(",", ":"),
    )


class StateEncoder:
    """Turns the live cluster state into the state file's text.

    Encoding every endpoint on every save would make creating n endpoints cost O(n^2) JSON
    work, so each endpoint's text is reused while its record is unchanged. The store never
    edits a record in place (updates and admin edits store a new `StoredEndpoint`), so
    "unchanged" is "the same record".
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[StoredEndpoint, str]] = {}

    def encode(self, snapshot: ClusterSnapshot, *, es_version: str) -> str:
        """The file's text for `snapshot`."""
        endpoints = snapshot.endpoints.values()
        cache = self._cache
        parts = []
        for endpoint in endpoints:
            hit = cache.get(endpoint.inference_id)
            if hit is None or hit[0] is not endpoint:
                hit = (endpoint, _encode_endpoint(endpoint))
                cache[endpoint.inference_id] = hit
            parts.append(hit[1])
        if len(cache) > len(parts):
            self._cache = {e.inference_id: cache[e.inference_id] for e in endpoints}
        head = json.dumps(
            {
                "format": FORMAT_VERSION,
                "es_version": es_version,
                "cluster_uuid": snapshot.cluster_uuid,
                "settings": {"persistent": snapshot.persistent_settings},
                "pipelines": snapshot.pipelines,
                "indexes": snapshot.indexes,
            },
            separators=(",", ":"),
        )
        return f'{head[:-1]},"endpoints":[{",".join(parts)}]}}'


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise _Malformed(f"{where}[{key}] is missing")
    value = obj[key]
    if not isinstance(value, kind):
        expected = " or ".join(
            {dict: "an object", list: "a list", str: "a string", type(None): "null"}[k]
            for k in (kind if isinstance(kind, tuple) else (kind,))
        )
        raise _Malformed(f"{where}[{key}] must be {expected}")
    return value


def _objects(obj: dict[str, Any], key: str, where: str) -> dict[str, dict[str, Any]]:
    found: dict[str, Any] = _get(obj, key, dict, where)
    for name in found:
        _get(found, name, dict, f"{where}[{key}]")
    return found


def _endpoint(raw: Any, where: str) -> StoredEndpoint:
    if not isinstance(raw, dict):
        raise _Malformed(f"{where} must be an object")
    secrets = (
        _get(raw, "secret_settings", dict, where)
        if "secret_settings" in raw
        else {"api_key": _get(raw, "api_key", str, where)}
    )
    config = EndpointConfig(
        task_type=_get(raw, "task_type", str, where),
        service_settings=_get(raw, "service_settings", dict, where),
        secret_settings=secrets,
        task_settings=_get(raw, "task_settings", dict, where),
        chunking_settings=_get(raw, "chunking_settings", (dict, type(None)), where),
    )
    return StoredEndpoint(
        _get(raw, "inference_id", str, where), _get(raw, "service", str, where), config
    )


def decode_state(document: Any) -> ClusterSnapshot:
    """Check a parsed state document and rebuild the state; raise `ValueError` on a bad shape."""
    try:
        if not isinstance(document, dict):
            raise _Malformed("the document must be a JSON object")
        if "format" not in document:
            raise _Malformed("[format] is missing")
        if type(document["format"]) is not int or document["format"] != FORMAT_VERSION:
            raise _Malformed(
                f"unsupported format [{json.dumps(document['format'])}] (this emulator reads"
                f" format {FORMAT_VERSION})"
            )
        settings = _get(document, "settings", dict, "")
        persistent = _get(settings, "persistent", dict, "[settings]")
        for key in persistent:
            _get(persistent, key, str, "[settings][persistent]")
        indexes = _objects(document, "indexes", "")
        for name, index in indexes.items():
            _get(index, "uuid", str, f"[indexes][{name}]")
            for part in ("mappings", "settings", "aliases"):
                _get(index, part, dict, f"[indexes][{name}]")
        endpoints: dict[str, StoredEndpoint] = {}
        for i, raw in enumerate(_get(document, "endpoints", list, "")):
            endpoint = _endpoint(raw, f"[endpoints][{i}]")
            if endpoint.inference_id in endpoints:
                raise _Malformed(f"[endpoints][{i}] repeats [{endpoint.inference_id}]")
            endpoints[endpoint.inference_id] = endpoint
        return ClusterSnapshot(
            cluster_uuid=_get(document, "cluster_uuid", str, ""),
            endpoints=endpoints,
            pipelines=_objects(document, "pipelines", ""),
            indexes=indexes,
            persistent_settings=persistent,
        )
    except _Malformed as exc:
        raise ValueError(str(exc)) from None


class StateFile:
    """`<data_dir>/state.json`: read once, rewritten atomically, readable by its owner only."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.directory = Path(data_dir)
        self.path = self.directory / STATE_FILE
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._saved_through = 0
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"cannot create the emulator's data directory {self.directory}: {exc.strerror}"
            ) from exc
        # A temp file left by an emulator killed mid-save holds secrets and is never read.
        for stale in self.directory.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def load(self) -> ClusterSnapshot | None:
        """The saved state, or None when there is no file; `ValueError` names a bad file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unloadable(exc.strerror or str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise self._unloadable(f"it is not UTF-8 text ({exc.reason})") from exc
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise self._unloadable(f"it is not valid JSON ({exc})") from exc
        try:
            return decode_state(document)
        except ValueError as exc:
            raise self._unloadable(str(exc)) from exc

    def save(self, snapshot: Callable[[], str]) -> None:
        """Write `snapshot()`'s text in place of the file, atomically; call it after a change.

        Saves are serialised, so the newest snapshot always lands last. A save that finds its
        change already covered by a snapshot taken after it was requested writes nothing.
        """
        ticket = next(self._tickets)
        with self._lock:
            if self._saved_through >= ticket:
                return
            # Every ticket up to here was taken after its change, so this snapshot holds them.
            covered = next(self._tickets) - 1
            text = snapshot()
            # 0600 and atomic: a reader (or a killed emulator) sees the old file or the new one.
            write_atomically(self.path, text, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
            self._saved_through = covered

    def _unloadable(self, reason: str) -> ValueError:
        return ValueError(f"cannot load the emulator's state from {self.path}: {reason}")
