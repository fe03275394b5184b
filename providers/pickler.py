"""A workaround for Pulumi's provider serialization leaking a wrapper per resource.

Pulumi's ``serialize_provider`` (3.259) wraps ``pickle._Pickler._batch_setitems`` on every call
and never restores it, so each resource adds a level of recursion and a program fails with
RecursionError after about 480 dynamic resources (the likely cause of pulumi/pulumi#17803).
``InferenceEndpoint`` calls ``restore_pickler`` before each serialization.
"""

from __future__ import annotations

import pickle
from typing import Any

__all__ = ["restore_pickler"]


def _unwrapped_batch_setitems() -> Any:
    """``pickle._Pickler._batch_setitems`` without the wrappers ``serialize_provider`` leaves."""
    method = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while "serialize_provider" in getattr(method, "__qualname__", ""):
        inner = [c.cell_contents for c in method.__closure__ or () if callable(c.cell_contents)]
        if not inner:
            break
        method = inner[0]
    return method


_BATCH_SETITEMS = _unwrapped_batch_setitems()


def restore_pickler() -> None:
    """Undo the wrapper the last ``serialize_provider`` call left (see _unwrapped_batch_setitems)."""
    pickle._Pickler._batch_setitems = _BATCH_SETITEMS  # type: ignore[attr-defined]
