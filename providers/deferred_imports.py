"""Import the SDK's modules that the engine's processes never use only if something uses them.

``import pulumi`` runs ``from . import runtime, dynamic, policy, automation``. The Automation API
(``pulumi.automation``: workspaces, the CLI wrapper, urllib, http.client, email, semver) drives
Pulumi from a script. The program and the dynamic-provider host never touch it, and its import
costs 30-50 ms of each process's start (``python -X importtime -c "import pulumi"``, SDK 3.259).

``defer_unused_modules()`` puts a finder first on ``sys.meta_path`` that gives each module of
``DEFERRED`` Python's own lazy loader (``importlib.util.LazyLoader``): the module object is made
and bound where it was imported, and it runs on its first attribute access, so code that uses it
sees no difference. Only the two engine processes call it, from their entry points
(``providers.provider_start``, ``providers.host_warm_up``), before the SDK's import; a script of
the user's that imports ``pulumi`` is not touched. Figures are in bench/levers.md.
``ES_INFERENCE_DEFER_SDK_IMPORTS=false`` turns it off.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from providers.switches import switch

__all__ = ["DEFERRED", "DEFER_SDK_IMPORTS", "DeferredFinder", "defer_unused_modules"]

DEFER_SDK_IMPORTS = "ES_INFERENCE_DEFER_SDK_IMPORTS"
# Imported by `pulumi/__init__.py`, used by neither the program nor the provider host.
DEFERRED = frozenset({"pulumi.automation"})


class DeferredFinder(importlib.abc.MetaPathFinder):
    """Find the modules of ``names`` as Python would, and load each lazily."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # left to the rest of sys.meta_path, as without this finder
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_unused_modules() -> DeferredFinder | None:
    """Install the finder (once); None when switched off or already installed."""
    if not switch(DEFER_SDK_IMPORTS, default=True):
        return None
    if any(isinstance(finder, DeferredFinder) for finder in sys.meta_path):
        return None
    finder = DeferredFinder(DEFERRED)
    sys.meta_path.insert(0, finder)
    return finder
