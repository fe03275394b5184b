"""Elasticsearch's REST API, one module per area; `routes.py` maps each route to a handler.

Every handler is `handler(cluster, request, **path_args) -> (body, status)`: it reads and
changes `cluster.store` and raises `EsError`/`PlainEsError` for Elasticsearch's errors.
"""

from __future__ import annotations

__all__: list[str] = []
