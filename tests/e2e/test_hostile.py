"""Issue 14 under the real engine: hostile stack files, outages, two stacks on one cluster.

Each test is a user's action that used to go wrong, run through the real Pulumi CLI against the
loopback emulator; the conftest checks that no api key was printed or stored in plaintext.
"""

from __future__ import annotations

import resource

import pytest

from emulators.lab import Lab
from harness.pulumi_cli import PulumiProject

pytestmark = pytest.mark.e2e


def _billion_laughs(lab: Lab) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    anchors = "\n  ".join(lines)
    return f"elasticsearch:\n  endpoints: [{lab.es_url}]\nx:\n  {anchors}\nendpoints: *a9\n"


def test_preview_of_a_billion_laughs_stack_file_fails_at_once_with_a_clear_error(
    project: PulumiProject, lab: Lab
) -> None:
    project.write_stack(_billion_laughs(lab))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    result = project.preview(check=False)

    assert result.returncode != 0
    assert "stacks/e2e.yaml is invalid (1 error):" in result.output
    assert (
        "stacks/e2e.yaml: line 10, column 17: holds more than 500000 values once its aliases are "
        "expanded (an alias bomb?); use fewer aliases, or split the file"
    ) in result.output
    assert "Traceback" not in result.output
    assert lab.requests() == []
    # The largest process the run started (the CLI, its language host, the program) stayed small.
    peak_kb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    assert peak_kb < 1024 * 1024, f"a process of the preview reached {peak_kb} KB"
