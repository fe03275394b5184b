"""`es-inference hf-endpoints` as a process: its URL first, accounts from the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_cli_TOKEN_5544"


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emulators.commands", "hf-endpoints", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_it_serves_the_api_with_accounts_from_the_environment_and_stops_on_sigterm() -> None:
    process = launch("--port", "0", env={"HF_ENDPOINTS_ACCOUNTS": f"{TOKEN}=alice:acme,beta"})
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        me = httpx.get(f"{url}/api/whoami-v2", headers={"Authorization": f"Bearer {TOKEN}"})
        assert me.json()["orgs"] == [
            {"type": "org", "name": "acme"},
            {"type": "org", "name": "beta"},
        ]
        assert httpx.get(f"{url}/v2/endpoint/acme").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert TOKEN not in stderr


def test_a_malformed_account_is_a_usage_error() -> None:
    process = launch("--port", "0", "--account", "no-equals-sign")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "an account is TOKEN=USER or TOKEN=USER:ORG[,ORG...]" in stderr
