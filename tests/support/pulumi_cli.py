"""Moved to ``harness.pulumi_cli`` (bench uses it too); this alias keeps in-flight branches working.

Import from ``harness.pulumi_cli``; remove this module once no branch imports it.
"""

from harness.pulumi_cli import *  # noqa: F403
from harness.pulumi_cli import __all__  # noqa: F401
