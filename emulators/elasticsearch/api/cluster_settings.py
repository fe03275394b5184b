"""`GET/PUT /_cluster/settings`, for the one setting the emulator knows.

`xpack.inference.skip_validate_and_start` turns the PUT-time validation call off; any other
key is "not recognized", as `ClusterUpdateSettingsRequest` validation reports it.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from emulators.admin import mark_mutated

from ..errors import EsError, action_request_validation_exception
from ..java_format import java_repr
from ..rest import (
    check_params,
    param_as_boolean,
    param_as_time,
    parse_json_object,
    required_content,
)
from ..store import SKIP_VALIDATION_SETTING
from .context import Cluster, Route

__all__ = ["ROUTES", "get_settings", "put_settings"]

_KNOWN_SETTINGS = (SKIP_VALIDATION_SETTING,)


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(_flatten(child, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def get_settings(cluster: Cluster, request: Request) -> tuple[Any, int]:
    """Persistent and transient settings, flat or nested, defaults on request."""
    args = request.args
    flat = param_as_boolean(args, "flat_settings", False)
    defaults = param_as_boolean(args, "include_defaults", False)
    param_as_time(args, "master_timeout")
    check_params(
        request.path, args, ("flat_settings", "include_defaults", "master_timeout", "timeout")
    )
    store = cluster.store
    with store.lock:
        scopes = {k: dict(v) for k, v in store.settings.items()}
    out: dict[str, Any] = {k: (v if flat else _nest(v)) for k, v in scopes.items()}
    if defaults:
        default = {SKIP_VALIDATION_SETTING: "false"}
        out["defaults"] = default if flat else _nest(default)
    return out, 200


def put_settings(cluster: Cluster, request: Request) -> tuple[Any, int]:
    """Set or (with null) clear settings; echo what was set."""
    args = request.args
    flat = param_as_boolean(args, "flat_settings", False)
    param_as_time(args, "master_timeout")
    param_as_time(args, "timeout")
    data = required_content(request)
    check_params(request.path, args, ("flat_settings", "master_timeout", "timeout"))
    body = parse_json_object(data)
    updates: dict[str, dict[str, str | None]] = {}
    for scope in ("persistent", "transient"):
        section = body.get(scope) or {}
        for key, value in _flatten(section).items():
            if key not in _KNOWN_SETTINGS:
                raise EsError(
                    "illegal_argument_exception", f"{scope} setting [{key}], not recognized"
                )
            if value is not None and java_repr(value) not in ("true", "false"):
                raise EsError(
                    "illegal_argument_exception",
                    f"Failed to parse value [{java_repr(value)}] as only [true] or [false]"
                    " are allowed.",
                )
            updates.setdefault(scope, {})[key] = None if value is None else java_repr(value)
    if not updates:
        raise action_request_validation_exception(["no settings to update"])
    echoed: dict[str, dict[str, str]] = {"persistent": {}, "transient": {}}
    store = cluster.store
    with store.lock:
        for scope, values in updates.items():
            for key, value in values.items():
                if value is None:
                    store.settings[scope].pop(key, None)
                else:
                    store.settings[scope][key] = value
                    echoed[scope][key] = value
    mark_mutated(request)
    return {"acknowledged": True, **{k: (v if flat else _nest(v)) for k, v in echoed.items()}}, 200


ROUTES = (
    Route("/_cluster/settings", ("GET",), get_settings),
    Route("/_cluster/settings", ("PUT",), put_settings),
)
