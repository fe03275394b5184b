"""Shared values and small helpers for the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["HF_KEY", "VERSIONS", "error_of", "hf_body"]

HF_KEY = "hf_test_key_123"
VERSIONS = ["8.17.0", "8.19.0", "9.0.0", "9.1.0", "9.4.0"]


def hf_body(url: str, *, api_key: str = HF_KEY, **settings: Any) -> dict[str, Any]:
    """A hugging_face PUT body."""
    return {
        "service": "hugging_face",
        "service_settings": {"api_key": api_key, "url": url, **settings},
    }


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, type, reason) of an ES error response."""
    body = response.json()
    return response.status_code, body["error"]["type"], body["error"]["reason"]
