"""End the engine's two Python processes at once when their work is done, without Python's teardown.

At the end of every command the engine waits for the program to exit, and then stops the
dynamic-provider host (SIGINT) and waits for it to exit: one after the other, on the command's
critical path. Each process has loaded the SDK, gRPC, jsonschema and this package, and the
interpreter's teardown (freeing every module, gRPC's shutdown, a last garbage collection) took
about 120 ms in the program and 145 ms in the host, a fifth of a one-endpoint `up`
(bench/levers.md). By then the work of both is done: the program has sent its last registration
and the engine has answered its shutdown signal; in the host the interpreter has joined the
gRPC server's worker threads, so every call in flight has returned, before exit handlers run.

``arm_quick_exit`` registers an exit handler that ends the process with ``os._exit(0)`` after
doing what the exit handlers registered before it would have done (the SDK's trace spans are
flushed when tracing is on, ``logging.shutdown()``, stdout and stderr flushed). It takes effect:

- only in the processes the engine starts: Pulumi's ``pulumi-language-python-exec`` running the
  program, and ``python -m pulumi.dynamic`` (each also when ``scripts/pulumi-python`` starts it
  through ``providers.provider_start`` or ``providers.host_warm_up``); never in a test runner or
  another process that imports this package;
- only when the process ends in success: the program's exit code (the exec script's
  ``exit_code``) is 0, and no uncaught exception reached ``sys.excepthook``. A failing process
  ends as before, through the full teardown, with its own exit code;
- not under coverage measurement, whose exit handler must write its data.

``ES_INFERENCE_QUICK_EXIT=false`` turns it off.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from types import ModuleType, TracebackType

from providers import host_warm_up, provider_start
from providers.switches import switch

__all__ = ["PROGRAM", "PROVIDER_HOST", "QUICK_EXIT", "arm_quick_exit", "engine_process"]

QUICK_EXIT = "ES_INFERENCE_QUICK_EXIT"
PROGRAM = "program"
PROVIDER_HOST = "provider host"
_EXEC_SCRIPT = provider_start.EXEC_SCRIPT
_HOST_MODULE = host_warm_up.HOST_MODULE
_PROGRAM_STARTER = provider_start.__name__

_lock = threading.Lock()
_armed = False
_uncaught = False


def engine_process(main: ModuleType | None = None) -> str | None:
    """Which of the engine's Python processes this is (``PROGRAM``, ``PROVIDER_HOST``), or None."""
    main = main if main is not None else sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", "") == _HOST_MODULE:
        return PROVIDER_HOST
    if os.path.basename(str(getattr(main, "__file__", "") or "")) == _EXEC_SCRIPT:
        return PROGRAM
    return None


def arm_quick_exit() -> bool:
    """Exit at once at the end of a successful run of this process; whether it is armed.

    Idempotent and thread-safe (the provider host unpickles providers on its worker threads).
    """
    global _armed
    if not switch(QUICK_EXIT, default=True):
        return False
    # The program runs inside the runner's runpy.run_path, which puts the program's own module
    # in sys.modules["__main__"] until it returns; the interpreter's command line still names
    # the runner.
    role = engine_process() or (PROGRAM if _started_on(_EXEC_SCRIPT) else None)
    if role is None:
        return False
    with _lock:
        if _armed:
            return True
        _armed = True
        _watch_uncaught()
        # Exit handlers run last-registered first, so this one runs before those registered
        # earlier (logging's, and the SDK's tracing flush when tracing is on): it does their work.
        atexit.register(_exit_now, role)
    return True


def _started_on(script: str) -> bool:
    """Whether the interpreter was started to run ``script``.

    ``python [options] script ...``, or ``python [options] -m providers.provider_start script ...``
    (which runs the script as its own ``__main__`` after asking for the provider host).
    """
    arguments = list(getattr(sys, "orig_argv", []))[1:]
    while arguments and arguments[0].startswith("-") and arguments[0] != "-m":
        arguments.pop(0)
    if arguments[:2] == ["-m", _PROGRAM_STARTER]:
        arguments = arguments[2:]
    return bool(arguments) and os.path.basename(arguments[0]) == script


def _watch_uncaught() -> None:
    previous = sys.excepthook

    def noting(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        global _uncaught
        _uncaught = True
        previous(kind, value, tb)

    sys.excepthook = noting


def _exit_now(role: str) -> None:
    if _uncaught or "coverage" in sys.modules or engine_process() != role:
        return
    if role == PROGRAM and getattr(sys.modules.get("__main__"), "exit_code", None) != 0:
        return
    try:
        _flush_traces()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # a flush that fails: let the interpreter end as it would
        return
    os._exit(0)


def _flush_traces() -> None:
    # The SDK sets an OpenTelemetry tracer provider when the engine traces (TRACEPARENT) and
    # registers its shutdown as an exit handler; this is that shutdown, through the public API.
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if callable(shutdown):
        shutdown()
