"""Drive Pulumi's real dynamic-provider host (``python -m pulumi.dynamic``) over gRPC.

This is the process the engine starts for Python dynamic providers; calling it exercises Pulumi's
own serialization, config plumbing and error path with our provider inside, without the CLI.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from harness.signals import default_sigint
from providers.inference_endpoint import InferenceEndpointProvider
from providers.pickler import restore_pickler

__all__ = ["HostError", "ProviderHost", "serialized"]

PROJECT = "es-inference"


class HostError(Exception):
    """The provider raised: ``details`` is what the engine would show the user."""

    def __init__(self, error: grpc.RpcError) -> None:
        self.details = str(error.details())
        super().__init__(self.details)


def serialized(provider: InferenceEndpointProvider) -> str:
    """The ``__provider`` property the resource would carry."""
    restore_pickler()  # as InferenceEndpoint does before each serialization
    value, _ = _serialize(True, serialize_provider, provider)
    return str(value)


def _struct(props: Mapping[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _plain(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns))


class ProviderHost:
    """One ``python -m pulumi.dynamic`` process, as the engine runs it (cwd = the project)."""

    def __init__(
        self, cwd: str, env: Mapping[str, str] | None = None, python: Sequence[str] = ()
    ) -> None:
        """``python``: the command that runs Python (default this interpreter), as the plugin's
        ``$PULUMI_PYTHON_CMD`` (e.g. ``scripts/pulumi-python``)."""
        environment = {**os.environ, "PULUMI_PROJECT": PROJECT, **(env or {})}
        self.process = subprocess.Popen(
            [*(python or [sys.executable]), "-u", "-m", "pulumi.dynamic"],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,  # close(as_the_engine=True) stops it with SIGINT
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        port = self.process.stdout.readline().strip()
        self._stderr: list[str] = []
        self._stderr_reader = threading.Thread(
            target=lambda: self._stderr.extend(self.process.stderr),  # type: ignore[arg-type]
            daemon=True,
        )
        self._stderr_reader.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def stderr_so_far(self) -> str:
        """What the process has written to stderr until now (it is read line by line meanwhile)."""
        return "".join(list(self._stderr))

    def close(self, *, as_the_engine: bool = False) -> str:
        """Stop the process; return everything it wrote to stderr (the CLI's diagnostics).

        ``as_the_engine``: with SIGINT, as the engine stops its plugins at the end of a command,
        instead of SIGTERM; the exit code is then ``self.process.returncode``.
        """
        self.channel.close()
        if as_the_engine:
            self.process.send_signal(signal.SIGINT)
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self._stderr_reader.join(timeout=10)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()
        return "".join(self._stderr)

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=300)
        except grpc.RpcError as error:
            raise HostError(error) from None

    def configure(self, config: Mapping[str, str] | None = None) -> None:
        """Send the stack's config, as the engine does for dynamic providers (all keys)."""
        self._call("Configure", provider_pb2.ConfigureRequest(args=_struct(config or {})))

    def check(
        self, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Check: the inputs as returned and the failures as (property, reason)."""
        request = provider_pb2.CheckRequest(olds=_struct(olds), news=_struct(news))
        response = self._call("Check", request)
        failures = [(f.property, f.reason) for f in response.failures]
        return _plain(response.inputs, keep_unknowns=True), failures

    def check_in_the_provider(self) -> None:
        """Configure, then a Check only our provider can answer (no service given), so that the
        host unpickles the provider and runs its code; fail unless the provider's failures came."""
        provider = serialized(InferenceEndpointProvider({"endpoints": ["http://127.0.0.1:9"]}))
        self.configure({})
        _, failures = self.check(
            {}, {"__provider": provider, "inference_id": "a", "task_type": "rerank"}
        )
        assert failures, "no service given: the provider's own check answers with failures"

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        """Diff: the raw DiffResponse (changes, replaces, deleteBeforeReplace)."""
        request = provider_pb2.DiffRequest(id=id_, olds=_struct(olds), news=_struct(news))
        return self._call("Diff", request)

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create: the id and the outputs."""
        response = self._call("Create", provider_pb2.CreateRequest(properties=_struct(props)))
        return str(response.id), _plain(response.properties)

    def read(self, id_: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Read (refresh): the id (empty when gone) and the outputs."""
        request = provider_pb2.ReadRequest(id=id_, properties=_struct(props))
        response = self._call("Read", request)
        return str(response.id), _plain(response.properties)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Update: the new outputs."""
        request = provider_pb2.UpdateRequest(id=id_, olds=_struct(olds), news=_struct(news))
        return _plain(self._call("Update", request).properties)

    def delete(self, id_: str, props: Mapping[str, Any]) -> None:
        """Delete with the recorded outputs."""
        self._call("Delete", provider_pb2.DeleteRequest(id=id_, properties=_struct(props)))
