"""A program may declare thousands of endpoints (Pulumi's serialize_provider leaks a wrapper per call)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider


class _Echo(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return args.name, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def mocks() -> Any:
    pulumi.runtime.set_mocks(_Echo(), project="es-inference", stack="many")
    yield
    pulumi.runtime.settings.reset_options()


def test_two_thousand_endpoints_can_be_declared_in_one_program(mocks: Any) -> None:
    provider = InferenceEndpointProvider(
        {"endpoints": ["http://127.0.0.1:9200"]}, "stacks/many.yaml"
    )

    @pulumi.runtime.test
    def declare() -> Any:
        declared = [
            InferenceEndpoint(
                f"e{i}",
                inference_id=f"e{i}",
                task_type="rerank",
                service="hugging_face",
                service_settings={"url": "http://127.0.0.1:8080/rerank", "api_key": "k"},
                provider=provider,
            )
            for i in range(2000)
        ]
        return declared[-1].inference_id.apply(lambda value: value == "e1999")

    declare()
