"""A program may declare thousands of endpoints (Pulumi's serialize_provider leaks a wrapper per call)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider

COUNT = 2000


class _Echo(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        super().__init__()
        self.registered: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args.name)
        return args.name, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def mocks() -> Iterator[_Echo]:
    echo = _Echo()
    pulumi.runtime.set_mocks(echo, project="es-inference", stack="many")
    yield echo
    pulumi.runtime.settings.reset_options()


def test_two_thousand_endpoints_can_be_declared_in_one_program(mocks: _Echo) -> None:
    provider = InferenceEndpointProvider(
        {"endpoints": ["http://127.0.0.1:9200"]}, "stacks/many.yaml"
    )
    resolved: list[str] = []

    def declare() -> pulumi.Output[None]:
        declared = [
            InferenceEndpoint(
                f"e{i}",
                inference_id=f"e{i}",
                task_type="rerank",
                service="hugging_face",
                service_settings={"url": "http://127.0.0.1:8080/rerank", "api_key": "k"},
                provider=provider,
            )
            for i in range(COUNT)
        ]
        return pulumi.Output.all(*(d.inference_id for d in declared)).apply(resolved.extend)

    pulumi.runtime.test(declare)()  # type: ignore[no-untyped-call]  # Pulumi leaves it untyped

    expected = [f"e{i}" for i in range(COUNT)]
    assert resolved == expected
    assert sorted(mocks.registered) == sorted(expected)
