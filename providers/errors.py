"""Every error the provider raises on purpose.

    ProviderError
    ├── DeclarationError                  the user's stack file or resource inputs are invalid
    ├── SchemaError                       a file under schemas/ is broken (our bug, not the user's)
    ├── ConnectionSettingsError           no usable Elasticsearch connection is configured
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
contains a secret.
"""

from __future__ import annotations

__all__ = [
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
    "UnsupportedElasticsearchVersion",
]


class ProviderError(Exception):
    """Base class of every error this package raises on purpose."""


class DeclarationError(ProviderError):
    """The stack file or the resource inputs break a rule; ``problems`` lists every violation."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source} is invalid ({count} error{'s' if count != 1 else ''}):"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class SchemaError(ProviderError):
    """A schema file shipped with the project is missing or not valid JSON Schema."""


class ConnectionSettingsError(ProviderError):
    """The Elasticsearch connection settings are missing or contradictory."""


class ElasticsearchError(ProviderError):
    """An Elasticsearch request failed; the message names the request, the status and ES's reason."""

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
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.error_type = error_type
        self.reason = reason
        self.inference_id = inference_id
        # Set by the client when an earlier attempt of the same request may have reached
        # Elasticsearch but its response was lost.
        self.after_ambiguous_attempt = False


class EndpointNotFound(ElasticsearchError):
    """Elasticsearch has no inference endpoint with this id."""


class EndpointConflict(ElasticsearchError):
    """An endpoint with this id exists but differs from what this stack tried to create."""


class EndpointInUse(ElasticsearchError):
    """Ingest pipelines or index mappings use the endpoint, so it was not deleted."""


class EndpointLost(ElasticsearchError):
    """A replacement deleted the old endpoint and then failed to create the new one."""


class UnsupportedElasticsearchVersion(ElasticsearchError):
    """The cluster is older than a feature this endpoint needs."""


class ElasticsearchUnreachable(ElasticsearchError):
    """No HTTP response arrived: connection refused or reset, timeout, or a TLS failure."""


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
