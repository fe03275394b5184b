"""The `anthropic` inference service (completion, chat_completion).

Follows `AnthropicService`, `AnthropicChatCompletionServiceSettings.fromMap` (model_id required;
rate limit default 50) and `AnthropicChatCompletionTaskSettings.fromRequestMap`: `max_tokens`
is required ("[task_settings] does not contain the required setting [max_tokens]"), then
temperature, top_k, top_p. The validation call is Anthropic's Messages API
(`https://api.anthropic.com/v1/messages` with `model`, `messages`, `max_tokens`), with
`x-api-key: <api_key>` and `anthropic-version: 2023-06-01`; the answer's `content` must be a list.

Choices where the sources could not settle it: chat_completion from 9.2.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import status_exception
from ..settings import Problems
from ..validation import TEST_INPUT
from ..versions import EsVersion, Gate
from .base import EndpointConfig
from .external import ExternalService, Field, Validation

__all__ = ["AnthropicService"]

MESSAGES_URL = "https://api.anthropic.com/v1/messages"


def _headers(config: EndpointConfig) -> dict[str, str]:
    return {
        "x-api-key": str(config.secret_settings["api_key"]),
        "anthropic-version": "2023-06-01",
    }


def _body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": TEST_INPUT}],
        "model": config.service_settings["model_id"],
        **config.task_settings,
    }
    body["stream"] = config.task_type == "chat_completion"
    return body


def _read(payload: Any) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("content"), list):
        raise status_exception("Failed to find required field [content] in Anthropic response")


class AnthropicService(ExternalService):
    """Anthropic's Messages API, as ES's `anthropic`."""

    name = "anthropic"
    display_name = "Anthropic"
    secret_keys = ("api_key",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "completion": Gate((8, 16)),
        "chat_completion": Gate(None, (9, 2)),
    }
    output_order = ("model_id",)
    service_fields = (Field("model_id", "required", label="Model ID"),)
    task_fields = (
        Field("max_tokens", "int"),
        Field("temperature", "number"),
        Field("top_k", "int"),
        Field("top_p", "number"),
    )
    rate_limits: ClassVar[dict[str, int]] = {"completion": 50, "chat_completion": 50}
    validations: ClassVar[dict[str, Validation]] = {
        task: Validation(lambda c: MESSAGES_URL, _body, _headers, lambda p: _read(p))
        for task in ("completion", "chat_completion")
    }

    def _task_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion
    ) -> dict[str, Any]:
        missing = settings.get("max_tokens") is None
        parsed = super()._task_settings(task_type, settings, version)
        if missing:
            problems = Problems()
            problems.add("[task_settings] does not contain the required setting [max_tokens]")
            problems.raise_if_any()
        return parsed
