"""``providers.export``: the stack file written for the endpoints a cluster already has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from providers.export import render, stack_document
from providers.schema import load_schemas
from providers.secret_references import SecretReference
from providers.stack import load_stack, stack_problems

SCHEMAS = load_schemas()
MARKDOWN = [
    "\n# ",
    "\n## ",
    "\n### ",
    "\n#### ",
    "\n##### ",
    "\n###### ",
    "\n^(?!\\s*$).*\\n-{1,}\\n",
    "\n^(?!\\s*$).*\\n={1,}\\n",
]


def live_embedding(inference_id: str = "emb", **settings: Any) -> dict[str, Any]:
    """A text_embedding endpoint as GET _inference/_all lists it, server defaults included."""
    return {
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": "https://x.endpoints.huggingface.cloud",
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
            **settings,
        },
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }


def test_server_filled_values_are_left_out_and_the_key_becomes_a_secret_reference() -> None:
    exported = stack_document([live_embedding()], SCHEMAS)

    assert exported.document == {
        "endpoints": [
            {
                "inference_id": "emb",
                "task_type": "text_embedding",
                "service": "hugging_face",
                "service_settings": {
                    "url": "https://x.endpoints.huggingface.cloud",
                    "api_key": {"secret": "emb.api_key"},
                },
                "adopt": True,
            }
        ]
    }
    assert exported.secret_keys == ["emb.api_key"]
    assert exported.skipped == []


def test_values_other_than_the_defaults_are_kept() -> None:
    live = live_embedding(similarity="dot_product", rate_limit={"requests_per_minute": 60.0})
    live["chunking_settings"] = {"strategy": "word", "max_chunk_size": 100, "overlap": 20}

    (entry,) = stack_document([live], SCHEMAS).document["endpoints"]

    assert entry["service_settings"]["similarity"] == "dot_product"
    assert entry["service_settings"]["rate_limit"] == {"requests_per_minute": 60}
    assert entry["chunking_settings"] == {"strategy": "word", "max_chunk_size": 100, "overlap": 20}


def test_recursive_chunking_with_a_known_separator_list_is_written_as_its_group() -> None:
    live = live_embedding()
    live["chunking_settings"] = {
        "strategy": "recursive",
        "max_chunk_size": 200,
        "separators": MARKDOWN,
    }

    (entry,) = stack_document([live], SCHEMAS).document["endpoints"]

    assert entry["chunking_settings"] == {
        "strategy": "recursive",
        "max_chunk_size": 200,
        "separator_group": "markdown",
    }


def test_preconfigured_endpoints_are_left_out_and_unknown_services_are_listed() -> None:
    elser = {"inference_id": ".elser-2-elasticsearch", "task_type": "sparse_embedding"}
    watsonx = {"inference_id": "wx", "task_type": "completion", "service": "watsonxai"}
    rerank = {
        "inference_id": "rr",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "https://r", "rate_limit": {"requests_per_minute": 3000}},
        "task_settings": {"top_n": 3.0, "return_documents": True},
    }

    exported = stack_document([rerank, watsonx, elser], SCHEMAS, ["https://es:9200"])

    assert exported.document == {
        "elasticsearch": {"endpoints": ["https://es:9200"]},
        "endpoints": [
            {
                "inference_id": "rr",
                "task_type": "rerank",
                "service": "hugging_face",
                "service_settings": {"url": "https://r", "api_key": {"secret": "rr.api_key"}},
                "task_settings": {"top_n": 3, "return_documents": True},
                "adopt": True,
            }
        ],
    }
    assert exported.skipped == ["wx (watsonxai completion: no schema here)"]


def test_the_rendered_file_says_what_to_do_next_and_is_a_valid_stack(tmp_path: Path) -> None:
    rr = {
        "inference_id": "rr",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "https://r"},
    }
    watsonx = {"inference_id": "wx", "task_type": "completion", "service": "watsonxai"}
    exported = stack_document([live_embedding(), rr, watsonx], SCHEMAS)

    text = render(exported, "https://es:9200 (Elasticsearch 9.1.0)")

    assert text.splitlines()[:9] == [
        "# Written by `es-inference export` from https://es:9200 (Elasticsearch 9.1.0).",
        "# Elasticsearch never returns secrets: set each one, then `pulumi up` adopts the",
        "# endpoints (each says adopt: true; their settings already match) and writes the",
        "# keys into them:",
        "#   pulumi config set --secret emb.api_key <value>",
        "#   pulumi config set --secret rr.api_key <value>",
        "# Not exported (no schema for their service and task type):",
        "#   wx (watsonxai completion: no schema here)",
        "endpoints:",
    ]
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    assert stack_problems(path) == []
    declared = load_stack(path).endpoints
    assert [e.inference_id for e in declared] == ["emb", "rr"]
    assert declared[0].service_settings["api_key"] == SecretReference("secret", "emb.api_key")
