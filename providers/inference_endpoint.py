"""The Pulumi dynamic provider and resource for Elasticsearch inference endpoints.

The only module that imports ``pulumi.dynamic``. Each lifecycle method sequences
schema -> model -> client; what create, read, update and delete do is in ``providers.operations``,
the rules themselves in ``providers.model`` (see its L1-L14).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from providers.connection import ConnectionSettings, RememberedConnection
from providers.diagnostics import watch_engine
from providers.engine import is_unknown, unknown_paths, warn_user
from providers.errors import ProviderError
from providers.model import IDENTITY, OPTIONS, plain_numbers, plan
from providers.operations import (
    create_endpoint,
    delete_endpoint,
    read_endpoint,
    recorded_version,
    update_endpoint,
)
from providers.pickler import restore_pickler
from providers.quick_exit import arm_quick_exit
from providers.schema import EndpointSchema, load_schemas
from providers.secret_references import ConfigSource

if TYPE_CHECKING:
    # Imported when a request is due: the program and every preview need no HTTP stack.
    from providers.session import Session

__all__ = ["InferenceEndpoint", "InferenceEndpointProvider"]

_INPUTS = (*IDENTITY, "service_settings", "task_settings", "chunking_settings", "adopt", *OPTIONS)


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    # gRPC carries every number as a double: 512.0 is the 512 the user wrote.
    return {k: plain_numbers(props[k]) for k in _INPUTS if props.get(k) is not None}


def _schema(props: Mapping[str, Any]) -> EndpointSchema | None:
    return load_schemas().endpoint(str(props.get("service")), str(props.get("task_type")))


class InferenceEndpointProvider(ResourceProvider):
    """Creates, reads, updates and deletes inference endpoints through Elasticsearch's API.

    Pickled by reference into every resource's state: it holds only the stack file's non-secret
    ``elasticsearch:`` block and its path. Credentials are read in each provider process from
    Pulumi config and the environment, never stored.
    """

    serialize_as_secret_always = False

    def __init__(
        self, elasticsearch: Mapping[str, Any] | None = None, stack_file: str = ""
    ) -> None:
        super().__init__()
        self.elasticsearch: dict[str, Any] = dict(elasticsearch or {})
        self.stack_file = stack_file
        self._config: ConfigSource = {}
        self._connection = RememberedConnection()

    def __getstate__(self) -> dict[str, Any]:
        return {"elasticsearch": self.elasticsearch, "stack_file": self.stack_file}

    def __setstate__(self, state: dict[str, Any]) -> None:
        arm_quick_exit()  # unpickled where it serves calls: in the provider host, if anywhere
        self.elasticsearch = dict(state.get("elasticsearch") or {})
        self.stack_file = str(state.get("stack_file") or "")
        self._config = {}
        self._connection = RememberedConnection()

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack's Pulumi config (it arrives decrypted) for resolving the connection."""
        self._config = req.config
        watch_engine()

    def _where(self, inference_id: object) -> str:
        prefix = f"{self.stack_file}: " if self.stack_file else ""
        return f"{prefix}endpoint {inference_id!r}"

    @contextmanager
    def _naming(self, inference_id: str) -> Iterator[None]:
        """Every error of a lifecycle call names its endpoint (e.g. a failed ``GET /``)."""
        try:
            yield
        except ProviderError as exc:
            if not exc.located:
                exc.where = self._where(inference_id)
            raise

    def _settings(self) -> ConnectionSettings:
        return self._connection.resolve(
            self.elasticsearch,
            config=self._config,
            env=os.environ,
            project=os.environ.get("PULUMI_PROJECT", "es-inference"),
            stack_file=self.stack_file or "the stack file",
        )

    def _session(self) -> Session:
        from providers.session import session_for

        return session_for(self._settings(), on_retry=warn_user)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against their schema; offline, every problem, no secret values."""
        inputs = _inputs(news)
        schema = _schema(inputs)
        where = self._where(inputs.get("inference_id"))
        if schema is None:
            service, task_type = inputs.get("service"), inputs.get("task_type")
            if is_unknown(service) or is_unknown(task_type):
                return CheckResult(news, [])
            reason = f"{where}: no schema for service {service!r} with task_type {task_type!r}"
            return CheckResult(news, [CheckFailure("service", reason)])
        problems = schema.problems(inputs, unknown=unknown_paths(inputs))
        failures = [CheckFailure(p.top_key or "inference_id", f"{where}: {p}") for p in problems]
        return CheckResult(news, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        """Compare recorded outputs with the declaration by the lifecycle table; offline."""
        change_plan = plan(_olds, _news, _schema(_news), recorded_version(_olds), is_unknown)
        if change_plan.changes:
            pulumi.log.info(f"es-inference: {change_plan.describe(_id)}")
        return DiffResult(
            changes=bool(change_plan.changes),
            replaces=change_plan.replaces,
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """PUT the endpoint and record what Elasticsearch stored; leaves nothing behind if it raises."""
        inputs = _inputs(props)
        inference_id = str(inputs["inference_id"])
        with self._naming(inference_id):
            outs = create_endpoint(
                self._session(),
                inputs,
                _schema(props),
                where=self._where(inference_id),
                stack_file=self.stack_file,
                warn=warn_user,
            )
        return CreateResult(inference_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: what Elasticsearch has now; an endpoint gone out of band leaves the state."""
        if not props.get("task_type"):
            raise ProviderError.import_unsupported()
        with self._naming(id_):
            outs = read_endpoint(self._session(), id_, props, _schema(props))
        return ReadResult(id_, outs) if outs is not None else ReadResult("", {})

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        """Apply the in-place part of the plan with ``_update`` and verify it took effect."""
        with self._naming(_id):
            outs = update_endpoint(self._session, _id, _olds, _inputs(_news), _schema(_news))
        return UpdateResult(outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Delete unless pipelines or indexes use the endpoint (``force: true`` overrides); 404 is done."""
        with self._naming(_id):
            delete_endpoint(
                self._session(), _id, _props, stack_file=self.stack_file, warn=warn_user
            )


class InferenceEndpoint(Resource, module="elasticsearch", name="InferenceEndpoint"):
    """An Elasticsearch inference endpoint. Fields the schema marks ``writeOnly`` become secrets."""

    # For type checkers only: the SDK resolves a resource class's annotations (typing's
    # get_type_hints, compiling each string annotation) again for every resource it registers,
    # 0.32 ms each; these are plain values, which it passes through unchanged without them
    # (bench/levers.md).
    if TYPE_CHECKING:
        inference_id: pulumi.Output[str]
        task_type: pulumi.Output[str]
        service: pulumi.Output[str]
        service_settings: pulumi.Output[dict[str, Any]]
        task_settings: pulumi.Output[dict[str, Any] | None]
        chunking_settings: pulumi.Output[dict[str, Any] | None]
        force: pulumi.Output[bool]
        adopt: pulumi.Output[bool]
        secret_rotation: pulumi.Output[str]
        elasticsearch_version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        inference_id: str,
        task_type: str,
        service: str,
        service_settings: Mapping[str, Any],
        task_settings: Mapping[str, Any] | None = None,
        chunking_settings: Mapping[str, Any] | None = None,
        force: bool = False,
        adopt: bool = False,
        secret_rotation: str = "replace",
        provider: InferenceEndpointProvider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        schema = load_schemas().endpoint(service, task_type)
        settings: dict[str, Any] = dict(service_settings)
        for path in schema.secret_paths if schema is not None else []:
            if path[0] == "service_settings" and len(path) == 2 and path[1] in settings:
                settings[str(path[1])] = pulumi.Output.secret(settings[str(path[1])])
        props: dict[str, Any] = {
            "inference_id": inference_id,
            "task_type": task_type,
            "service": service,
            "service_settings": settings,
            "task_settings": dict(task_settings) if task_settings else None,
            "chunking_settings": dict(chunking_settings) if chunking_settings else None,
            "force": force,
            "adopt": adopt,
            "secret_rotation": secret_rotation,
            "elasticsearch_version": None,
        }
        restore_pickler()
        super().__init__(provider or InferenceEndpointProvider(), resource_name, props, opts)
