"""A stateful emulator of Elasticsearch's Inference API (`/_inference`), with the pieces that
reference endpoints (ingest pipelines, `semantic_text` indexes) and cluster settings.

Behaviour follows `shared/reference/es-inference-api.md`: processing order, status codes,
error bodies, version gates. The `hugging_face` service is implemented; other services answer
`Unknown service [x]`.

Choices where the reference is unconfirmed:
- "Model configuration contains settings …" until 9.1, "Configuration contains settings …" from
  9.2; chunking bound messages say "must be a greater/less than" until 9.1 and drop the "a"
  from 9.2 (with the removal of the 300 `max_chunk_size` cap).
- HF `task_settings` on a non-rerank endpoint: before 8.19/9.1 the whole `task_settings` key is
  an unknown setting; from then on only non-empty ones are (listing their keys).
  `chunking_settings` on a non-text_embedding HF endpoint is an unknown setting.
- `none` chunking ignores extra keys (the newest builder never calls `fromMap`).
- A JSON value of the wrong kind where ES casts blindly (e.g. `service_settings: "x"`) is
  ES's 500 `class_cast_exception`. Invalid JSON is 400 `parse_exception` "Failed to parse
  content to map" caused by `json_parse_exception`.
- Update, 8.17-9.3: `service_settings.api_key` replaces the secret (no `api_key` keeps it),
  other service-settings keys and unknown task-settings keys are ignored, no validation call.
  From 9.4: `rate_limit`, `api_key`, rerank `task_settings` and `chunking_settings` are
  updatable; `url` and the other declared fields are accepted only with their current value,
  otherwise (like unknown keys) they fail as "Configuration contains settings [{url=…}] unknown
  to the [hugging_face] service"; a validation call runs unless nothing changed.
  `/_inference/{id}/_update` fails with "Inference ID must be provided in the path" on 8.17.
  Update accepts `master_timeout` on every version; `timeout` from 9.5.
- Not found on update: 404 "The inference endpoint [<id>] does not exist and cannot be updated".
- DELETE of a default endpoint: 400 "[<id>] is a reserved inference endpoint. Cannot delete a
  reserved inference endpoint.", checked after not-found and task-type checks.
- Default endpoints: ELSER and E5 from 8.16, rerank-v1 from 8.18/9.0.
- The validation call honours PUT's `timeout` when it is smaller than `validation_timeout`.
  HF transport failures become `exception` "Http client failed to send request from inference
  entity id [<id>]" caused by `connect_exception`/`socket_timeout_exception`; hosts outside
  `allowed_hosts` (loopback by default) are never contacted and fail like an unresolvable host.
- POST to `/_inference/...` (perform inference) is not implemented and answers 405.

With `data_dir`, the cluster state survives restarts in `<data_dir>/state.json` (see
`es_persistence`): loaded at construction, saved after every request that changed it, after an
admin edit and after `POST /_emulator/reset`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Collection
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import AdminHandler, EmulatorApp, json_response, mark_mutated
from emulators.faults import Fault, proxy_error_page

from .chunking import LEGACY_CHUNKING
from .cluster import ClusterState
from .endpoints import (
    StoredEndpoint,
    merge_patch,
    parse_task_type,
    preconfigured_endpoints,
    resolve_task_type,
    validate_id,
)
from .errors import EsError, PlainEsError, resource_not_found_exception, status_exception
from .java_format import java_map_repr, java_repr, java_set_repr
from .persistence import StateEncoder, StateFile
from .rest import (
    Credentials,
    authenticate,
    check_content_type,
    check_params,
    param_as_boolean,
    param_as_time,
    parse_json_object,
    request_uri,
    required_content,
)
from .services.hugging_face import (
    SERVICE,
    EndpointConfig,
    order_service_settings,
    parse_request_config,
    update_config,
)
from .validation import LOOPBACK_HOSTS, ValidationSettings, validate_endpoint
from .versions import (
    CHUNKING_RESET_ON_UPDATE,
    DEFAULT_ES_VERSION,
    DELETE_DRY_RUN_AND_FORCE,
    MINIMUM_VERSION,
    PUT_TIMEOUT,
    TASK_TYPE_OPTIONAL_IN_URL,
    UPDATE_ACCEPTS_CHUNKING,
    UPDATE_API,
    UPDATE_TIMEOUT,
    UPDATE_VALIDATES,
    UPDATE_WITHOUT_TASK_TYPE,
    EsVersion,
)

__all__ = ["ElasticsearchEmulator"]

_PATH_PARAMS = ("task_type_or_id", "inference_id")
_FAULT_ERRORS = {
    400: ("illegal_argument_exception", "injected fault"),
    401: ("security_exception", "missing authentication credentials for REST request"),
    403: ("security_exception", "action is unauthorized"),
    404: ("resource_not_found_exception", "injected fault"),
    409: ("version_conflict_engine_exception", "version conflict, injected fault"),
    429: (
        "es_rejected_execution_exception",
        "rejected execution of coordinating operation [coordinating_and_primary_bytes=0,"
        " replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1,"
        " max_coordinating_and_primary_bytes=0]",
    ),
    500: ("exception", "injected fault"),
}

Handler = Callable[..., tuple[Any, int]]


class ElasticsearchEmulator(ClusterState, EmulatorApp):
    """A thread-safe WSGI emulator of an Elasticsearch cluster's Inference API."""

    def __init__(
        self,
        *,
        version: str = DEFAULT_ES_VERSION,
        default_endpoints: bool = True,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        validation_timeout: float = 30.0,
        retry_backoff: float = 0.2,
        allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
        cluster_name: str = "es-inference-emulator",
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.version = EsVersion.parse(version)
        if self.version < MINIMUM_VERSION:
            raise ValueError(f"the Inference API needs Elasticsearch {MINIMUM_VERSION} or later")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.credentials = Credentials(api_key, username, password, bearer_token)
        self.validation = ValidationSettings(
            timeout=validation_timeout, backoff=retry_backoff, allowed_hosts=allowed_hosts
        )
        self.cluster_name = cluster_name
        self.cluster_uuid = secrets.token_urlsafe(16)[:22]
        self._defaults = preconfigured_endpoints(self.version) if default_endpoints else {}
        self._endpoints: dict[str, StoredEndpoint] = {}
        self._routes = Map(self._rules(), strict_slashes=False, merge_slashes=False)
        ClusterState.__init__(self)
        EmulatorApp.__init__(self)
        self._state_file = StateFile(data_dir) if data_dir is not None else None
        self._state_encoder = StateEncoder()
        if self._state_file is not None:
            saved = self._state_file.load()
            if saved is None:
                # Write at once, so the cluster UUID is fixed from the first start on.
                self.state_changed()
            else:
                self.cluster_uuid = saved.cluster_uuid
                self._endpoints = saved.endpoints
                self.restore_cluster_state(
                    saved.pipelines, saved.indexes, saved.persistent_settings
                )

    def _rules(self) -> list[Rule]:
        rules = [
            Rule("/", endpoint="info", methods=["GET"]),
            Rule("/_inference", endpoint="inference", methods=["GET"]),
            Rule(
                "/_inference/<first>/<second>",
                endpoint="inference",
                methods=["GET", "PUT", "DELETE"],
            ),
            Rule("/_cluster/settings", endpoint="cluster_settings", methods=["GET", "PUT"]),
            Rule("/_ingest/pipeline", endpoint="pipeline", methods=["GET"]),
            Rule(
                "/_ingest/pipeline/<pipeline_id>",
                endpoint="pipeline",
                methods=["GET", "PUT", "DELETE"],
            ),
            Rule("/<index>", endpoint="index", methods=["GET", "PUT", "DELETE"]),
            Rule("/<index>/_mapping", endpoint="mapping", methods=["GET"]),
        ]
        one_segment = ["GET", "DELETE"]
        if TASK_TYPE_OPTIONAL_IN_URL(self.version):
            one_segment.append("PUT")
        rules.append(Rule("/_inference/<first>", endpoint="inference", methods=one_segment))
        if UPDATE_API(self.version):
            rules += [
                Rule("/_inference/<first>/_update", endpoint="update", methods=["PUT"]),
                Rule("/_inference/<first>/<second>/_update", endpoint="update", methods=["PUT"]),
            ]
        return rules

    # Pipeline plumbing.

    def handle(self, request: Request) -> Response:
        """Authenticate, route and answer one REST request with ES's bodies and statuses."""
        try:
            authenticate(request, self.credentials)
            adapter = self._routes.bind_to_environ(request.environ)
            try:
                endpoint, args = adapter.match()
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
                    f"no handler found for uri [{request_uri(request)}]"
                    f" and method [{request.method}]",
                    status=400,
                ) from exc
            check_content_type(request)
            handler: Handler = getattr(self, f"_{endpoint}")
            payload, status = handler(request, **args)
            return self._respond(request, payload, status)
        except EsError as exc:
            headers = [("WWW-Authenticate", h) for h in exc.auth_headers]
            return self._respond(request, exc.to_body(), exc.status, headers)
        except PlainEsError as exc:
            headers = [("Allow", ",".join(exc.allow))] if exc.allow else []
            return self._respond(request, exc.to_body(), exc.status, headers)

    def _respond(
        self,
        request: Request,
        payload: Any,
        status: int,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
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
        response.headers["X-elastic-product"] = "Elasticsearch"
        return response

    def fault_response(self, fault: Fault) -> Response:
        """ES-shaped canned errors; proxy pages for 502/503/504."""
        if fault.body is not None:
            response = super().fault_response(fault)
        elif fault.status in (502, 503, 504):
            response = Response(
                proxy_error_page(fault.status), fault.status, content_type="text/html"
            )
        else:
            error_type, reason = _FAULT_ERRORS.get(
                fault.status, ("status_exception", "injected fault")
            )
            body = EsError(error_type, reason, status=fault.status).to_body()
            response = json_response(body, fault.status)
            response.headers["X-elastic-product"] = "Elasticsearch"
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    def rate_limited_response(self, retry_after: int) -> Response:
        """ES's 429 `es_rejected_execution_exception`, with `Retry-After`."""
        error_type, reason = _FAULT_ERRORS[429]
        response = json_response(EsError(error_type, reason, status=429).to_body(), 429)
        response.headers["Retry-After"] = str(retry_after)
        response.headers["X-elastic-product"] = "Elasticsearch"
        return response

    # State helpers.
    def _lookup(self, inference_id: str) -> dict[str, Any] | None:
        with self._lock:
            if inference_id in self._defaults:
                return copy.deepcopy(self._defaults[inference_id])
            stored = self._endpoints.get(inference_id)
            return stored.public() if stored else None

    # Cluster info and settings.

    def _info(self, request: Request) -> tuple[Any, int]:
        check_params(request.path, request.args, ())
        v = self.version
        return {
            "name": "es-emulator-0",
            "cluster_name": self.cluster_name,
            "cluster_uuid": self.cluster_uuid,
            "version": {
                "number": str(v),
                "build_flavor": "default",
                "build_type": "docker",
                "build_hash": hashlib.sha1(str(v).encode()).hexdigest(),
                "build_date": "2025-01-01T00:00:00.000000000Z",
                "build_snapshot": False,
                "lucene_version": "10.2.2" if v.major >= 9 else "9.12.2",
                "minimum_wire_compatibility_version": "8.19.0" if v.major >= 9 else "7.17.0",
                "minimum_index_compatibility_version": "8.0.0" if v.major >= 9 else "7.0.0",
            },
            "tagline": "You Know, for Search",
        }, 200

    # Inference endpoints.

    def _inference(
        self, request: Request, first: str | None = None, second: str | None = None
    ) -> tuple[Any, int]:
        if request.method in ("GET", "HEAD"):
            return self._get_endpoints(request, first, second)
        assert first is not None
        if request.method == "PUT":
            return self._put_endpoint(request, first, second)
        return self._delete_endpoint(request, first, second)

    def _target(self, first: str, second: str | None) -> tuple[str, str]:
        if second is None:
            return "any", first
        return parse_task_type(first), second

    def _get_endpoints(
        self, request: Request, first: str | None, second: str | None
    ) -> tuple[Any, int]:
        task_type, inference_id = (
            self._target(first, second) if first is not None else ("any", "_all")
        )
        check_params(request.path, request.args, (), _PATH_PARAMS)
        if inference_id in ("_all", "*"):
            with self._lock:
                everything = [copy.deepcopy(d) for d in self._defaults.values()]
                everything += [e.public() for e in self._endpoints.values()]
            found = [e for e in everything if task_type in ("any", e["task_type"])]
        else:
            endpoint = self._lookup(inference_id)
            if endpoint is None:
                raise resource_not_found_exception(f"Inference endpoint not found [{inference_id}]")
            self._check_task_type(task_type, endpoint["task_type"])
            found = [endpoint]
        return {"endpoints": sorted(found, key=lambda e: str(e["inference_id"]))}, 200

    @staticmethod
    def _check_task_type(requested: str, actual: str) -> None:
        if requested not in ("any", actual):
            raise status_exception(
                f"Requested task type [{requested}] does not match the inference endpoint's"
                f" task type [{actual}]"
            )

    def _put_endpoint(self, request: Request, first: str, second: str | None) -> tuple[Any, int]:
        url_task, inference_id = self._target(first, second)
        args: MultiDict[str, str] = request.args
        consumed: list[str] = []
        timeout = None
        if PUT_TIMEOUT(self.version):
            timeout = param_as_time(args, "timeout")
            consumed.append("timeout")
        data = required_content(request)
        check_params(request.path, args, consumed, _PATH_PARAMS)
        validate_id(inference_id)
        if inference_id in self._defaults:
            raise status_exception(
                f"[{inference_id}] is a reserved inference ID. Cannot create a new inference"
                " endpoint with a reserved ID."
            )
        body = parse_json_object(data)
        inserted = len(body)
        task_type = resolve_task_type(url_task, body.pop("task_type", None))
        service = body.pop("service", None)
        if service is None:
            raise status_exception(
                "Inference endpoint configuration is missing the [service] setting"
            )
        if service != SERVICE:
            raise status_exception(f"Unknown service [{java_repr(service)}]")
        config = parse_request_config(body, task_type, self.version, inserted=inserted)
        if not self.skip_validation:
            self._discover(inference_id, config, timeout)
        with self._lock:
            if inference_id in self._endpoints:
                raise EsError(
                    "resource_already_exists_exception",
                    f"Inference endpoint [{inference_id}] already exists",
                )
            stored = StoredEndpoint(inference_id, SERVICE, config)
            self._endpoints[inference_id] = stored
            mark_mutated(request)
            return stored.public(), 200

    def _discover(self, inference_id: str, config: EndpointConfig, timeout: float | None) -> None:
        size = validate_endpoint(inference_id, config, self.validation, timeout=timeout)
        if config.task_type == "text_embedding":
            settings = config.service_settings
            settings["dimensions"] = size
            settings.setdefault("similarity", "cosine")
            if settings["similarity"] is None:
                settings["similarity"] = "cosine"
            config.service_settings = order_service_settings(config.task_type, settings)

    def _delete_endpoint(self, request: Request, first: str, second: str | None) -> tuple[Any, int]:
        task_type, inference_id = self._target(first, second)
        args = request.args
        consumed: list[str] = []
        dry_run = force = False
        enhanced = DELETE_DRY_RUN_AND_FORCE(self.version)
        if enhanced:
            force = param_as_boolean(args, "force", False)
            dry_run = param_as_boolean(args, "dry_run", False)
            consumed += ["force", "dry_run"]
        check_params(request.path, args, consumed, _PATH_PARAMS)
        with self._lock:
            endpoint = self._lookup(inference_id)
            if endpoint is None:
                raise resource_not_found_exception(f"Inference endpoint not found [{inference_id}]")
            self._check_task_type(task_type, endpoint["task_type"])
            if inference_id in self._defaults:
                raise status_exception(
                    f"[{inference_id}] is a reserved inference endpoint. Cannot delete a reserved"
                    " inference endpoint."
                )
            pipelines, indexes = self.references(inference_id)
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
            del self._endpoints[inference_id]
            mark_mutated(request)
        if not enhanced:
            return {"acknowledged": True}, 200
        return {"acknowledged": True, "pipelines": [], "indexes": []}, 200

    def _update(self, request: Request, first: str, second: str | None = None) -> tuple[Any, int]:
        if second is None and not UPDATE_WITHOUT_TASK_TYPE(self.version):
            raise status_exception("Inference ID must be provided in the path")
        url_task, inference_id = self._target(first, second)
        args = request.args
        consumed = ["master_timeout"]
        param_as_time(args, "master_timeout")
        timeout = None
        if UPDATE_TIMEOUT(self.version):
            timeout = param_as_time(args, "timeout")
            consumed.append("timeout")
        data = required_content(request)
        check_params(request.path, args, consumed, _PATH_PARAMS)
        validate_id(inference_id)
        body = parse_json_object(data)
        if not body:
            raise status_exception("Request body is empty")
        inserted = len(body)
        validates = UPDATE_VALIDATES(self.version)
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
        if UPDATE_ACCEPTS_CHUNKING(self.version) and "chunking_settings" in body:
            parts["chunking_settings"] = body.pop("chunking_settings")
        if body:
            raise status_exception(
                "Request contained fields which cannot be updated, remove these fields and try"
                f" again [{java_map_repr(body, inserted=inserted)}]"
            )
        with self._lock:
            if inference_id in self._defaults and validates:
                raise status_exception(f"Default endpoint [{inference_id}] cannot be updated")
            stored = self._endpoints.get(inference_id)
            if stored is None:
                raise resource_not_found_exception(
                    f"The inference endpoint [{inference_id}] does not exist and cannot be updated"
                )
            for requested in (url_task, body_task):
                if requested not in (None, "any", stored.config.task_type):
                    raise status_exception(
                        "Task type must match the task type of the existing endpoint"
                    )
            current = stored.config.copy()
        extra = (
            {"chunking_settings": parts["chunking_settings"]}
            if "chunking_settings" in parts
            else {}
        )
        new = update_config(
            current,
            service_settings=parts.get("service_settings"),
            task_settings=parts.get("task_settings"),
            version=self.version,
            **extra,
        )
        if new != current and CHUNKING_RESET_ON_UPDATE(self.version) and new.chunking_settings:
            # elastic/elasticsearch#139574: the merged endpoint is stored without chunking, which
            # reads back as the pre-8.16 default.
            new.chunking_settings = dict(LEGACY_CHUNKING)
        if validates and new != current and not self.skip_validation:
            self._discover(inference_id, new, timeout)
        with self._lock:
            stored = self._endpoints.get(inference_id)
            if stored is None:
                raise resource_not_found_exception(
                    f"The inference endpoint [{inference_id}] does not exist and cannot be updated"
                )
            if new != stored.config:
                stored.config = new
                mark_mutated(request)
            return stored.public(), 200

    # Admin API: the out-of-band view and edit tool.

    def admin_routes(self) -> list[tuple[Rule, AdminHandler]]:
        """`GET /_emulator/endpoints[/{id}]` and `PATCH /_emulator/endpoints/{id}`."""
        return [
            (Rule("/endpoints", methods=["GET"]), self._admin_list),
            (Rule("/endpoints/<inference_id>", methods=["GET"]), self._admin_get),
            (Rule("/endpoints/<inference_id>", methods=["PATCH"]), self._admin_patch),
        ]

    def reset_state(self) -> None:
        """Forget endpoints, pipelines, indexes and cluster settings."""
        with self._lock:
            self._endpoints.clear()
        self.reset_cluster_state()

    def state_changed(self) -> None:
        """Save the cluster state when there is a data directory."""
        if self._state_file is not None:
            self._state_file.save(self._encoded_state)

    def _encoded_state(self) -> str:
        with self._lock:
            return self._state_encoder.encode(
                es_version=str(self.version),
                cluster_uuid=self.cluster_uuid,
                endpoints=self._endpoints.values(),
                pipelines=self._pipelines,
                indexes=self._indexes,
                persistent_settings=self._settings["persistent"],
            )

    def _admin_list(self, request: Request) -> Response:
        with self._lock:
            views = [self._endpoints[k].admin_view() for k in sorted(self._endpoints)]
        return json_response({"endpoints": views})

    def _admin_get(self, request: Request, inference_id: str) -> Response:
        with self._lock:
            stored = self._endpoints.get(inference_id)
            if stored is None:
                return json_response({"error": f"no stored endpoint [{inference_id}]"}, 404)
            return json_response(stored.admin_view())

    def _admin_patch(self, request: Request, inference_id: str) -> Response:
        patch = self.admin_json(request)
        if not isinstance(patch, dict) or "inference_id" in patch:
            return json_response({"error": "the patch must be an object without inference_id"}, 400)
        with self._lock:
            stored = self._endpoints.get(inference_id)
            if stored is None:
                return json_response({"error": f"no stored endpoint [{inference_id}]"}, 404)
            config = stored.config.copy()
            settings_patch = dict(patch.get("service_settings") or {})
            api_key = settings_patch.pop("api_key", None)
            if api_key is not None:
                config.api_key = str(api_key)
            merge_patch(config.service_settings, settings_patch)
            if "task_type" in patch:
                config.task_type = str(patch["task_type"])
            if "service" in patch:
                stored.service = str(patch["service"])
            if "task_settings" in patch:
                if patch["task_settings"] is None:
                    config.task_settings = {}
                else:
                    merge_patch(config.task_settings, dict(patch["task_settings"]))
            if "chunking_settings" in patch:
                value = patch["chunking_settings"]
                if value is None or config.chunking_settings is None:
                    config.chunking_settings = copy.deepcopy(value)
                else:
                    merge_patch(config.chunking_settings, dict(value))
            stored.config = config
            view = stored.admin_view()
        self.state_changed()
        return json_response(view)
