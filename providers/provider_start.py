"""Start the dynamic-provider host while the program is still starting and reading its stack file.

The engine starts a provider's process when a program first needs it. Our program registers its
first resource only after it has validated the whole stack file, so that a bad file creates
nothing. The host's start (Python, the SDK's import and the handshake, about 0.2 s) used to come
only after that. Instead the program first invokes, on a thread of its own, a function of Pulumi's
Python dynamic provider, which has no functions. The engine loads the default provider that every
dynamic resource uses and starts its host, which answers that it has no such function. The thread
drops that answer, and nothing is shown. The resources registered later use the same host.

The invoke leaves at one of two moments:

- **Before the SDK's import** (``python -m providers.provider_start <exec script> <arguments>``,
  which ``scripts/pulumi-python`` runs in place of Pulumi's ``pulumi-language-python-exec``). The
  exec script imports the SDK before it runs the program, about 0.25 s; the host's start now runs
  beside that import instead of after it. Only gRPC is imported for the invoke (the exec script
  imports it next anyway), and the request is written in protobuf's wire format by
  ``invoke_request`` (``tests/unit/test_provider_start.py`` checks it against the SDK's message).
  Then the exec script runs as ``python <exec script>`` would run it.
- **As the program's first act** (``start_provider_host``, from ``__main__.py``), where the
  language host runs Python directly (Pulumi's own CLI, a user's ``PULUMI_PYTHON_CMD``). It does
  nothing when the invoke already left before the SDK's import.

Figures are in bench/levers.md. ``ES_INFERENCE_EARLY_PROVIDER=false`` turns both off.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable
from importlib.machinery import ModuleSpec

from providers.deferred_imports import defer_unused_modules
from providers.switches import switch

__all__ = [
    "EARLY_PROVIDER",
    "EXEC_SCRIPT",
    "INVOKE_TOKEN",
    "invoke_request",
    "run_as_main",
    "run_exec_script",
    "start_provider_host",
]

EARLY_PROVIDER = "ES_INFERENCE_EARLY_PROVIDER"
# Pulumi's script that runs a Python program for the language host.
EXEC_SCRIPT = "pulumi-language-python-exec"
# The package of pulumi.dynamic.Resource ("pulumi-python:dynamic:Resource"); no such function.
INVOKE_TOKEN = "pulumi-python:dynamic:startProviderHost"
_INVOKE_METHOD = "/pulumirpc.ResourceMonitor/Invoke"
# Set in this process once the invoke has left before the SDK's import.
_ASKED = "ES_INFERENCE_PROVIDER_HOST_ASKED"


def invoke_request() -> bytes:
    """``ResourceInvokeRequest{tok: INVOKE_TOKEN, acceptResources: true}``, serialized.

    Field 1 (``tok``) is length-delimited, field 5 (``acceptResources``) a varint: tags 0x0a, 0x28.
    """
    token = INVOKE_TOKEN.encode()  # 39 bytes: its length is one varint byte
    return b"\x0a" + bytes([len(token)]) + token + b"\x28\x01"


def run_exec_script(argv: list[str]) -> None:
    """Ask for the host at the ``--monitor`` address in ``argv``, then run ``argv[0]`` as ``__main__``."""
    script, *arguments = argv
    address = _option(arguments, "--monitor")
    if address and switch(EARLY_PROVIDER, default=True):
        import grpc  # the exec script's next import; nothing of the SDK's yet

        channel = grpc.insecure_channel(address)
        invoke = channel.unary_unary(_INVOKE_METHOD)  # bytes in, bytes out
        _in_background(lambda: invoke(invoke_request()), then=channel.close)
        os.environ[_ASKED] = address
    defer_unused_modules()  # before the exec script's `import pulumi`
    # As `python <script> <arguments>`: its folder first on the path, its own __main__ module.
    sys.argv = [script, *arguments]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    with open(script, "rb") as source:
        run_as_main(compile(source.read(), script, "exec"), script)


def run_as_main(code: types.CodeType, file: str, spec: ModuleSpec | None = None) -> None:
    """Run ``code`` as the interpreter's ``__main__``, in a module of its own that stays
    ``__main__`` after it ends (``providers.quick_exit`` reads it at exit). ``spec``: that of a
    module run with ``-m``."""
    main = types.ModuleType("__main__")
    main.__file__ = file
    if spec is not None:
        main.__spec__ = spec
        main.__loader__ = spec.loader
        main.__package__ = spec.parent
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def start_provider_host() -> threading.Thread | None:
    """Ask the engine for the dynamic provider now; the thread that waits, or None when not asked."""
    if not switch(EARLY_PROVIDER, default=True) or os.environ.get(_ASKED):
        return None
    from pulumi.runtime import settings  # imported by the exec script already

    monitor = settings.get_monitor()
    if monitor is None:  # not run by the engine (imported by a test or a tool)
        return None
    from pulumi.runtime.proto import resource_pb2

    request = resource_pb2.ResourceInvokeRequest(tok=INVOKE_TOKEN, acceptResources=True)
    return _in_background(lambda: monitor.Invoke(request))


def _in_background(
    invoke: Callable[[], object], then: Callable[[], object] | None = None
) -> threading.Thread:
    """Run ``invoke`` on a daemon thread that drops its answer (expected: "no such function")."""

    def drop_answer() -> None:
        try:
            invoke()
        except Exception:  # any answer is dropped
            pass
        finally:
            if then is not None:
                then()

    thread = threading.Thread(target=drop_answer, name="provider-start", daemon=True)
    thread.start()
    return thread


def _option(arguments: list[str], name: str) -> str | None:
    for index, argument in enumerate(arguments):
        if argument == name and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


if __name__ == "__main__":
    run_exec_script(sys.argv[1:])
