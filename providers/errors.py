"""Every error the provider raises on purpose, and the one place their messages are written.

    ProviderError
    ├── DeclarationError                  the user's stack file or resource inputs are invalid
    ├── SchemaError                       a file under schemas/ is broken (our bug, not the user's)
    ├── ConnectionSettingsError           no usable Elasticsearch connection is configured
    │   └── SecretNotSet                  a {secret: …} or {env: …} reference names nothing set
    └── ElasticsearchError                an Elasticsearch request failed
        ├── EndpointNotFound              404 for an inference endpoint
        ├── EndpointConflict              the id exists with settings this stack did not write
        ├── EndpointInUse                 pipelines or indexes use the endpoint; deleting it is refused
        ├── EndpointLost                  a replacement deleted the endpoint and could not re-create it
        ├── UnsupportedElasticsearchVersion
        └── ElasticsearchUnreachable      no HTTP response (connection refused, reset, timeout, TLS)
    └── HuggingFaceError                  a Hugging Face Inference Endpoints request failed
        ├── HuggingFaceEndpointFailed     the endpoint ended in failed / updateFailed (HF's message)
        ├── HuggingFaceEndpointTimeout    the endpoint did not reach running before the deadline
        ├── HardwareRefused               the instance is unavailable or over the namespace's quota
        └── HuggingFaceUnreachable        no HTTP response from the Inference Endpoints API

Pulumi shows only ``str(exc)``, so each message says what failed, where and why, and none ever
contains a secret. Errors carry their facts as fields (``where``, ``method``, ``path``,
``status``, ``error_type``, ``reason``, ``attempts``, ``hint``); the layer that learns a fact sets
its field, and ``__str__`` renders them all, here. The named constructors hold the texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

__all__ = [
    "SERVICE_BUSY_HINT",
    "ConnectionSettingsError",
    "DeclarationError",
    "ElasticsearchError",
    "ElasticsearchUnreachable",
    "EndpointConflict",
    "EndpointInUse",
    "EndpointLost",
    "EndpointNotFound",
    "HardwareRefused",
    "HuggingFaceEndpointFailed",
    "HuggingFaceEndpointTimeout",
    "HuggingFaceError",
    "HuggingFaceUnreachable",
    "ProviderError",
    "SchemaError",
    "SecretNotSet",
    "UnsupportedElasticsearchVersion",
    "ambiguous_write_hint",
]

_E = TypeVar("_E", bound="ElasticsearchError")
_AMBIGUOUS_WRITE_HINTS = {
    "update": "Elasticsearch may have applied it; run pulumi up again",
    "delete": "Elasticsearch may have deleted it; run pulumi up again",
}


class ProviderError(Exception):
    """Base class of every error this package raises on purpose.

    ``where`` (a file, or a file and an endpoint) is shown before the message when set.
    """

    def __init__(self, message: str = "", *, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    @property
    def located(self) -> bool:
        """Whether the message already says which file or endpoint it is about."""
        return bool(self.where)

    def _body(self) -> str:
        return self.message

    def __str__(self) -> str:
        body = self._body()
        return f"{self.where}: {body}" if self.where else body

    @classmethod
    def import_unsupported(cls) -> ProviderError:
        """``pulumi import`` of an endpoint: dynamic providers cannot read one without its type."""
        return cls(
            "importing inference endpoints is not supported by Pulumi dynamic providers "
            "(pulumi/pulumi#16175); declare the endpoint in the stack file instead"
        )


class DeclarationError(ProviderError):
    """The stack file or the resource inputs break a rule; ``problems`` lists every violation."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source} is invalid ({count} error{'s' if count != 1 else ''}):"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))

    @property
    def located(self) -> bool:
        """A declaration error always starts with its source."""
        return True

    @classmethod
    def dimensions_mismatch(cls, where: str, declared: object, found: object) -> DeclarationError:
        """The model at the url returns embeddings of another size than the declaration says."""
        return cls(
            where,
            [
                f"{where}: service_settings.dimensions is {declared} but the model at the url "
                f"returns {found}-dimensional embeddings (Elasticsearch uses {found}); set it to "
                f"{found} or leave it out. Nothing was created."
            ],
        )


class SchemaError(ProviderError):
    """A schema file shipped with the project is missing or not valid JSON Schema."""


class ConnectionSettingsError(ProviderError):
    """The Elasticsearch connection settings are missing or contradictory."""


class SecretNotSet(ConnectionSettingsError):
    """A secret reference names a Pulumi config secret or variable that is not set (or empty).

    Raised for connection credentials and, collected as problems, for endpoint secrets.
    """

    @classmethod
    def config_secret(cls, where: str, key: str) -> SecretNotSet:
        """``{secret: key}`` and the stack's config has no (or an empty) ``key``."""
        return cls(
            f"{where} refers to the Pulumi config secret {key!r}, which is not set; "
            f"run: pulumi config set --secret {key} <value>"
        )

    @classmethod
    def variable(cls, where: str, name: str) -> SecretNotSet:
        """``{env: name}`` and the environment has no (or an empty) ``name``."""
        return cls(f"{where} refers to the environment variable {name!r}, which is not set")


class ElasticsearchError(ProviderError):
    """An Elasticsearch request failed; the message names the request, the status and ES's reason.

    ``message`` is what happened, without the request; ``method`` and ``path``, when set, come
    first. The client sets ``attempts`` and ``elapsed`` when it gave up after retries, and
    ``after_ambiguous_attempt`` when an earlier attempt may have reached Elasticsearch but its
    response was lost. ``hint`` (what the user can do) is set by the provider and shown last.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        error_type: str = "",
        reason: str = "",
        inference_id: str = "",
        where: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message, where=where)
        self.method = method
        self.path = path
        self.status = status
        self.error_type = error_type
        self.reason = reason
        self.inference_id = inference_id
        self.hint = hint
        self.attempts = 1
        self.elapsed = 0.0
        self.after_ambiguous_attempt = False

    @property
    def located(self) -> bool:
        """A request path that names the endpoint says which endpoint it is about."""
        return bool(self.where) or bool(self.path and self.inference_id)

    def _body(self) -> str:
        text = f"{self.method} {self.path}{self.message}" if self.method else self.message
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts in {self.elapsed:.1f} s)"
        return f"{text}. {self.hint}" if self.hint else text

    @classmethod
    def failed(
        cls,
        method: str,
        path: str,
        *,
        status: int,
        error_type: str,
        reason: str,
        caused_by: Sequence[str] = (),
        inference_id: str = "",
        hint: str = "",
    ) -> ElasticsearchError:
        """Elasticsearch (or a proxy) answered with an error status; ``hint`` says what to do."""
        message = f" failed: {status} {error_type + ': ' if error_type else ''}{reason}"
        if caused_by:
            message += "; caused by " + "; ".join(caused_by)
        return cls(
            message,
            method=method,
            path=path,
            status=status,
            error_type=error_type,
            reason=reason,
            inference_id=inference_id,
            hint=hint,
        )

    @classmethod
    def no_version(cls, number: object) -> ElasticsearchError:
        """``GET /`` answered without a version number."""
        return cls(
            f" returned no usable version number ({number!r}); is this Elasticsearch?",
            method="GET",
            path="/",
        )

    @classmethod
    def not_as_declared(
        cls,
        task_type: str,
        inference_id: str,
        version: object,
        fields: Sequence[str],
        *,
        deleted: bool,
    ) -> ElasticsearchError:
        """The read-back after a create shows other values than declared."""
        after = "; the endpoint was deleted again" if deleted else "; nothing was recorded"
        return cls(
            f": Elasticsearch {version} holds other values than declared for "
            f"{', '.join(fields)}{after}",
            method="PUT",
            path=f"/_inference/{task_type}/{inference_id}",
            inference_id=inference_id,
        )

    @classmethod
    def update_not_applied(
        cls, task_type: str, inference_id: str, version: object, fields: Sequence[str]
    ) -> ElasticsearchError:
        """``_update`` answered 200 but the read-back shows some fields unchanged."""
        return cls(
            f": Elasticsearch {version} accepted the update but did not apply {', '.join(fields)}",
            method="PUT",
            path=f"/_inference/{task_type}/{inference_id}/_update",
            inference_id=inference_id,
        )


class EndpointNotFound(ElasticsearchError):
    """Elasticsearch has no inference endpoint with this id."""


class EndpointConflict(ElasticsearchError):
    """An endpoint with this id exists but differs from what this stack tried to create."""

    @classmethod
    def differs(
        cls, cause: ElasticsearchError, inference_id: str, fields: Sequence[str]
    ) -> EndpointConflict:
        """Create failed and the endpoint Elasticsearch holds differs from the declaration."""
        return _after(
            cls,
            cause,
            inference_id,
            f"Elasticsearch already has an endpoint {inference_id!r} that differs from the "
            f"declaration in {', '.join(fields)}; delete it in Elasticsearch or choose another "
            "inference_id",
        )

    @classmethod
    def not_created_here(
        cls, cause: ElasticsearchError, inference_id: str, stack_file: str
    ) -> EndpointConflict:
        """Create found the id taken, and this stack neither made it nor declares ``adopt``."""
        return _after(
            cls,
            cause,
            inference_id,
            f"This stack did not create {inference_id!r} (another stack, a person or tool, or an "
            "interrupted run of this stack may have), and it never takes over, re-keys or deletes "
            "an endpoint it did not create; nothing was changed. To manage it from this stack, "
            f"set `adopt: true` on {inference_id} in {stack_file or 'the stack file'}",
        )


class EndpointInUse(ElasticsearchError):
    """Ingest pipelines or index mappings use the endpoint, so it was not deleted."""

    @classmethod
    def refused(
        cls,
        task_type: str,
        inference_id: str,
        pipelines: Sequence[str],
        indexes: Sequence[str],
        stack_file: str,
    ) -> EndpointInUse:
        """The dry-run delete found users of the endpoint and ``force`` is not set."""
        users = []
        if pipelines:
            users.append(f"ingest pipelines {list(pipelines)}")
        if indexes:
            users.append(f"the semantic_text mappings of indexes {list(indexes)}")
        return cls(
            f" refused: {' and '.join(users)} use the endpoint, so nothing was deleted. Remove "
            f"those references, or set `force: true` on {inference_id} in "
            f"{stack_file or 'the stack file'} to delete it anyway (they fail until it exists "
            "again)",
            method="DELETE",
            path=f"/_inference/{task_type}/{inference_id}",
            status=409,
            inference_id=inference_id,
        )

    @classmethod
    def adoption_refused(
        cls, refused: EndpointInUse, inference_id: str, lost: str
    ) -> EndpointInUse:
        """Adoption would re-create the endpoint (see ``lost``), and pipelines or indexes use it."""
        return cls(
            f"{inference_id!r} exists with the declared settings, but writing the stack's api_key "
            f"with _update would lose its chunking ({lost}) and re-creating it is refused: "
            f"{refused}",
            path=refused.path,  # the message names the endpoint: no prefix
            status=409,
            inference_id=inference_id,
        )


class EndpointLost(ElasticsearchError):
    """A replacement deleted the old endpoint and then failed to create the new one."""

    @classmethod
    def after_replacement(cls, cause: ElasticsearchError, inference_id: str) -> EndpointLost:
        """The re-create half of a replacement failed."""
        return _after(
            cls,
            cause,
            inference_id,
            f"The replacement already deleted the previous endpoint {inference_id!r}, so "
            "Elasticsearch has none now; fix the cause and run pulumi up to create it",
        )


class UnsupportedElasticsearchVersion(ElasticsearchError):
    """The cluster is older than a feature this endpoint needs."""

    @classmethod
    def needs(
        cls, subject: str, since: Sequence[str], version: object, inference_id: str
    ) -> UnsupportedElasticsearchVersion:
        """``subject`` needs one of the versions ``since`` (or later)."""
        return cls(
            f"{subject} need Elasticsearch {' or '.join(since)} or later; the cluster runs "
            f"{version}",
            inference_id=inference_id,
        )


class ElasticsearchUnreachable(ElasticsearchError):
    """No HTTP response arrived: connection refused or reset, timeout, or a TLS failure."""

    @classmethod
    def no_response(
        cls,
        method: str,
        path: str,
        base_url: str,
        cause: str,
        *,
        inference_id: str = "",
        untrusted_certificate: bool = False,
    ) -> ElasticsearchUnreachable:
        """The request got no answer; ``cause`` is the transport's (scrubbed) account of why."""
        message = f" failed: no response from {base_url} ({cause})"
        if untrusted_certificate:
            message += (
                "; configure ca_file or ca_fingerprint for this cluster's CA "
                "(or insecure: true for a test cluster)"
            )
        return cls(message, method=method, path=path, inference_id=inference_id)

    @classmethod
    def not_tls(
        cls, url: str, method: str, path: str, inference_id: str = ""
    ) -> ElasticsearchUnreachable:
        """An https:// URL answered by a plain-HTTP server."""
        return cls(
            f" failed: {url} does not speak TLS (it answered an https:// handshake in plain text, "
            "as an http:// port does); use http:// for it, or the cluster's HTTPS port",
            method=method,
            path=path,
            inference_id=inference_id,
        )

    @classmethod
    def not_sent(
        cls, method: str, path: str, first: ElasticsearchUnreachable, inference_id: str = ""
    ) -> ElasticsearchUnreachable:
        """The cluster was found down earlier in this run; the request is refused unsent."""
        return cls(
            f" not sent: an earlier request of this run got no response from the cluster for its "
            f"whole retry deadline ({first}); fix the cluster or the connection settings and run "
            "again",
            method=method,
            path=path,
            inference_id=inference_id,
        )

    @classmethod
    def fingerprint_mismatch(cls, url: str) -> ElasticsearchUnreachable:
        """No certificate the server presented matches the pinned fingerprint."""
        return cls(f"TLS to {url}: no certificate presented matches the configured CA fingerprint")


def _after(kind: type[_E], cause: ElasticsearchError, inference_id: str, hint: str) -> _E:
    error = kind(
        cause.message,
        method=cause.method,
        path=cause.path,
        status=cause.status,
        error_type=cause.error_type,
        reason=cause.reason,
        inference_id=inference_id,
        where=cause.where,
        hint=hint,
    )
    error.attempts, error.elapsed = cause.attempts, cause.elapsed
    error.after_ambiguous_attempt = cause.after_ambiguous_attempt
    return error


SERVICE_BUSY_HINT = (
    "The service behind the endpoint answered that it is busy or still starting, so nothing was "
    "stored. A scaled-to-zero Hugging Face endpoint can take minutes to start. To wait longer, "
    "raise the retry deadline: retry.deadline under the stack file's "
    "elasticsearch settings, or ES_INFERENCE_RETRY_DEADLINE"
)


def ambiguous_write_hint(
    operation: Literal["create", "update", "delete"], inference_id: str
) -> str:
    """What to tell the user when a write's outcome is unknown (an attempt's response was lost)."""
    if operation == "create":
        return (
            f"An earlier attempt may have created {inference_id!r} (its response was lost or "
            "late); if it did, the next pulumi up finds it and stops: set `adopt: true` on it to "
            "take it over"
        )
    return _AMBIGUOUS_WRITE_HINTS[operation]


class HuggingFaceError(ProviderError):
    """A Hugging Face Inference Endpoints request failed; the message names it and HF's error."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        # Set when an earlier attempt of the same request may have reached HF (response lost).
        self.after_ambiguous_attempt = False


class HuggingFaceEndpointFailed(HuggingFaceError):
    """The endpoint's state became failed or updateFailed."""


class HuggingFaceEndpointTimeout(HuggingFaceError):
    """The endpoint was not running and healthy before the wait's deadline."""


class HardwareRefused(HuggingFaceError):
    """The declared instance is not offered, not available, or beyond the namespace's quota."""


class HuggingFaceUnreachable(HuggingFaceError):
    """No HTTP response from the Inference Endpoints API (refused, reset, timeout, TLS)."""
