"""What create, read, update and delete do to an inference endpoint, without Pulumi.

The provider (``providers.inference_endpoint``) resolves the connection and calls these; tests can
call them directly with a session. Every write goes through ``_write``: it invalidates the shared
endpoint list, and says when Elasticsearch may have acted on a request whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from providers.errors import (
    DeclarationError,
    ElasticsearchError,
    EndpointConflict,
    EndpointInUse,
    EndpointLost,
    UnsupportedElasticsearchVersion,
    ambiguous_write_hint,
)
from providers.model import (
    chunking_lost_on_update,
    options,
    plan,
    put_body,
    reconcile,
    update_body,
)
from providers.schema import EndpointSchema
from providers.stack import declared_force
from providers.versions import Version, supports

if TYPE_CHECKING:
    from providers.session import Session

__all__ = [
    "MIN_ELASTICSEARCH_VERSION",
    "create_endpoint",
    "delete_endpoint",
    "read_endpoint",
    "recorded_version",
    "secret_settings",
    "update_endpoint",
]

MIN_ELASTICSEARCH_VERSION = Version(8, 17, 0)
Warn = Callable[[str], None]


def secret_settings(inputs: Mapping[str, Any], schema: EndpointSchema | None) -> dict[str, str]:
    """The declaration's write-only ``service_settings`` (api keys), by field name."""
    settings = inputs.get("service_settings") or {}
    return {
        str(path[1]): settings[path[1]]
        for path in (schema.secret_paths if schema is not None else [])
        if len(path) == 2 and path[0] == "service_settings" and settings.get(path[1])
    }


def recorded_version(outs: Mapping[str, Any]) -> Version | None:
    """The cluster version recorded in an endpoint's outputs, if any."""
    try:
        return Version.parse(str(outs.get("elasticsearch_version", "")))
    except ValueError:
        return None


def _write(
    session: Session,
    operation: Literal["create", "update", "delete"],
    inference_id: str,
    send: Callable[[], dict[str, Any] | None],
    recover: Callable[[ElasticsearchError], dict[str, Any] | None] | None = None,
) -> dict[str, Any] | None:
    """Send a write; on failure let ``recover`` try, else say if it may have taken effect."""
    try:
        return send()
    except ElasticsearchError as exc:
        recovered = recover(exc) if recover is not None else None
        if recovered is not None:
            return recovered
        if exc.after_ambiguous_attempt:
            hint = ambiguous_write_hint(operation, inference_id)
            exc.hint = f"{exc.hint}. {hint}" if exc.hint else hint
        raise
    finally:
        session.invalidate()


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
            raise UnsupportedElasticsearchVersion.needs(
                subject, since, version, str(inputs["inference_id"])
            )


def create_endpoint(
    session: Session,
    inputs: dict[str, Any],
    schema: EndpointSchema | None,
    *,
    where: str,
    stack_file: str,
    warn: Warn,
) -> dict[str, Any]:
    """PUT the endpoint and return the outputs to record; leaves nothing behind if it raises.

    After a failed PUT, an endpoint with the declared settings (an earlier attempt's, or one
    made by hand) is adopted. ``where`` names the endpoint in a declaration error. The outputs
    are read back: what Elasticsearch holds must be what was declared.
    """
    inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
    version = session.version()
    _preflight(inputs, schema, version)
    secrets = list(secret_settings(inputs, schema).values())
    adopted: list[bool] = []

    def recover(exc: ElasticsearchError) -> dict[str, Any] | None:
        adopted.append(True)
        return _recover_create(session, inputs, schema, version, exc, stack_file, warn)

    live = _write(
        session,
        "create",
        inference_id,
        lambda: session.client.put_inference_endpoint(
            task_type, inference_id, put_body(inputs), secrets
        ),
        recover,
    )
    outs = reconcile(inputs, live or {}, schema, version)
    _check_discovered(session, inputs, outs, where)
    _check_applied(session, inputs, schema, version, outs, created=not adopted)
    return outs


def _check_applied(
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
    if created:
        session.client.delete_inference_endpoint(task_type, inference_id)
        session.invalidate()
    fields = [c.path for c in left.changes]
    raise ElasticsearchError.not_as_declared(
        task_type, inference_id, version, fields, deleted=created
    )


def _recover_create(
    session: Session,
    inputs: dict[str, Any],
    schema: EndpointSchema | None,
    version: Version,
    exc: ElasticsearchError,
    stack_file: str,
    warn: Warn,
) -> dict[str, Any] | None:
    """After a failed PUT: adopt an identical endpoint, or explain what the cluster holds."""
    inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
    if isinstance(exc, EndpointConflict) and not (
        exc.after_ambiguous_attempt or inputs.get("adopt") is True
    ):
        # Not created by this request (no earlier attempt of it may have reached Elasticsearch)
        # and not declared for adoption: it is not this stack's to take over.
        raise EndpointConflict.not_created_here(exc, inference_id, stack_file) from None
    if isinstance(exc, EndpointConflict) or exc.after_ambiguous_attempt:
        try:
            live = session.client.get_inference_endpoint(task_type, inference_id)
        except ElasticsearchError:
            live = None
        if live is not None:
            differs = plan(reconcile(inputs, live, schema, version), inputs, schema, version)
            if differs.changes:
                fields = [c.path for c in differs.changes]
                raise EndpointConflict.differs(exc, inference_id, fields) from None
            return _adopt(session, inputs, schema, live, stack_file, warn)
    if session.deleted_here(inference_id):
        raise EndpointLost.after_replacement(exc, inference_id) from None
    # Even if a GET just found nothing, a timed-out PUT may still be running there.
    return None


def _adopt(
    session: Session,
    inputs: dict[str, Any],
    schema: EndpointSchema | None,
    live: dict[str, Any],
    stack_file: str,
    warn: Warn,
) -> dict[str, Any]:
    """Take over an endpoint whose visible settings match, and give it this stack's secrets."""
    inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
    # Elasticsearch cannot show which secret it holds, so write ours (secrets update in place).
    secrets = secret_settings(inputs, schema)
    declared = " and says adopt: true" if inputs.get("adopt") is True else ""
    lost = chunking_lost_on_update(inputs, schema, session.version()) if secrets else None
    if lost is not None:
        live = _recreate_to_adopt(session, inputs, schema, lost, stack_file)
        warn(
            f"es-inference: {inference_id!r} already existed with the declared settings"
            f"{declared}; {lost}, so it was re-created with the stack's api_key; this stack now manages it"
        )
        return live
    if secrets:
        live = session.client.update_inference_endpoint(
            task_type, inference_id, {"service_settings": secrets}, list(secrets.values())
        )
    warn(
        f"es-inference: {inference_id!r} already existed with the declared settings"
        f"{declared}; this stack now manages it"
    )
    return live


def _force(session: Session, outs: Mapping[str, Any], stack_file: str) -> bool:
    """``force`` as recorded or, when the stack file says so now, as declared."""
    inference_id = str(outs.get("inference_id"))
    return bool(outs.get("force")) or (
        bool(stack_file) and declared_force(Path(stack_file), inference_id, session.remember)
    )


def _recreate_to_adopt(
    session: Session,
    inputs: dict[str, Any],
    schema: EndpointSchema | None,
    lost: str,
    stack_file: str,
) -> dict[str, Any]:
    """Adopt by delete-then-PUT where writing the key with _update would lose the chunking."""
    inference_id, task_type = str(inputs["inference_id"]), str(inputs["task_type"])
    found = session.client.delete_inference_endpoint(task_type, inference_id, dry_run=True)
    pipelines, indexes = (found or {}).get("pipelines") or [], (found or {}).get("indexes") or []
    if (pipelines or indexes) and not _force(session, inputs, stack_file):
        refused = EndpointInUse.refused(task_type, inference_id, pipelines, indexes, stack_file)
        raise EndpointInUse.adoption_refused(refused, inference_id, lost)
    session.client.delete_inference_endpoint(
        task_type, inference_id, force=bool(pipelines or indexes)
    )
    session.invalidate()
    # The re-create is a create like any other: a lost response says how to take it over.
    created = _write(
        session,
        "create",
        inference_id,
        lambda: session.client.put_inference_endpoint(
            task_type,
            inference_id,
            put_body(inputs),
            list(secret_settings(inputs, schema).values()),
        ),
    )
    return created or {}


def _check_discovered(
    session: Session, inputs: Mapping[str, Any], outs: Mapping[str, Any], where: str
) -> None:
    """A declared ``dimensions`` the model contradicts: delete what was created and say so."""
    declared = (inputs.get("service_settings") or {}).get("dimensions")
    found = (outs.get("service_settings") or {}).get("dimensions")
    if declared is None or found is None or declared == found:
        return
    session.client.delete_inference_endpoint(str(inputs["task_type"]), str(inputs["inference_id"]))
    raise DeclarationError.dimensions_mismatch(where, declared, found)


def read_endpoint(
    session: Session, inference_id: str, props: Mapping[str, Any], schema: EndpointSchema | None
) -> dict[str, Any] | None:
    """The outputs to record on refresh; None when the endpoint is gone."""
    live = session.lookup(str(props["task_type"]), inference_id)
    if live is None:
        return None
    return reconcile(props, live, schema, session.version())


def update_endpoint(
    connect: Callable[[], Session],
    inference_id: str,
    olds: Mapping[str, Any],
    inputs: dict[str, Any],
    schema: EndpointSchema | None,
) -> dict[str, Any]:
    """Apply the in-place part of the plan with ``_update`` and verify it took effect.

    A change of provider options only sends nothing (``connect`` is not even called).
    """
    version_then = recorded_version(olds)
    body = update_body(plan(olds, inputs, schema, version_then), inputs, schema, version_then)
    if not body:
        outs = {k: v for k, v in olds.items() if k != "__provider"}
        return {**outs, **options(inputs)}
    session = connect()
    version = session.version()
    task_type = str(inputs["task_type"])
    secrets = list(secret_settings(inputs, schema).values())
    live = _write(
        session,
        "update",
        inference_id,
        lambda: session.client.update_inference_endpoint(task_type, inference_id, body, secrets),
    )
    outs = reconcile(inputs, live or {}, schema, version)
    left = plan(outs, inputs, schema, version)
    if left.changes:
        fields = [c.path for c in left.changes]
        raise ElasticsearchError.update_not_applied(task_type, inference_id, version, fields)
    return outs


def delete_endpoint(
    session: Session,
    inference_id: str,
    outs: Mapping[str, Any],
    *,
    stack_file: str,
    warn: Warn,
) -> None:
    """Delete unless pipelines or indexes use the endpoint (``force`` overrides); 404 is done.

    ``force`` is the recorded one or, when the stack file says so now, the declared one.
    """
    task_type = str(outs.get("task_type"))
    force = _force(session, {**outs, "inference_id": inference_id}, stack_file)

    def send() -> None:
        found = session.client.delete_inference_endpoint(task_type, inference_id, dry_run=True)
        if found is None:
            return
        pipelines, indexes = found.get("pipelines") or [], found.get("indexes") or []
        if (pipelines or indexes) and not force:
            raise EndpointInUse.refused(task_type, inference_id, pipelines, indexes, stack_file)
        if pipelines or indexes:
            warn(
                f"es-inference: deleting {inference_id!r} although pipelines {pipelines} and "
                f"indexes {indexes} use it (force: true)"
            )
        session.client.delete_inference_endpoint(
            task_type, inference_id, force=bool(pipelines or indexes)
        )

    _write(session, "delete", inference_id, send)
    session.mark_deleted(inference_id)
