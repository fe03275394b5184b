"""The Pulumi dynamic provider and resource for Hugging Face Inference Endpoints.

Each lifecycle method sequences schema -> ``providers.hf_model`` (the rules, H1-H6) ->
``providers.hf_client``. Creating or updating waits until the endpoint is running and its health
route answers, printing each state and the time spent, and stops at ``wait_timeout``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from providers.engine import is_unknown, warn_user
from providers.errors import (
    HuggingFaceEndpointFailed,
    HuggingFaceEndpointTimeout,
    HuggingFaceError,
)
from providers.hf_client import HfSettings, InferenceEndpointsClient, hf_settings
from providers.hf_model import (
    INPUTS,
    HfPlan,
    create_body,
    input_problems,
    plan,
    reconcile,
    update_body,
    with_defaults,
)
from providers.pickler import restore_pickler
from providers.quick_exit import arm_quick_exit

__all__ = ["HuggingFaceEndpoint", "HuggingFaceEndpointProvider"]

_OUTPUTS = ("url", "state", "message")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(props[k]) for k in INPUTS if props.get(k) is not None}


def _split_id(id_: str) -> tuple[str, str]:
    namespace, _, name = id_.rpartition("/")
    return namespace, name


class HuggingFaceEndpointProvider(ResourceProvider):
    """Creates, waits for, updates, pauses-aware reads and deletes HF Inference Endpoints.

    Pickled into every resource's state: it holds only the stack file's ``huggingface:`` block
    (no credential) and the stack file's path. The token is a secret input of each resource.
    """

    serialize_as_secret_always = False

    def __init__(self, huggingface: Mapping[str, Any] | None = None, stack_file: str = "") -> None:
        super().__init__()
        self.huggingface: dict[str, Any] = dict(huggingface or {})
        self.stack_file = stack_file

    def __getstate__(self) -> dict[str, Any]:
        return {"huggingface": self.huggingface, "stack_file": self.stack_file}

    def __setstate__(self, state: dict[str, Any]) -> None:
        arm_quick_exit()  # unpickled where it serves calls: in the provider host, if anywhere
        self.huggingface = dict(state.get("huggingface") or {})
        self.stack_file = str(state.get("stack_file") or "")

    def _settings(self) -> HfSettings:
        return hf_settings(self.huggingface, os.environ)

    def _client(self, inputs: Mapping[str, Any]) -> InferenceEndpointsClient:
        return InferenceEndpointsClient(
            self._settings(), str(inputs.get("token") or ""), on_retry=warn_user
        )

    def _where(self, name: object) -> str:
        prefix = f"{self.stack_file}: " if self.stack_file else ""
        return f"{prefix}huggingface endpoint {name!r}"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against huggingface_endpoint.schema.json; offline, no secrets."""
        inputs = _inputs(news)
        where = self._where(inputs.get("name"))
        known = {k: v for k, v in inputs.items() if not is_unknown(v)}
        failures = [
            CheckFailure(p.top_key or "name", f"{where}: {p}") for p in input_problems(known)
        ]
        return CheckResult({**news, **with_defaults(inputs)} if not failures else news, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        """Compare recorded outputs with the declaration by the lifecycle table; offline."""
        news = with_defaults(_inputs(_news))
        change_plan = plan(_olds, news, is_unknown)
        if change_plan.changes:
            used_by = [str(u) for u in news.get("used_by") or []]
            name = str(news.get("name") or _id)
            pulumi.log.info(f"es-inference: {change_plan.describe(name, used_by)}")
        same_identity = not {"name", "namespace"} & set(change_plan.replaces)
        return DiffResult(
            changes=bool(change_plan.changes),
            replaces=change_plan.replaces,
            delete_before_replace=same_identity,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Create the endpoint and wait until it runs; leaves nothing behind if it raises."""
        inputs = with_defaults(_inputs(props))
        name = str(inputs["name"])
        with self._client(inputs) as client:
            namespace = str(inputs.get("namespace") or client.default_namespace())
            try:
                client.create_inference_endpoint(namespace, create_body(inputs))
            except HuggingFaceError as exc:
                self._adopt_or_raise(client, namespace, inputs, exc)
            try:
                live = self._wait(client, namespace, inputs, "create")
            except HuggingFaceError as exc:
                client.delete_inference_endpoint(namespace, name)
                where = "" if str(exc).startswith(self._where(name)) else f"{self._where(name)}: "
                raise HuggingFaceError(
                    f"{where}{exc}. The endpoint was deleted so nothing is left "
                    "behind; fix the cause and run pulumi up again",
                    method=exc.method,
                    path=exc.path,
                    status=exc.status,
                ) from None
        return CreateResult(f"{namespace}/{name}", reconcile(inputs, live, namespace))

    def _adopt_or_raise(
        self,
        client: InferenceEndpointsClient,
        namespace: str,
        inputs: dict[str, Any],
        exc: HuggingFaceError,
    ) -> None:
        """After a failed create: take over an identical endpoint (a lost response), or explain."""
        name = str(inputs["name"])
        if exc.status != 409 and not exc.after_ambiguous_attempt:
            raise HuggingFaceError(
                f"{self._where(name)}: {exc}", method=exc.method, path=exc.path, status=exc.status
            ) from None
        live = client.get_inference_endpoint(namespace, name)
        if live is None:
            raise HuggingFaceError(
                f"{self._where(name)}: {exc}", method=exc.method, path=exc.path, status=exc.status
            ) from None
        differs = [
            c.path
            for c in plan(reconcile(inputs, live, namespace), inputs).changes
            if c.action != "state" and c.path not in ("secrets", "state")
        ]
        if differs:
            raise HuggingFaceError(
                f"{self._where(name)}: {exc}. Hugging Face already has an endpoint {name!r} in "
                f"{namespace} that differs from the declaration in {', '.join(differs)}; delete "
                "it there or choose another name",
                status=409,
            ) from None
        warn_user(
            f"es-inference: huggingface endpoint {name!r} already existed with the declared "
            "settings; this stack now manages it"
        )

    def _wait(
        self,
        client: InferenceEndpointsClient,
        namespace: str,
        inputs: Mapping[str, Any],
        step: str,
    ) -> dict[str, Any]:
        """Poll until running with a healthy URL; report each state; stop at the deadline."""
        name = str(inputs["name"])
        timeout = float(inputs.get("wait_timeout") or 1800)
        started = time.monotonic()
        last: str | None = None
        while True:
            live = client.get_inference_endpoint(namespace, name)
            elapsed = time.monotonic() - started
            if live is None:
                raise HuggingFaceError(f"the endpoint disappeared while waiting for it ({step})")
            status = live.get("status") or {}
            state, url = str(status.get("state")), status.get("url")
            if state != last:
                pulumi.log.info(
                    f"es-inference: huggingface endpoint {name!r}: {state} after {elapsed:.1f}s"
                )
                last = state
            if state in ("failed", "updateFailed"):
                raise HuggingFaceEndpointFailed(
                    f"{self._where(name)}: the endpoint is {state}: "
                    f"{status.get('message') or 'Hugging Face gave no reason'}",
                    status=None,
                )
            if state == "paused":
                raise HuggingFaceError(
                    f"{self._where(name)}: the endpoint was paused while waiting"
                )
            if url and state in ("running", "scaledToZero"):
                # A scaled-to-zero endpoint answers 503 and starts: the probe is the cold start.
                code = client.probe(str(url), str(live.get("healthRoute") or "/health"))
                if state == "running" and code == 200:
                    return live
            if elapsed > timeout:
                raise HuggingFaceEndpointTimeout(
                    f"{self._where(name)}: not running after {timeout:g}s (wait_timeout); "
                    f"the last state was {state}"
                )
            time.sleep(client.settings.poll_interval)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: what HF holds now (a pause or a config change shows); gone leaves the state."""
        if not props.get("name"):
            raise HuggingFaceError(
                "importing Hugging Face endpoints is not supported by Pulumi dynamic providers "
                "(pulumi/pulumi#16175); declare the endpoint in the stack file instead"
            )
        namespace, name = _split_id(id_)
        with self._client(props) as client:
            live = client.get_inference_endpoint(namespace, name)
        if live is None:
            return ReadResult("", {})
        return ReadResult(id_, reconcile(_inputs(props), live, namespace))

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        """Resume if paused (or refuse), PUT the in-place changes, wait, and verify them (H4)."""
        inputs = with_defaults(_inputs(_news))
        namespace, name = _split_id(_id)
        change_plan = plan(_olds, inputs, is_unknown)
        body = update_body(change_plan, inputs)
        with self._client(inputs) as client:
            live = client.get_inference_endpoint(namespace, name)
            if live is None:
                raise HuggingFaceError(
                    f"{self._where(name)}: Hugging Face has no such endpoint any more (deleted "
                    "out of band); run pulumi refresh, then pulumi up creates it"
                )
            state = str((live.get("status") or {}).get("state"))
            if state == "paused":
                self._resume_or_refuse(client, namespace, inputs)
            if body:
                try:
                    client.update_inference_endpoint(namespace, name, body)
                except HuggingFaceError as exc:
                    raise HuggingFaceError(
                        f"{self._where(name)}: {exc}",
                        method=exc.method,
                        path=exc.path,
                        status=exc.status,
                    ) from None
            if body or state != "running":
                live = self._wait(client, namespace, inputs, "update")
            else:
                live = client.get_inference_endpoint(namespace, name) or live
        outs = reconcile(inputs, live, namespace)
        self._verify(name, outs, inputs)
        return UpdateResult(outs)

    def _resume_or_refuse(
        self, client: InferenceEndpointsClient, namespace: str, inputs: Mapping[str, Any]
    ) -> None:
        name = str(inputs["name"])
        if inputs.get("on_paused") == "refuse":
            raise HuggingFaceError(
                f"{self._where(name)}: the endpoint is paused and on_paused is refuse; "
                "Elasticsearch rejects a paused endpoint (elastic/elasticsearch#112033). Resume "
                "it on Hugging Face, or set on_paused: resume"
            )
        pulumi.log.info(f"es-inference: huggingface endpoint {name!r} is paused; resuming it")
        client.resume_inference_endpoint(namespace, name)

    def _verify(self, name: str, outs: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
        left = HfPlan(
            [c for c in plan(outs, inputs).changes if c.action != "state" and c.path != "state"]
        )
        if left.changes:
            raise HuggingFaceError(
                f"{self._where(name)}: Hugging Face accepted the update but did not apply "
                f"{', '.join(c.path for c in left.changes)} (it has dropped env updates before, "
                "huggingface_hub#3026); the endpoint keeps its previous values"
            )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Delete the endpoint; one already gone is done."""
        namespace, name = _split_id(_id)
        with self._client(_props) as client:
            try:
                client.delete_inference_endpoint(namespace, name)
            except HuggingFaceError as exc:
                if exc.after_ambiguous_attempt:
                    raise HuggingFaceError(
                        f"{self._where(name)}: {exc}. Hugging Face may have deleted it; run "
                        "pulumi destroy again",
                        status=exc.status,
                    ) from None
                raise


class HuggingFaceEndpoint(Resource, module="huggingface", name="InferenceEndpoint"):
    """A Hugging Face Inference Endpoint; ``token`` and ``secrets`` are always Pulumi secrets."""

    # For type checkers only, as InferenceEndpoint's: the SDK would resolve them per resource.
    if TYPE_CHECKING:
        url: pulumi.Output[str]
        state: pulumi.Output[str]
        message: pulumi.Output[str]
        namespace: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        fields: Mapping[str, Any],
        *,
        provider: HuggingFaceEndpointProvider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {k: fields.get(k) for k in INPUTS}
        props["token"] = pulumi.Output.secret(fields["token"])
        if fields.get("secrets"):
            props["secrets"] = pulumi.Output.secret(fields["secrets"])
        for key in _OUTPUTS:
            props[key] = None
        restore_pickler()
        super().__init__(provider or HuggingFaceEndpointProvider(), resource_name, props, opts)
