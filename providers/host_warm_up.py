"""Run Pulumi's dynamic-provider host with this package imported before its first call arrives.

The host (``python -m pulumi.dynamic``) imports a provider's modules when it unpickles the provider,
on its first call: this package, jsonschema, the schemas and httpx, about 0.1 s. Every call that
arrives meanwhile waits for that import. With the host started early (``providers.provider_start``)
it is ready before the program's first registration, and at 100 endpoints it sat idle for about
0.1 s while the program read its stack file; the first ``Read`` then took 0.18 s instead of a few ms.

``python -m providers.host_warm_up pulumi.dynamic <the host's arguments>`` (which
``scripts/pulumi-python`` runs in place of ``python -m pulumi.dynamic``) imports the host's own
modules first, on its main thread alone, so that the host reaches its handshake no later than
before. Then a daemon thread imports what the first call needs while the host starts its server
and waits; the host runs as
``python -m pulumi.dynamic`` runs it (``__main__`` is its module). A call that arrives during the
import waits for it, as it would have waited for its own. A failed import is left for that call to
report, as before. Figures are in bench/levers.md. ``ES_INFERENCE_HOST_WARM_UP=false`` turns it off.
"""

from __future__ import annotations

import importlib.util
import sys
import threading

from providers.deferred_imports import defer_unused_modules
from providers.provider_start import run_as_main
from providers.switches import switch

__all__ = ["HOST_MODULE", "HOST_PACKAGE", "HOST_WARM_UP", "run_host", "warm_up"]

HOST_WARM_UP = "ES_INFERENCE_HOST_WARM_UP"
HOST_PACKAGE = "pulumi.dynamic"
HOST_MODULE = f"{HOST_PACKAGE}.__main__"


def warm_up() -> None:
    """Import what a provider's first call needs (its modules, the schemas, the HTTP client), then
    keep all that was loaded out of the garbage collector's later passes (``providers.gc_freeze``)."""
    try:
        import providers.inference_endpoint  # the provider: model, schema, jsonschema
        import providers.session  # noqa: F401  (the client, httpx, tenacity)
        from providers.gc_freeze import freeze_loaded_objects
        from providers.schema import load_schemas

        load_schemas()
        freeze_loaded_objects()  # the host's and the first call's imports, out of later passes
    except Exception:  # the first call imports again and reports the failure where it belongs
        return


def run_host(argv: list[str]) -> None:
    """``argv``: ``pulumi.dynamic`` and the host's arguments. Run ``pulumi.dynamic.__main__`` as
    ``python -m pulumi.dynamic <arguments>`` would, warming up beside it.

    The package stays on the command line, where the engine's processes are told apart by it
    (``ps``, the tests, ``bench``).
    """
    package, *arguments = argv
    if package != HOST_PACKAGE:
        raise SystemExit(f"providers.host_warm_up runs {HOST_PACKAGE} only, not {package!r}")
    defer_unused_modules()  # before `import pulumi`
    # The host's heavy imports (the SDK, gRPC, its protobuf messages) before the thread starts.
    import pulumi.dynamic
    import pulumi.runtime.proto.provider_pb2_grpc  # noqa: F401

    if switch(HOST_WARM_UP, default=True):
        threading.Thread(target=warm_up, name="host-warm-up", daemon=True).start()
    spec = importlib.util.find_spec(HOST_MODULE)
    assert spec is not None and spec.loader is not None and spec.origin is not None
    sys.argv = [spec.origin, *arguments]
    code = spec.loader.get_code(HOST_MODULE)  # type: ignore[attr-defined]
    run_as_main(code, spec.origin, spec)  # serves until the engine stops it


if __name__ == "__main__":
    run_host(sys.argv[1:])
