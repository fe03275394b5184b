"""Resolve how to reach Elasticsearch: endpoints, credentials, TLS, timeouts and retries.

Each setting is taken from the first source that has it:

1. Pulumi config, namespace ``es-inference`` (``pulumi config set es-inference:endpoints ...``,
   ``pulumi config set --secret es-inference:apiKey ...``);
2. the stack file's ``elasticsearch:`` block (secrets there are references: ``{secret: key}``
   names a Pulumi config secret, ``{env: NAME}`` an environment variable);
3. the environment, named as Elastic's own tools name it (``ELASTICSEARCH_ENDPOINTS``,
   ``ELASTICSEARCH_API_KEY``, ...), plus ``ES_INFERENCE_*`` for timeouts and retries.

Explicit per-stack settings win over the environment, so a stray variable in a shell cannot
redirect a stack that names its cluster. Only one kind of credential is sent: an API key, else a
bearer token, else username and password.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from providers.errors import ConnectionSettingsError
from providers.secret_references import MALFORMED, ConfigSource, parse_reference
from providers.switches import parse_switch

__all__ = [
    "SECONDS_BOUNDS",
    "ConnectionSettings",
    "RememberedConnection",
    "RetryPolicy",
    "resolve_connection",
    "tls_conflicts",
]

CONFIG_NAMESPACE = "es-inference"
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z")
_FINGERPRINT = re.compile(r"^(?:[0-9a-f]{2}:?){31}[0-9a-f]{2}\Z")
# Seconds settings: (name, whether 0 is allowed, the most allowed). Beyond these a run waits for
# hours or overflows a timestamp; schemas/stack.schema.json states the same bounds.
SECONDS_BOUNDS: dict[str, tuple[bool, float]] = {
    "timeout": (False, 3600.0),
    "deadline": (True, 86400.0),
    "initial_backoff": (False, 3600.0),
    "max_backoff": (False, 3600.0),
    "max_retry_after": (False, 3600.0),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry 429, 502, 503, 504 and lost connections."""

    deadline: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 10.0
    max_retry_after: float = 30.0


@dataclass(frozen=True)
class ConnectionSettings:
    """A resolved connection. It holds secrets: never log it, pickle it or put it in a message."""

    endpoints: tuple[str, ...]
    api_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    ca_fingerprint: str | None = None
    insecure: bool = False
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    origin: str = ""
    credential_origin: str = ""
    credential_from_config: bool = False

    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        return [s for s in (self.api_key, self.bearer_token, self.password) if s]

    def refused_credentials_hint(self) -> str:
        """What to say when Elasticsearch answers 401: where the credential came from, and why."""
        if not (self.api_key or self.bearer_token or self.username):
            return (
                "Elasticsearch requires credentials and none is configured (es-inference:apiKey, "
                "elasticsearch.api_key in the stack file, or ELASTICSEARCH_API_KEY)"
            )
        where = f" from {self.credential_origin}" if self.credential_origin else ""
        hint = f"Elasticsearch refused the credentials{where} (401)"
        if self.credential_from_config:
            # The engine configures refresh and destroy with the config of the last up.
            hint += (
                ". pulumi refresh and pulumi destroy give the provider the Pulumi config recorded "
                "at the last pulumi up: after rotating a credential held in Pulumi config, run "
                "them with --run-program (or run pulumi up first); credentials from the "
                "environment are read at each call"
            )
        return hint


# (setting, Pulumi config key, stack-file key, environment variable)
_SOURCES = [
    ("endpoints", "endpoints", "endpoints", "ELASTICSEARCH_ENDPOINTS"),
    ("api_key", "apiKey", "api_key", "ELASTICSEARCH_API_KEY"),
    ("bearer_token", "bearerToken", "bearer_token", "ELASTICSEARCH_BEARER_TOKEN"),
    ("username", "username", "username", "ELASTICSEARCH_USERNAME"),
    ("password", "password", "password", "ELASTICSEARCH_PASSWORD"),
    ("ca_file", "caFile", "ca_file", "ELASTICSEARCH_CA_FILE"),
    ("ca_fingerprint", "caFingerprint", "ca_fingerprint", "ELASTICSEARCH_CA_FINGERPRINT"),
    ("insecure", "insecure", "insecure", "ELASTICSEARCH_INSECURE"),
    ("timeout", "timeout", "timeout", "ES_INFERENCE_TIMEOUT"),
]
_RETRY_SOURCES = [
    ("deadline", "retryDeadline", "ES_INFERENCE_RETRY_DEADLINE"),
    ("initial_backoff", "retryInitialBackoff", "ES_INFERENCE_RETRY_INITIAL_BACKOFF"),
    ("max_backoff", "retryMaxBackoff", "ES_INFERENCE_RETRY_MAX_BACKOFF"),
    ("max_retry_after", "retryMaxRetryAfter", "ES_INFERENCE_RETRY_MAX_RETRY_AFTER"),
]


def _resolve_reference(
    raw: object, where: str, config: ConfigSource, env: Mapping[str, str], project: str
) -> object:
    if not isinstance(raw, Mapping):
        return raw
    reference = parse_reference(raw)
    if reference is None:
        raise ConnectionSettingsError(f"{where}: {MALFORMED}")
    return reference.resolve(where, config=config, env=env, project=project)


def _endpoints(raw: object, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError:
                raise ConnectionSettingsError(f"{where}: not a JSON list of URLs") from None
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list) or not raw:
        raise ConnectionSettingsError(f"{where}: must list at least one http(s) URL")
    urls = tuple(str(u).rstrip("/") for u in raw)
    for url in urls:
        if not _URL.match(url):
            raise ConnectionSettingsError(f"{where}: {url!r} is not an http:// or https:// URL")
    return urls


def _boolean(raw: object, where: str) -> bool:
    if isinstance(raw, bool):
        return raw
    found = parse_switch(str(raw))
    if found is not None:
        return found
    raise ConnectionSettingsError(f"{where}: must be true or false")


def _seconds(raw: object, where: str, setting: str) -> float:
    allow_zero, most = SECONDS_BOUNDS[setting]
    if isinstance(raw, bool):
        raise ConnectionSettingsError(f"{where}: must be a number of seconds, not {raw}")
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConnectionSettingsError(f"{where}: must be a number of seconds") from None
    except OverflowError:  # an integer beyond any float
        raise ConnectionSettingsError(f"{where}: must be at most {most:g} seconds") from None
    if not math.isfinite(value):
        raise ConnectionSettingsError(
            f"{where}: must be a finite number of seconds, not {value} (at most {most:g})"
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise ConnectionSettingsError(f"{where}: must be {'>= 0' if allow_zero else '> 0'}")
    if value > most:
        raise ConnectionSettingsError(f"{where}: must be at most {most:g} seconds (got {value:g})")
    return value


def tls_conflicts(
    endpoints: Sequence[str], pins: Sequence[str], insecure: bool
) -> list[tuple[str, str]]:
    """Contradictory TLS settings, as (setting, why), so that none is silently ignored.

    ``pins`` names the pinning settings given (``ca_fingerprint``, ``ca_file``).
    """
    found: list[tuple[str, str]] = []
    if len(pins) > 1:
        found.append(("ca_file", "give ca_fingerprint or ca_file, not both"))
    if pins and insecure:
        found.append(("insecure", f"true would switch off the {pins[0]} pin; remove one of them"))
    for index, url in enumerate(endpoints):
        if pins and url.startswith("http://"):
            found.append(
                (
                    f"endpoints[{index}]",
                    f"is plain http://, where {pins[0]} cannot apply (no certificate is presented "
                    "and the traffic is not encrypted): use https://, or remove the pin",
                )
            )
    return found


def _check_tls(
    endpoints: tuple[str, ...],
    values: Mapping[str, Any],
    origins: Mapping[str, str],
    insecure: bool,
) -> None:
    pins = [name for name in ("ca_fingerprint", "ca_file") if values.get(name) is not None]
    for setting, _ in tls_conflicts(endpoints, pins, insecure):
        if setting == "ca_file":
            raise ConnectionSettingsError(
                f"{origins['ca_fingerprint']} and {origins['ca_file']} both say which certificate "
                "to trust; give ca_fingerprint or ca_file, not both"
            )
        if setting == "insecure":
            raise ConnectionSettingsError(
                f"{origins['insecure']} turns TLS verification off, but {origins[pins[0]]} pins "
                f"the cluster's certificate; a pin is never switched off silently: unset "
                f"{origins['insecure']} or remove {pins[0]}"
            )
        url = endpoints[int(setting.removeprefix("endpoints[").rstrip("]"))]
        raise ConnectionSettingsError(
            f"{origins[pins[0]]} pins a TLS certificate, but {url} (from "
            f"{origins['endpoints']}) is plain HTTP, where no certificate is presented and the "
            "traffic is not encrypted: use https://, or remove the pin"
        )


def resolve_connection(
    declared: Mapping[str, Any],
    *,
    config: ConfigSource,
    env: Mapping[str, str],
    project: str,
    stack_file: str = "the stack file",
) -> ConnectionSettings:
    """Combine Pulumi config, the stack file's ``elasticsearch:`` block and the environment."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for setting, config_key, stack_key, env_var in _SOURCES:
        key = f"{CONFIG_NAMESPACE}:{config_key}"
        configured = config.get(key)
        if configured not in (None, ""):
            values[setting], origins[setting] = configured, f"Pulumi config {key}"
        elif declared.get(stack_key) is not None:
            where = f"{stack_file}: elasticsearch.{stack_key}"
            values[setting] = _resolve_reference(declared[stack_key], where, config, env, project)
            origins[setting] = where
        elif env.get(env_var):
            values[setting], origins[setting] = env[env_var], env_var
    if "endpoints" not in values:
        raise ConnectionSettingsError(
            "no Elasticsearch endpoint is configured: set elasticsearch.endpoints in "
            f"{stack_file}, run `pulumi config set {CONFIG_NAMESPACE}:endpoints https://host:9200`, "
            "or export ELASTICSEARCH_ENDPOINTS"
        )
    retry_declared = declared.get("retry") or {}
    retry: dict[str, float] = {}
    for setting, config_key, env_var in _RETRY_SOURCES:
        key = f"{CONFIG_NAMESPACE}:{config_key}"
        for raw, where in (
            (config.get(key), f"Pulumi config {key}"),
            (retry_declared.get(setting), f"{stack_file}: elasticsearch.retry.{setting}"),
            (env.get(env_var), env_var),
        ):
            if raw not in (None, ""):
                retry[setting] = _seconds(raw, where, setting)
                break
    if values.get("username") and not values.get("password"):
        raise ConnectionSettingsError(
            f"a username comes from {origins['username']} but no password is configured"
        )
    fingerprint = values.get("ca_fingerprint")
    if fingerprint is not None:
        fingerprint = str(fingerprint).strip().lower()
        if not _FINGERPRINT.match(fingerprint):
            raise ConnectionSettingsError(
                f"{origins['ca_fingerprint']}: must be a SHA-256 fingerprint (64 hex digits)"
            )
        fingerprint = fingerprint.replace(":", "")
    endpoints = _endpoints(values["endpoints"], origins["endpoints"])
    sent = next((k for k in ("api_key", "bearer_token", "username") if values.get(k)), None)
    credential = origins[sent] if sent is not None else ""
    insecure = _boolean(values["insecure"], origins["insecure"]) if "insecure" in values else False
    _check_tls(endpoints, values, origins, insecure)
    return ConnectionSettings(
        endpoints=endpoints,
        api_key=values.get("api_key"),
        bearer_token=values.get("bearer_token"),
        username=values.get("username"),
        password=values.get("password"),
        ca_file=values.get("ca_file"),
        ca_fingerprint=fingerprint,
        insecure=insecure,
        timeout=_seconds(values["timeout"], origins["timeout"], "timeout")
        if "timeout" in values
        else 60.0,
        retry=RetryPolicy(**retry),
        origin=origins["endpoints"],
        credential_origin=credential,
        credential_from_config=credential.startswith("Pulumi config")
        or any(
            getattr(parse_reference(declared.get(key)), "kind", None) == "secret"
            for key in ("api_key", "bearer_token", "password")
            if origins.get(key, "").startswith(stack_file)
        ),
    )


class _RecordedReads(Mapping[str, str]):
    """The environment as resolve_connection sees it, noting each variable it looks up."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.read: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str:
        value = self._env.get(name)
        self.read[name] = value
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        raise TypeError("resolve_connection looks variables up by name only")

    def __len__(self) -> int:
        raise TypeError("resolve_connection looks variables up by name only")


class _Resolved(NamedTuple):
    """One resolution and what it was made from."""

    declared: object
    config: object
    where: tuple[str, str]  # project, stack file
    read: dict[str, str | None]  # each environment variable looked up, and its value then
    settings: ConnectionSettings


class RememberedConnection:
    """``resolve_connection`` for one provider, again only when something it read has changed.

    A provider resolves its connection at every call, so that credentials rotated in the
    environment apply at once. The result depends only on the stack file's block, the Pulumi
    config and the environment variables the resolution looked up, so it is kept with the values
    it read and reused while each of them is unchanged (and the block and config are the same
    objects): 15 instead of 28 µs per call. A failed resolution is not kept.
    """

    def __init__(self) -> None:
        self._last: _Resolved | None = None

    def resolve(
        self,
        declared: Mapping[str, Any],
        *,
        config: ConfigSource,
        env: Mapping[str, str],
        project: str,
        stack_file: str,
    ) -> ConnectionSettings:
        """The settings ``resolve_connection`` gives for these sources."""
        last = self._last
        if (
            last is not None
            and last.declared is declared
            and last.config is config
            and last.where == (project, stack_file)
            and all(env.get(name) == value for name, value in last.read.items())
        ):
            return last.settings
        reads = _RecordedReads(env)
        settings = resolve_connection(
            declared, config=config, env=reads, project=project, stack_file=stack_file
        )
        self._last = _Resolved(declared, config, (project, stack_file), reads.read, settings)
        return settings
