"""A stateful emulator of Elasticsearch's Inference API (`/_inference`), with the pieces that
reference endpoints (ingest pipelines, `semantic_text` indexes) and cluster settings.

Behaviour follows `shared/reference/es-inference-api.md` and ES's source: processing order,
status codes, error bodies, version gates. The parts:
- `store.py`: the cluster's state, one lock, snapshot and restore;
- `routes.py`: the route table; `api/`: one module of handlers per API area (root info,
  inference, cluster settings, ingest, indices, the emulator's admin view of endpoints);
- `services/`: one module per inference service (see its docstring); a service the registry
  lacks answers `Unknown service [x]`;
- `controller.py`: ES's REST controller (routing errors, headers, rendering); `rest.py`:
  parameters, bodies, content types and authentication;
- `persistence.py`: with `data_dir`, the state survives restarts in `<data_dir>/state.json`:
  loaded at construction, saved after every request that changed it, after an admin edit and
  after `POST /_emulator/reset`.

The REST layer, each rule with its versions and the ES source it follows (details in the module):
- keep-alive: every version, connections close only when the request asks
  (`HttpUtils.shouldCloseConnection`; `emulators/serve.py`);
- `X-elastic-product: Elasticsearch` on every answer: every version
  (`RestController.dispatchRequest`; `controller.py`);
- `compatible-with`: the node's major or the one before, both headers alike, else 400
  `media_type_header_exception`: every version (`RestCompatibleVersionHelper`, #80253; `rest.py`);
- HEAD only where registered (`/`, `/{index}`), OPTIONS 200 with `Allow`, other methods 405 with
  `Allow`: every version (`RestController.handleNoHandlerFound`; `controller.py`);
- a body that is not JSON: `json_parse_exception` (wrapped in `parse_exception` by
  `convertToMap` handlers) until 8.19.1, 9.0.x and 9.1.1, `x_content_parse_exception` from 8.19.2,
  9.1.2 and 9.2.0 (#123439; `rest.py`);
- `GET _inference/_services[/{task_type}]`: from 8.18 and 9.0 (`RestGetInferenceServicesAction`,
  `InferenceServiceConfiguration`; `api/inference.py`, `services/base.py`);
- node settings (`node_settings`, as `elasticsearch.yml` or `-E` give them): the services read
  what concerns them when the node starts (`InferenceService.node_started`; `elastic` asks the
  Elastic Inference Service at `xpack.inference.elastic.url` which models it may use and adds
  their preconfigured endpoints, `services/elastic.py`);
- deleting a preconfigured endpoint: refused on 8.16-8.17 and 9.0, allowed with `force=true`
  from 8.18 and 9.1 (`TransportDeleteInferenceEndpointAction`, #124781; `api/inference.py`).

Choices where the reference is unconfirmed:
- "Model configuration contains settings …" until 9.1, "Configuration contains settings …" from
  9.2; chunking bound messages say "must be a greater/less than" until 9.1 and drop the "a"
  from 9.2 (with the removal of the 300 `max_chunk_size` cap).
- `none` chunking ignores extra keys (the newest builder never calls `fromMap`).
- A JSON value of the wrong kind where ES casts blindly (e.g. `service_settings: "x"`) is
  ES's 500 `class_cast_exception`.
- Default endpoints: ELSER and E5 from 8.16, rerank-v1 from 8.18/9.0.
- POST to `/_inference/...` performs inference through the endpoint's service (`infer`, and
  `stream` for `…/_stream`; hugging_face: `services/hugging_face_infer.py`, elastic:
  `services/elastic_infer.py`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import AdminHandler, EmulatorApp, json_response
from emulators.faults import Fault, proxy_error_page

from .api import admin
from .api.context import Cluster, Handler
from .controller import PRODUCT_HEADER, RestController
from .endpoints import preconfigured_endpoints
from .errors import EsError
from .persistence import StateEncoder, StateFile
from .rest import Credentials
from .routes import url_map
from .services import SERVICES
from .store import ClusterStore
from .validation import LOOPBACK_HOSTS, ValidationSettings
from .versions import DEFAULT_ES_VERSION, MINIMUM_VERSION, EsVersion

__all__ = ["ElasticsearchEmulator"]

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


def _es_json(body: Any, status: int) -> Response:
    response = json_response(body, status)
    response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
    return response


class ElasticsearchEmulator(EmulatorApp):
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
        service_routes: Mapping[str, str] | None = None,
        node_settings: Mapping[str, str] | None = None,
        cluster_name: str = "es-inference-emulator",
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.version = EsVersion.parse(version)
        if self.version < MINIMUM_VERSION:
            raise ValueError(f"the Inference API needs Elasticsearch {MINIMUM_VERSION} or later")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        validation = ValidationSettings(
            timeout=validation_timeout,
            backoff=retry_backoff,
            allowed_hosts=allowed_hosts,
            routes=service_routes,
            node_settings=node_settings,
        )
        defaults = preconfigured_endpoints(self.version)
        for service in SERVICES.values():
            defaults.update(service.node_started(validation, self.version))
        self.store = ClusterStore(defaults if default_endpoints else {})
        self.cluster = Cluster(
            store=self.store,
            version=self.version,
            validation=validation,
            cluster_name=cluster_name,
        )
        self.controller = RestController(
            self.cluster,
            url_map(self.version),
            Credentials(api_key, username, password, bearer_token),
        )
        EmulatorApp.__init__(self)
        self._state_file = StateFile(data_dir) if data_dir is not None else None
        self._state_encoder = StateEncoder()
        if self._state_file is not None:
            saved = self._state_file.load()
            if saved is None:
                # Write at once, so the cluster UUID is fixed from the first start on.
                self.state_changed()
            else:
                self.store.restore(saved)

    def handle(self, request: Request) -> Response:
        """Answer one REST request as Elasticsearch does."""
        return self.controller.dispatch(request)

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
            response = _es_json(
                EsError(error_type, reason, status=fault.status).to_body(), fault.status
            )
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    def rate_limited_response(self, retry_after: int) -> Response:
        """ES's 429 `es_rejected_execution_exception`, with `Retry-After`."""
        error_type, reason = _FAULT_ERRORS[429]
        response = _es_json(EsError(error_type, reason, status=429).to_body(), 429)
        response.headers["Retry-After"] = str(retry_after)
        return response

    # Admin API: the out-of-band view and edit tool.

    def admin_routes(self) -> list[tuple[Rule, AdminHandler]]:
        """`GET /_emulator/endpoints[/{id}]` and `PATCH /_emulator/endpoints/{id}`."""
        return [
            (Rule("/endpoints", methods=["GET"]), self._admin_view(admin.list_endpoints)),
            (
                Rule("/endpoints/<inference_id>", methods=["GET"]),
                self._admin_view(admin.get_endpoint),
            ),
            (Rule("/endpoints/<inference_id>", methods=["PATCH"]), self._admin_patch),
        ]

    def _admin_view(self, handler: Handler) -> AdminHandler:
        def answer(request: Request, **args: Any) -> Response:
            return json_response(*handler(self.cluster, request, **args))

        return answer

    def _admin_patch(self, request: Request, inference_id: str) -> Response:
        body, status = admin.patch_endpoint(
            self.cluster, request, inference_id, self.admin_json(request)
        )
        if status == 200:
            self.state_changed()
        return json_response(body, status)

    def reset_state(self) -> None:
        """Forget endpoints, pipelines, indexes and cluster settings."""
        self.store.reset()

    def state_changed(self) -> None:
        """Save the cluster state when there is a data directory."""
        if self._state_file is not None:
            self._state_file.save(self._encoded_state)

    def _encoded_state(self) -> str:
        return self._state_encoder.encode(self.store.snapshot(), es_version=str(self.version))
