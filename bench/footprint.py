"""Import time of the provider module in fresh interpreters, split into Pulumi's part and ours.

Every measurement runs in a new interpreter with a private, warmed bytecode cache
(``PYTHONPYCACHEPREFIX``), as an installed package would run; interpreter start-up is excluded.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["SNIPPETS", "import_env", "import_owners", "run_imports"]

_TIMED = (
    "import time\n{before}\nt0 = time.perf_counter()\n{measured}\nprint(time.perf_counter() - t0)\n"
)
_MARK = "-- preloaded --"
SNIPPETS: dict[str, tuple[str, str]] = {
    # name: (imported first, untimed; timed)
    "total": ("", "import providers.inference_endpoint"),
    "pulumi": ("", "import pulumi, pulumi.dynamic"),
    "ours": ("import pulumi, pulumi.dynamic", "import providers.inference_endpoint"),
    "first_check": (
        "import providers.inference_endpoint",
        "from providers.schema import load_schemas; load_schemas()",
    ),
}


def import_env(pycache: Path) -> dict[str, str]:
    """The environment of a measured interpreter: a private bytecode cache that it may write."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(pycache)}


def _once(name: str, env: dict[str, str]) -> float:
    before, measured = SNIPPETS[name]
    code = _TIMED.format(before=before, measured=measured)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _importtime(env: dict[str, str], preload: str) -> list[dict[str, Any]]:
    """``-X importtime`` rows of the modules the provider import adds, with their nesting level."""
    code = f"{preload}\nimport sys\nsys.stderr.write('{_MARK}\\n')\nimport providers.inference_endpoint"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.split(_MARK, 1)[-1].splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|")
        level = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append(
            {
                "module": name.strip(),
                "level": level,
                "self_us": int(self_us),
                "cum_us": int(cumulative_us),
            }
        )
    return rows


def import_owners(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Microseconds by owner: our modules' own time, and each dependency they import (cumulative).

    ``-X importtime`` prints a module after the modules it imports, one level deeper; so a row's
    importer is the next row one level up.
    """
    owners: dict[str, int] = {}
    for index, row in enumerate(rows):
        ours = row["module"].split(".")[0] == "providers"
        if ours:
            owners["providers (our modules)"] = (
                owners.get("providers (our modules)", 0) + row["self_us"]
            )
            continue
        parent = next((r for r in rows[index + 1 :] if r["level"] < row["level"]), None)
        if parent is None or parent["module"].split(".")[0] == "providers":
            top = row["module"].split(".")[0]
            owners[top] = owners.get(top, 0) + row["cum_us"]
    return dict(sorted(owners.items(), key=lambda item: -item[1]))


def run_imports(runs: int, pycache: Path) -> dict[str, Any]:
    """Median seconds of each snippet over ``runs`` fresh interpreters, plus an importtime table."""
    env = import_env(pycache)
    for name in SNIPPETS:  # warm the bytecode cache and the page cache
        _once(name, env)
    samples: dict[str, list[float]] = {name: [] for name in SNIPPETS}
    for _ in range(runs):
        for name in SNIPPETS:  # interleaved, against drift
            samples[name].append(_once(name, env))
    after_pulumi = _importtime(env, "import pulumi, pulumi.dynamic")
    return {
        "runs": runs,
        "median_s": {name: statistics.median(values) for name, values in samples.items()},
        "samples_s": samples,
        "importtime_after_pulumi": after_pulumi,
        "import_owners_us": import_owners(after_pulumi),
    }
