"""Helpers of the integration tier: a lab that also records request bodies, hosts, declarations."""

from __future__ import annotations

import io
import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emulators import ElasticsearchEmulator, HuggingFaceServer, serve
from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab
from harness.provider_host import ProviderHost, serialized
from providers.inference_endpoint import InferenceEndpointProvider

__all__ = [
    "FAST_RETRIES",
    "REVOKED_KEY",
    "SECRETS",
    "STACK_FILE",
    "TALLIES",
    "FaultTally",
    "Hosts",
    "RecordingLab",
    "embedding",
    "embedding_outputs",
    "public",
    "recording_lab",
    "rerank",
    "rerank_outputs",
    "write_stack",
]

STACK_FILE = "stacks/dev.yaml"
# A key the Hugging Face server refuses (it accepts only HF_KEY and HF_KEY_ROTATED).
REVOKED_KEY = "hf_lab_REVOKED_5q4w3e"
SECRETS = (HF_KEY, HF_KEY_ROTATED, REVOKED_KEY)
# Retries that heal one-off faults within a second, and a timeout no loaded machine reaches.
FAST_RETRIES = {
    "ES_INFERENCE_RETRY_DEADLINE": "5",
    "ES_INFERENCE_RETRY_INITIAL_BACKOFF": "0.02",
    "ES_INFERENCE_RETRY_MAX_BACKOFF": "0.05",
    "ES_INFERENCE_RETRY_MAX_RETRY_AFTER": "0.05",
    "ES_INFERENCE_TIMEOUT": "10",
}


@dataclass
class FaultTally:
    """What one test module did to the provider, and how it came through."""

    injected: int = 0
    converged: int = 0
    unclear: int = 0
    leaked: int = 0

    def summary(self) -> str:
        """The one-line figures."""
        return (
            f"faults injected {self.injected}, runs converged {self.converged}, "
            f"unclear errors {self.unclear}, secrets leaked {self.leaked}"
        )


# Module name -> tally; printed by the tier's pytest_terminal_summary.
TALLIES: dict[str, FaultTally] = {}


class _BodyRecorder:
    """WSGI middleware: remembers the JSON body of every non-admin request, in arrival order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.entries: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith("/_emulator"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            with self._lock:
                self.entries.append((str(environ["REQUEST_METHOD"]), path, body))
        return self.app(environ, start_response)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


_TLS = ssl.create_default_context()


class RecordingLab(Lab):
    """The loopback lab, plus what the provider sent in each request body."""

    def __init__(self, es_url: str, hf_url: str, recorder: _BodyRecorder) -> None:
        # No CA bundle loaded per client: the lab speaks plain HTTP.
        super().__init__(es_url, hf_url, verify=_TLS)
        self._recorder = recorder

    def bodies(self, method: str, path: str) -> list[Any]:
        """The bodies of the requests with this method and path, in order."""
        return [b for m, p, b in self._recorder.entries if (m, p) == (method, path)]

    def clear_log(self) -> None:
        """Forget the request logs of both servers and the recorded bodies."""
        super().clear_log()
        self._recorder.clear()


@contextmanager
def recording_lab(
    es_version: str = "9.1.0", *, hf_url: str | None = None
) -> Iterator[RecordingLab]:
    """Like ``lab_servers``: a fresh emulator and Hugging Face server, with bodies recorded.

    With ``hf_url``, the lab uses that (shared) Hugging Face server instead of starting one.
    """
    recorder = _BodyRecorder(ElasticsearchEmulator(version=es_version, retry_backoff=0.01))
    with ExitStack() as stack:
        if hf_url is None:
            hf_app = HuggingFaceServer(api_keys=[HF_KEY, HF_KEY_ROTATED])
            hf_url = stack.enter_context(serve(hf_app)).url
        es_server = stack.enter_context(serve(recorder))
        lab = RecordingLab(es_server.url, hf_url, recorder)
        stack.callback(lab.close)
        yield lab


class Hosts:
    """Starts dynamic-provider hosts in one project directory; ``close_all`` returns their stderr."""

    def __init__(self, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        self.env = {**FAST_RETRIES, **(env or {})}
        self._started: list[ProviderHost] = []

    def start(self, **env: str) -> ProviderHost:
        """A new host process (as the engine starts one per operation), configured."""
        host = ProviderHost(str(self.cwd), env={**self.env, **env})
        self._started.append(host)
        host.configure()
        return host

    def close_all(self) -> str:
        """Stop every host; everything they wrote to stderr."""
        return "".join(host.close() for host in self._started)


def public(outs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs without the serialized provider."""
    return {k: v for k, v in outs.items() if k != "__provider"}


def _provider(lab: Lab, stack_file: str) -> str:
    return serialized(InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=stack_file))


def embedding(
    lab: Lab,
    inference_id: str = "emb",
    *,
    api_key: str = HF_KEY,
    stack_file: str = STACK_FILE,
    **fields: Any,
) -> dict[str, Any]:
    """The inputs of a hugging_face text_embedding endpoint, as the program declares them."""
    settings = {"url": f"{lab.hf_url}/embed", "api_key": api_key, **fields.pop("settings", {})}
    return {
        "__provider": _provider(lab, stack_file),
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": settings,
        **fields,
    }


def rerank(
    lab: Lab,
    inference_id: str = "rr",
    *,
    api_key: str = HF_KEY,
    stack_file: str = STACK_FILE,
    **fields: Any,
) -> dict[str, Any]:
    """The inputs of a hugging_face rerank endpoint."""
    settings = {"url": f"{lab.hf_url}/rerank", "api_key": api_key, **fields.pop("settings", {})}
    return {
        "__provider": _provider(lab, stack_file),
        "inference_id": inference_id,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": settings,
        **fields,
    }


def embedding_outputs(
    lab: Lab,
    inference_id: str = "emb",
    *,
    es_version: str = "9.1.0",
    chunking_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a new text_embedding endpoint records: Elasticsearch's view plus the api_key."""
    chunking = {"strategy": "sentence", "max_chunk_size": 250, **(chunking_settings or {})}
    if chunking["strategy"] == "sentence":
        chunking.setdefault("sentence_overlap", 1)
    return {
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": f"{lab.hf_url}/embed",
            "api_key": HF_KEY,
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "chunking_settings": chunking,
        "force": False,
        "secret_rotation": "replace",
        "elasticsearch_version": es_version,
    }


def rerank_outputs(lab: Lab, inference_id: str = "rr", *, top_n: int = 3) -> dict[str, Any]:
    """What a new rerank endpoint with ``{top_n, return_documents: true}`` records."""
    return {
        "inference_id": inference_id,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {
            "url": f"{lab.hf_url}/rerank",
            "api_key": HF_KEY,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "task_settings": {"top_n": top_n, "return_documents": True},
        "force": False,
        "secret_rotation": "replace",
        "elasticsearch_version": "9.1.0",
    }


def write_stack(project: Path, lab: Lab, *endpoints: Mapping[str, Any]) -> None:
    """Write ``stacks/dev.yaml`` declaring these endpoints (secrets as references, as users must)."""
    declared = []
    for inputs in endpoints:
        entry = {k: v for k, v in public(inputs).items() if v is not None}
        entry["service_settings"] = {**entry["service_settings"], "api_key": {"secret": "hfKey"}}
        declared.append(entry)
    document = {"elasticsearch": {"endpoints": [lab.es_url]}, "endpoints": declared}
    (project / "stacks").mkdir(exist_ok=True)
    (project / STACK_FILE).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
