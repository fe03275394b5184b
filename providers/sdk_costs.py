"""Per-resource work of the Pulumi Python SDK that the program turns off, each measured.

Both are in bench/results/breakdown.md, and each has a switch that restores the SDK's default:

- The SDK's debug lines (four per resource), each a blocking ``Engine/Log`` gRPC call from the
  program's event loop, which the CLI shows only under ``--debug``: about 0.9 CPU-s of a
  400-endpoint preview. ``ES_INFERENCE_PULUMI_DEBUG_LOG=true`` keeps them.
- The stack trace recorded with each resource. The SDK records every frame under the resource's
  constructor; the engine keeps them in the state, and writes the whole state after each step of
  an ``up``, so their bytes are paid O(N^2) times. Here they are frames of this package, asyncio
  and the language host (the user's own text is the stack file, which no frame names), so only
  the first is kept: the one the SDK takes as the resource's source position (the resource
  class's constructor). ``ES_INFERENCE_PULUMI_FULL_STACK_TRACE=true`` keeps them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import resource as sdk_resource

from providers.switches import switch

__all__ = ["reduce_sdk_costs"]

_DEBUG_LOG = "ES_INFERENCE_PULUMI_DEBUG_LOG"
_FULL_STACK_TRACE = "ES_INFERENCE_PULUMI_FULL_STACK_TRACE"


def reduce_sdk_costs() -> None:
    """Turn off both, unless their variables ask for the SDK's default."""
    if not switch(_DEBUG_LOG, default=False):
        pulumi.log.debug = _no_debug_line
    if not switch(_FULL_STACK_TRACE, default=False):
        _keep_the_declaring_frame_only()


def _no_debug_line(*_args: Any, **_kwargs: Any) -> None:
    return None


def _keep_the_declaring_frame_only() -> None:
    # register_resource and read_resource look _get_stack_trace up in their module when called,
    # so replacing it there reaches both (SDK 3.259, pinned in pyproject.toml; the e2e test
    # test_each_resource_keeps_one_stack_frame_its_source_position checks it against the real engine).
    full: Callable[[], Any] | None = getattr(sdk_resource, "_get_stack_trace", None)
    if full is None or getattr(full, "declaring_frame_only", False):
        return

    def declaring_frame_only() -> Any:
        trace = full()
        del trace.frames[1:]
        return trace

    declaring_frame_only.declaring_frame_only = True  # type: ignore[attr-defined]
    sdk_resource._get_stack_trace = declaring_frame_only
