"""OAuth2 client credentials: what `azureopenai` (from 9.4) and `openai` (from 9.5) share.

Sources: elastic/elasticsearch#143896 "Adding OAuth2 support for Azure OpenAI" (in the 9.4.0
changelog bundle) and #150132 "Adding OpenAI OAuth2 implementation" (in the 9.5.0 bundle,
released 2026-08-04); the classes `common/oauth2/OAuth2Settings`, `BaseOAuth2Settings`,
`OAuth2TokenFetcher`, `OAuth2TokenCache`, `CachedToken`, `azureopenai/AzureOpenAiOAuth2Settings`,
`azureopenai/secrets/AzureOpenAiSecretSettings`, `AzureOpenAiSecretsFactory`,
`AzureOpenAiOAuth2Applier`, `openai/OpenAiOAuth2Settings`, `openai/secrets/OpenAiSecretSettings`,
`OpenAiOAuth2SecretsSettings`, `OpenAiSecretsFactory`.

- Service settings: `client_id` (string) and `scopes` (list of strings) come together
  ("[service_settings] OAuth2 fields [client_id, scopes] must be provided together; missing:
  [...]"), and with the service's own field, Azure's `tenant_id` or OpenAI's `token_url`
  ("[service_settings] all <Service> OAuth2 fields must be provided together; missing: [...]").
  GET shows all three; the secret `client_secret` never.
- Secrets: exactly one credential (the services' own messages); then the model's secrets applier
  cross-checks them: a key beside OAuth2 settings is "To use OAuth2 the [client_secret] field
  must be set, either remove fields [...], or provide the [client_secret] field.", a
  `client_secret` without them "OAuth2 requires the fields [...], to be set.".
- The token: a client-credentials grant (`grant_type=client_credentials`, `scope` the scopes
  joined by spaces). OpenAI posts it to `token_url` with HTTP Basic client authentication
  (Nimbus `ClientSecretBasic`, RFC 6749 §2.3.1); Azure's `ClientSecretCredential` posts it to
  `https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token` with `client_id` and
  `client_secret` in the form. The API call then carries `Authorization: Bearer <token>`.
- `_update` (always validated where OAuth2 exists, 9.4+) may change `client_id`, `scopes` and
  the extra field of an OAuth2 endpoint (`updateServiceSettings`, merged over the current
  values); on an endpoint created without them it fails with "Cannot update OAuth2 fields as the
  service was not configured with OAuth2 settings. Please create a new Inference Endpoint with
  the OAuth2 settings instead.". The new secrets pass the same cross-check.
- A failed token request fails the validation call: OpenAI's "Failed to retrieve access token
  for request for inference id [<id>]: [<error>] <error_description>", Azure's "Failed
  attempting to retrieve access token for Azure OpenAI request for inference id: [<id>]".
- Tokens are cached per endpoint on each node until 60 seconds before they expire, and the cache
  is cleared when the endpoint is updated or deleted (`OAuth2TokenCache`). PUT is an endpoint's
  first use and the emulator calls the service only to validate a PUT or (from 9.4) a changing
  `_update`, so every such call fetches a fresh token, as it does on a cluster.

Choices where the sources could not settle it:
- where the OAuth2 fields sit among the service settings' `extract*` calls and in GET: after
  the service's own fields here (in GET after `rate_limit`);
- OpenAI's "cannot update OAuth2 fields" message is taken to be Azure's text (both read a
  constant named `OAUTH2_SETTINGS_NOT_CONFIGURED_ERROR`);
- a `scopes` entry that is not a non-empty string is reported as "[service_settings] [scopes]
  must be a list of non-empty strings" (the `StringParser.extractStringList` wording was not
  read);
- the cause under Azure's token failure: Azure Identity's error, rendered as a
  `client_authentication_exception` carrying the identity platform's `error_description`;
- the token request goes through the emulator's one sender, so it is retried on 429/502/503
  like the API call (Nimbus sends it once; Azure Identity has its own retry policy);
- OpenAI's exactly-one wording: "[service_settings] must have exactly one of [api_key] or
  [client_secret] field set" (one revision reads "must have exactly one field of [api_key,
  client_secret] set").
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import quote

from ..errors import EsError, status_exception, validation_exception
from ..settings import (
    Problems,
    extract_optional_string,
    extract_uri,
    present,
    remove_as_type,
)
from ..validation import VALIDATION_FAILED, send
from ..versions import EsVersion, Gate
from .base import EndpointConfig, EndpointUpdate, ServiceCall, Setting
from .external import ExternalService

__all__ = ["CLIENT_SECRET", "OAuth2", "OAuth2Service", "fetch_token"]

CLIENT_SECRET = "client_secret"
COMMON = ("client_id", "scopes")
SCOPE = "service_settings"


@dataclass(frozen=True)
class OAuth2:
    """One service's OAuth2 flavour: its extra field, its first version, how it asks for a token."""

    service: str
    """The service's name in the messages ("Azure OpenAI", "OpenAI")."""
    extra: str
    """`tenant_id` (Azure) or `token_url` (OpenAI)."""
    since: Gate
    basic_auth: bool
    """HTTP Basic client authentication (Nimbus) rather than the secret in the form (Azure)."""
    credentials: tuple[str, ...]
    """The secrets of which exactly one is set, from `since` on."""
    exactly_one: str
    """The message when none or more than one of `credentials` is set."""
    rotates_only_client_secret: bool
    """An OAuth2 endpoint's `_update` takes `client_secret` and no other secret (OpenAI's
    `updateExactlyOneField`); Azure re-parses the new secrets like a PUT."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The service settings OAuth2 adds, in the order GET shows them."""
        return (*COMMON, self.extra)

    def applies(self, version: EsVersion) -> bool:
        """Whether this version knows OAuth2 for the service."""
        return self.since(version)

    @property
    def _required(self) -> str:
        return ", ".join(sorted(self.fields))

    @property
    def use_client_secret(self) -> str:
        """`USE_CLIENT_SECRET_ERROR`: a key or token beside the OAuth2 settings."""
        return (
            f"To use OAuth2 the [{CLIENT_SECRET}] field must be set, either remove fields"
            f" [{self._required}], or provide the [{CLIENT_SECRET}] field."
        )

    @property
    def settings_required(self) -> str:
        """`REQUIRED_FIELDS_DESCRIPTION`: a `client_secret` without the OAuth2 settings."""
        return f"OAuth2 requires the fields [{self._required}], to be set."

    def parse(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        """The OAuth2 service settings of `settings` (removed from it): all of them or none."""
        client_id = extract_optional_string(settings, "client_id", SCOPE, problems)
        scopes = _scopes(settings, problems)
        common = {"client_id": client_id, "scopes": scopes}
        missing = [k for k, v in common.items() if v is None]
        if len(missing) == 1:
            problems.add(
                f"[{SCOPE}] OAuth2 fields [{', '.join(COMMON)}] must be provided together;"
                f" missing: [{missing[0]}]"
            )
            return {}
        if self.extra == "token_url":
            extra = (
                extract_uri(settings, self.extra, SCOPE, problems)
                if self.extra in settings
                else None
            )
        else:
            extra = extract_optional_string(settings, self.extra, SCOPE, problems)
        if extra is None and not missing:
            self._missing([self.extra], problems)
        elif extra is not None and missing:
            self._missing(list(COMMON), problems)
        if extra is None or missing:
            return {}
        return {**common, self.extra: extra}

    def _missing(self, names: list[str], problems: Problems) -> None:
        problems.add(
            f"[{SCOPE}] all {self.service} OAuth2 fields must be provided together; missing:"
            f" [{', '.join(sorted(names))}]"
        )

    def check_credentials(self, service_settings: dict[str, Any], secrets: dict[str, Any]) -> None:
        """The secrets applier's cross-check of the credential against the OAuth2 settings."""
        configured = "client_id" in service_settings
        if CLIENT_SECRET in secrets and not configured:
            raise validation_exception([self.settings_required])
        if CLIENT_SECRET not in secrets and configured:
            raise validation_exception([self.use_client_secret])

    def token_url(self, config: EndpointConfig) -> str:
        """Where ES asks for the token."""
        settings = config.service_settings
        if self.extra == "token_url":
            return str(settings["token_url"])
        return f"https://login.microsoftonline.com/{settings['tenant_id']}/oauth2/v2.0/token"


def _scopes(settings: dict[str, Any], problems: Problems) -> list[str] | None:
    before = len(problems)
    value = remove_as_type(settings, "scopes", ["List"], problems)
    if value is None or len(problems) > before:
        return None
    if not all(isinstance(s, str) and s for s in value):
        problems.add(f"[{SCOPE}] [scopes] must be a list of non-empty strings")
        return None
    return [str(s) for s in value]


def fetch_token(flavour: OAuth2, call: ServiceCall) -> str:
    """Ask the token endpoint for a client-credentials token; ES's errors when it refuses."""
    inference_id, config = call.inference_id, call.config
    service = config.service_settings
    client_id = str(service["client_id"])
    secret = str(config.secret_settings[CLIENT_SECRET])
    form = {"grant_type": "client_credentials", "scope": " ".join(service["scopes"])}
    headers: dict[str, str] = {}
    if flavour.basic_auth:
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form = {"client_id": client_id, CLIENT_SECRET: secret, **form}
    if flavour.basic_auth:
        failed = f"Failed to retrieve access token for request for inference id [{inference_id}]"
    else:
        failed = (
            "Failed attempting to retrieve access token for Azure OpenAI request for inference"
            f" id: [{inference_id}]"
        )
    try:
        response = send(
            inference_id,
            flavour.token_url(config),
            None,
            headers,
            call.settings,
            call.seconds,
            form=form,
        )
    except EsError as exc:
        raise _validation_failed(EsError("exception", failed, cause=exc)) from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    token = payload.get("access_token")
    if 200 <= response.status_code < 300 and isinstance(token, str) and token:
        return token
    code = str(payload.get("error") or response.status_code)
    description = str(payload.get("error_description") or "")
    if flavour.basic_auth:
        error = EsError("exception", f"{failed}: [{code}] {description}".rstrip())
    else:
        cause = EsError("client_authentication_exception", description or code, elasticsearch=False)
        error = EsError("exception", failed, cause=cause)
    raise _validation_failed(error)


def _validation_failed(cause: EsError) -> EsError:
    return status_exception(VALIDATION_FAILED, cause=cause)


_LABELS = {
    "client_id": "OAuth2 Client ID",
    "scopes": "OAuth2 Scopes",
    "tenant_id": "OAuth2 Tenant ID",
    "token_url": "OAuth2 Token URL",
}
NOT_CONFIGURED = (
    "Cannot update OAuth2 fields as the service was not configured with OAuth2 settings. "
    "Please create a new Inference Endpoint with the OAuth2 settings instead."
)


class OAuth2Service(ExternalService):
    """A third-party service that also takes OAuth2 client credentials (`oauth2`) from a version."""

    oauth2: ClassVar[OAuth2]

    def parse_secrets_on(
        self, settings: dict[str, Any], problems: Problems, version: EsVersion
    ) -> dict[str, Any]:
        flavour = self.oauth2
        if not flavour.applies(version):
            return self.parse_secrets(settings, problems)
        found = {
            key: extract_optional_string(settings, key, "secret_settings", problems)
            for key in flavour.credentials
        }
        provided = present(found)
        if not provided:
            problems.add(flavour.exactly_one)
        elif len(provided) > 1:
            problems.add(f"{flavour.exactly_one}, received: [{', '.join(sorted(provided))}]")
        return provided

    def _service_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion, problems: Problems
    ) -> dict[str, Any]:
        out = super()._service_settings(task_type, settings, version, problems)
        if self.oauth2.applies(version):
            out.update(self.oauth2.parse(settings, problems))
        return out

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        parsed = super().parse_request_config(config, task_type, version, inserted=inserted)
        if self.oauth2.applies(version):
            self.oauth2.check_credentials(parsed.service_settings, parsed.secret_settings)
        return parsed

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        flavour = self.oauth2
        if not flavour.applies(version):
            return super().update_config(current, update, version)
        settings = dict(update.service_settings or {})
        oauth = {k: settings.pop(k) for k in flavour.fields if k in settings}
        configured = CLIENT_SECRET in current.secret_settings
        rotated = [k for k in flavour.credentials if k in settings]
        if flavour.rotates_only_client_secret and configured and rotated != [CLIENT_SECRET]:
            others = [k for k in rotated if k != CLIENT_SECRET]
            if others:
                raise validation_exception(
                    [
                        f"[secret_settings] only the field [{CLIENT_SECRET}] can be updated for"
                        f" this secret, received: [{', '.join(others)}]"
                    ]
                )
        if oauth and update.full_update and "client_id" not in current.service_settings:
            raise validation_exception([NOT_CONFIGURED])
        rest = replace(update, service_settings=settings if update.service_settings else None)
        new = super().update_config(current, rest, version)
        if oauth and update.full_update:
            problems = Problems()
            merged = {k: current.service_settings[k] for k in flavour.fields}
            parsed = flavour.parse({**merged, **oauth}, problems)
            problems.raise_if_any()
            new.service_settings.update(parsed)
        flavour.check_credentials(new.service_settings, new.secret_settings)
        return new

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        described = super().settings_description(version)
        if not self.oauth2.applies(version):
            described.pop(CLIENT_SECRET, None)
            return described
        for name in self.oauth2.fields:
            described[name] = Setting(
                label=_LABELS[name],
                sensitive=name == "tenant_id",
                updatable=True,
                type="list" if name == "scopes" else "str",
            )
        return described

    def validate(self, call: ServiceCall) -> EndpointConfig:
        config = call.config
        if CLIENT_SECRET not in config.secret_settings:
            return super().validate(call)
        token = fetch_token(self.oauth2, call)
        probe = config.copy()
        probe.secret_settings = {"access_token": token}
        checked = super().validate(call.on(probe))
        checked.secret_settings = dict(config.secret_settings)
        return checked
