"""Keep the garbage collector's full passes off the objects every engine process loads at start.

The program and the dynamic-provider host each load about 47,000 objects the collector tracks
before their real work begins: the SDK, gRPC and protobuf's messages, jsonschema, this package,
the schemas. They live as long as the process. Python's collector still walks all of them in each
full pass, and the first one comes while the program reads its stack file, on the path to its first
registration: in a fresh process that has made these imports, parsing a stack file of 100
endpoints takes 21-32 ms with the collector on and 4.6 ms with it off. Later full passes, and the
middle generation's, keep paying it as the program declares its endpoints and the host serves its
calls.

``freeze_loaded_objects()`` moves every object tracked so far into the collector's permanent
generation (``gc.freeze()``), which no pass walks. Objects made afterwards (each call's and each
resource's) are collected as before. What is frozen is never freed: only what was loaded at that
moment, which the process keeps to its end anyway, and any unreachable cycle among it (a few
kilobytes of the imports' leftovers). It is called once per process, after the imports every run
needs and before the work (what a run imports later, such as the Hugging Face modules, is
collected as before): by the program just before it reads the stack file (``providers.program``),
and by the host once its warm-up has imported what the first call needs
(``providers.host_warm_up``).
Figures are in bench/levers.md. ``ES_INFERENCE_GC_FREEZE=false`` turns it off.
"""

from __future__ import annotations

import gc

from providers.switches import switch

__all__ = ["GC_FREEZE", "freeze_loaded_objects"]

GC_FREEZE = "ES_INFERENCE_GC_FREEZE"


def freeze_loaded_objects() -> None:
    """Move every object the collector tracks now out of its later passes (unless switched off)."""
    if switch(GC_FREEZE, default=True):
        gc.freeze()
