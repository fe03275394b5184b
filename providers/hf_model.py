"""The Hugging Face Inference Endpoint as data: lifecycle table, plan, request bodies, reconcile.

Pure: no HTTP, no Pulumi. Field names are the stack file's (snake_case); the API's are camelCase
inside ``compute`` / ``model`` / ``provider`` / ``type``, as ``HfApi.create_inference_endpoint``
and ``update_inference_endpoint`` build them (huggingface_hub ``src/huggingface_hub/hf_api.py``).

Rules, numbered for the tests:
H1. ``name``, ``namespace``, ``vendor``, ``region``, ``type`` and ``accelerator`` (a CPU↔GPU
    switch) replace the endpoint; a replacement gets a new URL, so the Elasticsearch endpoints
    that use it are replaced too. With the same name, the old one is deleted first (a name exists
    once per namespace, 409).
H2. Every other declared field is updated in place with one ``PUT``; the URL stays.
H3. ``token``, ``on_paused``, ``wait_timeout`` and ``used_by`` are recorded in state only.
H4. After every write the endpoint is read back and each declared field compared: HF has
    silently dropped ``env`` updates (huggingface_hub#3026), so "accepted" is not "applied".
H5. ``secrets`` are never returned by HF: the stack's values are kept from state.
H6. An endpoint found ``paused`` (refresh) is resumed by the next up, or refused with
    ``on_paused: refuse``; ``failed`` is replaced; ``updateFailed`` is updated again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.model import Action, Change, Changes
from providers.schema import Problem, load_schemas

__all__ = [
    "DEFAULTS",
    "HF_LIFECYCLE",
    "HIDDEN",
    "HOURS_PER_MONTH",
    "INPUTS",
    "CostEstimate",
    "HfPlan",
    "create_body",
    "estimate",
    "find_compute",
    "hardware_problems",
    "input_problems",
    "observed",
    "plan",
    "reconcile",
    "update_body",
    "with_defaults",
]


HF_LIFECYCLE: dict[str, tuple[Action, str]] = {
    "name": ("replace", "the name is the endpoint's identity on Hugging Face"),
    "namespace": ("replace", "an endpoint cannot move to another namespace"),
    "vendor": ("replace", "an endpoint cannot move to another cloud vendor"),
    "region": ("replace", "an endpoint cannot move to another region"),
    "type": ("replace", "the access type (private/authenticated/public) is fixed at creation"),
    "accelerator": ("replace", "a CPU/GPU switch needs another hardware class and image"),
    "repository": ("update", "HF redeploys the model in place"),
    "revision": ("update", "HF redeploys the model in place"),
    "task": ("update", "HF redeploys the model in place"),
    "framework": ("update", "HF redeploys the model in place"),
    "image": ("update", "HF redeploys the container in place"),
    "instance_type": ("update", "HF moves the replicas to the new instance in place"),
    "instance_size": ("update", "HF moves the replicas to the new instance in place"),
    "min_replica": ("update", "scaling changes in place"),
    "max_replica": ("update", "scaling changes in place"),
    "scale_to_zero_timeout": ("update", "scaling changes in place"),
    "env": ("update", "HF restarts the container with the new environment"),
    "secrets": ("update", "HF restarts the container with the new secrets"),
    "token": ("state", "the token manages the endpoint; the endpoint itself does not change"),
    "on_paused": ("state", "a provider option, never sent to Hugging Face"),
    "wait_timeout": ("state", "a provider option, never sent to Hugging Face"),
    "used_by": ("state", "which Elasticsearch endpoints use it, for messages only"),
}
INPUTS = tuple(HF_LIFECYCLE)
DEFAULTS: dict[str, Any] = {
    "framework": "pytorch",
    "min_replica": 1,
    "max_replica": 1,
    "type": "authenticated",
    "image": "default",
    "env": {},
    "secrets": {},
    "on_paused": "resume",
    "wait_timeout": 1800,
    "used_by": [],
}
HOURS_PER_MONTH = 730
HIDDEN: list[tuple[str | int, ...]] = [("token",), ("secrets",)]
_SENT = [k for k, (effect, _) in HF_LIFECYCLE.items() if effect != "state"]
_WRITE_ONLY = ("secrets",)


@dataclass(frozen=True)
class HfPlan(Changes):
    """The changes between a Hugging Face endpoint's recorded outputs and its declaration.

    In-place updates are a PUT of the endpoint (or a resume).
    """

    def describe(self, name: str, used_by: list[str]) -> str:
        """One line for the preview: what happens to ``name`` and why."""
        if self.replaces:
            why = "; ".join(f"{c.path} ({c.reason})" for c in self.changes if c.action == "replace")
            tail = (
                f"; it gets a new URL, so the Elasticsearch endpoints {', '.join(used_by)} that "
                "use it are replaced too"
                if used_by
                else ""
            )
            return f"{name}: replace because {why}{tail}"
        kind = "update in place" if self.updates else "state only"
        fields = ", ".join(f"{c.path} ({c.reason})" for c in self.changes)
        return f"{name}: {kind}: {fields}; the URL stays, Elasticsearch is not touched"


@dataclass(frozen=True)
class CostEstimate:
    """What the declared hardware costs at its minimum and maximum replicas."""

    compute_id: str
    price_per_hour: float
    min_replica: int
    max_replica: int

    @property
    def hourly(self) -> float:
        """USD per hour at the minimum replicas."""
        return self.price_per_hour * self.min_replica

    @property
    def monthly(self) -> float:
        """USD per month (730 hours) at the minimum replicas."""
        return self.hourly * HOURS_PER_MONTH

    def describe(self, name: str) -> str:
        """The preview's cost line."""
        top = self.price_per_hour * self.max_replica
        return (
            f"{name}: {self.compute_id} at ${self.price_per_hour:.3f}/h per replica: "
            f"${self.hourly:.2f}/h, about ${self.monthly:.2f}/month at min_replica "
            f"{self.min_replica} (up to ${top:.2f}/h at max_replica {self.max_replica})"
        )


def with_defaults(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The declaration with the schema's defaults filled in (so leaving one out is no change)."""
    out = {k: v for k, v in inputs.items() if k in HF_LIFECYCLE and v is not None}
    for key, value in DEFAULTS.items():
        out.setdefault(key, value)
    return out


def _image_body(image: Any) -> dict[str, Any]:
    if image in (None, "default"):
        return {"huggingface": {}}
    if isinstance(image, str):
        return {image: {}}
    custom: dict[str, Any] = {"url": image["url"]}
    if "port" in image:
        custom["port"] = image["port"]
    if "health_route" in image:
        custom["healthRoute"] = image["health_route"]
    return {"custom": custom}


def _image_field(image: Any) -> Any:
    if not isinstance(image, dict) or len(image) != 1:
        return "default"
    ((kind, spec),) = image.items()
    if kind == "huggingface":
        return "default"
    if kind in ("tei", "tgi"):
        return kind
    if kind == "custom" and isinstance(spec, dict):
        out: dict[str, Any] = {"url": spec.get("url")}
        if "port" in spec:
            out["port"] = spec["port"]
        if "healthRoute" in spec:
            out["health_route"] = spec["healthRoute"]
        return out
    return {kind: spec}


def create_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /v2/endpoint/{namespace}`` body, as huggingface_hub builds it."""
    d = with_defaults(inputs)
    scaling: dict[str, Any] = {"minReplica": d["min_replica"], "maxReplica": d["max_replica"]}
    if d.get("scale_to_zero_timeout") is not None:
        scaling["scaleToZeroTimeout"] = d["scale_to_zero_timeout"]
    model: dict[str, Any] = {
        "repository": d["repository"],
        "framework": d["framework"],
        "revision": d.get("revision"),
        "image": _image_body(d["image"]),
    }
    if d.get("task") is not None:
        model["task"] = d["task"]  # not nullable server-side (hf_api.py comment)
    if d["env"]:
        model["env"] = dict(d["env"])
    if d["secrets"]:
        model["secrets"] = dict(d["secrets"])
    return {
        "name": d["name"],
        "type": d["type"],
        "compute": {
            "accelerator": d["accelerator"],
            "instanceType": d["instance_type"],
            "instanceSize": d["instance_size"],
            "scaling": scaling,
        },
        "model": model,
        "provider": {"vendor": d["vendor"], "region": d["region"]},
    }


def update_body(change_plan: HfPlan, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``PUT`` body for the in-place part of the plan; empty when nothing is sent."""
    d = with_defaults(inputs)
    compute: dict[str, Any] = {}
    scaling: dict[str, Any] = {}
    model: dict[str, Any] = {}
    names = {
        "instance_type": (compute, "instanceType"),
        "instance_size": (compute, "instanceSize"),
        "min_replica": (scaling, "minReplica"),
        "max_replica": (scaling, "maxReplica"),
        "scale_to_zero_timeout": (scaling, "scaleToZeroTimeout"),
        "repository": (model, "repository"),
        "revision": (model, "revision"),
        "task": (model, "task"),
        "framework": (model, "framework"),
        "env": (model, "env"),
        "secrets": (model, "secrets"),
    }
    for path in change_plan.updates:
        if path == "image":
            model["image"] = _image_body(d["image"])
        elif path in names:
            target, key = names[path]
            target[key] = d.get(path)
    body: dict[str, Any] = {}
    if scaling:
        compute["scaling"] = scaling
    if compute:
        body["compute"] = compute
    if model:
        body["model"] = model
    return body


def observed(live: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """HF's JSON for an endpoint, in the stack file's field names."""
    compute = live.get("compute") or {}
    scaling = compute.get("scaling") or {}
    model = live.get("model") or {}
    provider = live.get("provider") or {}
    out: dict[str, Any] = {
        "name": live.get("name"),
        "namespace": namespace,
        "repository": model.get("repository"),
        "revision": model.get("revision"),
        "task": model.get("task"),
        "framework": model.get("framework"),
        "image": _image_field(model.get("image")),
        "env": dict(model.get("env") or {}),
        "accelerator": compute.get("accelerator"),
        "instance_type": compute.get("instanceType"),
        "instance_size": compute.get("instanceSize"),
        "min_replica": scaling.get("minReplica"),
        "max_replica": scaling.get("maxReplica"),
        "scale_to_zero_timeout": scaling.get("scaleToZeroTimeout"),
        "vendor": provider.get("vendor"),
        "region": provider.get("region"),
        "type": live.get("type"),
    }
    return {k: v for k, v in out.items() if v is not None}


def reconcile(inputs: Mapping[str, Any], live: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """Outputs: what HF holds for every field it returns, the stack's for the rest (H5)."""
    declared = with_defaults(inputs)
    seen = observed(live, namespace)
    outs: dict[str, Any] = {}
    for key in INPUTS:
        effect = HF_LIFECYCLE[key][0]
        if effect == "state" or key in _WRITE_ONLY:
            value = declared.get(key)
        elif key in seen:
            value = seen[key]
        else:
            value = (
                None if key in ("revision", "task", "scale_to_zero_timeout") else declared.get(key)
            )
        if value is not None:
            outs[key] = value
    status = live.get("status") or {}
    outs["url"] = status.get("url")
    outs["state"] = status.get("state")
    outs["message"] = status.get("message")
    return outs


def _normal(key: str, value: Any) -> Any:
    if value is None and key in DEFAULTS:
        return DEFAULTS[key]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # gRPC carries numbers as doubles
    if isinstance(value, dict):
        return {k: _normal("", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal("", v) for v in value]
    return value


def _contains_unknown(value: Any, is_unknown: Callable[[object], bool]) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v, is_unknown) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v, is_unknown) for v in value)
    return False


def plan(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    is_unknown: Callable[[object], bool] = lambda _: False,
) -> HfPlan:
    """The changes from recorded outputs ``olds`` to the declaration ``news`` (H1-H3, H6)."""
    changes: list[Change] = []
    for key, (effect, reason) in HF_LIFECYCLE.items():
        if key == "namespace" and news.get("namespace") is None:
            continue  # left out: the token's own namespace, resolved at create
        new = news.get(key)
        if _contains_unknown(new, is_unknown):
            changes.append(Change(key, effect, f"{reason}; its value is not known yet"))
            continue
        if _normal(key, olds.get(key)) != _normal(key, new):
            changes.append(Change(key, effect, reason))
    state = olds.get("state")
    if not any(c.action == "replace" for c in changes):
        if state == "failed":
            changes.append(Change("state", "replace", "HF reports the endpoint failed"))
        elif state == "paused":
            option = news.get("on_paused") or "resume"
            reason = "paused out of band: up resumes it" + (
                "" if option == "resume" else " only if on_paused is resume (now: refuse)"
            )
            changes.append(Change("state", "update", reason))
        elif state == "updateFailed":
            changes.append(Change("state", "update", "HF reports the last update failed"))
    return HfPlan(changes)


def find_compute(
    vendors: list[dict[str, Any]], declared: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The hardware list's entry for the declaration, and the ids offered in its region."""
    offered: list[str] = []
    for vendor in vendors:
        for region in vendor.get("regions") or []:
            if (vendor.get("name"), region.get("name")) != (declared["vendor"], declared["region"]):
                continue
            for compute in region.get("computes") or []:
                offered.append(str(compute.get("id")))
                if (
                    compute.get("accelerator"),
                    compute.get("instanceType"),
                    compute.get("instanceSize"),
                ) == (
                    declared["accelerator"],
                    declared["instance_type"],
                    declared["instance_size"],
                ):
                    return compute, offered
    return None, offered


def estimate(compute: Mapping[str, Any], declared: Mapping[str, Any]) -> CostEstimate:
    """The cost of the declaration on this hardware entry."""
    d = with_defaults(declared)
    return CostEstimate(
        str(compute.get("id")),
        float(compute.get("pricePerHour") or 0.0),
        int(d["min_replica"]),
        int(d["max_replica"]),
    )


def hardware_problems(
    vendors: list[dict[str, Any]],
    declared: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
) -> list[str]:
    """Why HF would refuse the declared hardware (unavailable, or over the namespace's quota).

    ``existing`` is the endpoint as HF holds it now, if it exists: its replicas are already
    counted in the list's ``usedAccelerators``.
    """
    d = with_defaults(declared)
    where = f"{d['vendor']}/{d['region']}"
    compute, offered = find_compute(vendors, d)
    wanted = f"{d['accelerator']}/{d['instance_type']}/{d['instance_size']}"
    if compute is None:
        return [
            f"instance {wanted} is not offered in {where} (offered there: "
            f"{', '.join(offered) or 'nothing'})"
        ]
    status = str(compute.get("status"))
    if status in ("not_available", "deprecated", "reserved"):
        return [f"instance {compute.get('id')} is {status.replace('_', ' ')} in {where}"]
    quota = compute.get("quota") or {}
    per_replica = int(compute.get("numAccelerators") or 1)
    used = int(quota.get("usedAccelerators") or 0)
    if existing is not None:
        seen = observed(existing, "")
        if seen.get("instance_type") == d["instance_type"]:
            used -= int(seen.get("max_replica") or 0) * per_replica
    need = int(d["max_replica"]) * per_replica
    allowed = int(quota.get("maxAccelerators") or 0)
    if used + need > allowed:
        return [
            f"max_replica {d['max_replica']} of {compute.get('id')} needs {need} accelerators but "
            f"the namespace's quota allows {allowed} and {max(used, 0)} are in use"
        ]
    return []


def input_problems(inputs: Mapping[str, Any], base: str = "$") -> list[Problem]:
    """Every rule a declaration breaks: its schema, and min_replica <= max_replica."""
    shown = {k: v for k, v in inputs.items() if k != "used_by"}
    problems = load_schemas().document_problems("huggingface_endpoint", shown, base, hidden=HIDDEN)
    low, high = inputs.get("min_replica", 1), inputs.get("max_replica", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(
            Problem(
                f"{base}.min_replica", f"must be <= max_replica ({high}) (got {low})", "min_replica"
            )
        )
    return problems
