"""The `amazonbedrock` inference service (text_embedding, completion, chat_completion).

Follows `AmazonBedrockService` (8.15 onwards; `getMinimalSupportedVersion` V_8_15_0),
`AmazonBedrockServiceSettings.fromMap` and its task subclasses, `AmazonBedrockProvider`,
`AmazonBedrockProviderCapabilities` and the secrets (`AmazonBedrockSecretSettings`, later
`common/amazon/AwsSecretSettings`):

- service settings in ES's order: `model`, `region` (required strings), `provider` (a required
  enum of amazontitan, anthropic, ai21labs, cohere, meta, mistral; case-insensitive,
  `AmazonBedrockProvider.fromString`), `rate_limit` (default 240 for every task type:
  `DEFAULT_RATE_LIMIT_SETTINGS`); for text_embedding then `similarity`, `max_input_tokens` and
  `dimensions`, which a PUT may not carry ("[service_settings] does not allow the setting
  [dimensions]", like `dimensions_set_by_user`: ES measures the size). GET shows the provider
  as the enum's name, upper case (`provider.name()`, `AmazonBedrockEmbeddingsServiceSettings-
  Tests`: `"provider":"AMAZONTITAN"`);
- task settings of completion/chat_completion (`AmazonBedrockChatCompletionTaskSettings`):
  `temperature`, `top_p`, `top_k` (Doubles in [0.0, 1.0]) and `max_new_tokens` (a positive
  Integer); text_embedding takes none;
- the secrets: `access_key` and `secret_key`, both required;
- then the provider must serve the task ("The [text_embedding] task type for provider
  [anthropic] is not available": embeddings are amazontitan and cohere only) and `top_k` only
  anthropic, cohere and mistral ("The [top_k] task parameter is not available for provider
  [meta]").

`chat_completion` is elastic/elasticsearch#139411 (merged January 2026; 9.4, see below).

The validation call at PUT goes through the AWS SDK (`AmazonBedrockInferenceClient`): the
request is signed with AWS Signature Version 4 (service `bedrock`, the endpoint's region and key
pair) and sent to `https://bedrock-runtime.<region>.amazonaws.com/model/<model>/invoke` (the
embeddings body of the provider: `AmazonBedrockTitanEmbeddingsRequestEntity` `{"inputText"}`,
`AmazonBedrockCohereEmbeddingsRequestEntity` `{"texts", "input_type": "search_document"}`),
`.../converse` for completion (`messages` and `inferenceConfig` from the task settings,
`AmazonBedrockConverseUtils`) and `.../converse-stream` for chat_completion (the unified,
streamed call). The emulator signs with botocore's `SigV4Auth`, AWS's own signer: a kept
library, because a hand-written SigV4 would only prove that the emulator agrees with itself.
The host is routed to a loopback stand-in (`service_routes`, e.g. `*.amazonaws.com`;
`emulators.vendors.aws` checks the signature). An AWS error answer becomes
`AmazonBedrockInferenceClient.onFailure`'s "AmazonBedrock invoke model failure: [<SDK message>]"
(`converse` for the Converse API), the SDK message being "<message> (Service: BedrockRuntime,
Status Code: <code>, Request ID: <id>)", inside ES's 400 "Could not complete inference
endpoint creation…". The embedding size becomes `dimensions`; the similarity, when not given,
is the provider's default (cosine for both, `getProviderDefaultSimilarityMeasure`).

`_update` (ExternalService's per-version rules) with the AWS pair: until 9.5 any non-empty
`service_settings` must carry both keys again (`AmazonBedrockSecretSettings.newSecretSettings`
is `fromMap`, elastic/elasticsearch#139651); from 9.5 `AwsSecretSettings.newSecretSettings`
takes them as a pair: both or neither ("[service_settings] [access_key] and [secret_key] must
be updated together; missing: [secret_key]"), both unchanged being no change.

Choices where the sources could not settle it:
- chat_completion from 9.4: #139411 reached serverless in January 2026 and the specification
  on 2026-01-23, after 9.3's feature freeze by the dates, but no release note was found;
- the secret messages keep the `secret_settings` scope at PUT on every version (the older
  class's); the `service_settings` scope of the newer `AwsSecretSettings` is used only for the
  9.5 pair rule;
- the pair rule from 9.5, with the `_update` secret rework (#149628) it belongs to;
- newer fields (the Cohere `truncate` task setting, `embedding_type`) are not emulated: they are
  unknown settings here, like the task settings of text_embedding;
- the "must be a less than or equal to" wording of the range checks is `ServiceUtils`'s (newer
  code says "must be less than or equal to").
- the chat_completion validation call is the streamed Converse call (`converse-stream`, read as
  AWS event-stream frames by botocore's decoder), as ES's unified chat path streams; a
  non-streamed check is not excluded by the sources read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

from ..errors import EsError, status_exception
from ..settings import (
    Problems,
    extract_optional_boolean,
    extract_optional_enum,
    extract_optional_positive_integer,
    extract_optional_string,
    extract_required_string,
    present,
    remove_as_type,
)
from ..validation import (
    TEST_INPUT,
    parsing_error,
    response_json,
    run_validation,
    send,
    unreadable_response,
)
from ..versions import SECRET_REQUIRED_ON_UPDATE, EsVersion, Gate
from .base import (
    EndpointConfig,
    EndpointUpdate,
    ServiceCall,
    Setting,
    rate_limit_setting,
    secret_setting,
)
from .external import SIMILARITIES, ExternalService, embedding_details

__all__ = ["PROVIDERS", "AmazonBedrockService", "sign"]

PROVIDERS = ("amazontitan", "anthropic", "ai21labs", "cohere", "meta", "mistral")
EMBEDDING_PROVIDERS = ("amazontitan", "cohere")
TOP_K_PROVIDERS = ("anthropic", "cohere", "mistral")
SCOPE = "service_settings"
TASK_SCOPE = "task_settings"
CHAT_COMPLETION = Gate(None, (9, 4))
_ALWAYS = Gate((8, 15))


def sign(url: str, content: bytes, access_key: str, secret_key: str, region: str) -> dict[str, str]:
    """The headers of a SigV4-signed JSON POST to `url`, as the AWS SDK sends them."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = url.split("/", 3)[2]
    request = AWSRequest(
        method="POST",
        url=url,
        data=content,
        headers={"Content-Type": "application/json", "Accept": "application/json", "Host": host},
    )
    SigV4Auth(Credentials(access_key, secret_key), "bedrock", region).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


def _double_in_range(settings: dict[str, Any], key: str, problems: Problems) -> float | None:
    """`extractOptionalDoubleInRange` with ES's 0.0..1.0 bounds for these settings."""
    before = len(problems)
    value = remove_as_type(settings, key, ["Double"], problems)
    if len(problems) > before or value is None:
        return None
    if value < 0.0:
        problems.add(
            f"[{TASK_SCOPE}] Invalid value [{value}]. [{key}] must be a greater than or equal"
            " to [0.0]"
        )
    if value > 1.0:
        problems.add(
            f"[{TASK_SCOPE}] Invalid value [{value}]. [{key}] must be a less than or equal to [1.0]"
        )
    return float(value)


def _url(config: EndpointConfig, action: str) -> str:
    s = config.service_settings
    model = quote(str(s["model"]), safe="")
    return f"https://bedrock-runtime.{s['region']}.amazonaws.com/model/{model}/{action}"


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    if config.service_settings["provider"] == "COHERE":
        return {"texts": [TEST_INPUT], "input_type": "search_document"}
    return {"inputText": TEST_INPUT}


def _converse_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": TEST_INPUT}]}]}
    task = config.task_settings
    inference = {
        name: task[key]
        for key, name in (
            ("max_new_tokens", "maxTokens"),
            ("temperature", "temperature"),
            ("top_p", "topP"),
        )
        if task.get(key) is not None
    }
    if inference:
        body["inferenceConfig"] = inference
    if task.get("top_k") is not None:
        body["additionalModelResponseFieldPaths"] = [f'{{"top_k":{task["top_k"]:f}}}']
    return body


def _embedding_size(payload: Any) -> int:
    if isinstance(payload, dict) and isinstance(payload.get("embedding"), list):
        return len(payload["embedding"])
    if isinstance(payload, dict) and isinstance(payload.get("embeddings"), list):
        first = payload["embeddings"][0] if payload["embeddings"] else None
        if isinstance(first, list):
            return len(first)
    raise parsing_error("START_OBJECT", payload)


def _no_size(payload: Any) -> int | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), dict):
        raise parsing_error("START_OBJECT", payload)
    return None


_CALLS: dict[str, tuple[str, str, Callable[[Any], int | None] | None]] = {
    "text_embedding": ("invoke", "invoke model", _embedding_size),
    "completion": ("converse", "converse", _no_size),
    "chat_completion": ("converse-stream", "converse", None),
}
"""Per task type: the model action, the SDK method ES names in errors, how to read the answer."""


def _event_stream(content: bytes) -> list[Any]:
    """The events of an `application/vnd.amazon.eventstream` answer (botocore's decoder)."""
    from botocore.eventstream import EventStreamBuffer, ParserError

    buffer = EventStreamBuffer()
    buffer.add_data(content)
    try:
        return list(buffer)
    except ParserError as exc:
        raise unreadable_response() from exc


class AmazonBedrockService(ExternalService):
    """Amazon Bedrock's runtime API behind AWS request signing, as ES's `amazonbedrock`."""

    name = "amazonbedrock"
    display_name = "Amazon Bedrock"
    secret_keys = ("access_key", "secret_key")
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": _ALWAYS,
        "completion": _ALWAYS,
        "chat_completion": CHAT_COMPLETION,
    }
    rate_limits: ClassVar[dict[str, int]] = dict.fromkeys(
        ("text_embedding", "completion", "chat_completion"), 240
    )
    output_order = ("region", "model", "provider", "dimensions", "max_input_tokens", "similarity")

    def parse_secrets(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        return {
            key: extract_required_string(settings, key, "secret_settings", problems)
            for key in self.secret_keys
        }

    def _service_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion, problems: Problems
    ) -> dict[str, Any]:
        out = present(
            {
                key: extract_required_string(settings, key, SCOPE, problems)
                for key in ("model", "region")
            }
        )
        before = len(problems)
        provider = extract_optional_enum(settings, "provider", SCOPE, PROVIDERS, problems)
        if provider is None and len(problems) == before:
            problems.add(f"[{SCOPE}] does not contain the required setting [provider]")
        if provider is not None:
            out["provider"] = provider.upper()
        out.update(super()._service_settings(task_type, settings, version, problems))
        if task_type == "text_embedding":
            similarity = extract_optional_enum(
                settings, "similarity", SCOPE, SIMILARITIES, problems
            )
            tokens = extract_optional_positive_integer(
                settings, "max_input_tokens", SCOPE, problems
            )
            dimensions = extract_optional_positive_integer(settings, "dimensions", SCOPE, problems)
            by_user = extract_optional_boolean(settings, "dimensions_set_by_user", problems)
            if by_user is not None:
                problems.add(f"[{SCOPE}] does not allow the setting [dimensions_set_by_user]")
            if dimensions is not None:
                problems.add(f"[{SCOPE}] does not allow the setting [dimensions]")
            out.update(present({"max_input_tokens": tokens, "similarity": similarity}))
        return out

    def _task_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion
    ) -> dict[str, Any]:
        if task_type == "text_embedding":
            return {}
        problems = Problems()
        found = {key: _double_in_range(settings, key, problems) for key in ("temperature", "top_p")}
        found["top_k"] = _double_in_range(settings, "top_k", problems)
        found["max_new_tokens"] = extract_optional_positive_integer(
            settings, "max_new_tokens", TASK_SCOPE, problems
        )
        problems.raise_if_any()
        return present(found)

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        parsed = super().parse_request_config(config, task_type, version, inserted=inserted)
        provider = str(parsed.service_settings["provider"]).lower()
        allowed = EMBEDDING_PROVIDERS if task_type == "text_embedding" else PROVIDERS
        if provider not in allowed:
            raise status_exception(
                f"The [{task_type}] task type for provider [{provider}] is not available"
            )
        if parsed.task_settings.get("top_k") is not None and provider not in TOP_K_PROVIDERS:
            raise status_exception(
                f"The [top_k] task parameter is not available for provider [{provider}]"
            )
        return parsed

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        settings = dict(update.service_settings or {})
        if settings and SECRET_REQUIRED_ON_UPDATE(version):
            self._secrets(dict(settings), version)
        elif settings:
            problems = Problems()
            found = {
                key: extract_optional_string(settings, key, SCOPE, problems)
                for key in self.secret_keys
            }
            problems.raise_if_any()
            given = [key for key, value in found.items() if value is not None]
            unchanged = all(found[k] == current.secret_settings.get(k) for k in self.secret_keys)
            if len(given) == 1 and not unchanged:
                missing = next(k for k in self.secret_keys if k not in given)
                problems.add(
                    f"[{SCOPE}] [access_key] and [secret_key] must be updated together;"
                    f" missing: [{missing}]"
                )
                problems.raise_if_any()
        return super().update_config(current, update, version)

    def validate(self, call: ServiceCall) -> EndpointConfig:
        config = call.config
        action, method, read = _CALLS[config.task_type]
        body = _embed_body(config) if action == "invoke" else _converse_body(config)

        def attempt(seconds: float) -> int | None:
            url = _url(config, action)
            secrets = config.secret_settings
            headers = sign(
                url,
                json.dumps(body).encode(),
                str(secrets["access_key"]),
                str(secrets["secret_key"]),
                str(config.service_settings["region"]),
            )
            try:
                response = send(call.inference_id, url, body, headers, call.settings, seconds)
            except EsError as exc:
                raise EsError(
                    "exception", f"Amazon Bedrock {method} call failed", cause=exc
                ) from exc
            if not 200 <= response.status_code < 300:
                raise _aws_failure(method, response.status_code, response)
            if read is None:
                if not _event_stream(response.content):
                    raise parsing_error("START_OBJECT", None)
                return None
            return read(response_json(response))

        size = run_validation(attempt, call.seconds)
        return embedding_details(config, size, "cosine")

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        every = self.task_types(version)
        described = {
            "provider": Setting(
                label="Provider",
                description="The model provider for your deployment.",
                required=True,
            ),
            "model": Setting(
                label="Model",
                description=(
                    "The base model ID or an ARN to a custom model based on a foundational model."
                ),
                required=True,
            ),
            "region": Setting(
                label="Region",
                description="The region that your model or ARN is deployed in.",
                required=True,
            ),
            "dimensions": Setting(
                label="Dimensions",
                description=(
                    "The number of dimensions the resulting embeddings should have. For more"
                    " information refer to https://docs.aws.amazon.com/bedrock/latest/userguide/"
                    "model-parameters-titan-embed-text.html."
                ),
                type="int",
                task_types=("text_embedding",),
            ),
            "access_key": secret_setting(
                "Access Key",
                "A valid AWS access key that has permissions to use Amazon Bedrock.",
                every,
            ),
            "secret_key": secret_setting(
                "Secret Key", "A valid AWS secret key that is paired with the access_key.", every
            ),
            "rate_limit.requests_per_minute": rate_limit_setting(
                "By default, the amazonbedrock service sets the number of requests allowed"
                " per minute to 240."
            ),
        }
        return described


def _aws_failure(method: str, status: int, response: Any) -> EsError:
    """`onFailure` around the SDK's `BedrockRuntimeException` for an AWS error answer."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    request_id = response.headers.get("x-amzn-RequestId", "")
    sdk = f"{message} (Service: BedrockRuntime, Status Code: {status}, Request ID: {request_id})"
    return EsError("exception", f"AmazonBedrock {method} failure: [{sdk}]", status=500)
