"""`/_inference`: create, get, update and delete inference endpoints, and perform inference.

The handlers know no service: they look the body's `service` up in `services.SERVICES` and
let it parse, validate and update the endpoint's settings (see `services/__init__.py`).

Choices where the reference is unconfirmed:
- Update: the service decides what changes (see its module); from 9.4 a validation call runs
  unless nothing changed. `chunking_settings` in the body are refused until 9.5 (#149723); on
  8.17-9.2.5 and 9.3.0 a change drops the chunking to word/250/100 (#139574, fixed in 9.4 and,
  by the changelog bundles' dates, 9.2.6 and 9.3.1). `/_inference/{id}/_update` fails with "Inference ID must be provided
  in the path" on 8.17. Update accepts `master_timeout` on every version; `timeout` from 9.5.
- Not found on update: 404 "The inference endpoint [<id>] does not exist and cannot be updated".
- DELETE of a preconfigured (default) endpoint, checked after the not-found and task-type
  checks (`TransportDeleteInferenceEndpointAction`, `ModelRegistry.containsDefaultConfigId`):
  8.16-8.17 and 9.0 refuse it with 400 "[<id>] is a reserved inference endpoint. Cannot delete
  a reserved inference endpoint.", `force` or not; from 8.18 and 9.1 (elastic/elasticsearch
  #124781, backported to 8.18 only) it is 400 "[<id>] is a reserved inference endpoint. Use the
  force=true query parameter to delete the inference endpoint." without `force`, and with
  `force` it is deleted and stored again when next read, so it stays listed. No 9.0 backport
  was found; the emulator keeps 9.0 on the older rule.
- `GET _inference/_services[/{task_type}]` (`RestGetInferenceServicesAction`,
  `TransportGetInferenceServicesAction`): a JSON array of the emulated services that support
  the task type (all for none or `any`), sorted by service name, each as its module describes
  it (`InferenceService.settings_description`), with the task types the node may use
  (`offered_task_types`; a service with none is hidden, as `elastic` without authorization). From 8.18 and 9.0, the versions with the
  simplified `InferenceServiceConfiguration`; 8.16-8.17 answered an older, connector-style
  shape the emulator does not reproduce (it answers as 8.15: `_services` is an endpoint id).
  Real clusters list more services than the emulator implements.
- The validation call honours PUT's `timeout` when it is smaller than `validation_timeout`.
  Transport failures become `exception` "Http client failed to send request from inference
  entity id [<id>]" caused by `connect_exception`/`socket_timeout_exception`; hosts outside
  `allowed_hosts` (loopback by default) are never contacted and fail like an unresolvable host.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from emulators.admin import mark_mutated

from ..chunking import LEGACY_CHUNKING
from ..endpoints import StoredEndpoint, parse_task_type, resolve_task_type, validate_id
from ..errors import EsError, resource_not_found_exception, status_exception
from ..java_format import java_map_repr, java_repr, java_set_repr
from ..rest import (
    check_params,
    param_as_boolean,
    param_as_time,
    parse_json_map,
    parse_json_object,
    required_content,
)
from ..services import SERVICES
from ..services.base import (
    ABSENT,
    EndpointUpdate,
    InferenceService,
    ServiceCall,
    describe_service,
)
from ..versions import (
    CHUNKING_RESET_ON_UPDATE,
    DELETE_DEFAULT_WITH_FORCE,
    DELETE_DRY_RUN_AND_FORCE,
    INFERENCE_SERVICES_API,
    PUT_TIMEOUT,
    TASK_TYPE_OPTIONAL_IN_URL,
    UPDATE_ACCEPTS_CHUNKING,
    UPDATE_API,
    UPDATE_TIMEOUT,
    UPDATE_VALIDATES,
    UPDATE_WITHOUT_TASK_TYPE,
)
from .context import Cluster, Route

__all__ = [
    "ROUTES",
    "delete_endpoint",
    "get_endpoints",
    "get_services",
    "perform_inference",
    "put_endpoint",
    "stream_inference",
    "update_endpoint",
]

_PATH_PARAMS = ("task_type_or_id", "inference_id")


def _target(first: str, second: str | None) -> tuple[str, str]:
    if second is None:
        return "any", first
    return parse_task_type(first), second


def _check_task_type(requested: str, actual: str) -> None:
    if requested not in ("any", actual):
        raise status_exception(
            f"Requested task type [{requested}] does not match the inference endpoint's"
            f" task type [{actual}]"
        )


def _not_found(inference_id: str) -> EsError:
    return resource_not_found_exception(f"Inference endpoint not found [{inference_id}]")


def get_endpoints(
    cluster: Cluster, request: Request, first: str | None = None, second: str | None = None
) -> tuple[Any, int]:
    """One endpoint, or all (`_all`, `*`, none named) of a task type, sorted by id."""
    task_type, inference_id = _target(first, second) if first is not None else ("any", "_all")
    check_params(request.path, request.args, (), _PATH_PARAMS)
    if inference_id in ("_all", "*"):
        found = [e for e in cluster.store.all_endpoints() if task_type in ("any", e["task_type"])]
    else:
        endpoint = cluster.store.lookup(inference_id)
        if endpoint is None:
            raise _not_found(inference_id)
        _check_task_type(task_type, endpoint["task_type"])
        found = [endpoint]
    return {"endpoints": sorted(found, key=lambda e: str(e["inference_id"]))}, 200


def put_endpoint(
    cluster: Cluster, request: Request, first: str, second: str | None = None
) -> tuple[Any, int]:
    """Parse with the endpoint's service, make the validation call, store it once."""
    url_task, inference_id = _target(first, second)
    args: MultiDict[str, str] = request.args
    consumed: list[str] = []
    timeout = None
    if PUT_TIMEOUT(cluster.version):
        timeout = param_as_time(args, "timeout")
        consumed.append("timeout")
    data = required_content(request)
    check_params(request.path, args, consumed, _PATH_PARAMS)
    validate_id(inference_id)
    store = cluster.store
    if inference_id in store.defaults:
        raise status_exception(
            f"[{inference_id}] is a reserved inference ID. Cannot create a new inference"
            " endpoint with a reserved ID."
        )
    body = parse_json_map(data, cluster.version)
    inserted = len(body)
    task_type = resolve_task_type(url_task, body.pop("task_type", None))
    service = body.pop("service", None)
    if service is None:
        raise status_exception("Inference endpoint configuration is missing the [service] setting")
    implementation = SERVICES.get(service) if isinstance(service, str) else None
    if implementation is None:
        raise status_exception(f"Unknown service [{java_repr(service)}]")
    config = implementation.parse_request_config(
        body, task_type, cluster.version, inserted=inserted
    )
    if not store.skip_validation:
        config = implementation.validate(
            ServiceCall(inference_id, config, cluster.validation, timeout)
        )
    with store.lock:
        if inference_id in store.endpoints:
            raise EsError(
                "resource_already_exists_exception",
                f"Inference endpoint [{inference_id}] already exists",
            )
        stored = StoredEndpoint(inference_id, implementation.name, config)
        store.endpoints[inference_id] = stored
    mark_mutated(request)
    return stored.public(), 200


def delete_endpoint(
    cluster: Cluster, request: Request, first: str, second: str | None = None
) -> tuple[Any, int]:
    """Delete unless reserved or referenced (409, unless `force`); `dry_run` only reports."""
    task_type, inference_id = _target(first, second)
    args = request.args
    consumed: list[str] = []
    dry_run = force = False
    enhanced = DELETE_DRY_RUN_AND_FORCE(cluster.version)
    if enhanced:
        force = param_as_boolean(args, "force", False)
        dry_run = param_as_boolean(args, "dry_run", False)
        consumed += ["force", "dry_run"]
    check_params(request.path, args, consumed, _PATH_PARAMS)
    store = cluster.store
    with store.lock:
        endpoint = store.lookup(inference_id)
        if endpoint is None:
            raise _not_found(inference_id)
        _check_task_type(task_type, endpoint["task_type"])
        if inference_id in store.defaults:
            if not DELETE_DEFAULT_WITH_FORCE(cluster.version):
                raise status_exception(
                    f"[{inference_id}] is a reserved inference endpoint. Cannot delete a"
                    " reserved inference endpoint."
                )
            if not force:
                raise status_exception(
                    f"[{inference_id}] is a reserved inference endpoint. Use the force=true"
                    " query parameter to delete the inference endpoint."
                )
            # Deleted, and stored again the next time it is read: it stays listed.
            return {"acknowledged": True, "pipelines": [], "indexes": []}, 200
        pipelines, indexes = store.references(inference_id)
        message = ""
        if pipelines:
            message += (
                f"Inference endpoint {inference_id} is referenced by pipelines:"
                f" {java_set_repr(pipelines)}. Ensure that no pipelines are using this"
                " inference endpoint, or use force to ignore this warning and delete the"
                " inference endpoint."
            )
        if indexes:
            message += (
                f" Inference endpoint {inference_id} is being used in the mapping for indexes:"
                f" {java_set_repr(indexes)}. Ensure that no index mappings are using this"
                " inference endpoint, or use force to ignore this warning and delete the"
                " inference endpoint."
            )
        if dry_run:
            return {
                "acknowledged": False,
                "pipelines": pipelines,
                "indexes": indexes,
                "error_message": message,
            }, 200
        if message and not force:
            raise status_exception(message, status=409)
        del store.endpoints[inference_id]
    mark_mutated(request)
    if not enhanced:
        return {"acknowledged": True}, 200
    return {"acknowledged": True, "pipelines": [], "indexes": []}, 200


def _update_parts(
    body: dict[str, Any], full: bool, accepts_chunking: bool
) -> tuple[str | None, EndpointUpdate]:
    """`UpdateInferenceModelAction.Request.parseRequest`: the body's task type and settings."""
    inserted = len(body)
    body_task = None
    if "task_type" in body:
        raw_task = body.pop("task_type")
        if not isinstance(raw_task, str):
            raise status_exception(
                "Failed to parse [task_type] in update request"
                f" [{java_map_repr(body, inserted=inserted)}]"
            )
        body_task = parse_task_type(raw_task)
    parts: dict[str, Any] = {}
    for key, label in (("service_settings", "service"), ("task_settings", "task")):
        if key in body:
            value = body.pop(key)
            if value is not None and not isinstance(value, dict):
                raise status_exception(
                    f"Unable to parse {label} settings in the request [{java_repr(value)}]"
                )
            parts[key] = value
    if accepts_chunking and "chunking_settings" in body:
        parts["chunking_settings"] = body.pop("chunking_settings")
    if body:
        raise status_exception(
            "Request contained fields which cannot be updated, remove these fields and try"
            f" again [{java_map_repr(body, inserted=inserted)}]"
        )
    return body_task, EndpointUpdate(
        service_settings=parts.get("service_settings"),
        task_settings=parts.get("task_settings"),
        chunking_settings=parts.get("chunking_settings", ABSENT),
        full_update=full,
    )


def _cannot_be_updated(inference_id: str) -> EsError:
    return resource_not_found_exception(
        f"The inference endpoint [{inference_id}] does not exist and cannot be updated"
    )


def _service_of(stored: StoredEndpoint) -> InferenceService:
    implementation = SERVICES.get(stored.service)
    if implementation is None:
        # Only the admin API can store an endpoint of a service the emulator lacks.
        raise status_exception(f"Unknown service [{stored.service}]")
    return implementation


def update_endpoint(
    cluster: Cluster, request: Request, first: str, second: str | None = None
) -> tuple[Any, int]:
    """Merge an `_update` into the stored endpoint, by the rules of its service."""
    version = cluster.version
    if second is None and not UPDATE_WITHOUT_TASK_TYPE(version):
        raise status_exception("Inference ID must be provided in the path")
    url_task, inference_id = _target(first, second)
    args = request.args
    consumed = ["master_timeout"]
    param_as_time(args, "master_timeout")
    timeout = None
    if UPDATE_TIMEOUT(version):
        timeout = param_as_time(args, "timeout")
        consumed.append("timeout")
    data = required_content(request)
    check_params(request.path, args, consumed, _PATH_PARAMS)
    validate_id(inference_id)
    body = parse_json_object(data, version)
    if not body:
        raise status_exception("Request body is empty")
    full = UPDATE_VALIDATES(version)
    body_task, update = _update_parts(body, full, UPDATE_ACCEPTS_CHUNKING(version))
    store = cluster.store
    with store.lock:
        if inference_id in store.defaults and full:
            raise status_exception(f"Default endpoint [{inference_id}] cannot be updated")
        stored = store.endpoints.get(inference_id)
        if stored is None:
            raise _cannot_be_updated(inference_id)
        for requested in (url_task, body_task):
            if requested not in (None, "any", stored.config.task_type):
                raise status_exception(
                    "Task type must match the task type of the existing endpoint"
                )
    implementation = _service_of(stored)
    new = implementation.update_config(stored.config.copy(), update, version)
    if new != stored.config and CHUNKING_RESET_ON_UPDATE(version) and new.chunking_settings:
        # elastic/elasticsearch#139574: the merged endpoint is stored without chunking, which
        # reads back as the pre-8.16 default.
        new.chunking_settings = dict(LEGACY_CHUNKING)
    if full and new != stored.config and not store.skip_validation:
        new = implementation.validate(ServiceCall(inference_id, new, cluster.validation, timeout))
    with store.lock:
        current = store.endpoints.get(inference_id)
        if current is None:
            raise _cannot_be_updated(inference_id)
        if new != current.config:
            current = replace(current, config=new)
            store.endpoints[inference_id] = current
            mark_mutated(request)
        return current.public(), 200


def get_services(cluster: Cluster, request: Request, task_type: str = "any") -> tuple[Any, int]:
    """The configuration of every emulated service that supports `task_type`."""
    requested = parse_task_type(task_type)
    check_params(request.path, request.args, (), ("task_type",))
    version = cluster.version
    described = []
    for _, service in sorted(SERVICES.items()):
        offered = service.offered_task_types(cluster.validation, version)
        if offered and (requested == "any" or requested in offered):
            described.append(describe_service(service, version, offered))
    return described, 200


def _inference_target(cluster: Cluster, first: str, second: str | None) -> StoredEndpoint:
    task_type, inference_id = _target(first, second)
    with cluster.store.lock:
        stored = cluster.store.endpoints.get(inference_id)
    if stored is None:
        raise _not_found(inference_id)
    if task_type not in ("any", stored.config.task_type):
        # TransportInferenceAction's incompatibleTaskTypeException.
        raise status_exception(
            f"Incompatible task_type, the requested type [{task_type}] does not match the"
            f" model type [{stored.config.task_type}]"
        )
    return stored


def _inference_request(
    cluster: Cluster, request: Request, first: str, second: str | None
) -> tuple[StoredEndpoint, dict[str, Any], float | None]:
    """The target endpoint, body and `timeout` of a perform-inference request."""
    timeout = param_as_time(request.args, "timeout")
    check_params(request.path, request.args, ("timeout",), _PATH_PARAMS)
    stored = _inference_target(cluster, first, second)
    return stored, parse_json_map(required_content(request), cluster.version), timeout


def _call(cluster: Cluster, stored: StoredEndpoint, timeout: float | None) -> ServiceCall:
    """The call to `stored`'s service for a perform-inference request (on a copy of its config)."""
    return ServiceCall(stored.inference_id, stored.config.copy(), cluster.validation, timeout)


def perform_inference(
    cluster: Cluster, request: Request, first: str, second: str | None = None
) -> tuple[Any, int]:
    """`POST _inference/[<task_type>/]<id>`: the service's answer for the body's input."""
    stored, body, timeout = _inference_request(cluster, request, first, second)
    answer = _service_of(stored).infer(_call(cluster, stored, timeout), body)
    return answer, 200


def stream_inference(
    cluster: Cluster, request: Request, first: str, second: str | None = None
) -> tuple[Any, int]:
    """`POST _inference/[<task_type>/]<id>/_stream`: server-sent events, then `[DONE]`."""
    stored, body, timeout = _inference_request(cluster, request, first, second)
    chunks = _service_of(stored).stream(_call(cluster, stored, timeout), body)
    events = [f"event: message\ndata: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks]
    events.append("event: message\ndata: [DONE]\n\n")
    response = Response("".join(events), status=200, content_type="text/event-stream")
    response.headers["X-elastic-product"] = "Elasticsearch"
    return response, 200


ROUTES = (
    Route("/_inference", ("GET",), get_endpoints),
    Route("/_inference/_services", ("GET",), get_services, INFERENCE_SERVICES_API),
    Route("/_inference/_services/<task_type>", ("GET",), get_services, INFERENCE_SERVICES_API),
    Route("/_inference/<first>", ("GET",), get_endpoints),
    Route("/_inference/<first>", ("PUT",), put_endpoint, TASK_TYPE_OPTIONAL_IN_URL),
    Route("/_inference/<first>", ("DELETE",), delete_endpoint),
    Route("/_inference/<first>/<second>", ("GET",), get_endpoints),
    Route("/_inference/<first>/<second>", ("PUT",), put_endpoint),
    Route("/_inference/<first>/<second>", ("DELETE",), delete_endpoint),
    Route("/_inference/<first>/_update", ("PUT",), update_endpoint, UPDATE_API),
    Route("/_inference/<first>/<second>/_update", ("PUT",), update_endpoint, UPDATE_API),
    Route("/_inference/<first>", ("POST",), perform_inference),
    Route("/_inference/<first>/<second>", ("POST",), perform_inference),
    Route("/_inference/<first>/_stream", ("POST",), stream_inference),
    Route("/_inference/<first>/<second>/_stream", ("POST",), stream_inference),
)
