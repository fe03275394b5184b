"""The Elasticsearch emulator: its WSGI app, version gates and the services it implements."""

from __future__ import annotations

from .app import ElasticsearchEmulator

__all__ = ["ElasticsearchEmulator"]
