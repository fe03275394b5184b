"""Loopback stand-ins for the services Elasticsearch's inference services call.

- `inference_apis`: OpenAI, Azure OpenAI, Cohere, Mistral, Anthropic, Jina and Voyage (API keys
  and OAuth2 client credentials);
- `aws`: Amazon Bedrock, checking AWS Signature Version 4;
- `google`: Google's token endpoint and Vertex AI / Discovery Engine, checking service-account JWTs;
- `eis`: the Elastic Inference Service, with its authorization of models.

The Hugging Face server and the Inference Endpoints API are in `emulators.huggingface`.
"""

from __future__ import annotations

__all__: list[str] = []
