"""Warnings written at the same moment by different threads each keep their own line (issue 14 row 13)."""

from __future__ import annotations

import subprocess
import sys

THREADS, EACH = 8, 300
CHILD = f"""
import threading
from providers.diagnostics import warn

def shout(n):
    for i in range(EACH):
        warn(f"es-inference: thread-{{n}} message-{{i}} " + "x" * (n * 40))

EACH = {EACH}
threads = [threading.Thread(target=shout, args=(n,)) for n in range({THREADS})]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def test_warnings_from_many_threads_at_once_each_get_their_own_line() -> None:
    done = subprocess.run(
        [sys.executable, "-u", "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    lines = done.stderr.splitlines()
    expected = {
        f"warning: es-inference: thread-{n} message-{i} " + "x" * (n * 40)
        for n in range(THREADS)
        for i in range(EACH)
    }
    assert len(lines) == THREADS * EACH
    assert set(lines) == expected


def test_a_message_with_a_newline_stays_on_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from providers.diagnostics import warn; warn('one\\ntwo')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stderr == "warning: one two\n"
