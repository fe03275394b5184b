"""Lines the provider process writes for the Pulumi CLI to show, and its watch on the engine.

Dynamic providers cannot log through the engine (pulumi/pulumi#6065): ``pulumi.log`` falls back to
``print`` on stderr, which writes the message and its newline separately, so warnings from the
engine's four threads run together. Here each line is one ``write`` under one lock.

The engine starts the provider process and never tells it to stop if the CLI is killed; the
process would go on sending the requests in flight for minutes. ``watch_engine`` ends it once the
process that started it is gone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import TextIO

from providers.quick_exit import PROVIDER_HOST, engine_process

__all__ = ["ENGINE_GONE_EXIT", "warn", "watch_engine", "write_line"]

ENGINE_GONE_EXIT = 70
_WRITE_LOCK = threading.Lock()
_WATCH_LOCK = threading.Lock()
_watching = False


def write_line(text: str, stream: TextIO | None = None) -> None:
    """Write ``text`` and its newline in one call, never interleaved with another thread's line."""
    target = stream if stream is not None else sys.stderr
    line = text.replace("\n", " ") + "\n"
    with _WRITE_LOCK:
        target.write(line)
        target.flush()


def warn(message: str) -> None:
    """A warning on stderr, as ``pulumi.log.warn`` prints it without an engine."""
    write_line(f"warning: {message}")


def watch_engine(poll_seconds: float = 0.5) -> bool:
    """In Pulumi's dynamic-provider host, exit when the engine (the parent process) is gone.

    Returns whether a watch runs (only inside ``python -m pulumi.dynamic``; once per process).
    """
    global _watching
    if engine_process() != PROVIDER_HOST:
        return False
    with _WATCH_LOCK:
        if _watching:
            return True
        _watching = True
    parent = os.getppid()
    threading.Thread(
        target=_watch, args=(parent, poll_seconds), name="es-inference-engine-watch", daemon=True
    ).start()
    return True


def _watch(parent: int, poll_seconds: float) -> None:
    while True:
        time.sleep(poll_seconds)
        # Orphaned processes are re-parented (to init or a subreaper): the engine is gone.
        if os.getppid() != parent:
            with contextlib.suppress(OSError, ValueError):  # nobody may read stderr any more
                warn(
                    "es-inference: the Pulumi engine that started this provider is gone; "
                    "stopping (requests in flight are abandoned; the next pulumi up reports any "
                    "endpoint they left)"
                )
            os._exit(ENGINE_GONE_EXIT)
