"""The `mistral` inference service (text_embedding, completion, chat_completion).

Follows `MistralService` and `MistralEmbeddingsServiceSettings.fromMap`: the model is `model`,
not `model_id` (required), then max_input_tokens; rate limit default 240. The validation call is
Mistral's API (`https://api.mistral.ai/v1/embeddings` with `model`, `input`,
`encoding_format: float`; `/v1/chat/completions` for chat), `Authorization: Bearer <api_key>`;
the response is OpenAI's shape, and its vector size becomes `dimensions`.

Choices where the sources could not settle it: completion and chat_completion from 8.19/9.1;
the similarity filled in at PUT is dot_product.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..validation import TEST_INPUT
from ..versions import Gate
from .base import EndpointConfig
from .external import (
    ExternalService,
    Field,
    Validation,
    bearer_api_key,
    chat_body,
    embeddings_validation,
)

__all__ = ["MistralService"]

API = "https://api.mistral.ai/v1"
_EMBED = ("text_embedding",)


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    return {
        "model": config.service_settings["model"],
        "input": [TEST_INPUT],
        "encoding_format": "float",
    }


def _chat_body(config: EndpointConfig) -> dict[str, Any]:
    return {"model": config.service_settings["model"], **chat_body(config)}


class MistralService(ExternalService):
    """Mistral's API, as ES's `mistral`."""

    name = "mistral"
    display_name = "Mistral"
    secret_keys = ("api_key",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": Gate((8, 15)),
        "completion": Gate((8, 19), (9, 1)),
        "chat_completion": Gate((8, 19), (9, 1)),
    }
    output_order = ("model", "dimensions", "similarity", "max_input_tokens")
    service_fields = (
        Field("model", "required", label="Model"),
        Field("max_input_tokens", "int", _EMBED),
    )
    rate_limits: ClassVar[dict[str, int]] = dict.fromkeys(
        ("text_embedding", "completion", "chat_completion"), 240
    )
    default_similarity = "dot_product"
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": embeddings_validation(f"{API}/embeddings", _embed_body),
        **{
            task: Validation(
                lambda c: f"{API}/chat/completions", _chat_body, bearer_api_key, lambda _: None
            )
            for task in ("completion", "chat_completion")
        },
    }
