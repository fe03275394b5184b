"""Moved to ``harness.provider_host`` (bench uses it too); this alias keeps in-flight branches working.

Import from ``harness.provider_host``; remove this module once no branch imports it.
"""

from harness.provider_host import *  # noqa: F403
from harness.provider_host import __all__  # noqa: F401
