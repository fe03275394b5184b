"""Fixtures shared by every tier: a clean environment and a fresh lab on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.lab import Lab, lab_servers

_OWN_ENV_PREFIXES = ("ELASTICSEARCH_", "ES_INFERENCE_", "ES_EMULATOR_", "PULUMI_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Elasticsearch or Pulumi settings."""
    for name in list(os.environ):
        if name.startswith(_OWN_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A fresh Elasticsearch emulator (9.1.0) and Hugging Face server for one test."""
    with lab_servers() as running:
        yield running
