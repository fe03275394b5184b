"""Per-operation cost: our client and our provider against raw httpx doing the same requests.

Four variants run each of create, read, update and delete on a rerank endpoint of their own:

- ``client``: ``ElasticsearchClient`` methods (one request per operation);
- ``provider``: ``InferenceEndpointProvider`` lifecycle methods called in process (connection
  resolution, session, schema, plan and reconcile included);
- ``raw``: one ``httpx.Client`` sending the client's requests with the same bodies and headers;
- ``raw_seq``: one ``httpx.Client`` sending the provider's request sequence (its read lists
  ``GET /_inference/_all``; its delete is a ``dry_run`` DELETE, then the DELETE).

The variants are interleaved at the finest grain (each operation runs once per variant, in an
order rotated every repetition), so drift of the machine or the emulator hits all of them alike.
Every variant keeps one pooled keep-alive connection to the same emulator process.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from emulators.lab import HF_KEY, Lab
from harness.provider_host import serialized
from providers.client import USER_AGENT, ElasticsearchClient
from providers.connection import resolve_connection
from providers.inference_endpoint import InferenceEndpointProvider

__all__ = ["OPS", "VARIANTS", "run_per_op", "summarize"]

OPS = ("create", "read", "update", "delete")
VARIANTS = ("client", "provider", "raw", "raw_seq")
TASK = "rerank"


def _inputs(lab: Lab, inference_id: str, top_n: int) -> dict[str, Any]:
    return {
        "inference_id": inference_id,
        "task_type": TASK,
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": HF_KEY},
        "task_settings": {"return_documents": True, "top_n": top_n},
        "force": False,
    }


def _put_body(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "service": inputs["service"],
        "service_settings": inputs["service_settings"],
        "task_settings": inputs["task_settings"],
    }


def _update_body(top_n: int) -> dict[str, Any]:
    return {"task_settings": {"return_documents": True, "top_n": top_n}}


def _ok(response: httpx.Response) -> dict[str, Any]:
    if not response.is_success:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return dict(response.json()) if response.content else {}


class _Variant:
    """One way of driving the four operations on one endpoint id."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.id = f"bench-op-{name.replace('_', '-')}"
        self.path = f"/_inference/{TASK}/{self.id}"
        self.created = _inputs(lab, self.id, 3)
        self.updated = _inputs(lab, self.id, 4)

    def ops(self) -> dict[str, Callable[[], object]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class _Client(_Variant):
    def __init__(self, lab: Lab, name: str) -> None:
        super().__init__(lab, name)
        settings = resolve_connection(
            {"endpoints": [lab.es_url]}, config={}, env=os.environ, project="es-inference"
        )
        self.es = ElasticsearchClient(settings)

    def ops(self) -> dict[str, Callable[[], object]]:
        es = self.es
        return {
            "create": lambda: es.put_inference_endpoint(TASK, self.id, _put_body(self.created)),
            "read": lambda: es.get_inference_endpoint(TASK, self.id),
            "update": lambda: es.update_inference_endpoint(TASK, self.id, _update_body(4)),
            "delete": lambda: es.delete_inference_endpoint(TASK, self.id),
        }

    def close(self) -> None:
        self.es.close()


class _Provider(_Variant):
    def __init__(self, lab: Lab, name: str, stack_file: Path) -> None:
        super().__init__(lab, name)
        self.provider = InferenceEndpointProvider(
            {"endpoints": [lab.es_url]}, stack_file=str(stack_file)
        )
        marker = serialized(self.provider)
        # As the host passes them: the checked inputs carry the serialized provider.
        self.created["__provider"] = marker
        self.updated["__provider"] = marker
        self.outs: dict[str, Any] = {}

    def _create(self) -> None:
        self.outs = dict(self.provider.create(dict(self.created)).outs or {})

    def _read(self) -> None:
        result = self.provider.read(self.id, dict(self.outs))
        assert result.id == self.id, "the provider lost the endpoint it just created"

    def _update(self) -> None:
        self.outs = dict(self.provider.update(self.id, dict(self.outs), dict(self.updated)).outs)

    def ops(self) -> dict[str, Callable[[], object]]:
        return {
            "create": self._create,
            "read": self._read,
            "update": self._update,
            "delete": lambda: self.provider.delete(self.id, dict(self.outs)),
        }


class _Raw(_Variant):
    def __init__(self, lab: Lab, name: str, sequence: bool) -> None:
        super().__init__(lab, name)
        self.sequence = sequence
        self.http = httpx.Client(
            base_url=lab.es_url,
            timeout=60.0,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def _read(self) -> object:
        if not self.sequence:
            return _ok(self.http.get(self.path))["endpoints"][0]
        listed = _ok(self.http.get("/_inference/_all"))["endpoints"]
        return next(e for e in listed if e["inference_id"] == self.id)

    def _delete(self) -> object:
        if self.sequence:
            _ok(self.http.delete(self.path, params={"dry_run": "true"}))
        return _ok(self.http.delete(self.path))

    def ops(self) -> dict[str, Callable[[], object]]:
        http = self.http
        return {
            "create": lambda: _ok(http.put(self.path, json=_put_body(self.created))),
            "read": self._read,
            "update": lambda: _ok(http.put(f"{self.path}/_update", json=_update_body(4))),
            "delete": self._delete,
        }

    def close(self) -> None:
        self.http.close()


def _variants(lab: Lab, stack_file: Path) -> dict[str, _Variant]:
    made = {
        "client": _Client(lab, "client"),
        "provider": _Provider(lab, "provider", stack_file),
        "raw": _Raw(lab, "raw", sequence=False),
        "raw_seq": _Raw(lab, "raw_seq", sequence=True),
    }
    # The provider reads force: from its stack file on delete, as it does under the engine.
    document = {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                **{k: v for k, v in made["provider"].created.items() if k != "__provider"},
                "service_settings": {
                    "url": f"{lab.hf_url}/rerank",
                    "api_key": {"secret": "hfApiKey"},
                },
            }
        ],
    }
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return made


def _requests_per_op(lab: Lab, variants: dict[str, _Variant]) -> dict[str, dict[str, list[str]]]:
    """The requests each variant sends for each operation (one extra, untimed cycle)."""
    seen: dict[str, dict[str, list[str]]] = {}
    for name, variant in variants.items():
        seen[name] = {}
        for op, run in variant.ops().items():
            lab.clear_log()
            run()
            seen[name][op] = [c.replace(variant.id, "{id}") for c in lab.calls()]
    return seen


def run_per_op(lab: Lab, work: Path, repetitions: int, warmup: int = 5) -> dict[str, Any]:
    """Time every operation of every variant ``repetitions`` times; samples in nanoseconds."""
    variants = _variants(lab, work / "per-op-stack.yaml")
    try:
        table = {name: variant.ops() for name, variant in variants.items()}
        samples: dict[str, dict[str, list[int]]] = {v: {op: [] for op in OPS} for v in VARIANTS}
        names = list(VARIANTS)
        gc.collect()
        started = time.monotonic()
        for rep in range(warmup + repetitions):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for op in OPS:
                for name in order:
                    run = table[name][op]
                    t0 = time.perf_counter_ns()
                    run()
                    elapsed = time.perf_counter_ns() - t0
                    if rep >= warmup:
                        samples[name][op].append(elapsed)
        duration = time.monotonic() - started
        requests = _requests_per_op(lab, variants)
    finally:
        for variant in variants.values():
            variant.close()
    return {
        "repetitions": repetitions,
        "warmup": warmup,
        "seconds": duration,
        "samples_ns": samples,
        "requests": requests,
    }


def _p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """Median and p90 in ms per variant and operation, and ratios to the raw baselines."""
    stats: dict[str, dict[str, dict[str, float]]] = {}
    for variant, by_op in raw["samples_ns"].items():
        stats[variant] = {}
        for op, values in by_op.items():
            ms = [v / 1e6 for v in values]
            stats[variant][op] = {"median": statistics.median(ms), "p90": _p90(ms)}
    ratios: dict[str, dict[str, float]] = {}
    for op in OPS:
        med = {v: stats[v][op]["median"] for v in VARIANTS}
        ratios[op] = {
            "client/raw": med["client"] / med["raw"],
            "provider/raw_seq": med["provider"] / med["raw_seq"],
            "provider/raw": med["provider"] / med["raw"],
            "provider-raw_seq ms": med["provider"] - med["raw_seq"],
            "client-raw ms": med["client"] - med["raw"],
        }
    return {"stats": stats, "ratios": ratios, "requests": raw["requests"]}
