"""Start the dynamic-provider host while the program is still reading its stack file.

The engine starts a provider's process when a program first needs it. Our program registers its
first resource only after it has validated the whole stack file, so that a bad file creates
nothing. The host's start (Python, the SDK's import and the handshake, about 0.15 s) used to come
only after that. The program's first act is now an invoke, on a thread of its own, of a function of
Pulumi's Python dynamic provider, which has no functions. The engine loads the default provider
that every dynamic resource uses and starts its host, which answers that it has no such function.
The thread drops that answer, and nothing is shown. The resources registered later use the same
host. Figures are in bench/levers.md. ``ES_INFERENCE_EARLY_PROVIDER=false`` turns this off.

Besides ``providers.switches`` (which imports only ``os``), only ``pulumi`` modules that the
language host has already imported are used here, so the invoke leaves before the program's own
imports.
"""

from __future__ import annotations

import threading

from pulumi.runtime import settings
from pulumi.runtime.proto import resource_pb2

from providers.switches import switch

__all__ = ["EARLY_PROVIDER", "INVOKE_TOKEN", "start_provider_host"]

EARLY_PROVIDER = "ES_INFERENCE_EARLY_PROVIDER"
# The package of pulumi.dynamic.Resource ("pulumi-python:dynamic:Resource"); no such function.
INVOKE_TOKEN = "pulumi-python:dynamic:startProviderHost"


def start_provider_host() -> threading.Thread | None:
    """Ask the engine for the dynamic provider now; the thread that waits, or None when off."""
    if not switch(EARLY_PROVIDER, default=True):
        return None
    monitor = settings.get_monitor()
    if monitor is None:  # not run by the engine (imported by a test or a tool)
        return None
    thread = threading.Thread(target=_invoke, args=(monitor,), name="provider-start", daemon=True)
    thread.start()
    return thread


def _invoke(monitor: object) -> None:
    request = resource_pb2.ResourceInvokeRequest(tok=INVOKE_TOKEN, acceptResources=True)
    try:
        monitor.Invoke(request)  # type: ignore[attr-defined]
    except Exception:  # the expected answer is "no such function"; any answer is dropped
        return
