"""The program's runner asks the engine for the provider host before the SDK's import, then runs.

``scripts/pulumi-python`` runs Pulumi's ``pulumi-language-python-exec`` through
``python -m providers.provider_start``. Here it runs for real, against a gRPC server that stands
for the engine's resource monitor and records what it is sent, with a script under the runner's
name that reports how it was run. ``tests/e2e/test_engine.py`` checks the same under the real
engine, in its trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import resource_pb2

from harness.pulumi_cli import REPO
from providers.provider_start import EARLY_PROVIDER, EXEC_SCRIPT, INVOKE_TOKEN, invoke_request

SHIM = REPO / "scripts" / "pulumi-python"
INVOKE = "/pulumirpc.ResourceMonitor/Invoke"

# Reports how it was run, after the invoke (if any) has been answered.
REPORTER = textwrap.dedent(
    """
    import json, os, sys, threading
    for thread in threading.enumerate():
        if thread.name == "provider-start":
            thread.join(timeout=30)
    print(json.dumps({
        "name": __name__,
        "file": __file__,
        "argv": sys.argv,
        "path0": sys.path[0],
        "is_main": sys.modules["__main__"].__dict__ is globals(),
        "asked": os.environ.get("ES_INFERENCE_PROVIDER_HOST_ASKED"),
        "sdk_imported_first": "pulumi" in sys.modules,
    }))
    """
)


class Monitor:
    """A gRPC server answering the resource monitor's Invoke, as the engine's does, recording requests."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.method_handlers_generic_handler(
            "pulumirpc.ResourceMonitor",
            {"Invoke": grpc.unary_unary_rpc_method_handler(self._invoke)},
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"

    def _invoke(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.requests.append(request)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown function")
        return b""  # not reached


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    server = Monitor()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop(0)


def _run_exec_script(tmp_path: Path, *arguments: str, **env: str) -> dict[str, Any]:
    script = tmp_path / "bin" / EXEC_SCRIPT
    script.parent.mkdir()
    script.write_text(REPORTER)
    environment = {
        **{k: v for k, v in os.environ.items() if k != EARLY_PROVIDER},
        "ES_INFERENCE_PYTHON": sys.executable,
        **env,
    }
    done = subprocess.run(
        [str(SHIM), str(script), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["file"] == str(script)
    assert report["path0"] == str(script.parent)
    return report


def test_the_request_is_the_sdks_invoke_request_in_wire_format() -> None:
    sdk = resource_pb2.ResourceInvokeRequest(tok=INVOKE_TOKEN, acceptResources=True)

    assert invoke_request() == sdk.SerializeToString()
    assert resource_pb2.ResourceInvokeRequest.FromString(invoke_request()) == sdk


def test_the_invoke_leaves_before_the_sdks_import_and_the_script_runs_as_python_runs_it(
    tmp_path: Path, monitor: Monitor
) -> None:
    arguments = ["--monitor", monitor.address, "--engine", "127.0.0.1:1", "--dry_run", "true", "."]

    report = _run_exec_script(tmp_path, *arguments)

    assert monitor.requests == [invoke_request()]  # the "unknown function" answer is dropped
    assert report["name"] == "__main__" and report["is_main"]
    assert report["argv"] == [str(tmp_path / "bin" / EXEC_SCRIPT), *arguments]
    assert report["asked"] == monitor.address  # the program's own early start then does nothing
    assert not report["sdk_imported_first"]


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        (["--monitor", "{address}", "."], {EARLY_PROVIDER: "false"}),
        (["--engine", "127.0.0.1:1", "."], {}),
    ],
    ids=["ES_INFERENCE_EARLY_PROVIDER=false", "no monitor address"],
)
def test_without_the_switch_or_a_monitor_nothing_is_sent_and_the_script_runs(
    tmp_path: Path, monitor: Monitor, arguments: list[str], env: dict[str, str]
) -> None:
    arguments = [a.format(address=monitor.address) for a in arguments]

    report = _run_exec_script(tmp_path, *arguments, **env)

    assert monitor.requests == []
    assert report["argv"][1:] == arguments and report["is_main"]
    assert report["asked"] is None
