"""The dynamic-provider host imports what its first call needs before that call arrives.

``scripts/pulumi-python`` runs Pulumi's host (``python -u -m pulumi.dynamic``, as the plugin starts
it) through ``python -m providers.host_warm_up``. Here that host runs for real, started through the
same script, with Python's own import log (``PYTHONPROFILEIMPORTTIME``) on its stderr.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from harness.provider_host import ProviderHost
from harness.pulumi_cli import REPO
from providers.host_warm_up import HOST_WARM_UP

SHIM = REPO / "scripts" / "pulumi-python"
# The import log's line for that module: "import time: <self> | <cumulative> | <indent><name>".
IMPORTED = re.compile(r"^import time:.*\|\s*providers\.inference_endpoint$", re.MULTILINE)


def _host(tmp_path: Path, **env: str) -> ProviderHost:
    environment = {
        **{k: v for k, v in os.environ.items() if k != HOST_WARM_UP},
        "ES_INFERENCE_PYTHON": sys.executable,
        "PYTHONPROFILEIMPORTTIME": "1",
        **env,
    }
    return ProviderHost(str(tmp_path), env=environment, python=[str(SHIM)])


def test_the_host_imports_the_providers_modules_before_its_first_call(tmp_path: Path) -> None:
    host = _host(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not IMPORTED.search(host.stderr_so_far()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert IMPORTED.search(host.stderr_so_far()), "imported before any call was sent"
        # The host is still told apart by its command line, as the engine's tools and ours do.
        command = Path(f"/proc/{host.process.pid}/cmdline").read_bytes().split(b"\0")
        assert command[1:5] == [b"-u", b"-m", b"providers.host_warm_up", b"pulumi.dynamic"]
        host.check_in_the_provider()
    finally:
        stderr = host.close(as_the_engine=True)
    assert host.process.returncode == 0, stderr
    assert len(IMPORTED.findall(stderr)) == 1


@pytest.mark.parametrize("value", ["false", "off"])
def test_turned_off_the_host_imports_them_at_its_first_call_as_before(
    tmp_path: Path, value: str
) -> None:
    host = _host(tmp_path, **{HOST_WARM_UP: value})
    try:
        host.configure({})  # answered: the host has served a call, and imported nothing of ours
        assert not IMPORTED.search(host.stderr_so_far())
        host.check_in_the_provider()
    finally:
        stderr = host.close(as_the_engine=True)
    assert host.process.returncode == 0, stderr
    assert IMPORTED.search(stderr)
