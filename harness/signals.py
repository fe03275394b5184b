"""Start the test's processes with SIGINT as a CI runner gives it, whoever started the tests.

A shell starts a background job (``cmd &``, ``nohup``) with SIGINT ignored, and every process it
starts inherits that. The Pulumi engine stops its language host and its plugins with SIGINT, then
kills them 5 s later; a provider host that ignores SIGINT is never stopped as the engine stops it,
and the tests that stop one so (harness.provider_host) hang until their timeout.
"""

from __future__ import annotations

import signal

__all__ = ["default_sigint"]


def default_sigint() -> None:
    """``preexec_fn`` for subprocess: SIGINT back to its default (end the process) in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
