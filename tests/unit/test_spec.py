"""docs/spec.md states rules L1-L14, and every test it names exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
_RULE = re.compile(r"^## (L[0-9]+) ", re.MULTILINE)
_TEST = re.compile(r"`(tests/[^`]+\.py::[^`]+)`")


def _sections() -> dict[str, str]:
    starts = [(m.group(1), m.start()) for m in _RULE.finditer(SPEC)]
    ends = [start for _, start in starts[1:]] + [len(SPEC)]
    return {rule: SPEC[start:end] for (rule, start), end in zip(starts, ends, strict=True)}


def test_the_spec_states_each_rule_once_as_given_when_then_with_its_tests() -> None:
    sections = _sections()
    assert list(sections) == [f"L{n}" for n in range(1, 15)]
    for rule, text in sections.items():
        for step in ("- GIVEN ", "- WHEN ", "- THEN ", "- Home: "):
            assert step in text, f"{rule} has no {step.strip()}"
        assert _TEST.findall(text), f"{rule} names no test"


def test_every_test_the_spec_names_exists() -> None:
    named = sorted(set(_TEST.findall(SPEC)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *named],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    collected = {line.strip() for line in done.stdout.splitlines()}
    # A parametrized test named without an id stands for all of its cases.
    missing = [
        n for n in named if n not in collected and not any(c.startswith(f"{n}[") for c in collected)
    ]
    assert missing == [], done.stdout[-2000:] + done.stderr
