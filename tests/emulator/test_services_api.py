"""`GET _inference/_services`: the emulated services' configuration, per version.

Each service module describes itself; these tests pin the shape with hugging_face's.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._helpers import error_of

ALL = ["text_embedding", "sparse_embedding", "rerank", "completion", "chat_completion"]


def hugging_face(task_types: list[str], url_default: str | None) -> dict[str, Any]:
    def field(**described: Any) -> dict[str, Any]:
        return {**described, "supported_task_types": task_types}

    url = field(
        description="The URL endpoint to use for the requests.",
        label="URL",
        required=True,
        sensitive=False,
        updatable=False,
        type="str",
    )
    if url_default is not None:
        url = {"default_value": url_default, **url}
    return {
        "service": "hugging_face",
        "name": "Hugging Face",
        "task_types": task_types,
        "configurations": {
            "api_key": field(
                description="API Key for the provider you're connecting to.",
                label="API Key",
                required=True,
                sensitive=True,
                updatable=True,
                type="str",
            ),
            "rate_limit.requests_per_minute": field(
                description="Minimize the number of rate limit errors.",
                label="Rate Limit",
                required=False,
                sensitive=False,
                updatable=False,
                type="int",
            ),
            "url": url,
        },
    }


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "9.0.0",
            hugging_face(
                ["text_embedding", "sparse_embedding"], "https://api.openai.com/v1/embeddings"
            ),
        ),
        ("9.1.0", hugging_face(ALL, None)),
    ],
    ids=["9.0: embeddings only, url with a default", "9.1: every hugging_face task type"],
)
def test_the_services_list_describes_each_emulated_service(
    make_es: Any, version: str, expected: dict[str, Any]
) -> None:
    es = make_es(version=version, default_endpoints=False)
    listed = es.get("/_inference/_services").json()
    names = [s["service"] for s in listed]
    assert names == sorted(names) and "hugging_face" in names
    assert listed[names.index("hugging_face")] == expected


@pytest.mark.parametrize(
    ("version", "task_type", "with_hugging_face"),
    [
        ("9.1.0", "rerank", True),
        ("9.0.0", "rerank", False),
        ("8.18.0", "TEXT_EMBEDDING", True),
    ],
    ids=[
        "9.1 hugging_face reranks",
        "9.0 has no hugging_face rerank",
        "the task type is case-insensitive",
    ],
)
def test_a_task_type_keeps_the_services_that_support_it(
    make_es: Any, version: str, task_type: str, with_hugging_face: bool
) -> None:
    es = make_es(version=version, default_endpoints=False)
    everything = es.get("/_inference/_services").json()
    listed = es.get(f"/_inference/_services/{task_type}").json()
    wanted = task_type.lower()
    assert listed == [s for s in everything if wanted in s["task_types"]]
    assert ("hugging_face" in [s["service"] for s in listed]) is with_hugging_face


def test_any_lists_every_service(es: httpx.Client) -> None:
    assert es.get("/_inference/_services/any").json() == es.get("/_inference/_services").json()


def test_an_unknown_task_type_is_a_status_exception(es: httpx.Client) -> None:
    assert error_of(es.get("/_inference/_services/embeddings")) == (
        400,
        "status_exception",
        "Unknown task_type [embeddings]",
    )


def test_before_8_18_services_is_read_as_an_endpoint_id(make_es: Any) -> None:
    # 8.16-8.17 had this API in an older shape the emulator does not reproduce.
    es = make_es(version="8.17.0", default_endpoints=False)
    assert error_of(es.get("/_inference/_services")) == (
        404,
        "resource_not_found_exception",
        "Inference endpoint not found [_services]",
    )
