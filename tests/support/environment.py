"""The settings of a developer's own machine that no test may see, and the bench runs without them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.pulumi_cli import REPO

__all__ = ["OWN_ENV_PREFIXES", "run_bench"]

# Elasticsearch, this tool's, the emulator's and Pulumi's own settings.
OWN_ENV_PREFIXES = ("ELASTICSEARCH_", "ES_INFERENCE_", "ES_EMULATOR_", "PULUMI_")


def run_bench(out: Path, *args: str, timeout: float) -> None:
    """``scripts/bench <args> --out <out>`` as a fresh shell runs it, without those settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_ENV_PREFIXES)}
    done = subprocess.run(
        [str(REPO / "scripts" / "bench"), *args, "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    command = " ".join(args)
    assert done.returncode == 0, f"scripts/bench {command} failed:\n{done.stderr[-6000:]}"
