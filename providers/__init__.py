"""Elasticsearch inference endpoints as code: a Pulumi dynamic provider and its tools."""

from __future__ import annotations

__all__: list[str] = []
