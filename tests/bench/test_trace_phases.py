"""The breakdown's program phases, read from a trace file in the CLI's own format (OTLP JSON lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.breakdown import trace_phases

RUN = "pulumirpc.LanguageRuntime/Run"
MONITOR = "pulumirpc.ResourceMonitor/"


def _write_trace(path: Path, spans: list[tuple[str, float, float]]) -> None:
    """One OTLP JSON document, as ``pulumi --otel-traces=file://`` writes, times in seconds."""
    document = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "name": name,
                                "startTimeUnixNano": str(int(start * 1e9)),
                                "endTimeUnixNano": str(int(end * 1e9)),
                            }
                            for name, start, end in spans
                        ]
                    }
                ]
            }
        ]
    }
    path.write_text(json.dumps(document) + "\n")


def test_the_sdks_import_ends_at_its_first_call_not_at_the_runners_early_invoke(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "trace.json"
    _write_trace(
        trace,
        [
            ("pulumi", 100.0, 101.0),
            (RUN, 100.2, 100.9),
            (MONITOR + "Invoke", 100.27, 100.5),  # providers/provider_start.py, before the SDK
            (MONITOR + "GetDeploymentInfo", 100.4, 100.41),
            (MONITOR + "RegisterResource", 100.6, 100.7),
            (MONITOR + "RegisterResource", 100.65, 100.8),
        ],
    )

    phases = trace_phases(trace)

    assert phases["program_start"] == pytest.approx(0.2)
    assert phases["first_register"] == pytest.approx(0.4)
    assert phases["registrations"] == 2


def test_the_state_read_is_the_snapshots_whole_read_with_its_decryption(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    _write_trace(
        trace,
        [
            ("pulumi", 100.0, 101.0),
            ("diyBackend.getSnapshot", 100.15, 100.18),  # holds the next two
            ("gocloud.dev/blob.NewRangeReader", 100.15, 100.16),
            ("stack.BatchDecrypt", 100.17, 100.18),
            (RUN, 100.2, 100.9),
        ],
    )

    phases = trace_phases(trace)

    assert phases["snapshot_read"] == pytest.approx(0.03)
    assert phases["cli_start"] == pytest.approx(0.15)  # up to the read, not through it
