"""Keep the objects a process has loaded out of the garbage collector's way.

The two Python processes the engine starts for a command, the program and the dynamic-provider
host, each load the SDK, gRPC, jsonschema and this package: tens of thousands of objects that
live until the process ends. CPython traverses every one of them in each full collection and
again when the interpreter finalizes, which made each process take 50-70 ms to exit, and the
engine waits for both at the end of every command (bench/levers.md). ``gc.freeze()`` (Python 3.7+)
moves every object tracked so far into a permanent generation that no collection visits. They are
still freed by reference counting; only cycles among them are never collected, which for objects
that live as long as the process costs nothing.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_loaded_objects"]


def freeze_loaded_objects() -> None:
    """Move every object tracked so far out of the collector's sight (cheap: no traversal)."""
    gc.freeze()
