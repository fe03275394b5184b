"""The Pulumi dynamic provider and resource for Elasticsearch inference endpoints.

The only module that imports ``pulumi.dynamic``. Each lifecycle method sequences
schema -> model -> client; the rules themselves live in ``providers.model`` (see its L1-L8).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
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
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from providers.connection import ConnectionSettings, resolve_connection
from providers.errors import (
    DeclarationError,
    ElasticsearchError,
    EndpointConflict,
    EndpointInUse,
    EndpointLost,
    ProviderError,
    UnsupportedElasticsearchVersion,
)
from providers.model import (
    Change,
    Plan,
    chunking_lost_on_update,
    options,
    plain_numbers,
    plan,
    put_body,
    reconcile,
    update_body,
)
from providers.schema import EndpointSchema, load_schemas
from providers.stack import declared_force
from providers.versions import Version, supports

if TYPE_CHECKING:
    # Imported when a request is due: the program and every preview need no HTTP stack.
    from providers.session import Session

__all__ = [
    "MIN_ELASTICSEARCH_VERSION",
    "InferenceEndpoint",
    "InferenceEndpointProvider",
    "restore_pickler",
]

MIN_ELASTICSEARCH_VERSION = Version(8, 17, 0)
_INPUTS = (
    "inference_id",
    "task_type",
    "service",
    "service_settings",
    "task_settings",
    "chunking_settings",
    "force",
    "secret_rotation",
)


def _unwrapped_batch_setitems() -> Any:
    """``pickle._Pickler._batch_setitems`` without the wrappers ``serialize_provider`` leaves.

    Pulumi's ``serialize_provider`` (3.259) wraps this method on every call and never restores it,
    so each resource adds a level of recursion and a program fails with RecursionError after
    about 480 dynamic resources (the likely cause of pulumi/pulumi#17803).
    """
    method = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while "serialize_provider" in getattr(method, "__qualname__", ""):
        inner = [c.cell_contents for c in method.__closure__ or () if callable(c.cell_contents)]
        if not inner:
            break
        method = inner[0]
    return method


_BATCH_SETITEMS = _unwrapped_batch_setitems()


def restore_pickler() -> None:
    """Undo the wrapper the last ``serialize_provider`` call left (see _unwrapped_batch_setitems)."""
    pickle._Pickler._batch_setitems = _BATCH_SETITEMS  # type: ignore[attr-defined]


def _is_unknown(value: object) -> bool:
    # The host deserializes unknowns as pulumi.output.Unknown (keep_unknowns), or the rpc sentinel.
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def _unknown_paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if _is_unknown(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unknown_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, (*path, i))]
    return []


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    # gRPC carries every number as a double: 512.0 is the 512 the user wrote.
    return {k: plain_numbers(props[k]) for k in _INPUTS if props.get(k) is not None}


def _schema(props: Mapping[str, Any]) -> EndpointSchema | None:
    return load_schemas().endpoint(str(props.get("service")), str(props.get("task_type")))


def _secret_settings(inputs: Mapping[str, Any], schema: EndpointSchema | None) -> dict[str, str]:
    """The declaration's write-only ``service_settings`` (api keys), by field name."""
    settings = inputs.get("service_settings") or {}
    return {
        str(path[1]): settings[path[1]]
        for path in (schema.secret_paths if schema is not None else [])
        if len(path) == 2 and path[0] == "service_settings" and settings.get(path[1])
    }


def _secret_values(inputs: Mapping[str, Any], schema: EndpointSchema | None) -> list[str]:
    """The declaration's write-only values, to keep out of any message."""
    return list(_secret_settings(inputs, schema).values())


def _recorded_version(outs: Mapping[str, Any]) -> Version | None:
    try:
        return Version.parse(str(outs.get("elasticsearch_version", "")))
    except ValueError:
        return None


def _preflight(inputs: Mapping[str, Any], schema: EndpointSchema | None, version: Version) -> None:
    """Refuse, before any write, what this cluster version cannot hold."""
    what = f"{inputs['service']} {inputs['task_type']} endpoints"
    needs: list[tuple[str, tuple[str, ...]]] = [
        ("this provider", (str(MIN_ELASTICSEARCH_VERSION),))
    ]
    if schema is not None:
        needs.append((what, schema.since))
        needs.extend(schema.version_gates(inputs))
        chunking = inputs.get("chunking_settings")
        if schema.chunking is not None and chunking:
            strategy = str(chunking.get("strategy"))
            gates = schema.chunking.get("x-es-strategy-since", {}).get(strategy, ())
            needs.append((f"chunking strategy {strategy!r}", tuple(gates)))
    for subject, since in needs:
        if since and not supports(version, since):
            raise UnsupportedElasticsearchVersion(
                f"{subject} need Elasticsearch "
                f"{' or '.join(since)} or later; the cluster runs {version}",
                inference_id=str(inputs["inference_id"]),
            )


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
        self._config: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"elasticsearch": self.elasticsearch, "stack_file": self.stack_file}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.elasticsearch = dict(state.get("elasticsearch") or {})
        self.stack_file = str(state.get("stack_file") or "")
        self._config = {}

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack's Pulumi config (it arrives decrypted) for resolving the connection."""
        self._config = dict(getattr(req.config, "_props", {}) or {})

    def _where(self, inference_id: object) -> str:
        prefix = f"{self.stack_file}: " if self.stack_file else ""
        return f"{prefix}endpoint {inference_id!r}"

    @contextmanager
    def _naming(self, inference_id: str) -> Iterator[None]:
        """Every error of a lifecycle call names its endpoint (e.g. a failed ``GET /``)."""
        try:
            yield
        except ProviderError as exc:
            if f"/{inference_id}" not in str(exc) and repr(inference_id) not in str(exc):
                exc.args = (f"{self._where(inference_id)}: {exc}",)
            raise

    def _settings(self) -> ConnectionSettings:
        return resolve_connection(
            self.elasticsearch,
            config=self._config,
            env=os.environ,
            project=os.environ.get("PULUMI_PROJECT", "es-inference"),
            stack_file=self.stack_file or "the stack file",
        )

    def _session(self) -> Session:
        from providers.session import session_for

        return session_for(self._settings(), on_retry=lambda m: pulumi.log.warn(m))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs against their schema; offline, every problem, no secret values."""
        inputs = _inputs(news)
        schema = _schema(inputs)
        where = self._where(inputs.get("inference_id"))
        if schema is None:
            service, task_type = inputs.get("service"), inputs.get("task_type")
            if _is_unknown(service) or _is_unknown(task_type):
                return CheckResult(news, [])
            reason = f"{where}: no schema for service {service!r} with task_type {task_type!r}"
            return CheckResult(news, [CheckFailure("service", reason)])
        problems = schema.problems(inputs, unknown=_unknown_paths(inputs))
        failures = [CheckFailure(p.top_key or "inference_id", f"{where}: {p}") for p in problems]
        return CheckResult(news, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        """Compare recorded outputs with the declaration by the lifecycle table; offline."""
        change_plan = plan(_olds, _news, _schema(_news), _recorded_version(_olds), _is_unknown)
        if _olds.get("__provider") != _news.get("__provider") and not change_plan.replaces:
            # Refresh and destroy use the provider recorded in the outputs; record the new one.
            change_plan = Plan(
                [
                    *change_plan.changes,
                    Change(
                        "elasticsearch",
                        "state",
                        "the connection settings changed; run pulumi refresh to check the "
                        "endpoint exists where they point",
                    ),
                ]
            )
        if change_plan.changes:
            pulumi.log.info(f"es-inference: {change_plan.describe(_id)}")
        return DiffResult(
            changes=bool(change_plan.changes),
            replaces=change_plan.replaces,
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """PUT the endpoint and record what Elasticsearch stored; leaves nothing behind if it raises."""
        inputs, schema = _inputs(props), _schema(props)
        inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
        with self._naming(inference_id):
            session = self._session()
            version = session.version()
            _preflight(inputs, schema, version)
            adopted = False
            try:
                live = session.client.put_inference_endpoint(
                    task_type, inference_id, put_body(inputs), _secret_values(inputs, schema)
                )
            except ElasticsearchError as exc:
                live = self._recover_create(session, inputs, schema, version, exc)
                adopted = True
            finally:
                session.invalidate()
            outs = reconcile(inputs, live, schema, version)
            self._check_discovered(session, inputs, outs)
            self._check_applied(session, inputs, schema, version, outs, created=not adopted)
        return CreateResult(inference_id, outs)

    def _check_applied(
        self,
        session: Session,
        inputs: dict[str, Any],
        schema: EndpointSchema | None,
        version: Version,
        outs: dict[str, Any],
        *,
        created: bool,
    ) -> None:
        """Read-back: what Elasticsearch holds must be what was declared, or nothing is recorded."""
        left = plan(outs, inputs, schema, version)
        if not left.changes:
            return
        inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
        fields = ", ".join(c.path for c in left.changes)
        if created:
            session.client.delete_inference_endpoint(task_type, inference_id)
            session.invalidate()
        raise ElasticsearchError(
            f"PUT /_inference/{task_type}/{inference_id}: Elasticsearch {version} holds other "
            f"values than declared for {fields}"
            + ("; the endpoint was deleted again" if created else "; nothing was recorded"),
            inference_id=inference_id,
        )

    def _recover_create(
        self,
        session: Session,
        inputs: dict[str, Any],
        schema: EndpointSchema | None,
        version: Version,
        exc: ElasticsearchError,
    ) -> dict[str, Any]:
        """After a failed PUT: adopt an identical endpoint, or explain what the cluster holds."""
        inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
        if isinstance(exc, EndpointConflict) or exc.after_ambiguous_attempt:
            try:
                live = session.client.get_inference_endpoint(task_type, inference_id)
            except ElasticsearchError:
                live = None
            if live is not None:
                differs = plan(reconcile(inputs, live, schema, version), inputs, schema, version)
                if differs.changes:
                    raise EndpointConflict(
                        f"{exc}. Elasticsearch already has an endpoint {inference_id!r} that differs "
                        f"from the declaration in {', '.join(c.path for c in differs.changes)}; "
                        "delete it in Elasticsearch or choose another inference_id",
                        inference_id=inference_id,
                    ) from None
                return self._adopt(session, inputs, schema, live)
        from providers.session import deleted_here

        if deleted_here(inference_id):
            raise EndpointLost(
                f"{exc}. The replacement already deleted the previous endpoint {inference_id!r}, "
                "so Elasticsearch has none now; fix the cause and run pulumi up to create it",
                inference_id=inference_id,
            ) from None
        if exc.after_ambiguous_attempt:
            # Even if a GET just found nothing, a timed-out PUT may still be running there.
            exc.args = (
                f"{exc}. An earlier attempt may have created {inference_id!r} (its response was "
                "lost or late); the next pulumi up adopts it if its settings match the declaration",
            )
        raise exc

    def _adopt(
        self,
        session: Session,
        inputs: dict[str, Any],
        schema: EndpointSchema | None,
        live: dict[str, Any],
    ) -> dict[str, Any]:
        """Take over an endpoint whose visible settings match, and give it this stack's secrets."""
        inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
        # Elasticsearch cannot show which secret it holds, so write ours (secrets update in place).
        secrets = _secret_settings(inputs, schema)
        lost = chunking_lost_on_update(inputs, schema, session.version()) if secrets else None
        if lost is not None:
            live = self._recreate_to_adopt(session, inputs, schema, lost)
            pulumi.log.warn(
                f"es-inference: {inference_id!r} already existed with the declared settings; "
                f"{lost}, so it was re-created with the stack's api_key; this stack now manages it"
            )
            return live
        if secrets:
            live = session.client.update_inference_endpoint(
                task_type, inference_id, {"service_settings": secrets}, list(secrets.values())
            )
        pulumi.log.warn(
            f"es-inference: {inference_id!r} already existed with the declared settings; "
            "this stack now manages it"
        )
        return live

    def _recreate_to_adopt(
        self,
        session: Session,
        inputs: dict[str, Any],
        schema: EndpointSchema | None,
        lost: str,
    ) -> dict[str, Any]:
        """Adopt by delete-then-PUT where writing the key with _update would lose the chunking."""
        inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
        force = bool(inputs.get("force")) or (
            bool(self.stack_file) and declared_force(Path(self.stack_file), inference_id)
        )
        found = session.client.delete_inference_endpoint(task_type, inference_id, dry_run=True)
        users = (found or {}).get("pipelines") or [], (found or {}).get("indexes") or []
        if (users[0] or users[1]) and not force:
            refused = self._in_use(task_type, inference_id, users[0], users[1])
            refused.args = (
                f"{inference_id!r} exists with the declared settings, but writing the stack's "
                f"api_key with _update would lose its chunking ({lost}) and re-creating it is "
                f"refused: {refused}",
            )
            raise refused
        session.client.delete_inference_endpoint(
            task_type, inference_id, force=bool(users[0] or users[1])
        )
        session.invalidate()
        return session.client.put_inference_endpoint(
            task_type, inference_id, put_body(inputs), _secret_values(inputs, schema)
        )

    def _check_discovered(
        self, session: Session, inputs: Mapping[str, Any], outs: Mapping[str, Any]
    ) -> None:
        declared = (inputs.get("service_settings") or {}).get("dimensions")
        found = (outs.get("service_settings") or {}).get("dimensions")
        if declared is None or found is None or declared == found:
            return
        inference_id = str(inputs["inference_id"])
        session.client.delete_inference_endpoint(str(inputs["task_type"]), inference_id)
        raise DeclarationError(
            self._where(inference_id),
            [
                f"{self._where(inference_id)}: service_settings.dimensions is {declared} but the "
                f"model at the url returns {found}-dimensional embeddings (Elasticsearch uses "
                f"{found}); set it to {found} or leave it out. Nothing was created."
            ],
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: what Elasticsearch has now; an endpoint gone out of band leaves the state."""
        if not props.get("task_type"):
            raise ProviderError(
                "importing inference endpoints is not supported by Pulumi dynamic providers "
                "(pulumi/pulumi#16175); declare the endpoint in the stack file instead"
            )
        with self._naming(id_):
            session = self._session()
            live = session.lookup(str(props["task_type"]), id_)
            if live is None:
                return ReadResult("", {})
            outs = reconcile(props, live, _schema(props), session.version())
        return ReadResult(id_, outs)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        """Apply the in-place part of the plan with ``_update`` and verify it took effect."""
        inputs, schema = _inputs(_news), _schema(_news)
        version_then = _recorded_version(_olds)
        body = update_body(plan(_olds, _news, schema, version_then), inputs, schema, version_then)
        if not body:
            outs = {k: v for k, v in _olds.items() if k != "__provider"}
            return UpdateResult({**outs, **options(inputs)})
        with self._naming(_id):
            session = self._session()
            version = session.version()
            try:
                live = session.client.update_inference_endpoint(
                    str(inputs["task_type"]), _id, body, _secret_values(inputs, schema)
                )
            except ElasticsearchError as exc:
                if exc.after_ambiguous_attempt:
                    exc.args = (f"{exc}. Elasticsearch may have applied it; run pulumi up again",)
                raise
            finally:
                session.invalidate()
            outs = reconcile(inputs, live, schema, version)
            left = plan(outs, inputs, schema, version)
            if left.changes:
                raise ElasticsearchError(
                    f"PUT /_inference/{inputs['task_type']}/{_id}/_update: Elasticsearch {version} "
                    f"accepted the update but did not apply "
                    f"{', '.join(c.path for c in left.changes)}",
                    inference_id=_id,
                )
        return UpdateResult(outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Delete unless pipelines or indexes use the endpoint (``force: true`` overrides); 404 is done."""
        task_type = str(_props.get("task_type"))
        force = bool(_props.get("force")) or (
            bool(self.stack_file) and declared_force(Path(self.stack_file), _id)
        )
        with self._naming(_id):
            session = self._session()
            try:
                found = session.client.delete_inference_endpoint(task_type, _id, dry_run=True)
                if found is not None:
                    pipelines, indexes = found.get("pipelines") or [], found.get("indexes") or []
                    if (pipelines or indexes) and not force:
                        raise self._in_use(task_type, _id, pipelines, indexes)
                    if pipelines or indexes:
                        pulumi.log.warn(
                            f"es-inference: deleting {_id!r} although pipelines {pipelines} and "
                            f"indexes {indexes} use it (force: true)"
                        )
                    session.client.delete_inference_endpoint(
                        task_type, _id, force=bool(pipelines or indexes)
                    )
            except ElasticsearchError as exc:
                if exc.after_ambiguous_attempt:
                    exc.args = (f"{exc}. Elasticsearch may have deleted it; run pulumi up again",)
                raise
            finally:
                session.invalidate()
        from providers.session import mark_deleted

        mark_deleted(_id)

    def _in_use(
        self, task_type: str, inference_id: str, pipelines: list[str], indexes: list[str]
    ) -> EndpointInUse:
        users = []
        if pipelines:
            users.append(f"ingest pipelines {pipelines}")
        if indexes:
            users.append(f"the semantic_text mappings of indexes {indexes}")
        where = self.stack_file or "the stack file"
        return EndpointInUse(
            f"DELETE /_inference/{task_type}/{inference_id} refused: {' and '.join(users)} use the "
            f"endpoint, so nothing was deleted. Remove those references, or set `force: true` on "
            f"{inference_id} in {where} to delete it anyway (they fail until it exists again)",
            method="DELETE",
            path=f"/_inference/{task_type}/{inference_id}",
            status=409,
            inference_id=inference_id,
        )


class InferenceEndpoint(Resource, module="elasticsearch", name="InferenceEndpoint"):
    """An Elasticsearch inference endpoint. Fields the schema marks ``writeOnly`` become secrets."""

    inference_id: pulumi.Output[str]
    task_type: pulumi.Output[str]
    service: pulumi.Output[str]
    service_settings: pulumi.Output[dict[str, Any]]
    task_settings: pulumi.Output[dict[str, Any] | None]
    chunking_settings: pulumi.Output[dict[str, Any] | None]
    force: pulumi.Output[bool]
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
            "secret_rotation": secret_rotation,
            "elasticsearch_version": None,
        }
        restore_pickler()
        super().__init__(provider or InferenceEndpointProvider(), resource_name, props, opts)
