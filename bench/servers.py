"""The emulator and the Hugging Face server as separate processes on loopback.

Separate processes keep the servers' Python work off the benchmark's own GIL, so a client
measured here competes with the server for cores, as it would with a real cluster, but not for
the interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab

__all__ = ["lab_processes"]

ES_VERSION = "9.1.0"


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    command = [str(Path(sys.executable).with_name("es-inference")), *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        process.wait()
        raise RuntimeError(f"{' '.join(command)} did not print its URL (got {url!r})")
    return process, url


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def lab_processes() -> Iterator[tuple[Lab, list[int]]]:
    """A fresh emulator (ES 9.1.0) and HF server; yields the lab handle and the server pids."""
    hf, hf_url = _start(["hf-server", "--api-key", HF_KEY, "--api-key", HF_KEY_ROTATED])
    try:
        es, es_url = _start(["emulator", "--es-version", ES_VERSION])
        try:
            lab = Lab(es_url, hf_url)
            try:
                yield lab, [es.pid, hf.pid]
            finally:
                lab.close()
        finally:
            _stop(es)
    finally:
        _stop(hf)
