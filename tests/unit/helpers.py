"""Constants shared by the unit tests."""

from __future__ import annotations

from collections.abc import Callable

from providers.client import ElasticsearchClient
from providers.connection import RetryPolicy

__all__ = ["FAST_RETRY", "NO_RETRY", "ClientFactory"]

# Fixed backoff (initial == max, so the jitter is capped away): retry lines are predictable.
FAST_RETRY = RetryPolicy(deadline=5, initial_backoff=0.1, max_backoff=0.1, max_retry_after=5)
# A zero deadline stops after the first attempt.
NO_RETRY = RetryPolicy(deadline=0, initial_backoff=0.1, max_backoff=0.1, max_retry_after=5)

ClientFactory = Callable[..., ElasticsearchClient]
