"""The smoke test after a rollout: call each endpoint for real and check the shape of the answer. Pure.

Elasticsearch can accept a change and silently ignore part of it (elastic/elasticsearch#137129,
#139574), so an endpoint that exists is not yet one that serves. Each endpoint is called once with a
tiny input through the perform-inference API (``POST _inference/<task_type>/<id>``; chat_completion
only streams, ``POST …/_stream``), and the answer is checked against the shapes Elasticsearch
documents (elasticsearch-specification ``specification/inference/_types/Results.ts``, from
``TextEmbeddingFloatResults``, ``SparseEmbeddingResults``, ``RankedDocsResults`` and
``ChatCompletionResults`` in ``x-pack/plugin/core/.../inference/results/``; the stream is the
unified chat completion API's OpenAI-style ``chat.completion.chunk`` events):

- text_embedding: ``{"text_embedding": [{"embedding": [floats]}]}``, one per input, whose size
  equals the endpoint's ``dimensions`` and the ``model_settings.dimensions`` of every
  ``semantic_text`` field that uses the endpoint (``text_embedding_bytes``/``_bits`` count bytes);
- sparse_embedding: ``{"sparse_embedding": [{"is_truncated": bool, "embedding": {token: weight}}]}``;
- rerank: ``{"rerank": [{"index", "relevance_score", "text"?}]}``, ranked by score, at most
  ``top_n``, with ``text`` when ``return_documents`` is true;
- completion: ``{"completion": [{"result": text}]}``;
- chat_completion: a stream of chunks whose ``choices[].delta.content`` add up to some text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "EXIT_CODES",
    "SMOKE_INPUT",
    "Call",
    "Outcome",
    "Status",
    "answer_problems",
    "call_for",
    "changed_endpoints",
    "expected_dimensions",
    "outcome_status",
    "render_json",
    "render_text",
]

Status = Literal["passed", "invalid", "failed", "error"]
# The exit code of `es-inference smoke` for each outcome (2 is argparse's usage error).
EXIT_CODES: dict[Status, int] = {"passed": 0, "invalid": 1, "failed": 3, "error": 5}
SMOKE_INPUT = "es-inference smoke test: is this endpoint serving?"
RERANK_QUERY = "which text is about a smoke test?"
RERANK_DOCUMENTS = ("a smoke test calls the endpoint once", "the weather is fine today")
_EMBEDDING_KEYS = (("text_embedding", 1), ("text_embedding_bytes", 1), ("text_embedding_bits", 8))
_CHANGING_OPS = {"create", "update", "replace", "create-replacement"}


@dataclass(frozen=True)
class Call:
    """One perform-inference request."""

    stream: bool
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What the smoke test found for one endpoint."""

    inference_id: str
    task_type: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the endpoint answered with the expected shape."""
        return not self.problems


def call_for(task_type: str) -> Call:
    """The request that exercises an endpoint of ``task_type`` with the smallest useful input."""
    if task_type == "rerank":
        return Call(False, {"query": RERANK_QUERY, "input": list(RERANK_DOCUMENTS)})
    if task_type == "completion":
        return Call(False, {"input": SMOKE_INPUT})
    if task_type == "chat_completion":
        return Call(True, {"messages": [{"role": "user", "content": SMOKE_INPUT}]})
    return Call(False, {"input": [SMOKE_INPUT]})


def _semantic_fields(
    properties: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        path = f"{prefix}{name}"
        if spec.get("type") == "semantic_text":
            yield path, spec
        for nested in ("properties", "fields"):
            if isinstance(spec.get(nested), Mapping):
                yield from _semantic_fields(spec[nested], f"{path}.")


def expected_dimensions(
    inference_id: str, live: Mapping[str, Any], mapping: Mapping[str, Any]
) -> list[tuple[str, int]]:
    """Every embedding size the answer must have, with where it comes from.

    From the endpoint's ``service_settings.dimensions`` and from the ``model_settings`` of each
    ``semantic_text`` field whose ``inference_id`` is this endpoint (``GET _mapping``). A field
    that has no ``model_settings`` yet (no document indexed) fixes no size.
    """
    expected: list[tuple[str, int]] = []
    dimensions = (live.get("service_settings") or {}).get("dimensions")
    if isinstance(dimensions, int):
        expected.append(("the endpoint's service_settings.dimensions", dimensions))
    for index, body in sorted(mapping.items()):
        properties = ((body or {}).get("mappings") or {}).get("properties") or {}
        for path, spec in _semantic_fields(properties):
            settings = spec.get("model_settings") or {}
            size = settings.get("dimensions")
            if spec.get("inference_id") == inference_id and isinstance(size, int):
                expected.append((f"model_settings of semantic_text field {index}.{path}", size))
    return expected


def _embedding_problems(answer: Mapping[str, Any], expected: list[tuple[str, int]]) -> list[str]:
    # A bit vector packs 8 dimensions per byte; floats and bytes hold one each.
    found = [(k, n) for k, n in _EMBEDDING_KEYS if k in answer]
    if not found:
        return [f"no text_embedding in the answer (keys: {sorted(answer)})"]
    key, per_value = found[0]
    results = answer[key]
    if not isinstance(results, list) or len(results) != 1:
        return [f"{key} should hold one embedding for the one input, got {_brief(results)}"]
    vector = results[0].get("embedding") if isinstance(results[0], Mapping) else None
    if not isinstance(vector, list) or not vector:
        return [f"{key}[0].embedding is not a non-empty list: {_brief(vector)}"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vector):
        return [f"{key}[0].embedding holds values that are not numbers"]
    size = len(vector) * per_value
    return [
        f"the embedding has {size} dimensions but {where} says {wanted}"
        for where, wanted in expected
        if wanted != size
    ]


def _rerank_problems(answer: Mapping[str, Any], task_settings: Mapping[str, Any]) -> list[str]:
    ranked = answer.get("rerank")
    if not isinstance(ranked, list) or not ranked:
        return [f"rerank returned no ranked documents: {_brief(answer)}"]
    problems: list[str] = []
    scores = []
    for position, document in enumerate(ranked):
        if not isinstance(document, Mapping):
            return [f"rerank[{position}] is not an object"]
        index, score = document.get("index"), document.get("relevance_score")
        if not isinstance(index, int) or not 0 <= index < len(RERANK_DOCUMENTS):
            problems.append(f"rerank[{position}].index {index!r} is not one of the inputs")
        if not isinstance(score, int | float):
            problems.append(f"rerank[{position}].relevance_score {score!r} is not a number")
        else:
            scores.append(score)
        if task_settings.get("return_documents") is True and not isinstance(
            document.get("text"), str
        ):
            problems.append(f"rerank[{position}] has no text although return_documents is true")
    if scores != sorted(scores, reverse=True):
        problems.append(f"rerank is not ranked by relevance_score: {scores}")
    top_n = task_settings.get("top_n")
    if isinstance(top_n, int) and len(ranked) > top_n:
        problems.append(f"rerank returned {len(ranked)} documents although top_n is {top_n}")
    return problems


def _chat_problems(answer: Mapping[str, Any]) -> list[str]:
    events = answer.get("events")
    if not isinstance(events, list) or not events:
        return [f"the chat_completion stream sent no event: {_brief(answer)}"]
    text = ""
    for event in events:
        if not isinstance(event, Mapping):
            return [f"the chat_completion stream sent a chunk that is not JSON: {_brief(event)}"]
        if "error" in event:
            return [f"the chat_completion stream failed: {_brief(event['error'])}"]
        for choice in event.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            if isinstance(delta, Mapping) and isinstance(delta.get("content"), str):
                text += delta["content"]
    return [] if text.strip() else ["the chat_completion stream carried no text"]


def answer_problems(
    task_type: str,
    answer: Mapping[str, Any],
    *,
    expected: list[tuple[str, int]] | None = None,
    task_settings: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with an endpoint's answer to ``call_for(task_type)``; empty when nothing."""
    if task_type == "text_embedding":
        return _embedding_problems(answer, expected or [])
    if task_type == "sparse_embedding":
        results = answer.get("sparse_embedding")
        first = results[0] if isinstance(results, list) and len(results) == 1 else None
        weights = first.get("embedding") if isinstance(first, Mapping) else None
        if not isinstance(weights, Mapping) or not weights:
            return [f"sparse_embedding holds no token weights: {_brief(answer)}"]
        return []
    if task_type == "rerank":
        return _rerank_problems(answer, task_settings or {})
    if task_type == "completion":
        results = answer.get("completion")
        first = results[0] if isinstance(results, list) and results else None
        text = first.get("result") if isinstance(first, Mapping) else None
        return (
            []
            if isinstance(text, str) and text.strip()
            else [f"completion returned no text: {_brief(answer)}"]
        )
    if task_type == "chat_completion":
        return _chat_problems(answer)
    return [f"no smoke test for task type {task_type!r}"]


def changed_endpoints(text: str) -> set[str]:
    """The endpoints a ``pulumi up --json`` run (or a ``pulumi preview --json``) creates or changes."""
    documents: Iterable[Any]
    try:
        documents = [json.loads(text)]
    except ValueError:
        documents = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    changed: set[str] = set()
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        steps = list(document.get("steps") or [])
        for key in ("resOutputsEvent", "resourcePreEvent"):
            metadata = (document.get(key) or {}).get("metadata")
            if isinstance(metadata, Mapping) and key == "resOutputsEvent":
                steps.append(metadata)
        for step in steps:
            urn, op = str(step.get("urn", "")), str(step.get("op", ""))
            if op in _CHANGING_OPS and "elasticsearch:InferenceEndpoint::" in urn:
                changed.add(urn.rsplit("::", 1)[-1])
    return changed


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else f"{text[:117]}..."


def outcome_status(outcomes: Iterable[Outcome]) -> Status:
    """``failed`` when any endpoint failed, else ``passed`` (nothing to test passes)."""
    return "failed" if any(not o.passed for o in outcomes) else "passed"


def render_json(outcomes: list[Outcome]) -> dict[str, Any]:
    """The ``smoke --format json`` document: the outcome and each endpoint's."""
    status = outcome_status(outcomes)
    return {
        "status": status,
        "exit_code": EXIT_CODES[status],
        "endpoints": [
            {
                "inference_id": o.inference_id,
                "task_type": o.task_type,
                "passed": o.passed,
                "problems": o.problems,
                "checked": o.checked,
            }
            for o in outcomes
        ],
    }


def render_text(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per endpoint for a person: ``ok`` with what was checked, or why it failed."""
    lines = []
    for o in outcomes:
        if o.passed:
            extra = f": {', '.join(o.checked)}" if o.checked else ""
            lines.append(f"ok     {o.inference_id} ({o.task_type}){extra}")
        else:
            lines.append(f"FAILED {o.inference_id} ({o.task_type}): {'; '.join(o.problems)}")
    return lines
