"""One module per Elasticsearch inference service: request parsing, defaults and updates."""

from __future__ import annotations

__all__: list[str] = []
