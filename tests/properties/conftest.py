"""Hypothesis profiles for the property tests, and a count of the inputs they generated.

The "ci" profile (the default) is derandomized, so every run tries the same inputs and a failure
reproduces, and it reports the first failing input without shrinking it (shrinking a stack file
takes minutes; the regression tables hold minimal cases). "dev" explores new inputs each run and
shrinks. Pick one with ``HYPOTHESIS_PROFILE=dev``. The tests apply the profile through
``_strategies.budget`` instead of ``settings.load_profile``, leaving other directories' Hypothesis
settings alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.properties._strategies import GENERATED, KINDS

_BASE = settings(
    deadline=None,
    database=None,
    # Huge strings and deep nesting are the point here, not a slow strategy to warn about.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile(
    "ci",
    _BASE,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
)
settings.register_profile("dev", _BASE, derandomize=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many inputs each property generated, and the bad stack files by kind."""
    if not GENERATED:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", "property tests: generated inputs")
    for name, count in sorted(GENERATED.items()):
        write(f"{count:7d}  {name}")
    bad = sum(count for name, count in GENERATED.items() if "invalid" in name)
    write(f"{sum(GENERATED.values()):7d}  in total; {bad} bad inputs generated")
    if KINDS:
        write("bad inputs by kind: " + ", ".join(f"{k} {n}" for k, n in KINDS.most_common()))
