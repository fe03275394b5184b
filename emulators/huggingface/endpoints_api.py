"""An emulator of Hugging Face's Inference Endpoints management API, with each endpoint served.

Routes and JSON shapes follow what ``huggingface_hub`` sends and parses (its ``hf_api.py`` and
``_inference_endpoints.py``, fetched 2026-08):

- ``POST /v2/endpoint/{namespace}`` (create: ``name``, ``compute``, ``model``, ``provider``,
  ``type``), ``GET /v2/endpoint/{namespace}`` (``{"items": [...]}``),
  ``GET|PUT|DELETE /v2/endpoint/{namespace}/{name}``, ``POST …/pause``, ``…/resume``,
  ``…/scale-to-zero``;
- ``GET /v2/provider/{namespace}``: the hardware list, ``vendors[].regions[].computes[]`` with
  ``pricePerHour``, ``status`` and ``quota`` (``list_inference_endpoints_hardware``);
- ``GET /api/whoami-v2``: the Hub's namespace lookup (``HfApi._get_namespace``).

An endpoint's ``status.state`` moves ``pending`` → ``initializing`` → ``running`` on a
configurable clock (``Timing``); updates go through ``updating``; ``paused`` and
``scaledToZero`` as HF documents them. Errors are ``{"error": "<message>"}``, which
``hf_raise_for_status`` reads: 400 (a request the state refuses: hardware unavailable or over
quota, resume of a running endpoint, whose text contains "already running" as ``HfApi.
resume_inference_endpoint(running_ok=True)`` expects), 401 (no or unknown token), 404 (no such
endpoint or namespace), 409 (the name exists), 422 (a body of the wrong shape).

Each endpoint's ``status.url`` is ``{this server}/_endpoints/{id}`` and, while running, answers
what the Hugging Face inference server answers (embeddings, rerank, chat) plus ``GET /health``.
A scaled-to-zero endpoint answers 503 and starts (a cold start); a paused one answers 503.

Not settled by the sources, and chosen here: the exact error texts; that a paused endpoint keeps
its URL (HF's guide says a resumed endpoint keeps it); that ``secrets`` are never returned; that
``provider`` cannot change in place (400); that quota counts ``maxReplica`` accelerators of every
endpoint of the namespace on that instance type; the illustrative prices of ``DEFAULT_HARDWARE``.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import AdminHandler, EmulatorApp, json_response, mark_mutated
from emulators.faults import FaultSpecError
from emulators.state_files import write_atomically

from .inference_server import HuggingFaceServer

__all__ = [
    "DEFAULT_HARDWARE",
    "STATES",
    "STATE_FILE",
    "EndpointsApi",
    "HubAccount",
    "Timing",
]

STATES = (
    "pending",
    "initializing",
    "updating",
    "running",
    "paused",
    "scaledToZero",
    "failed",
    "updateFailed",
)
_TYPES = ("public", "protected", "authenticated", "private")
# HF's UI rule for endpoint names (not in huggingface_hub): lowercase, digits and '-', ≤ 32.
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_SERVED_PREFIX = "/_endpoints/"
STATE_FILE = "hf-endpoints.json"
INVALID_TOKEN = "Invalid credentials in Authorization header"


@dataclass
class Timing:
    """Seconds each transition takes (tests use a few hundredths, the demo about a second)."""

    pending: float = 0.5
    initializing: float = 1.0
    updating: float = 0.5
    cold_start: float = 0.5

    def to_json(self) -> dict[str, float]:
        """The timing as the admin API shows it."""
        return {
            "pending": self.pending,
            "initializing": self.initializing,
            "updating": self.updating,
            "cold_start": self.cold_start,
        }


@dataclass(frozen=True)
class HubAccount:
    """Who a token belongs to: a user and the organisations (namespaces) it may act for."""

    user: str
    orgs: tuple[str, ...] = ()

    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the token may manage endpoints in."""
        return (self.user, *self.orgs)


def _compute(
    vendor: str,
    region: str,
    accelerator: str,
    instance_type: str,
    size: str,
    *,
    architecture: str,
    price: float,
    status: str = "available",
    num_accelerators: int = 1,
    cpus: int | None = None,
    memory: float = 2.0,
    gpu_memory: int | None = None,
    quota: int = 8,
) -> dict[str, Any]:
    return {
        "id": f"{vendor}-{region}-{instance_type}-{size}",
        "accelerator": accelerator,
        "instanceType": instance_type,
        "instanceSize": size,
        "architecture": architecture,
        "numAccelerators": num_accelerators,
        "numCpus": cpus,
        "memoryGb": memory,
        "gpuMemoryGb": gpu_memory,
        "pricePerHour": price,
        "status": status,
        "quota": {"maxAccelerators": quota, "usedAccelerators": 0},
    }


def _default_hardware() -> list[dict[str, Any]]:
    rows: list[tuple[str, str, list[dict[str, Any]]]] = []
    for vendor, region, gpu_status in (
        ("aws", "us-east-1", "available"),
        ("aws", "eu-west-1", "low_availability"),
        ("gcp", "us-east4", "not_available"),
    ):
        computes = [
            _compute(
                vendor,
                region,
                "cpu",
                "intel-spr",
                f"x{n}",
                architecture="Intel Sapphire Rapids",
                price=round(0.033 * n, 3),
                cpus=n,
                memory=2.0 * n,
                quota=16,
            )
            for n in (1, 2, 4, 8)
        ]
        computes.append(
            _compute(
                vendor,
                region,
                "gpu",
                "nvidia-t4",
                "x1",
                architecture="NVIDIA T4",
                price=0.5,
                status=gpu_status,
                cpus=4,
                memory=16.0,
                gpu_memory=16,
                quota=2,
            )
        )
        computes.append(
            _compute(
                vendor,
                region,
                "gpu",
                "nvidia-l4",
                "x1",
                architecture="NVIDIA L4",
                price=0.8,
                status=gpu_status,
                cpus=8,
                memory=30.0,
                gpu_memory=24,
                quota=1,
            )
        )
        rows.append((vendor, region, computes))
    vendors: dict[str, list[dict[str, Any]]] = {}
    for vendor, region, computes in rows:
        vendors.setdefault(vendor, []).append({"name": region, "computes": computes})
    return [{"name": name, "regions": regions} for name, regions in vendors.items()]


DEFAULT_HARDWARE: list[dict[str, Any]] = _default_hardware()


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now_iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class _Endpoint:
    namespace: str
    name: str
    served_id: str
    body: dict[str, Any]
    secrets: dict[str, str]
    created_at: float
    updated_at: float
    state: str = "pending"
    message: str = "Endpoint waiting to be scheduled"
    schedule: list[tuple[float, str, str]] = field(default_factory=list)

    def advance(self, now: float) -> None:
        while self.schedule and self.schedule[0][0] <= now:
            _, self.state, self.message = self.schedule.pop(0)

    def plan(self, now: float, steps: list[tuple[float, str, str]]) -> None:
        self.schedule = []
        at = now
        for delay, state, message in steps:
            at += delay
            self.schedule.append((at, state, message))
        self.advance(now)


@dataclass
class _BuildFault:
    name: str
    on: str
    message: str
    times: int


def _require(body: Mapping[str, Any], path: str, kind: type | tuple[type, ...]) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise _Refused(422, f"Failed to deserialize the request body: missing field `{path}`")
        node = node[part]
    if not isinstance(node, kind) or (isinstance(node, bool) and kind is not bool):
        raise _Refused(422, f"Failed to deserialize the request body: `{path}` has the wrong type")
    return node


class EndpointsApi(EmulatorApp):
    """The management API plus every running endpoint's inference URL, on one loopback server."""

    def __init__(
        self,
        *,
        accounts: Mapping[str, HubAccount],
        timing: Timing | None = None,
        hardware: list[dict[str, Any]] | None = None,
        inference: HuggingFaceServer | None = None,
        clock: Callable[[], float] = time.time,
        data_dir: str | None = None,
    ) -> None:
        self.accounts = dict(accounts)
        self.timing = dataclasses.replace(timing) if timing else Timing()
        self._initial_hardware = copy.deepcopy(hardware or DEFAULT_HARDWARE)
        self.hardware = copy.deepcopy(self._initial_hardware)
        self.inference = inference or HuggingFaceServer(api_keys=None)
        self.clock = clock
        self.drop_env_updates = False
        self._lock = threading.RLock()
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._build_faults: list[_BuildFault] = []
        self._created = 0
        self._state_file = Path(data_dir) / STATE_FILE if data_dir else None
        if self._state_file is not None:
            self._load(self._state_file)
        self._routes = Map(
            [
                Rule("/api/whoami-v2", endpoint="whoami", methods=["GET"]),
                Rule("/v2/provider/<namespace>", endpoint="hardware", methods=["GET"]),
                Rule("/v2/endpoint/<namespace>", endpoint="list", methods=["GET"]),
                Rule("/v2/endpoint/<namespace>", endpoint="create", methods=["POST"]),
                Rule("/v2/endpoint/<namespace>/<name>", endpoint="get", methods=["GET"]),
                Rule("/v2/endpoint/<namespace>/<name>", endpoint="update", methods=["PUT"]),
                Rule("/v2/endpoint/<namespace>/<name>", endpoint="delete", methods=["DELETE"]),
                Rule("/v2/endpoint/<namespace>/<name>/pause", endpoint="pause", methods=["POST"]),
                Rule("/v2/endpoint/<namespace>/<name>/resume", endpoint="resume", methods=["POST"]),
                Rule(
                    "/v2/endpoint/<namespace>/<name>/scale-to-zero",
                    endpoint="scale_to_zero",
                    methods=["POST"],
                ),
            ],
            strict_slashes=False,
        )
        super().__init__()

    # --- persistence (--data-dir): endpoints survive a restart, as they do on HF ---------------
    def _load(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot load the endpoints from {path}: {exc}") from exc
        for raw in document.get("endpoints", []):
            raw["schedule"] = [tuple(step) for step in raw.get("schedule", [])]
            endpoint = _Endpoint(**raw)
            self._endpoints[(endpoint.namespace, endpoint.name)] = endpoint
        self._created = int(document.get("created", 0))

    def state_changed(self) -> None:
        """Rewrite the state file atomically (0600: it holds the endpoints' secrets)."""
        if self._state_file is None:
            return
        with self._lock:
            text = json.dumps(
                {
                    "created": self._created,
                    "endpoints": [dataclasses.asdict(e) for e in self._endpoints.values()],
                }
            )
        write_atomically(self._state_file, text, prefix=".hf-")

    # --- admin API -----------------------------------------------------------------------------
    def admin_routes(self) -> list[tuple[Rule, AdminHandler]]:
        """Timing, build failures, the env quirk, hardware edits and the raw state."""
        return [
            (Rule("/timing", methods=["GET"]), self._get_timing),
            (Rule("/timing", methods=["PUT"]), self._set_timing),
            (Rule("/build_faults", methods=["POST"]), self._add_build_fault),
            (Rule("/build_faults", methods=["DELETE"]), self._clear_build_faults),
            (Rule("/quirks", methods=["PUT"]), self._set_quirks),
            (Rule("/hardware/<compute_id>", methods=["PATCH"]), self._patch_hardware),
            (Rule("/hf_endpoints", methods=["GET"]), self._list_raw),
        ]

    def reset_state(self) -> None:
        """Forget every endpoint, build fault and quirk; restore the hardware list."""
        with self._lock:
            self._endpoints.clear()
            self._build_faults.clear()
            self.drop_env_updates = False
            self.hardware = copy.deepcopy(self._initial_hardware)

    def _get_timing(self, request: Request) -> Response:
        return json_response(self.timing.to_json())

    def _set_timing(self, request: Request) -> Response:
        spec = self.admin_json(request)
        if not isinstance(spec, dict) or set(spec) - set(self.timing.to_json()):
            raise FaultSpecError(f"timing keys are {sorted(self.timing.to_json())}")
        for key, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise FaultSpecError(f"[{key}] must be a number >= 0")
            setattr(self.timing, key, float(value))
        return json_response(self.timing.to_json())

    def _add_build_fault(self, request: Request) -> Response:
        spec = self.admin_json(request)
        if not isinstance(spec, dict) or spec.get("on") not in ("create", "update", "resume"):
            raise FaultSpecError("[on] must be 'create', 'update' or 'resume'")
        times = spec.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise FaultSpecError("[times] must be a positive integer")
        fault = _BuildFault(
            name=str(spec.get("name", "*")),
            on=str(spec["on"]),
            message=str(spec.get("message") or "Endpoint failed to start: exit code 1"),
            times=times,
        )
        with self._lock:
            self._build_faults.append(fault)
        return json_response({"acknowledged": True})

    def _clear_build_faults(self, request: Request) -> Response:
        with self._lock:
            self._build_faults.clear()
        return json_response({"acknowledged": True})

    def _set_quirks(self, request: Request) -> Response:
        spec = self.admin_json(request)
        if not isinstance(spec, dict) or set(spec) - {"drop_env_updates"}:
            raise FaultSpecError("the only quirk is drop_env_updates (huggingface_hub#3026)")
        self.drop_env_updates = bool(spec.get("drop_env_updates"))
        return json_response({"drop_env_updates": self.drop_env_updates})

    def _patch_hardware(self, request: Request, compute_id: str) -> Response:
        spec = self.admin_json(request)
        if not isinstance(spec, dict) or set(spec) - {"status", "maxAccelerators", "pricePerHour"}:
            raise FaultSpecError("patch status, maxAccelerators or pricePerHour")
        with self._lock:
            for compute in self._all_computes():
                if compute["id"] == compute_id:
                    if "status" in spec:
                        compute["status"] = spec["status"]
                    if "pricePerHour" in spec:
                        compute["pricePerHour"] = spec["pricePerHour"]
                    if "maxAccelerators" in spec:
                        compute["quota"]["maxAccelerators"] = spec["maxAccelerators"]
                    return json_response(compute)
        return json_response({"error": f"no compute {compute_id}"}, 404)

    def _list_raw(self, request: Request) -> Response:
        with self._lock:
            now = self.clock()
            out = []
            for endpoint in self._endpoints.values():
                endpoint.advance(now)
                shown = self._render(endpoint, request)
                shown["secret_names"] = sorted(endpoint.secrets)
                out.append(shown)
        return json_response({"endpoints": out})

    # --- request pipeline ------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Serve the management API, the Hub's whoami, or an endpoint's inference URL."""
        if request.path.startswith(_SERVED_PREFIX):
            return self._serve_inference(request)
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code or 404)
        try:
            account = self._account(request)
            if endpoint == "whoami":
                return json_response(
                    {
                        "type": "user",
                        "name": account.user,
                        "orgs": [{"type": "org", "name": org} for org in account.orgs],
                    }
                )
            args = dict(args)
            namespace = str(args.pop("namespace"))
            if namespace not in account.namespaces():
                raise _Refused(404, f"Namespace {namespace} not found")
            with self._lock:
                handler = getattr(self, f"_{endpoint}")
                return handler(request, namespace, **args)  # type: ignore[no-any-return]
        except _Refused as exc:
            return json_response({"error": exc.message}, exc.status)

    def _account(self, request: Request) -> HubAccount:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        account = self.accounts.get(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise _Refused(401, INVALID_TOKEN)
        return account

    def _find(self, namespace: str, name: str) -> _Endpoint:
        endpoint = self._endpoints.get((namespace, name))
        if endpoint is None:
            raise _Refused(404, f"Endpoint {name} not found in namespace {namespace}")
        endpoint.advance(self.clock())
        return endpoint

    def _render(self, endpoint: _Endpoint, request: Request) -> dict[str, Any]:
        body = copy.deepcopy(endpoint.body)
        scaling = body["compute"]["scaling"]
        ready = {
            "running": max(int(scaling["minReplica"]), 1),
            "updating": max(int(scaling["minReplica"]), 1),
            "updateFailed": max(int(scaling["minReplica"]), 1),
        }.get(endpoint.state, 0)
        url = None
        if endpoint.state not in ("pending", "failed"):
            url = f"{request.host_url.rstrip('/')}{_SERVED_PREFIX}{endpoint.served_id}"
        body.update(
            {
                "name": endpoint.name,
                "accountId": None,
                "healthRoute": "/health",
                "status": {
                    "createdAt": _now_iso(endpoint.created_at),
                    "createdBy": {"id": "0", "name": endpoint.namespace},
                    "updatedAt": _now_iso(endpoint.updated_at),
                    "updatedBy": {"id": "0", "name": endpoint.namespace},
                    "state": endpoint.state,
                    "message": endpoint.message,
                    "readyReplica": ready,
                    "targetReplica": max(int(scaling["minReplica"]), 1),
                    "url": url,
                },
            }
        )
        return body

    def _take_build_fault(self, name: str, on: str) -> str | None:
        for fault in self._build_faults:
            if fault.on == on and fnmatch.fnmatchcase(name, fault.name):
                fault.times -= 1
                if fault.times == 0:
                    self._build_faults.remove(fault)
                return fault.message
        return None

    def _start(self, endpoint: _Endpoint, now: float, on: str) -> None:
        failure = self._take_build_fault(endpoint.name, on)
        steps = [
            (0.0, "pending", "Endpoint waiting to be scheduled"),
            (self.timing.pending, "initializing", "Endpoint is initializing"),
        ]
        if failure is None:
            steps.append((self.timing.initializing, "running", "Endpoint is running"))
        else:
            steps.append((self.timing.initializing, "failed", failure))
        endpoint.plan(now, steps)

    # --- hardware and quota --------------------------------------------------------------------
    def _all_computes(self) -> list[dict[str, Any]]:
        return [c for v in self.hardware for r in v["regions"] for c in r["computes"]]

    def _compute_for(self, body: Mapping[str, Any]) -> dict[str, Any]:
        compute, provider = body["compute"], body["provider"]
        for vendor in self.hardware:
            for region in vendor["regions"]:
                if (vendor["name"], region["name"]) != (provider["vendor"], provider["region"]):
                    continue
                for candidate in region["computes"]:
                    if (
                        candidate["accelerator"],
                        candidate["instanceType"],
                        candidate["instanceSize"],
                    ) == (compute["accelerator"], compute["instanceType"], compute["instanceSize"]):
                        return dict(candidate)
        raise _Refused(
            400,
            f"Instance {compute['accelerator']}/{compute['instanceType']}/"
            f"{compute['instanceSize']} is not offered in {provider['vendor']}/"
            f"{provider['region']}",
        )

    def _used(self, namespace: str, instance_type: str, skip: _Endpoint | None = None) -> int:
        used = 0
        for endpoint in self._endpoints.values():
            compute = endpoint.body["compute"]
            if (
                endpoint is not skip
                and endpoint.namespace == namespace
                and compute["instanceType"] == instance_type
            ):
                used += int(compute["scaling"]["maxReplica"]) * self._accelerators(endpoint.body)
        return used

    def _accelerators(self, body: Mapping[str, Any]) -> int:
        try:
            return int(self._compute_for(body)["numAccelerators"])
        except _Refused:
            return 1

    def _check_hardware(
        self, namespace: str, body: Mapping[str, Any], skip: _Endpoint | None = None
    ) -> None:
        compute = self._compute_for(body)
        if compute["status"] in ("not_available", "deprecated"):
            raise _Refused(
                400, f"Instance {compute['id']} is {compute['status'].replace('_', ' ')}"
            )
        wanted = int(body["compute"]["scaling"]["maxReplica"]) * int(compute["numAccelerators"])
        used = self._used(namespace, compute["instanceType"], skip)
        allowed = int(compute["quota"]["maxAccelerators"])
        if used + wanted > allowed:
            raise _Refused(
                400,
                f"Quota exceeded for {compute['instanceType']} in namespace {namespace}: "
                f"{used} of {allowed} in use, {wanted} requested",
            )

    def _hardware(self, request: Request, namespace: str) -> Response:
        vendors = copy.deepcopy(self.hardware)
        for vendor in vendors:
            for region in vendor["regions"]:
                for compute in region["computes"]:
                    compute["quota"]["usedAccelerators"] = self._used(
                        namespace, compute["instanceType"]
                    )
        return json_response({"vendors": vendors})

    # --- the management API --------------------------------------------------------------------
    def _validated(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(422, "Failed to deserialize the request body: expected an object")
        for path, kind in (
            ("compute.accelerator", str),
            ("compute.instanceType", str),
            ("compute.instanceSize", str),
            ("compute.scaling.minReplica", int),
            ("compute.scaling.maxReplica", int),
            ("model.repository", str),
            ("model.framework", str),
            ("model.image", dict),
            ("provider.vendor", str),
            ("provider.region", str),
            ("type", str),
        ):
            _require(body, path, kind)
        scaling = body["compute"]["scaling"]
        if body["type"] not in _TYPES:
            raise _Refused(422, f"`type` must be one of {', '.join(_TYPES)}")
        if not 0 <= scaling["minReplica"] <= scaling["maxReplica"] or scaling["maxReplica"] < 1:
            raise _Refused(422, "`compute.scaling` needs 0 <= minReplica <= maxReplica, >= 1")
        timeout = scaling.get("scaleToZeroTimeout")
        if timeout is not None and (not isinstance(timeout, int) or timeout < 1):
            raise _Refused(422, "`compute.scaling.scaleToZeroTimeout` must be a positive integer")
        for key in ("env", "secrets"):
            value = body["model"].get(key)
            if value is not None and (
                not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
            ):
                raise _Refused(422, f"`model.{key}` must map names to strings")
        return body

    def _list(self, request: Request, namespace: str) -> Response:
        now = self.clock()
        items = []
        for (space, _), endpoint in sorted(self._endpoints.items()):
            if space == namespace:
                endpoint.advance(now)
                items.append(self._render(endpoint, request))
        return json_response({"items": items})

    def _create(self, request: Request, namespace: str) -> Response:
        body = self._validated(request.get_json(silent=True))
        name = _require(body, "name", str)
        if not _NAME.match(name):
            raise _Refused(
                422, "`name` must be 1-32 lowercase letters, digits or '-', not starting with '-'"
            )
        if (namespace, name) in self._endpoints:
            raise _Refused(409, f"Endpoint {name} already exists in namespace {namespace}")
        self._check_hardware(namespace, body)
        now = self.clock()
        self._created += 1
        stored = {k: copy.deepcopy(body[k]) for k in ("compute", "model", "provider", "type")}
        stored["model"].setdefault("revision", None)
        stored["model"].setdefault("task", None)
        stored["model"].setdefault("env", {})
        secrets = dict(stored["model"].pop("secrets", None) or {})
        digest = hashlib.sha256(f"{namespace}/{name}/{self._created}/{now}".encode()).hexdigest()
        endpoint = _Endpoint(namespace, name, digest[:16], stored, secrets, now, now)
        self._start(endpoint, now, "create")
        self._endpoints[(namespace, name)] = endpoint
        mark_mutated(request)
        return json_response(self._render(endpoint, request))

    def _get(self, request: Request, namespace: str, name: str) -> Response:
        return json_response(self._render(self._find(namespace, name), request))

    def _update(self, request: Request, namespace: str, name: str) -> Response:
        endpoint = self._find(namespace, name)
        change = request.get_json(silent=True)
        if not isinstance(change, dict):
            raise _Refused(422, "Failed to deserialize the request body: expected an object")
        if change.get("provider") and change["provider"] != endpoint.body["provider"]:
            raise _Refused(400, "The vendor and region of an endpoint cannot be changed")
        merged = copy.deepcopy(endpoint.body)
        compute = change.get("compute") or {}
        for key in ("accelerator", "instanceType", "instanceSize"):
            if key in compute:
                merged["compute"][key] = compute[key]
        merged["compute"]["scaling"].update(compute.get("scaling") or {})
        model = dict(change.get("model") or {})
        secrets = model.pop("secrets", None)
        if self.drop_env_updates:
            model.pop("env", None)  # huggingface_hub#3026: the API ignored env updates
        merged["model"].update(model)
        if "type" in change:
            merged["type"] = change["type"]
        self._validated({**merged, "model": {**merged["model"], "secrets": secrets}})
        self._check_hardware(namespace, merged, skip=endpoint)
        now = self.clock()
        endpoint.body = merged
        if secrets is not None:
            endpoint.secrets = dict(secrets)
        endpoint.updated_at = now
        failure = self._take_build_fault(name, "update")
        endpoint.plan(
            now,
            [
                (0.0, "updating", "Endpoint is updating"),
                (
                    self.timing.updating,
                    "updateFailed" if failure else "running",
                    failure or "Endpoint is running",
                ),
            ],
        )
        mark_mutated(request)
        return json_response(self._render(endpoint, request))

    def _delete(self, request: Request, namespace: str, name: str) -> Response:
        self._find(namespace, name)
        del self._endpoints[(namespace, name)]
        mark_mutated(request)
        return json_response({})

    def _pause(self, request: Request, namespace: str, name: str) -> Response:
        endpoint = self._find(namespace, name)
        endpoint.plan(self.clock(), [(0.0, "paused", "Endpoint is paused")])
        mark_mutated(request)
        return json_response(self._render(endpoint, request))

    def _resume(self, request: Request, namespace: str, name: str) -> Response:
        endpoint = self._find(namespace, name)
        if endpoint.state == "running":
            raise _Refused(400, f"Endpoint {name} is already running")
        self._start(endpoint, self.clock(), "resume")
        mark_mutated(request)
        return json_response(self._render(endpoint, request))

    def _scale_to_zero(self, request: Request, namespace: str, name: str) -> Response:
        endpoint = self._find(namespace, name)
        if endpoint.state != "running":
            raise _Refused(400, f"Endpoint {name} is {endpoint.state}, not running")
        endpoint.plan(self.clock(), [(0.0, "scaledToZero", "Endpoint is scaled to zero")])
        mark_mutated(request)
        return json_response(self._render(endpoint, request))

    # --- the endpoints themselves --------------------------------------------------------------
    def _serve_inference(self, request: Request) -> Response:
        served_id, _, rest = request.path[len(_SERVED_PREFIX) :].partition("/")
        with self._lock:
            found = [e for e in self._endpoints.values() if e.served_id == served_id]
            if not found:
                return json_response({"error": "Not Found"}, 404)
            endpoint = found[0]
            now = self.clock()
            endpoint.advance(now)
            if endpoint.body["type"] != "public":
                scheme, _, token = request.headers.get("Authorization", "").partition(" ")
                account = self.accounts.get(token.strip()) if scheme.lower() == "bearer" else None
                if account is None or endpoint.namespace not in account.namespaces():
                    return json_response({"error": INVALID_TOKEN}, 401)
            state = endpoint.state
            if state == "scaledToZero":
                endpoint.plan(
                    now,
                    [
                        (0.0, "initializing", "Endpoint is starting after scale to zero"),
                        (self.timing.cold_start, "running", "Endpoint is running"),
                    ],
                )
                mark_mutated(request)
        if state not in ("running", "updating", "updateFailed"):
            return json_response(
                {"error": f"503 Service Unavailable: the endpoint is {state}"}, 503
            )
        if rest == "health" and request.method == "GET":
            return Response("", 200)
        environ = dict(request.environ)
        environ["PATH_INFO"] = "/" + rest
        if endpoint.body["type"] == "public" and "HTTP_AUTHORIZATION" not in environ:
            environ["HTTP_AUTHORIZATION"] = "Bearer public"  # the inner server wants one
        return Response.from_app(self.inference, environ)
