"""The spans of the Pulumi CLI's OpenTelemetry trace (``pulumi … --otel-traces=file://PATH``).

The CLI writes one OTLP JSON document per line. Each span comes back as a dict: ``name``,
``start`` and ``end`` in seconds since the epoch, and ``attributes`` (key to value, whatever
the value's type).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["read_spans"]


def read_spans(text: str) -> list[dict[str, Any]]:
    """Every span in the trace file's text, in file order."""
    spans = []
    for line in text.splitlines():
        if not line.strip():
            continue
        for block in json.loads(line).get("resourceSpans", []):
            for scope in block.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    spans.append(
                        {
                            "name": span["name"],
                            "start": int(span["startTimeUnixNano"]) / 1e9,
                            "end": int(span["endTimeUnixNano"]) / 1e9,
                            "attributes": {
                                a["key"]: next(iter(a["value"].values()), None)
                                for a in span.get("attributes", [])
                            },
                        }
                    )
    return spans
