"""One module per Elasticsearch inference service, and the registry the REST layer looks in.

The REST handlers (`emulators/elasticsearch/api/inference.py`) know no service: they find the
body's `service` in `SERVICES` and call its `InferenceService` methods (see `base.py`). A name
that is not registered answers ES's `Unknown service [x]`.

To add a service:
1. Write `services/<name>.py` with a subclass of `InferenceService` (`base.py`): set `name`
   (the `service` value ES accepts), `display_name` and `secret_keys`, and implement
   `task_types`, `parse_request_config` (ES's order of checks and its messages; use the
   extractors of `settings.py` and `chunking.py`), `update_config` (the per-version `_update`
   rules), `validate(call)` (the call ES makes at PUT; `validation.send` does the HTTP,
   `validation.run_validation(..., call.seconds)` wraps its failure) and
   `settings_description` (the fields of `GET _inference/_services`). Override `filtered`
   only when GET shows more than the stored service, task and chunking settings,
   `infer(call, body)` and `stream(call, body)` when the emulator serves perform-inference
   calls for the service, and `node_started` and
   `offered_task_types` when the node learns at start what it may use
   (`elastic`: EIS's authorization, read from the node setting `xpack.inference.elastic.url`).
   `validate`, `infer` and `stream` take a `ServiceCall` (`base.py`): the endpoint's id and
   config, how the emulator reaches services and the request's `timeout`. A third-party API
   is usually shorter as an `ExternalService` (`external.py`): field tables and one
   `Validation` per task type.
2. Add an instance to `SERVICES` below.
3. Cite, in the module docstring, the ES source each rule follows and the versions it holds for.
"""

from __future__ import annotations

from .amazonbedrock import AmazonBedrockService
from .anthropic import AnthropicService
from .azureopenai import AzureOpenAiService
from .base import InferenceService
from .cohere import CohereService
from .elastic import ElasticService
from .elasticsearch import ElasticsearchService
from .googlevertexai import GoogleVertexAiService
from .hugging_face import HuggingFaceService
from .jinaai import JinaAiService
from .mistral import MistralService
from .openai import OpenAiService
from .voyageai import VoyageAiService

__all__ = ["SERVICES", "InferenceService"]

SERVICES: dict[str, InferenceService] = {
    service.name: service
    for service in (
        HuggingFaceService(),
        ElasticsearchService(),
        OpenAiService(),
        CohereService(),
        AzureOpenAiService(),
        MistralService(),
        AnthropicService(),
        JinaAiService(),
        VoyageAiService(),
        ElasticService(),
        AmazonBedrockService(),
        GoogleVertexAiService(),
    )
}
